#include "experiments/invocation.hpp"

#include <sstream>

#include "platforms/perturb.hpp"
#include "platforms/platform.hpp"
#include "support/atomic_file.hpp"
#include "support/error.hpp"
#include "support/sha256.hpp"

namespace sparoa::experiments {
namespace fs = std::filesystem;

namespace {

std::vector<std::string> split(const std::string& s, char sep) {
  std::vector<std::string> out;
  std::istringstream in(s);
  std::string item;
  while (std::getline(in, item, sep)) out.push_back(item);
  return out;
}

}  // namespace

Invocation build_invocation(const Experiment& e, const Cell& c, const fs::path& cell_dir) {
  const CommandSpec& spec = command_spec(e.command, e.file.string());
  std::error_code ec;
  fs::remove_all(cell_dir, ec);
  fs::create_directories(cell_dir);
  Invocation inv;
  inv.output = cell_dir / "output.csv";
  inv.log = cell_dir / "log.txt";
  inv.args = spec.argv;
  std::string inputs;  // "key=sha256\n" for each file read
  auto resolve_file = [&](const std::string& key, const std::string& v) {
    const fs::path p = fs::path(v).is_absolute() ? fs::path(v) : e.dir / v;
    std::error_code ec;
    if (!fs::is_regular_file(p, ec)) throw Error(e.file.string() + ": " + key, "no file " + p.string());
    inputs += key + "=" + sha256_file_hex(p) + "\n";
    return fs::absolute(p).lexically_normal().string();
  };
  const std::string perturb = c.get("perturb");
  for (const auto& [key, value] : c.settings) {
    const KeySpec* k = nullptr;
    for (const auto& ks : spec.keys) {
      if (ks.key == key) k = &ks;
    }
    if (!k) throw Error(e.file.string() + ": " + key, "not a key of command " + e.command);
    switch (k->kind) {
      case KeyKind::runner:
        break;
      case KeyKind::value:
        inv.args.insert(inv.args.end(), {k->flag, value});
        break;
      case KeyKind::list:
        inv.args.insert(inv.args.end(), {k->flag, value});
        break;
      case KeyKind::repeated:
        for (const auto& v : split(value, ';')) inv.args.insert(inv.args.end(), {k->flag, v});
        break;
      case KeyKind::negated:
        if (value == "false") inv.args.push_back(k->flag);
        break;
      case KeyKind::path:
        if (key == "state" && value == "idle") break;  // the idle board: no trace
        inv.args.insert(inv.args.end(), {k->flag, resolve_file(key, value)});
        break;
      case KeyKind::name_or_path: {
        const fs::path p = fs::path(value).is_absolute() ? fs::path(value) : e.dir / value;
        const bool is_file = fs::is_regular_file(p, ec);
        if (key == "platform") {
          const fs::path file = is_file ? p : platforms::resolve_platform_path(value);
          platforms::Platform plat = platforms::read_platform(file);
          if (!perturb.empty() && perturb != "none") {
            platforms::perturb_platform(plat, perturb, e.file.string() + ": perturb");
            const fs::path out = cell_dir / "platform.yaml";
            write_file_atomically(out, platforms::platform_to_yaml(plat));
            inv.platform_sha256 = sha256_file_hex(out);
            inv.args.insert(inv.args.end(), {k->flag, out.string()});
          } else {
            inv.platform_sha256 = plat.sha256;
            inv.args.insert(inv.args.end(), {k->flag, fs::absolute(file).lexically_normal().string()});
          }
        } else {
          inv.args.insert(inv.args.end(), {k->flag, is_file ? resolve_file(key, value) : value});
        }
        break;
      }
    }
  }
  for (const auto& [key, value] : spec.defaults) {
    if (!c.get(key).empty()) continue;
    for (const auto& ks : spec.keys) {
      if (ks.key == key) inv.args.insert(inv.args.end(), {ks.flag, value});
    }
  }
  if (!spec.artifact_flag.empty()) inv.args.insert(inv.args.end(), {spec.artifact_flag, (cell_dir / spec.artifact_file).string()});
  inv.args.insert(inv.args.end(), spec.always.begin(), spec.always.end());
  inv.args.insert(inv.args.end(), {spec.output_flag, inv.output.string()});
  inv.inputs_sha256 = inputs.empty() ? "" : sha256_hex(inputs).substr(0, 16);
  return inv;
}

}  // namespace sparoa::experiments

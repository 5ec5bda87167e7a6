// sparoa import trtexec-profile: TensorRT's per-layer times (trtexec --exportProfile) mapped
// onto a model's operators, printed beside the whole-inference total and, with -o, written
// as a profile CSV of the platform's GPU lane for calibration.
#include <fmt/format.h>

#include <iostream>

#include "cli/commands.hpp"
#include "cli/model_source.hpp"
#include "cli/table.hpp"
#include "platforms/platform.hpp"
#include "platforms/trtexec_profile.hpp"
#include "support/date.hpp"
#include "support/error.hpp"

namespace sparoa::cli {

void add_import_command(CLI::App& app) {
  auto* import = app.add_subcommand("import", "Read profiles written by other tools");
  import->require_subcommand(1);
  struct Args {
    std::string file;
    ModelSource model;
    std::string platform;
    std::string output;
  };
  auto args = std::make_shared<Args>();
  args->model.zoo_dir = SPAROA_DEFAULT_ZOO_DIR;
  auto* cmd = import->add_subcommand("trtexec-profile", "TensorRT layer times (trtexec --exportProfile=FILE) per operator");
  cmd->add_option("file", args->file, "the JSON file trtexec wrote")->required();
  cmd->add_option("--model,-m", args->model.model, "the ONNX file (or zoo model) TensorRT built the engine from")->required();
  cmd->add_option("--sparsity", args->model.sparsity, "weight sparsity of a zoo model's pruned build")
      ->check(CLI::Range(0.0, 0.99))->capture_default_str();
  cmd->add_option("--zoo-dir", args->model.zoo_dir, "where zoo models are built and cached")->capture_default_str();
  cmd->add_option("--batch,-b", args->model.batch, "the batch the engine ran")->check(CLI::Range(1, 1 << 20))->capture_default_str();
  cmd->add_option("--platform,-p", args->platform, "platform whose first GPU lane the rows belong to (default: lane gpu0)");
  cmd->add_option("--output,-o", args->output, "write the matched layers as a profile CSV (timing: in-context)");
  cmd->callback([args] {
    const platforms::TrtProfile trt = platforms::read_trtexec_profile(args->file);
    std::string lane = "gpu0", device = "gpu", platform_name = "", power_mode = "";
    if (!args->platform.empty()) {
      const platforms::Platform p = platforms::read_platform(platforms::resolve_platform_path(args->platform));
      platform_name = p.name;
      power_mode = p.power_mode;
      bool found = false;
      for (const auto& d : p.devices) {
        if (d.kind != platforms::DeviceKind::gpu || d.lanes.empty() || found) continue;
        lane = d.lanes.front().id;
        device = d.id;
        found = true;
      }
      if (!found) throw Error("--platform", "platform " + p.name + " has no GPU lane");
    }
    const graph::Graph g = load_model(args->model);
    const platforms::TrtMatch m = platforms::match_trtexec_layers(trt, g, lane, device);
    std::cout << fmt::format("{}: {} layers, {} inferences timed; {:.3f} ms per inference (sum of layer averages)\n",
                             args->file, trt.layers.size(), trt.count, trt.average_total_ms());
    std::cout << fmt::format("matched {} operators of {} ({:.1f}% of the time); {} layers name no operator of the model\n",
                             m.rows.size(), g.operators().size(), m.total_ms > 0 ? 100.0 * m.matched_ms / m.total_ms : 0.0,
                             m.unmatched.size());
    Table t({"operator", "type", "TensorRT us"}, {false, false, true});
    std::vector<platforms::ProfileRow> top = m.rows;
    std::sort(top.begin(), top.end(), [](const auto& a, const auto& b) { return a.median_us > b.median_us; });
    for (std::size_t i = 0; i < top.size() && i < 10; ++i) t.add_row({top[i].op, top[i].op_type, fmt::format("{:.1f}", top[i].median_us)});
    t.print(std::cout);
    for (std::size_t i = 0; i < m.unmatched.size() && i < 5; ++i) std::cout << "unmatched: " << m.unmatched[i] << '\n';
    if (m.unmatched.size() > 5) std::cout << "unmatched: ... " << m.unmatched.size() - 5 << " more\n";
    if (args->output.empty()) return;
    if (m.rows.empty()) throw Error(args->file, "no layer names an operator of " + g.name + ": nothing to write");
    platforms::ProfileHeader h;
    h.machine = "TensorRT (trtexec --exportProfile " + std::filesystem::path(args->file).filename().string() + ")";
    h.cpu_model = "unknown (imported from TensorRT)";
    h.date = utc_date_today();
    h.platform = platform_name.empty() ? "unknown" : platform_name;
    h.power_mode = power_mode.empty() ? "unknown" : power_mode;
    h.git_revision = kGitRevision;
    h.onednn_version = "none (TensorRT)";
    h.model_sha256 = g.model_sha256;
    h.timing = "in-context";
    platforms::write_profile_csv(args->output, h, m.rows);
    std::cout << fmt::format("wrote {} rows to {}\n", m.rows.size(), args->output);
  });
}

}  // namespace sparoa::cli

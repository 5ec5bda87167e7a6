#include "platforms/state_trace.hpp"

#include <charconv>
#include <cmath>
#include <fstream>
#include <sstream>

#include "support/error.hpp"
#include "support/read_file.hpp"
#include "support/text.hpp"

namespace sparoa::platforms {
namespace {

std::vector<std::string> split(const std::string& line) {
  std::vector<std::string> fields;
  std::string field;
  std::istringstream in(line);
  while (std::getline(in, field, ',')) fields.push_back(trim(field));
  if (!line.empty() && line.back() == ',') fields.emplace_back();
  return fields;
}

bool parse_double(const std::string& s, double& v) {
  const char* end = s.data() + s.size();
  auto [ptr, ec] = std::from_chars(s.data(), end, v);
  return ec == std::errc() && ptr == end && std::isfinite(v);
}

bool is_domain(const platforms::Platform& p, const std::string& id) {
  for (const auto& d : p.memory_domains) {
    if (d.id == id) return true;
  }
  return false;
}

}  // namespace

StateTrace parse_state_trace(const std::string& text, const std::string& origin, const platforms::Platform& p) {
  StateTrace trace;
  trace.origin = origin;
  std::istringstream in(text);
  std::string raw;
  std::size_t n = 0;
  bool header = false;
  double last = 0;
  while (std::getline(in, raw)) {
    ++n;
    const std::string line = trim(raw);
    if (line.empty() || line[0] == '#') continue;
    const std::string where = origin + ":" + std::to_string(n);
    const auto f = split(line);
    if (!header) {
      if (f != std::vector<std::string>{"time_us", "action", "target", "value"}) {
        throw Error(where, "the header must be 'time_us,action,target,value'");
      }
      header = true;
      continue;
    }
    if (f.size() != 4) throw Error(where, "expected 4 fields (time_us,action,target,value), found " + std::to_string(f.size()));
    StateChange c;
    c.line = n;
    double t = 0;
    if (!parse_double(f[0], t) || t < 0) throw Error(where, "column 'time_us': '" + f[0] + "' is not a time in microseconds >= 0");
    if (t < last) {
      throw Error(where, "column 'time_us': " + f[0] + " us comes after " + std::to_string(last) +
                             " us: changes must be in time order");
    }
    last = t;
    c.time_s = t * 1e-6;
    c.target = f[2];
    if (f[1] == "pstate") {
      c.action = StateChange::Action::pstate;
      const platforms::Device* d = p.find_device(c.target);
      if (d == nullptr) throw Error(where, "column 'target': no device '" + c.target + "' on platform " + p.name);
      if (!parse_double(f[3], c.value)) throw Error(where, "column 'value': '" + f[3] + "' is not a frequency in MHz");
      bool found = false;
      for (std::size_t i = 0; i < d->pstates.size(); ++i) {
        if (d->pstates[i].freq_MHz == c.value) {
          c.pstate = i;
          found = true;
        }
      }
      if (!found) throw Error(where, "column 'value': " + f[3] + " MHz is not a pstate of device '" + c.target + "'");
    } else if (f[1] == "power_mode") {
      c.action = StateChange::Action::power_mode;
      bool found = false;
      for (const auto& m : p.power_modes) found = found || m.name == c.target;
      if (!found) throw Error(where, "column 'target': platform " + p.name + " has no power mode '" + c.target + "'");
      if (!f[3].empty()) throw Error(where, "column 'value': a power_mode change takes no value");
    } else if (f[1] == "background") {
      c.action = StateChange::Action::background;
      if (p.find_device(c.target) == nullptr && !is_domain(p, c.target)) {
        throw Error(where, "column 'target': '" + c.target + "' is neither a device nor a memory domain of platform " + p.name);
      }
      if (!parse_double(f[3], c.value) || c.value < 0 || c.value > 1) {
        throw Error(where, "column 'value': '" + f[3] + "' is not a load between 0 and 1");
      }
    } else {
      throw Error(where, "column 'action': unknown action '" + f[1] + "' (pstate, power_mode, background)");
    }
    trace.changes.push_back(c);
  }
  if (!header) throw Error(origin, "empty state trace: it needs the header 'time_us,action,target,value'");
  return trace;
}

StateTrace read_state_trace(const std::filesystem::path& path, const platforms::Platform& p) {
  return parse_state_trace(read_text_file(path, kMaxTextInputBytes, "state trace"), path.string(), p);
}

}  // namespace sparoa::platforms

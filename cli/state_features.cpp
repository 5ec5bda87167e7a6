#include "cli/state_features.hpp"

#include <fmt/format.h>

#include "support/error.hpp"

namespace sparoa::cli {
namespace {

std::string first_of(const platforms::Platform& p, platforms::DeviceKind kind) {
  for (const auto& d : p.devices) {
    if (d.kind == kind) return d.id;
  }
  return {};
}

}  // namespace

NamedState named_state(const std::string& text, const platforms::Platform& p) {
  NamedState s;
  s.name = text;
  if (text == "idle") return s;
  const auto colon = text.find(':');
  const std::string kind = text.substr(0, colon);
  double load = 0;
  try {
    if (colon == std::string::npos) throw std::invalid_argument(text);
    std::size_t used = 0;
    load = std::stod(text.substr(colon + 1), &used);
    if (used != text.size() - colon - 1) throw std::invalid_argument(text);
  } catch (const std::exception&) {
    throw Error("state '" + text + "'", "expected idle, cpu-busy:LOAD, gpu-busy:LOAD or dram-busy:LOAD");
  }
  if (!(load >= 0 && load <= 0.95)) throw Error("state '" + text + "'", "the load must be in [0, 0.95]");
  std::string target;
  if (kind == "cpu-busy") {
    target = first_of(p, platforms::DeviceKind::cpu);
    s.features.cpu_background = load;
  } else if (kind == "gpu-busy") {
    target = first_of(p, platforms::DeviceKind::gpu);
    s.features.gpu_background = load;
  } else if (kind == "dram-busy") {
    target = p.memory_domains.front().id;
    s.features.dram_background = load;
  } else {
    throw Error("state '" + text + "'", "expected idle, cpu-busy:LOAD, gpu-busy:LOAD or dram-busy:LOAD");
  }
  if (target.empty()) throw Error("state '" + text + "'", "platform " + p.name + " has no such device");
  s.trace_text = fmt::format("time_us,action,target,value\n0,background,{},{}\n", target, load);
  return s;
}

policies::StateFeatures state_features(const sim::StateTrace& trace, const platforms::Platform& p) {
  policies::StateFeatures f;
  for (const auto& c : trace.changes) {
    if (c.time_s > 0 || c.action != sim::StateChange::Action::background) continue;
    if (const auto* d = p.find_device(c.target)) {
      (d->kind == platforms::DeviceKind::cpu ? f.cpu_background : f.gpu_background) = c.value;
    } else {
      f.dram_background = c.value;
    }
  }
  return f;
}

}  // namespace sparoa::cli

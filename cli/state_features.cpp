#include "cli/state_features.hpp"

#include <fmt/format.h>

#include <cmath>
#include <random>

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

bool is_dynamic_state(const std::string& kind) {
  return kind == "idle" || kind == "dvfs" || kind == "gpu-bursts" || kind == "cpu-bursts" || kind == "dram-heavy";
}

std::string dynamic_state_text(const std::string& kind, std::uint64_t seed, const platforms::Platform& p, double horizon_s) {
  if (!is_dynamic_state(kind)) {
    throw Error("state '" + kind + "'", "expected idle, dvfs, gpu-bursts, cpu-bursts, dram-heavy or a trace file");
  }
  if (kind == "idle") return {};
  std::mt19937_64 rng(seed);
  // From raw bits, so that every standard library draws the same.
  auto uniform = [&](double lo, double hi) { return lo + (hi - lo) * double(rng() >> 11) * 0x1.0p-53; };
  std::string text = "time_us,action,target,value\n";
  auto line = [&](double t_s, const std::string& action, const std::string& target, const std::string& value) {
    text += fmt::format("{},{},{},{}\n", std::int64_t(std::llround(t_s * 1e6)), action, target, value);
  };
  if (kind == "dvfs") {
    const std::string gpu = first_of(p, platforms::DeviceKind::gpu);
    const platforms::Device* dev = gpu.empty() ? nullptr : p.find_device(gpu);
    if (p.power_modes.size() < 2 && (dev == nullptr || dev->pstates.size() < 2)) {
      throw Error("state 'dvfs'", "platform " + p.name + " has one power mode and no GPU pstates to change between");
    }
    for (double t = uniform(0.01, 0.04); t < horizon_s; t += uniform(0.01, 0.04)) {
      if (p.power_modes.size() >= 2) {
        line(t, "power_mode", p.power_modes[rng() % p.power_modes.size()].name, "");
      } else {
        line(t, "pstate", gpu, fmt::format("{}", dev->pstates[rng() % dev->pstates.size()].freq_MHz));
      }
    }
  } else if (kind == "gpu-bursts" || kind == "cpu-bursts") {
    const std::string target = first_of(p, kind == "gpu-bursts" ? platforms::DeviceKind::gpu : platforms::DeviceKind::cpu);
    if (target.empty()) throw Error("state '" + kind + "'", "platform " + p.name + " has no such device");
    for (double t = uniform(0.005, 0.04); t < horizon_s;) {
      line(t, "background", target, fmt::format("{:.3f}", uniform(0.4, 0.9)));
      t += uniform(0.005, 0.04);
      line(t, "background", target, "0");
      t += uniform(0.005, 0.04);
    }
  } else {  // dram-heavy
    const std::string cpu = first_of(p, platforms::DeviceKind::cpu);
    const std::string dram = p.memory_domains.front().id;
    for (double t = 0; t < horizon_s; t += uniform(0.01, 0.05)) {
      line(t, "background", dram, fmt::format("{:.3f}", uniform(0.3, 0.8)));
      if (!cpu.empty()) line(t, "background", cpu, fmt::format("{:.3f}", uniform(0.0, 0.5)));
    }
  }
  return text;
}

policies::StateFeatures state_features(const platforms::StateTrace& trace, const platforms::Platform& p) {
  policies::StateFeatures f;
  for (const auto& c : trace.changes) {
    if (c.time_s > 0 || c.action != platforms::StateChange::Action::background) continue;
    if (const auto* d = p.find_device(c.target)) {
      (d->kind == platforms::DeviceKind::cpu ? f.cpu_background : f.gpu_background) = c.value;
    } else {
      f.dram_background = c.value;
    }
  }
  return f;
}

}  // namespace sparoa::cli

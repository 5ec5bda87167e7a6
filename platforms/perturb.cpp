#include "platforms/perturb.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <sstream>
#include <utility>
#include <vector>

#include "support/error.hpp"

namespace sparoa::platforms {

namespace {

const char* const kKeys[] = {"gpu_efficiency", "cpu_efficiency", "launch_overhead", "dram_bandwidth"};

std::vector<std::pair<std::string, double>> parse_spec(const std::string& spec, const std::string& where) {
  std::vector<std::pair<std::string, double>> out;
  if (spec == "none" || spec.empty()) return out;
  std::istringstream in(spec);
  std::string item;
  while (std::getline(in, item, ';')) {
    const auto eq = item.find('=');
    if (eq == std::string::npos) throw Error(where, "expected KEY=FACTOR, not '" + item + "'");
    const std::string key = item.substr(0, eq);
    if (std::find(std::begin(kKeys), std::end(kKeys), key) == std::end(kKeys)) {
      throw Error(where, "unknown key '" + key + "' (gpu_efficiency, cpu_efficiency, launch_overhead, dram_bandwidth)");
    }
    double factor = 0;
    try {
      std::size_t used = 0;
      factor = std::stod(item.substr(eq + 1), &used);
      if (used != item.size() - eq - 1) throw std::invalid_argument("trailing");
    } catch (const std::exception&) {
      throw Error(where, "factor of " + key + " is not a number: '" + item.substr(eq + 1) + "'");
    }
    if (!std::isfinite(factor) || factor <= 0) throw Error(where, "factor of " + key + " must be positive");
    out.emplace_back(key, factor);
  }
  return out;
}

}  // namespace

void check_perturb_spec(const std::string& spec, const std::string& where) { parse_spec(spec, where); }

void perturb_platform(Platform& p, const std::string& spec, const std::string& where) {
  const auto items = parse_spec(spec, where);
  if (items.empty()) return;
  std::string notes;
  for (const auto& item : items) {
    // Plain names, not a structured binding: clang 14 (the fuzz build) cannot capture one.
    const std::string& key = item.first;
    const double factor = item.second;
    int capped = 0;
    auto scale_efficiency = [&](const std::string& kind) {
      for (auto& e : p.cost_model.entries) {
        if (e.device_kind != kind) continue;
        const double max = std::min(1.0, e.compute_efficiency_max * factor);
        e.compute_efficiency = std::min(max, e.compute_efficiency * factor);
        capped += e.compute_efficiency_max * factor > 1 ? 1 : 0;
        e.compute_efficiency_max = max;
      }
    };
    if (key == "gpu_efficiency") {
      scale_efficiency("gpu");
    } else if (key == "cpu_efficiency") {
      scale_efficiency("cpu");
    } else if (key == "launch_overhead") {
      for (auto& e : p.cost_model.entries) {
        if (e.device_kind == "gpu") e.overhead_us *= factor;
      }
    } else if (key == "dram_bandwidth") {
      for (auto& d : p.memory_domains) d.bandwidth_GBps *= factor;
      for (auto& m : p.power_modes) {
        for (auto& d : m.memory_domains) d.bandwidth_GBps *= factor;
      }
    }
    notes += fmt::format("{}{} x{}{}", notes.empty() ? "" : ", ", key, factor,
                         capped ? fmt::format(" ({} entries capped at efficiency 1)", capped) : "");
  }
  if (!p.provenance.notes.empty()) p.provenance.notes += ' ';
  p.provenance.notes += "Perturbed for a sensitivity study: " + notes + ".";
  p.sha256.clear();
  validate_platform(p);
}

}  // namespace sparoa::platforms

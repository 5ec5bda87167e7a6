#include "traces/compare.hpp"

#include <algorithm>
#include <cmath>
#include <map>

#include "support/error.hpp"

namespace sparoa::traces {

namespace {

struct Durations {
  std::string device, lane, kernel;
  std::vector<double> us;
};

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  const std::size_t n = v.size();
  return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

// Operator name -> its durations, keeping the order operators first appear in.
std::pair<std::map<std::string, Durations>, std::vector<std::string>> durations(const Trace& t, const char* side,
                                                                              bool by_placement) {
  std::map<std::string, Durations> out;
  std::vector<std::string> order;
  for (const Record& r : t.records) {
    if (r.record != RecordKind::op) continue;
    auto [it, inserted] = out.try_emplace(by_placement ? r.op + '\x1f' + r.lane + '\x1f' + r.kernel : r.op);
    if (inserted) {
      it->second = {r.device, r.lane, r.kernel, {}};
      order.push_back(it->first);
    }
    it->second.us.push_back(r.end_us - r.start_us);
  }
  if (out.empty()) throw Error(std::string(side) + " trace", "holds no op record");
  return {std::move(out), std::move(order)};
}

TraceComparison compare(const Trace& simulated, const Trace& measured, bool by_placement) {
  const auto [sim, sim_order] = durations(simulated, "simulated", by_placement);
  const auto [hw, hw_order] = durations(measured, "measured", by_placement);
  TraceComparison c;
  for (const auto& name : sim_order) {
    if (hw.count(name)) continue;
    if (!by_placement) throw Error("operator '" + name + "'", "is in the simulated trace but not in the measured one");
    ++c.unmatched_simulated;
  }
  std::vector<double> abs_errors;
  for (const auto& key : hw_order) {
    const auto s = sim.find(key);
    const std::string name = key.substr(0, key.find('\x1f'));
    if (s == sim.end() && by_placement) {
      ++c.unmatched_measured;
      continue;
    }
    if (s == sim.end()) throw Error("operator '" + name + "'", "is in the measured trace but not in the simulated one");
    const Durations& h = hw.at(key);
    if (s->second.lane != h.lane || s->second.kernel != h.kernel) {
      throw Error("operator '" + name + "'", "ran on " + h.lane + " (" + h.kernel + ") but was simulated on " +
                                                 s->second.lane + " (" + s->second.kernel + ")");
    }
    OpComparison o;
    o.op = name;
    o.device = h.device;
    o.lane = h.lane;
    o.kernel = h.kernel;
    o.measured_us = median(h.us);
    o.simulated_us = median(s->second.us);
    o.measured_samples = h.us.size();
    o.simulated_samples = s->second.us.size();
    // An operator measured at 0 us (a view the engine did not execute) has no relative error.
    o.error = o.measured_us > 0 ? o.simulated_us / o.measured_us - 1 : 0;
    abs_errors.push_back(std::abs(o.error));
    c.measured_total_us += o.measured_us;
    c.simulated_total_us += o.simulated_us;
    c.ops.push_back(std::move(o));
  }
  if (abs_errors.empty()) throw Error("validate", "no operator ran on the same lane with the same kernel on both sides");
  std::sort(abs_errors.begin(), abs_errors.end());
  c.median_abs_error = median(abs_errors);
  const auto rank = std::size_t(std::ceil(0.9 * double(abs_errors.size())));
  c.p90_abs_error = abs_errors[std::min(abs_errors.size() - 1, rank == 0 ? 0 : rank - 1)];
  c.max_abs_error = abs_errors.back();
  return c;
}

}  // namespace

TraceComparison compare_op_durations(const Trace& simulated, const Trace& measured) { return compare(simulated, measured, false); }

TraceComparison compare_op_durations_by_placement(const Trace& simulated, const Trace& measured) {
  return compare(simulated, measured, true);
}

}  // namespace sparoa::traces

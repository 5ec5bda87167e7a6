#include "policies/oracle.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <map>
#include <numeric>
#include <random>
#include <set>

#include "support/error.hpp"

namespace sparoa::policies {
namespace {

constexpr double kInf = std::numeric_limits<double>::infinity();

// Objective values with fixed references (the best seed's latency and energy), so that
// values found at different times of the search compare.
struct Scorer {
  Objective objective;
  double latency_ref = 1, energy_ref = 1;
  double operator()(const platforms::Evaluation& e) const {
    if (!e.ok()) return kInf;
    const double w = objective.energy_weight;
    return (1 - w) * e.latency_mean_s / latency_ref + w * e.energy_per_inference_J / energy_ref;
  }
};

std::string key_of(const std::vector<DeviceChoice>& c) {
  std::string k;
  for (const auto& x : c) k.push_back(char('a' + x.device * 2 + (x.kernel == Kernel::sparse ? 1 : 0)));
  return k;
}

// Fastest lane of a device for a task, by min_exec_time.
double min_on_device(const PlanningModel& m, std::size_t t, std::size_t d) {
  double best = kInf;
  for (std::size_t l = 0; l < m.lanes(); ++l) {
    if (m.device_of_lane(l) == d) best = std::min(best, m.min_exec_time(t, l));
  }
  return best;
}

// Lower bound of one batch's latency when task t runs on device[t] (or on its fastest
// device where device[t] == m.devices()).
double assignment_bound(const PlanningModel& m, const std::vector<std::size_t>& device) {
  std::vector<double> w(m.ops()), finish(m.ops(), 0);
  std::vector<double> load(m.devices(), 0);
  // CPU lanes also pay every GPU launch: each operator holds some CPU lane at least for its
  // CPU run or its launch.
  double cpu_lane_time = 0;
  std::size_t cpu_lanes = 0;
  for (std::size_t l = 0; l < m.lanes(); ++l) {
    cpu_lanes += m.device_kind(m.device_of_lane(l)) == platforms::DeviceKind::cpu ? 1 : 0;
  }
  double path = 0;
  for (std::size_t t = 0; t < m.ops(); ++t) {
    double on_cpu = kInf;
    for (std::size_t d = 0; d < m.devices(); ++d) {
      if (m.device_kind(d) == platforms::DeviceKind::cpu) on_cpu = std::min(on_cpu, min_on_device(m, t, d));
    }
    if (device[t] < m.devices()) {
      w[t] = min_on_device(m, t, device[t]);
      load[device[t]] += w[t];
      cpu_lane_time += m.device_kind(device[t]) == platforms::DeviceKind::cpu ? w[t] : m.min_launch_time(t);
    } else {
      cpu_lane_time += std::min(on_cpu, m.min_launch_time(t));
      w[t] = kInf;
      for (std::size_t d = 0; d < m.devices(); ++d) w[t] = std::min(w[t], min_on_device(m, t, d));
    }
    double ready = 0;
    for (std::size_t p : m.predecessors()[t]) ready = std::max(ready, finish[p]);
    finish[t] = ready + w[t];
    path = std::max(path, finish[t]);
  }
  double bound = path;
  if (cpu_lanes > 0 && std::isfinite(cpu_lane_time)) bound = std::max(bound, cpu_lane_time / double(cpu_lanes));
  for (std::size_t d = 0; d < m.devices(); ++d) {
    // A GPU's streams share its units; a CPU device's lanes run side by side.
    std::size_t lanes = 0;
    for (std::size_t l = 0; l < m.lanes(); ++l) lanes += m.device_of_lane(l) == d ? 1 : 0;
    const double capacity = m.device_kind(d) == platforms::DeviceKind::gpu ? 1.0 : double(std::max<std::size_t>(lanes, 1));
    bound = std::max(bound, load[d] / capacity);
  }
  return bound;
}

std::vector<DeviceChoice> choices_of(const PlanningModel& m, const graph::Schedule& s) {
  std::map<std::string, std::size_t> device_of_lane;
  for (std::size_t l = 0; l < m.lanes(); ++l) device_of_lane[m.lane_id(l)] = m.device_of_lane(l);
  std::vector<DeviceChoice> c(m.ops());
  for (const auto& e : s.entries) {
    const auto id = m.context().g().find_op(e.op);
    const auto lane = device_of_lane.find(e.lane);
    if (!id || lane == device_of_lane.end()) throw Error("oracle", "a seed schedule does not match the model or platform");
    DeviceChoice& x = c[m.task_of(*id)];
    x.device = lane->second;
    platforms::parse_kernel(e.kernel, x.kernel);
  }
  return c;
}

}  // namespace

double lower_bound_s(const PlanningModel& m) {
  return assignment_bound(m, std::vector<std::size_t>(m.ops(), m.devices()));
}

OracleResult find_oracle(const PlanningModel& m, platforms::Evaluator& evaluator, const std::vector<SeedSchedule>& seeds,
                         const Objective& objective, const OracleOptions& options) {
  if (seeds.empty()) throw Error("oracle", "needs at least one seed schedule");
  OracleResult out;
  Scorer score{objective};
  {
    const SeedSchedule* first = nullptr;
    for (const auto& s : seeds) {
      if (s.evaluation.ok() && (first == nullptr || s.evaluation.latency_mean_s < first->evaluation.latency_mean_s)) first = &s;
    }
    if (first == nullptr) throw Error("oracle", "every seed schedule failed in the simulator");
    score.latency_ref = std::max(first->evaluation.latency_mean_s, 1e-12);
    score.energy_ref = std::max(first->evaluation.energy_per_inference_J, 1e-12);
  }
  double best = kInf;
  for (const auto& s : seeds) {
    if (score(s.evaluation) < best) {
      best = score(s.evaluation);
      out.schedule = s.schedule;
      out.evaluation = s.evaluation;
      out.origin = s.origin;
    }
  }
  const std::int64_t runs_before = evaluator.runs();
  auto consider = [&](const std::vector<graph::Schedule>& batch, const std::string& origin) {
    const auto e = evaluator.evaluate(batch);
    std::vector<double> v(e.size());
    for (std::size_t k = 0; k < e.size(); ++k) {
      v[k] = score(e[k]);
      // Strictly better beyond the tolerance: a tie keeps the earlier (seed) schedule.
      if (v[k] < best && !same_score(v[k], best)) {
        best = v[k];
        out.schedule = batch[k];
        out.evaluation = e[k];
        out.origin = origin;
      }
    }
    return v;
  };

  const double assignments = std::pow(double(m.devices()), double(m.ops()));
  if (assignments <= double(options.exhaustive_max_assignments)) {
    // Best-first over every device assignment by its lower bound.
    const std::size_t n = m.ops(), D = m.devices();
    std::vector<std::pair<double, std::uint64_t>> leaves;
    std::vector<std::size_t> device(n, 0);
    for (std::uint64_t code = 0; code < std::uint64_t(assignments); ++code) {
      std::uint64_t c = code;
      for (std::size_t t = 0; t < n; ++t) device[t] = std::size_t(c % D), c /= D;
      leaves.push_back({assignment_bound(m, device), code});
    }
    std::sort(leaves.begin(), leaves.end());
    const bool prune = options.prune && objective.energy_weight == 0;
    const std::size_t batch_size = 8;
    std::size_t next = 0;
    bool complete = true;
    std::set<std::string> seen;
    while (next < leaves.size()) {
      if (prune && leaves[next].first * (1 + kRelativeTolerance) >= best * score.latency_ref) break;
      if (evaluator.runs() - runs_before >= options.exhaustive_max_runs) {
        complete = false;
        break;
      }
      std::vector<graph::Schedule> batch;
      while (next < leaves.size() && batch.size() < batch_size) {
        if (prune && leaves[next].first * (1 + kRelativeTolerance) >= best * score.latency_ref) break;
        std::uint64_t c = leaves[next++].second;
        std::vector<DeviceChoice> choice(n);
        for (std::size_t t = 0; t < n; ++t) {
          choice[t].device = std::size_t(c % D), c /= D;
          choice[t].kernel = m.best_kernel(t, choice[t].device);
        }
        if (seen.insert(key_of(choice)).second) batch.push_back(schedule_from_choices(m, choice));
      }
      if (!batch.empty()) consider(batch, "exhaustive");
    }
    out.exhaustive = complete;
    out.runs = evaluator.runs() - runs_before;
    return out;
  }

  // Simulated annealing over device choices from the best seed. Each step ranks a few random
  // neighbours by the cost model and runs the most promising in the simulator.
  std::mt19937_64 rng(options.seed);
  std::vector<DeviceChoice> current = choices_of(m, out.schedule);
  double current_value = best;
  std::set<std::string> seen{key_of(current)};
  const double t0 = 0.02;  // initial temperature, relative to the objective's value
  while (evaluator.runs() - runs_before < options.anneal_runs) {
    const double progress = double(evaluator.runs() - runs_before) / double(options.anneal_runs);
    const double temperature = t0 * (1 - progress) + 1e-6;
    std::vector<std::pair<double, std::vector<DeviceChoice>>> proposals;
    for (int p = 0; p < options.proposals * 4 && int(proposals.size()) < options.proposals; ++p) {
      std::vector<DeviceChoice> c = current;
      const int flips = 1 + int(rng() % 3);
      for (int f = 0; f < flips; ++f) {
        const std::size_t t = std::size_t(rng() % m.ops());
        if (m.sparse_capable(t) && rng() % 5 == 0) {
          c[t].kernel = c[t].kernel == Kernel::dense ? Kernel::sparse : Kernel::dense;
        } else {
          c[t].device = (c[t].device + 1 + std::size_t(rng() % std::max<std::size_t>(m.devices() - 1, 1))) % m.devices();
          c[t].kernel = m.best_kernel(t, c[t].device);
        }
      }
      if (!seen.insert(key_of(c)).second) continue;
      proposals.push_back({predicted_makespan(m, schedule_from_choices(m, c)), std::move(c)});
    }
    if (proposals.empty()) break;
    std::stable_sort(proposals.begin(), proposals.end(),
                     [](const auto& a, const auto& b) { return a.first < b.first; });
    const std::size_t take = std::min<std::size_t>(proposals.size(), 2);
    std::vector<graph::Schedule> batch;
    for (std::size_t k = 0; k < take; ++k) batch.push_back(schedule_from_choices(m, proposals[k].second));
    const std::vector<double> v = consider(batch, "annealing");
    for (std::size_t k = 0; k < take; ++k) {
      const double delta = (v[k] - current_value) / std::max(current_value, 1e-12);
      const double u = double(rng() >> 11) * 0x1.0p-53;
      if (delta < 0 || u < std::exp(-delta / temperature)) {
        current = proposals[k].second;
        current_value = v[k];
      }
    }
  }
  out.runs = evaluator.runs() - runs_before;
  return out;
}

}  // namespace sparoa::policies

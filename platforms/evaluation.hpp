#pragma once
// The abstract environment a policy search sees (DESIGN.md: policies never include sim/ or
// hw/). Searches (thresholds, the oracle, batch sizes) hand candidate schedules or an online
// policy to an Evaluator and get back what a run of them measured; the simulator implements
// it (sim/fork_evaluator.hpp), so policies/ stays free of SimGrid.
#include <cstdint>
#include <string>
#include <vector>

#include "graph/schedule.hpp"
#include "platforms/observation.hpp"

namespace sparoa::platforms {

// What one run of a candidate measured. `error` is set (and the numbers are 0) when the run
// failed, e.g. a schedule the simulator refused.
struct Evaluation {
  double latency_mean_s = 0;
  double latency_p99_s = 0;
  double throughput_rps = 0;
  double energy_per_inference_J = 0;
  std::int64_t requests = 0;
  std::string error;

  bool ok() const { return error.empty(); }
};

class Evaluator {
 public:
  virtual ~Evaluator() = default;
  // Runs every schedule in the evaluator's fixed setting (model, platform, hardware state
  // trace, arrivals, requests, seed); results in the same order. Independent runs: the
  // implementation may run them in parallel.
  virtual std::vector<Evaluation> evaluate(const std::vector<graph::Schedule>& schedules) = 0;
  // The same setting, placed online by `policy`.
  virtual Evaluation evaluate_online(OnlinePolicy& policy) = 0;
  // Runs so far (a search reports its cost in runs).
  virtual std::int64_t runs() const = 0;
  // Batch size of the setting's graph: schedules must carry it.
  virtual std::int64_t batch() const = 0;
};

}  // namespace sparoa::platforms

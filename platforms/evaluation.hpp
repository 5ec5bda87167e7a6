#pragma once
// The abstract environment a policy search sees (DESIGN.md: policies never include sim/ or
// hw/). Searches (thresholds, the oracle, batch sizes) hand candidate schedules or an online
// policy to an Evaluator and get back what a run of them measured; the simulator implements
// it (sim/fork_evaluator.hpp), so policies/ stays free of SimGrid.
#include <cstdint>
#include <functional>
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

// Episodes of an online policy in worker processes, for learning (policies/rl). A job runs
// `requests` requests of one of the runner's settings (model, platform, state trace), one at
// a time, placed by `policy`; the policy lives in the worker as a copy of the parent's state
// when start() was called, so what it learns there comes back only through `result`, which
// the worker calls after its run.
struct RolloutJob {
  std::size_t setting = 0;
  OnlinePolicy* policy = nullptr;
  std::int64_t requests = 1;
  std::uint64_t seed = 1;  // of the run's own draws (arrivals)
  std::function<std::string()> result;
};

class RolloutRunner {
 public:
  virtual ~RolloutRunner() = default;
  virtual std::size_t settings() const = 0;
  // Starts every job in a worker of its own and returns at once, so that the caller can
  // learn while they run. At most one set of jobs is out at a time.
  virtual void start(std::vector<RolloutJob> jobs) = 0;
  // Waits for the jobs of the last start(); their results in job order. Throws
  // sparoa::Error naming the setting when a worker failed.
  virtual std::vector<std::string> finish() = 0;
};

}  // namespace sparoa::platforms

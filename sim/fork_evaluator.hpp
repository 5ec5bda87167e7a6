#pragma once
// The simulator as a platforms::Evaluator: each candidate runs in its own forked child
// process, because SimGrid has one engine per process (DESIGN.md). Every child starts from
// the same state (a fresh engine at time 0, the whole state trace ahead of it), so equal
// schedules give bit-identical numbers whatever ran before them, and children run in
// parallel up to `jobs` at a time.
#include <cstdint>

#include "platforms/evaluation.hpp"
#include "sim/simulation.hpp"

namespace sparoa::sim {

struct EvaluationSetting {
  const graph::Graph* graph = nullptr;  // features computed, bound to the batch size
  const platforms::Platform* platform = nullptr;
  const platforms::StateTrace* state = nullptr;
  platforms::ArrivalSpec arrivals;  // default: closed loop, one client per batch slot
  // Requests per run; 0: one batch without a state trace (every later one would repeat it
  // exactly), 20 batches with one (so that the run meets the trace's changes).
  std::int64_t requests = 0;
  double batch_timeout_s = 0;
  int max_inflight_batches = 2;
  std::uint64_t seed = 1;
  int jobs = 1;  // children at once; 0: one per online CPU
};

class ForkEvaluator final : public platforms::Evaluator {
 public:
  explicit ForkEvaluator(EvaluationSetting setting);  // throws sparoa::Error on a missing graph or platform

  std::vector<platforms::Evaluation> evaluate(const std::vector<graph::Schedule>& schedules) override;
  platforms::Evaluation evaluate_online(platforms::OnlinePolicy& policy) override;
  std::int64_t runs() const override { return runs_; }
  std::int64_t batch() const override;

  const EvaluationSetting& setting() const { return setting_; }
  std::int64_t requests_per_run() const;

 private:
  SimulationOptions options_for(const graph::Schedule* schedule, platforms::OnlinePolicy* policy) const;

  EvaluationSetting setting_;
  int jobs_ = 1;
  std::int64_t runs_ = 0;
};

}  // namespace sparoa::sim

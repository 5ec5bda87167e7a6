#pragma once
// The batch-size optimiser: given an arrival rate and a latency SLO, the batch size and
// batching timeout that give the most throughput with the p99 latency within the SLO, judged
// by runs of the caller's environment (the simulator: `sparoa tune batch`).
#include <cstdint>
#include <functional>
#include <vector>

#include "platforms/evaluation.hpp"

namespace sparoa::policies {

struct BatchCandidate {
  std::int64_t batch = 1;
  double timeout_s = 0;
  platforms::Evaluation evaluation;
  bool meets_slo = false;
};

struct BatchChoice {
  std::vector<BatchCandidate> candidates;  // in the order tried: batch, then timeout
  int best = -1;  // index of the choice; -1 when no candidate meets the SLO
};

// Runs `run(batch, timeout)` for every pair (batch 1 once: a timeout means nothing to it).
// The choice: the most throughput among the candidates whose p99 meets the SLO; ties (within
// 1e-9) go to the lower p99, then the smaller batch. Throws sparoa::Error on empty lists or a
// non-positive SLO.
using RunAtBatch = std::function<platforms::Evaluation(std::int64_t batch, double timeout_s)>;
BatchChoice tune_batch(const std::vector<std::int64_t>& batches, const std::vector<double>& timeouts_s, double slo_s,
                       const RunAtBatch& run);

}  // namespace sparoa::policies

#include "policies/batch_tuning.hpp"

#include <cmath>

#include "policies/search.hpp"
#include "support/error.hpp"

namespace sparoa::policies {

BatchChoice tune_batch(const std::vector<std::int64_t>& batches, const std::vector<double>& timeouts_s, double slo_s,
                       const RunAtBatch& run) {
  if (batches.empty() || timeouts_s.empty()) throw Error("batch tuning", "no batch sizes or no timeouts to try");
  if (!(slo_s > 0) || !std::isfinite(slo_s)) throw Error("batch tuning", "the latency SLO must be positive");
  for (std::int64_t b : batches) {
    if (b < 1) throw Error("batch tuning", "batch sizes must be at least 1");
  }
  for (double t : timeouts_s) {
    if (!(t >= 0) || !std::isfinite(t)) throw Error("batch tuning", "timeouts must be finite and non-negative");
  }
  BatchChoice out;
  for (std::int64_t b : batches) {
    for (std::size_t k = 0; k < timeouts_s.size(); ++k) {
      if (b == 1 && k > 0) break;
      BatchCandidate c;
      c.batch = b;
      c.timeout_s = b == 1 ? 0 : timeouts_s[k];
      c.evaluation = run(b, c.timeout_s);
      c.meets_slo = c.evaluation.ok() && c.evaluation.latency_p99_s <= slo_s;
      out.candidates.push_back(c);
    }
  }
  for (std::size_t i = 0; i < out.candidates.size(); ++i) {
    const BatchCandidate& c = out.candidates[i];
    if (!c.meets_slo) continue;
    if (out.best < 0) {
      out.best = int(i);
      continue;
    }
    const BatchCandidate& b = out.candidates[std::size_t(out.best)];
    const double ct = c.evaluation.throughput_rps, bt = b.evaluation.throughput_rps;
    const bool better = same_score(ct, bt) ? c.evaluation.latency_p99_s < b.evaluation.latency_p99_s &&
                                                 !same_score(c.evaluation.latency_p99_s, b.evaluation.latency_p99_s)
                                           : ct > bt;
    if (better) out.best = int(i);
  }
  return out;
}

}  // namespace sparoa::policies

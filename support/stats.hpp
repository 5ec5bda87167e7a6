#pragma once
// Nearest-rank percentiles: the simulator's summaries and the hardware engines' use one
// definition, so that a validation compares like with like.
#include <algorithm>
#include <cmath>
#include <vector>

namespace sparoa {

// The smallest value with at least p% of `sorted` (ascending) at or below it; p in [0, 100];
// 0 for an empty vector.
inline double nearest_rank_percentile(const std::vector<double>& sorted, double p) {
  if (sorted.empty()) return 0;
  const double rank = std::ceil(p / 100.0 * double(sorted.size()));
  const std::size_t index = std::size_t(std::clamp(rank, 1.0, double(sorted.size()))) - 1;
  return sorted[index];
}

}  // namespace sparoa

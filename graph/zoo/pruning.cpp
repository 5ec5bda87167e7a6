#include "graph/zoo/pruning.hpp"

#include <algorithm>
#include <array>
#include <bit>
#include <cmath>
#include <stdexcept>
#include <vector>

namespace sparoa::graph::zoo::detail {
namespace {

// The magnitude of a float as an integer key: for non-negative floats the bit pattern is
// monotonic in the value, so integer comparison is magnitude comparison, without NaN cases.
inline std::uint32_t magnitude_key(float x) { return std::bit_cast<std::uint32_t>(x) & 0x7fffffffu; }

// The k-th smallest key (k >= 1) by two rounds of counting: the 16 high bits, then the 15 low
// bits within the selected bucket. O(n) time, O(1) extra memory beyond two histograms.
std::uint32_t kth_smallest_key(std::span<const float> w, std::int64_t k) {
  std::vector<std::int64_t> high(1u << 16, 0);
  for (float x : w) ++high[magnitude_key(x) >> 15];
  std::uint32_t bucket = 0;
  for (; bucket < high.size(); ++bucket) {
    if (k <= high[bucket]) break;
    k -= high[bucket];
  }
  std::vector<std::int64_t> low(1u << 15, 0);
  for (float x : w) {
    const std::uint32_t key = magnitude_key(x);
    if ((key >> 15) == bucket) ++low[key & 0x7fffu];
  }
  std::uint32_t rest = 0;
  for (; rest < low.size(); ++rest) {
    if (k <= low[rest]) break;
    k -= low[rest];
  }
  return (bucket << 15) | rest;
}

}  // namespace

std::int64_t unstructured_zero_count(std::int64_t size, double sparsity) {
  return std::clamp<std::int64_t>(std::llround(sparsity * static_cast<double>(size)), 0, size);
}

void prune_unstructured(std::span<float> w, double sparsity) {
  const auto size = static_cast<std::int64_t>(w.size());
  const std::int64_t zeros = unstructured_zero_count(size, sparsity);
  if (zeros == 0) return;
  const std::uint32_t threshold = kth_smallest_key(w, zeros);
  std::int64_t below = 0;
  for (float x : w) below += magnitude_key(x) < threshold ? 1 : 0;
  std::int64_t ties_to_zero = zeros - below;  // >= 1 by construction of the threshold
  for (float& x : w) {
    const std::uint32_t key = magnitude_key(x);
    if (key < threshold) {
      x = 0.0f;
    } else if (key == threshold && ties_to_zero > 0) {
      x = 0.0f;
      --ties_to_zero;
    }
  }
}

bool prune_2_4(std::span<float> w, const WeightLayout& layout) {
  if (layout.outer * layout.reduction * layout.inner != static_cast<std::int64_t>(w.size())) {
    throw std::logic_error("prune_2_4: layout does not match the tensor size");
  }
  if (layout.reduction % 4 != 0) return false;
  for (std::int64_t o = 0; o < layout.outer; ++o) {
    for (std::int64_t r = 0; r < layout.reduction; r += 4) {
      for (std::int64_t i = 0; i < layout.inner; ++i) {
        std::array<float*, 4> group{};
        for (std::int64_t t = 0; t < 4; ++t) {
          group[t] = &w[static_cast<std::size_t>((o * layout.reduction + r + t) * layout.inner + i)];
        }
        // Rank each element by (magnitude, position); the two lowest ranks are zeroed.
        std::array<int, 4> rank{};
        for (int a = 0; a < 4; ++a) {
          for (int b = 0; b < 4; ++b) {
            const auto ka = magnitude_key(*group[a]), kb = magnitude_key(*group[b]);
            if (kb < ka || (kb == ka && b < a)) ++rank[a];
          }
        }
        for (int a = 0; a < 4; ++a) {
          if (rank[a] < 2) *group[a] = 0.0f;
        }
      }
    }
  }
  return true;
}

void prune(std::span<float> w, const WeightLayout& layout, const Pruning& pruning) {
  if (pruning.structured_2_4) {
    prune_2_4(w, layout);
  } else if (pruning.sparsity > 0) {
    prune_unstructured(w, pruning.sparsity);
  }
}

}  // namespace sparoa::graph::zoo::detail

#pragma once
// Magnitude pruning of one weight tensor, per layer (see graph/zoo/README.md for the rule).
#include <cstdint>
#include <span>

#include "graph/zoo/zoo.hpp"

namespace sparoa::graph::zoo::detail {

// How a weight's elements line up with its reduction (input-channel) axis: the tensor read
// row-major as [outer, reduction, inner]. Conv [O, C/g, kh, kw]: {O, C/g, kh*kw};
// Gemm with transB=1 [out, in]: {out, in, 1}; MatMul right-hand side [in, out]: {1, in, out}.
struct WeightLayout {
  std::int64_t outer = 1;
  std::int64_t reduction = 1;
  std::int64_t inner = 1;
};

// The number of zeros unstructured pruning leaves in `size` weights: round(sparsity * size).
std::int64_t unstructured_zero_count(std::int64_t size, double sparsity);

// Zeroes exactly unstructured_zero_count(w.size(), sparsity) elements, those of smallest
// magnitude; among equal magnitudes the lower index goes first. Linear time.
void prune_unstructured(std::span<float> w, double sparsity);

// In every group of 4 consecutive elements along the reduction axis zeroes the 2 of smallest
// magnitude (the earlier one on a tie). Returns false and leaves `w` untouched when the
// reduction length is not a multiple of 4 (such layers stay dense, as 2:4 hardware needs).
bool prune_2_4(std::span<float> w, const WeightLayout& layout);

// Applies `pruning` to one prunable weight.
void prune(std::span<float> w, const WeightLayout& layout, const Pruning& pruning);

}  // namespace sparoa::graph::zoo::detail

#pragma once
// The graph context an online policy sees with each operator (DESIGN.md's observation):
// the kernels it may use, its depth, and the remaining critical path by the cost model.
// Computed once per run, the same way by the simulator and the hardware engine, so that a
// policy trained on one sees identical features on the other.
#include <string>
#include <vector>

#include "graph/graph.hpp"
#include "platforms/cost_model.hpp"

namespace sparoa::platforms {

struct OpContext {
  std::vector<std::string> kernels;      // "dense", maybe "sparse" (graph::kernels_for)
  int depth = 0;                          // longest path from a graph input, in operators
  double remaining_critical_path_s = 0;  // best lane and kernel per operator at the graph batch, this op included
};

// One per operator of `g` (indexed like g.operators()); `demands` from op_demands(g).
std::vector<OpContext> op_contexts(const graph::Graph& g, const CostModel& cost, const std::vector<OpDemand>& demands);

}  // namespace sparoa::platforms

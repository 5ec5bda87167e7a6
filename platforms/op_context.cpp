#include "platforms/op_context.hpp"

#include <algorithm>
#include <limits>

#include "graph/schedule.hpp"

namespace sparoa::platforms {

std::vector<OpContext> op_contexts(const graph::Graph& g, const CostModel& cost, const std::vector<OpDemand>& demands) {
  const auto& topo = g.topological_order();
  const std::int64_t batch = g.batch;
  std::vector<OpContext> ctx(g.operators().size());
  for (std::size_t i = 0; i < ctx.size(); ++i) ctx[i].kernels = graph::kernels_for(g, g.op(i).name);
  for (auto id : topo) {
    int d = 0;
    for (auto pr : g.predecessors(id)) d = std::max(d, ctx[pr].depth + 1);
    ctx[id].depth = d;
  }
  for (auto it = topo.rbegin(); it != topo.rend(); ++it) {
    OpContext& c = ctx[*it];
    double best = std::numeric_limits<double>::infinity();
    for (const auto& dev : cost.platform().devices) {
      for (const auto& lane : dev.lanes) {
        for (const auto& k : c.kernels) {
          Kernel kernel = Kernel::dense;
          parse_kernel(k, kernel);
          best = std::min(best, cost.predict_s(demands[*it], lane.id, kernel, batch, batch));
        }
      }
    }
    double tail = 0;
    for (auto s : g.successors(*it)) tail = std::max(tail, ctx[s].remaining_critical_path_s);
    c.remaining_critical_path_s = best + tail;
  }
  return ctx;
}

}  // namespace sparoa::platforms

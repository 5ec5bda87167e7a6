#pragma once
// Schedules the GPU tests replay: every operator on one lane, or alternating between lanes in
// topological order (the hybrid case), dense or sparse wherever a sparse kernel exists.
#include <algorithm>
#include <map>
#include <string>
#include <vector>

#include "graph/graph.hpp"
#include "graph/schedule.hpp"

namespace sparoa::hw::test {

inline graph::Schedule lanes_schedule(const graph::Graph& g, const std::string& platform, const std::vector<std::string>& lanes,
                                      bool sparse) {
  graph::Schedule s;
  s.model_sha256 = g.model_sha256;
  s.platform_name = platform;
  s.batch = g.batch;
  std::map<std::string, std::int64_t> next;
  std::size_t k = 0;
  for (graph::OpId id : g.topological_order()) {
    const std::string& name = g.op(id).name;
    const std::string& lane = lanes[k++ % lanes.size()];
    const auto kernels = graph::kernels_for(g, name);
    const bool has_sparse = std::find(kernels.begin(), kernels.end(), "sparse") != kernels.end();
    s.entries.push_back({name, lane, sparse && has_sparse ? "sparse" : "dense", next[lane]++, {}});
  }
  return s;
}

}  // namespace sparoa::hw::test

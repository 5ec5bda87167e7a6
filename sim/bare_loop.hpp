#pragma once
// The benchmark's baseline: a bare SimGrid loop that creates and runs the same activities the
// simulator creates for a static schedule (same hosts, amounts and routes, same host and
// network models, energy plugin on), one actor per lane running its activities back to back,
// created lazily, with none of the simulator's bookkeeping (no dependencies, batches,
// transfers' consumers, traces or energy attribution). Like simulate(), once per process.
#include <cstdint>

#include "graph/graph.hpp"
#include "graph/schedule.hpp"
#include "platforms/platform.hpp"

namespace sparoa::sim {

struct BareLoopResult {
  std::int64_t activities = 0;
  double wall_s = 0;
  double simulated_s = 0;
};

BareLoopResult run_bare_loop(const graph::Graph& g, const platforms::Platform& p, const graph::Schedule& s,
                             std::int64_t inferences);

}  // namespace sparoa::sim

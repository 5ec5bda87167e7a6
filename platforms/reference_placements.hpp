#pragma once
// The two placements every study starts from, available before any real policy: everything
// dense on the CPU (its first lane) or on the GPU (its first lane). Usable as online policies
// and as static schedules (for the hardware replay and for schedule files).
#include <memory>
#include <string>

#include "graph/graph.hpp"
#include "graph/schedule.hpp"
#include "platforms/observation.hpp"
#include "platforms/platform.hpp"

namespace sparoa::platforms {

enum class ReferencePlacement { cpu_only, gpu_only };
// "cpu-only" / "gpu-only"; throws sparoa::Error listing the names otherwise.
ReferencePlacement parse_reference_placement(const std::string& name);
std::string to_string(ReferencePlacement r);

// The lane a reference placement uses; throws sparoa::Error when the platform has no such device.
const Lane& reference_lane(const Platform& p, ReferencePlacement r);

std::unique_ptr<OnlinePolicy> make_reference_policy(const Platform& p, ReferencePlacement r);
// Every operator on the lane, in topological order, dense.
graph::Schedule make_reference_schedule(const graph::Graph& g, const Platform& p, ReferencePlacement r);

}  // namespace sparoa::platforms

#include "platforms/reference_placements.hpp"

#include "support/error.hpp"

namespace sparoa::platforms {

ReferencePlacement parse_reference_placement(const std::string& name) {
  if (name == "cpu-only") return ReferencePlacement::cpu_only;
  if (name == "gpu-only") return ReferencePlacement::gpu_only;
  throw Error("placement '" + name + "'", "unknown reference placement (reference placements: cpu-only, gpu-only)");
}

std::string to_string(ReferencePlacement r) { return r == ReferencePlacement::cpu_only ? "cpu-only" : "gpu-only"; }

const Lane& reference_lane(const Platform& p, ReferencePlacement r) {
  const DeviceKind kind = r == ReferencePlacement::cpu_only ? DeviceKind::cpu : DeviceKind::gpu;
  for (const Device& d : p.devices) {
    if (d.kind != kind) continue;
    if (d.lanes.empty()) throw Error("platform " + p.name, "device '" + d.id + "' has no lane");
    return d.lanes.front();
  }
  throw Error(to_string(r), "platform " + p.name + " has no " + std::string(to_string(kind)) + " device");
}

namespace {

class ReferencePolicy final : public OnlinePolicy {
 public:
  ReferencePolicy(ReferencePlacement r, std::string lane) : r_(r), lane_(std::move(lane)) {}
  std::string name() const override { return to_string(r_); }
  Placement place(const Observation&) override { return Placement{lane_, "", "dense"}; }

 private:
  ReferencePlacement r_;
  std::string lane_;
};

}  // namespace

std::unique_ptr<OnlinePolicy> make_reference_policy(const Platform& p, ReferencePlacement r) {
  return std::make_unique<ReferencePolicy>(r, reference_lane(p, r).id);
}

graph::Schedule make_reference_schedule(const graph::Graph& g, const Platform& p, ReferencePlacement r) {
  if (!g.finalized()) throw Error(g.name.empty() ? "graph" : g.name, "the graph was not finalized");
  const Lane& lane = reference_lane(p, r);
  graph::Schedule s;
  s.model_path = g.source_path;
  s.model_sha256 = g.model_sha256;
  s.platform_name = p.name;
  s.platform_power_mode = p.power_mode;
  s.batch = g.batch;
  std::int64_t order = 0;
  for (graph::OpId id : g.topological_order()) s.entries.push_back({g.op(id).name, lane.id, "dense", order++, {}});
  return s;
}

}  // namespace sparoa::platforms

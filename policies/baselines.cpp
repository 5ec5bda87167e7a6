// The classic baselines: everything on one kind of device, HEFT, and seeded random
// placements. All plan with the cost model of platforms/ through PlanningModel.
#include <fmt/format.h>

#include <random>

#include "policies/planning.hpp"
#include "support/error.hpp"

namespace sparoa::policies {
namespace {

// Every operator on devices of one kind (all their lanes: all the cores, or every stream),
// dense, lanes by earliest finish time.
graph::Schedule one_kind(const PolicyContext& ctx, platforms::DeviceKind kind, const std::string& policy) {
  const PlanningModel m(ctx);
  std::vector<std::size_t> devices;
  for (std::size_t d = 0; d < m.devices(); ++d) {
    if (m.device_kind(d) == kind) devices.push_back(d);
  }
  if (devices.empty()) {
    throw Error("policy " + policy, "platform " + ctx.p().name + " has no " + std::string(platforms::to_string(kind)) +
                                        " device");
  }
  const std::vector<std::vector<std::size_t>> allowed(m.ops(), devices);
  const std::vector<std::vector<Kernel>> dense(m.ops(), std::vector<Kernel>(m.devices(), Kernel::dense));
  return to_schedule(m, heft(m.task_graph(allowed, dense)), std::vector<Kernel>(m.ops(), Kernel::dense));
}

class CpuOnly final : public Policy {
 public:
  graph::Schedule schedule(const PolicyContext& ctx) const override {
    return one_kind(ctx, platforms::DeviceKind::cpu, "cpu-only");
  }
};

class GpuOnly final : public Policy {
 public:
  graph::Schedule schedule(const PolicyContext& ctx) const override {
    return one_kind(ctx, platforms::DeviceKind::gpu, "gpu-only");
  }
};

// HEFT over every lane, each operator with its device's best kernel, transfers between
// devices from the cost model.
class Heft final : public Policy {
 public:
  graph::Schedule schedule(const PolicyContext& ctx) const override {
    const PlanningModel m(ctx);
    const ListSchedule ls = heft(m.task_graph());
    std::vector<Kernel> kernel(m.ops());
    for (std::size_t t = 0; t < m.ops(); ++t) kernel[t] = m.best_kernel(t, m.device_of_lane(ls.processor[t]));
    return to_schedule(m, ls, kernel);
  }
};

// Each operator on a device and kernel drawn uniformly from the seed; lanes by earliest
// finish time. A reference for "no information at all".
class RandomPolicy final : public Policy {
 public:
  graph::Schedule schedule(const PolicyContext& ctx) const override {
    const PlanningModel m(ctx);
    std::mt19937_64 rng(ctx.seed);
    std::vector<DeviceChoice> choice(m.ops());
    for (std::size_t t = 0; t < m.ops(); ++t) {
      choice[t].device = std::size_t(rng() % m.devices());
      choice[t].kernel = m.sparse_capable(t) && (rng() & 1u) ? Kernel::sparse : Kernel::dense;
    }
    return schedule_from_choices(m, choice);
  }
};

}  // namespace
}  // namespace sparoa::policies

using sparoa::policies::CpuOnly;
using sparoa::policies::GpuOnly;
using sparoa::policies::Heft;
using sparoa::policies::RandomPolicy;

SPAROA_REGISTER_POLICY(CpuOnly, .name = "cpu-only", .description = "every operator on the CPU (all its lanes), dense",
                       .display_rank = 10)
SPAROA_REGISTER_POLICY(GpuOnly, .name = "gpu-only",
                       .description = "every operator on the GPU (all its streams), dense: the stand-in for GPU compilers",
                       .display_rank = 11)
SPAROA_REGISTER_POLICY(Heft, .name = "heft",
                       .description = "HEFT: upward rank, insertion-based earliest finish time with transfer costs",
                       .display_rank = 20)
SPAROA_REGISTER_POLICY(RandomPolicy, .name = "random", .description = "device and kernel drawn from the seed",
                       .display_rank = 90)

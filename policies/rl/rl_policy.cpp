// Registers "rl": the SAC agent trained by `sparoa train rl`.
#include "policies/rl/rl_policy.hpp"

#include <fmt/format.h>

#include <algorithm>

#include "support/error.hpp"

namespace sparoa::policies::rl {

std::shared_ptr<SacAgent> agent_of(const PolicyContext& ctx) {
  const auto it = ctx.options.find("agent");
  if (it == ctx.options.end() || it->second.empty()) {
    throw Error("policy rl", "needs an agent file (--agent FILE, from `sparoa train rl`)");
  }
  return std::make_shared<SacAgent>(SacAgent::load(it->second));
}

graph::Schedule freeze_schedule(const PolicyContext& ctx, SacAgent& agent) {
  FeatureBuilder b(ctx);
  const PlanningModel& m = b.model();
  const platforms::Platform& p = ctx.p();
  const platforms::PowerMode& mode = p.initial_mode();
  std::vector<double> finish(m.ops(), 0), lane_free(m.lanes(), 0);
  std::vector<std::vector<std::size_t>> order(m.lanes());
  std::vector<std::string> kernel(m.ops());
  for (std::size_t t = 0; t < m.ops(); ++t) {
    platforms::Observation obs;
    for (std::size_t pr : m.predecessors()[t]) obs.time_s = std::max(obs.time_s, finish[pr]);
    obs.power_mode = mode.name;
    for (std::size_t d = 0; d < m.devices(); ++d) {
      const platforms::Device& dev = p.device(m.device_id(d));
      const auto& md = p.mode_device(mode, dev.id);
      platforms::DeviceState ds;
      ds.id = dev.id;
      ds.freq_MHz = dev.pstates[md.pstate].freq_MHz;
      ds.online_units = md.online_units;
      for (std::size_t l = 0; l < m.lanes(); ++l) {
        if (m.device_of_lane(l) != d) continue;
        const bool busy = lane_free[l] > obs.time_s;
        ds.lanes.push_back({m.lane_id(l), busy ? 1 : 0, busy});
      }
      obs.devices.push_back(std::move(ds));
    }
    const graph::Operator& op = ctx.g().op(m.op(t));
    obs.op = op.name;
    obs.op_index = m.op(t);
    obs.op_type = op.type;
    obs.op_class = m.demand(t).op_class;
    obs.features = m.features(t);
    obs.kernels = {"dense"};
    if (m.sparse_capable(t)) obs.kernels.push_back("sparse");
    obs.batch = ctx.g().batch;
    obs.depth = b.depth(t);
    obs.remaining_critical_path_s = b.remaining_critical_path_s(t);
    obs.thresholds = ctx.thresholds;
    State s;
    Mask mask;
    b.observe(obs, s, mask);
    const int a = agent.act_greedy(s, mask);
    finish[t] = b.predicted_finish(a);
    const platforms::Placement pl = b.commit(a);
    for (std::size_t l = 0; l < m.lanes(); ++l) {
      if (m.lane_id(l) == pl.lane) {
        order[l].push_back(t);
        lane_free[l] = finish[t];
      }
    }
    kernel[t] = pl.kernel;
  }
  graph::Schedule s = empty_schedule(ctx);
  s.entries.resize(m.ops());
  for (std::size_t l = 0; l < m.lanes(); ++l) {
    for (std::size_t k = 0; k < order[l].size(); ++k) {
      const std::size_t t = order[l][k];
      s.entries[t] = {ctx.g().op(m.op(t)).name, m.lane_id(l), kernel[t], std::int64_t(k), {}};
    }
  }
  return s;
}

namespace {

class Rl final : public Policy {
 public:
  graph::Schedule schedule(const PolicyContext& ctx) const override { return freeze_schedule(ctx, *agent_of(ctx)); }
  std::unique_ptr<platforms::OnlinePolicy> online(const PolicyContext& ctx) const override {
    return std::make_unique<AgentPolicy>(ctx, agent_of(ctx));
  }
};

}  // namespace
}  // namespace sparoa::policies::rl

using sparoa::policies::rl::Rl;
SPAROA_REGISTER_POLICY(Rl, .name = "rl",
                       .description = "the soft actor-critic agent of `sparoa train rl` (option agent=FILE, or --agent)",
                       .display_rank = 60, .option_keys = {"agent"}, .online = true, .requires_option = "agent")

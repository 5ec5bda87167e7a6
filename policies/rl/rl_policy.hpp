#pragma once
// The trained SAC agent as a policy ("rl", option agent=FILE). Online, it places each ready
// operator from the live observation with its most probable action (no sampling). Its
// static schedule freezes those decisions on an idle board by the cost model (operators in
// topological order, each observed when its producers are predicted to finish), so that
// the hardware backend can replay it.
#include <memory>

#include "policies/rl/sac.hpp"

namespace sparoa::policies::rl {

class AgentPolicy final : public platforms::OnlinePolicy {
 public:
  AgentPolicy(const PolicyContext& ctx, std::shared_ptr<SacAgent> agent) : builder_(ctx), agent_(std::move(agent)) {}
  std::string name() const override { return "rl"; }
  platforms::Placement place(const platforms::Observation& obs) override {
    builder_.observe(obs, state_, mask_);
    return builder_.commit(agent_->act_greedy(state_, mask_));
  }
  FeatureBuilder& builder() { return builder_; }

 private:
  FeatureBuilder builder_;
  std::shared_ptr<SacAgent> agent_;
  State state_{};
  Mask mask_{};
};

// The agent file named by ctx.options["agent"] (throws sparoa::Error when it is missing).
std::shared_ptr<SacAgent> agent_of(const PolicyContext& ctx);

// The idle-board freeze of `agent`'s decisions for ctx's graph and platform.
graph::Schedule freeze_schedule(const PolicyContext& ctx, SacAgent& agent);

}  // namespace sparoa::policies::rl

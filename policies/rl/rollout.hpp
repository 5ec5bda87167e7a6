#pragma once
// The learning side of an episode: an online policy that places with the agent's current
// actor (sampling; while warming up, the plan's action with probability 0.7, else a uniform
// one, so that the first experience holds both good schedules and their neighbours) and
// records every decision as a transition. An episode is one request; the reward of a decision is minus the time (and,
// with an energy weight, the energy) that passes until the next decision or the end of the
// request, over the model's lower bound:
//   r = -((t_next - t) + w (E_next - E)) / lower_bound_s,   w in seconds per joule,
// so an episode's undiscounted return is -(latency + w energy) / lower bound.
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "policies/rl/sac.hpp"

namespace sparoa::policies::rl {

struct RolloutStats {
  std::int64_t episodes = 0, steps = 0;
  double return_sum = 0;         // undiscounted
  double latency_sum_s = 0;
  double latency_ratio_sum = 0;  // latency / lower bound
  double energy_sum_J = 0;
};

class Collector final : public platforms::OnlinePolicy {
 public:
  // `agent` may be null only with `warmup`. Transitions are n-step (SacConfig::n_step).
  Collector(const PolicyContext& ctx, SacAgent* agent, std::uint64_t seed, bool warmup, double energy_weight,
            double gamma, int n_step);

  std::string name() const override { return "rl-collector"; }
  platforms::Placement place(const platforms::Observation& obs) override;
  void batch_done(const platforms::BatchDone& done) override;

  // What a worker sends back: the stats, then the transitions.
  std::string serialize() const;
  static void deserialize(const std::string& bytes, RolloutStats& stats, std::vector<Transition>& out);

  const RolloutStats& stats() const { return stats_; }
  const std::vector<Transition>& transitions() const { return transitions_; }

 private:
  void close_pending(double time_s, double energy_J, const State* next, const Mask* next_mask);
  void close_episode();  // the episode's one-step transitions into n-step ones

  FeatureBuilder builder_;
  SacAgent* agent_;
  nn::Rng rng_;
  bool warmup_;
  double energy_weight_, gamma_;
  int n_step_;
  std::vector<Transition> episode_;  // one-step, this request so far
  RolloutStats stats_;
  std::vector<Transition> transitions_;
  std::optional<Transition> pending_;
  double pending_time_s_ = 0, pending_energy_J_ = 0;
  double episode_return_ = 0, episode_energy_start_J_ = -1;
};

}  // namespace sparoa::policies::rl

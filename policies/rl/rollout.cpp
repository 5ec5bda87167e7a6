#include "policies/rl/rollout.hpp"

#include <algorithm>
#include <cstring>

#include "support/error.hpp"

namespace sparoa::policies::rl {

Collector::Collector(const PolicyContext& ctx, SacAgent* agent, std::uint64_t seed, bool warmup, double energy_weight,
                     double gamma, int n_step)
    : builder_(ctx),
      agent_(agent),
      rng_(seed),
      warmup_(warmup || agent == nullptr),
      energy_weight_(energy_weight),
      gamma_(gamma),
      n_step_(std::max(n_step, 1)) {}

void Collector::close_episode() {
  const std::size_t T = episode_.size();
  for (std::size_t t = 0; t < T; ++t) {
    Transition out = episode_[t];
    const std::size_t k = std::min<std::size_t>(std::size_t(n_step_), T - t);
    double ret = 0, g = 1;
    for (std::size_t i = 0; i < k; ++i) {
      ret += g * episode_[t + i].reward;
      g *= gamma_;
    }
    const Transition& last = episode_[t + k - 1];
    out.reward = float(ret);
    out.next = last.next;
    out.next_mask = last.next_mask;
    out.done = last.done;
    out.discount = last.done ? 0.f : float(g);
    transitions_.push_back(out);
  }
  episode_.clear();
}

void Collector::close_pending(double time_s, double energy_J, const State* next, const Mask* next_mask) {
  if (!pending_) return;
  Transition& t = *pending_;
  const double r = -((time_s - pending_time_s_) + energy_weight_ * (energy_J - pending_energy_J_)) / builder_.lower_bound_s();
  t.reward = float(r);
  episode_return_ += r;
  if (next != nullptr) {
    for (int k = 0; k < kFeatures; ++k) t.next[std::size_t(k)] = float((*next)[std::size_t(k)]);
    t.next_mask = mask_bits(*next_mask);
    t.done = 0;
  } else {
    t.done = 1;
  }
  episode_.push_back(t);
  pending_.reset();
}

platforms::Placement Collector::place(const platforms::Observation& obs) {
  State s;
  Mask m;
  builder_.observe(obs, s, m);
  if (episode_energy_start_J_ < 0) episode_energy_start_J_ = obs.energy_J;
  close_pending(obs.time_s, obs.energy_J, &s, &m);
  int a = -1;
  if (warmup_ && (rng_() >> 11) * 0x1.0p-53 < 0.7) {
    a = builder_.plan_action();
  } else if (warmup_) {
    int allowed = 0;
    for (bool b : m) allowed += b ? 1 : 0;
    int pick = int(rng_() % std::uint64_t(allowed));
    for (int k = 0; k < kActions; ++k) {
      if (m[std::size_t(k)] && pick-- == 0) a = k;
    }
  } else {
    a = agent_->act_sample(s, m, rng_);
  }
  Transition t;
  for (int k = 0; k < kFeatures; ++k) t.state[std::size_t(k)] = float(s[std::size_t(k)]);
  t.mask = mask_bits(m);
  t.action = std::uint8_t(a);
  pending_ = t;
  pending_time_s_ = obs.time_s;
  pending_energy_J_ = obs.energy_J;
  ++stats_.steps;
  return builder_.commit(a);
}

void Collector::batch_done(const platforms::BatchDone& done) {
  close_pending(done.time_s, done.energy_J, nullptr, nullptr);
  close_episode();
  ++stats_.episodes;
  stats_.return_sum += episode_return_;
  stats_.latency_sum_s += done.latency_mean_s;
  stats_.latency_ratio_sum += done.latency_mean_s / builder_.lower_bound_s();
  stats_.energy_sum_J += done.energy_J - std::max(episode_energy_start_J_, 0.0);
  episode_return_ = 0;
  episode_energy_start_J_ = done.energy_J;
}

std::string Collector::serialize() const {
  std::string out(sizeof(RolloutStats) + transitions_.size() * sizeof(Transition), '\0');
  std::memcpy(out.data(), &stats_, sizeof stats_);
  if (!transitions_.empty()) {
    std::memcpy(out.data() + sizeof stats_, transitions_.data(), transitions_.size() * sizeof(Transition));
  }
  return out;
}

void Collector::deserialize(const std::string& bytes, RolloutStats& stats, std::vector<Transition>& out) {
  if (bytes.size() < sizeof(RolloutStats) || (bytes.size() - sizeof(RolloutStats)) % sizeof(Transition) != 0) {
    throw Error("rollout", "a worker sent a malformed result");
  }
  std::memcpy(&stats, bytes.data(), sizeof stats);
  const std::size_t n = (bytes.size() - sizeof stats) / sizeof(Transition);
  const std::size_t at = out.size();
  out.resize(at + n);
  if (n > 0) std::memcpy(out.data() + at, bytes.data() + sizeof stats, n * sizeof(Transition));
}

}  // namespace sparoa::policies::rl

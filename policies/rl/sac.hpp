#pragma once
// Soft actor-critic for discrete actions (Christodoulou 2019) on the Eigen NN library: a
// categorical policy over the allowed actions, two Q networks with slowly following target
// copies, the entropy temperature tuned towards a target entropy, a replay buffer.
//
// Masked actions: the policy's probability of a disallowed action is 0 and every expectation
// over actions (the soft value, the policy loss, the entropy) runs over the allowed ones only;
// the target entropy of a state is `target_entropy` x log(number of allowed actions).
#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "policies/nn/layers.hpp"
#include "policies/rl/features.hpp"

namespace sparoa::policies::rl {

struct SacConfig {
  int hidden = 64;             // two hidden layers of this width in every network
  double gamma = 0.99;
  double learning_rate = 3e-4;
  int batch = 128;
  double tau = 0.005;          // target networks: theta' <- tau theta + (1 - tau) theta'
  double initial_alpha = 0.2;
  double target_entropy = 0.3;  // share of the uniform policy's entropy
  double clip_norm = 10;
  // Returns over n decisions: the critics' target is r_t + g r_t+1 + ... + g^(n-1) r_t+n-1
  // + g^n V(s_t+n), cut at the end of the request. Placing an operator badly shows only
  // several decisions later (a busy launch lane, a transfer); n > 1 carries that back faster.
  int n_step = 8;
};

// One step of experience (n-step: `reward` is the discounted sum over up to n decisions,
// `next` the state after them and `discount` gamma^k, 0 when the request ended within
// them). States are stored as float (the buffer is large).
struct Transition {
  std::array<float, kFeatures> state{}, next{};
  std::uint8_t mask = 0, next_mask = 0;  // bit a: action a allowed
  std::uint8_t action = 0;
  std::uint8_t done = 0;
  float reward = 0;
  float discount = 0;
};

std::uint8_t mask_bits(const Mask& m);

class ReplayBuffer {
 public:
  explicit ReplayBuffer(std::size_t capacity);
  void add(const Transition& t);
  std::size_t size() const { return size_; }
  const Transition& at(std::size_t i) const { return data_[i]; }

 private:
  std::vector<Transition> data_;
  std::size_t next_ = 0, size_ = 0;
};

struct UpdateStats {
  double q_loss = 0, policy_loss = 0, alpha = 0, entropy = 0;
};

class SacAgent {
 public:
  SacAgent(const SacConfig& config, std::uint64_t seed);

  // Action probabilities for one state (0 where masked).
  std::array<double, kActions> probabilities(const State& s, const Mask& m);
  // The most probable allowed action (deployment), or a draw from the policy (training).
  int act_greedy(const State& s, const Mask& m);
  int act_sample(const State& s, const Mask& m, nn::Rng& rng);

  // One gradient step of the critics, the policy and the temperature on a minibatch drawn
  // from `buffer` with `rng`.
  UpdateStats update(const ReplayBuffer& buffer, nn::Rng& rng);
  std::int64_t updates() const { return updates_; }
  const SacConfig& config() const { return config_; }
  double alpha() const;

  // Checkpoint of kind "sac-agent": every network (so that training can go on), the
  // temperature and the configuration; its metadata records the feature layout.
  void save(const std::filesystem::path& path, const std::string& note) const;
  static SacAgent load(const std::filesystem::path& path);  // throws sparoa::Error naming the file
  std::string note() const { return note_; }  // what the file's writer said about it

 private:
  std::vector<nn::Param*> all_params();
  nn::Matrix policy_logits(const nn::Matrix& states);

  SacConfig config_;
  nn::Rng init_rng_;
  nn::Sequential actor_, q1_, q2_, q1t_, q2t_;
  nn::Param log_alpha_;
  nn::Adam actor_opt_, q1_opt_, q2_opt_, alpha_opt_;
  std::int64_t updates_ = 0;
  std::string note_;
  nn::Matrix one_state_;  // deployment: reused 1 x kFeatures input
};

// Masked softmax of one row of logits.
void masked_softmax(const double* logits, std::uint8_t mask, double* p);

}  // namespace sparoa::policies::rl

#pragma once
// The SAC training loop: rounds of parallel rollouts feeding one learner.
//
// A round forks one worker per job (platforms::RolloutRunner; the simulator's is
// sim::ForkRollouts), each serving `episodes_per_job` requests of a curriculum cell drawn for
// it, with the actor as it was when the round started. While the workers run, the learner
// makes its gradient steps on what earlier rounds collected; then it adds the round's
// transitions in worker order. Every draw comes from the seed, the round and the worker, and
// nothing depends on which worker finishes first, so a seed and a worker count give the same
// agent and the same learning curve, bit for bit.
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "platforms/evaluation.hpp"
#include "policies/rl/rollout.hpp"

namespace sparoa::policies::rl {

// One (model, sparsity, platform, state trace) of the curriculum. `setting` indexes the
// runner's settings; `ctx` gives the same graph and platform to the agent's features.
struct TrainCell {
  std::size_t setting = 0;
  std::string label;
  const PolicyContext* ctx = nullptr;
};

// A curriculum stage: rounds draw their cells from `cells` until `steps` decisions (counted
// from the start of training) have been collected.
struct Stage {
  std::string name;
  std::int64_t steps = 0;
  std::vector<std::size_t> cells;
};

struct TrainOptions {
  SacConfig sac;
  int workers = 2;
  int episodes_per_job = 8;
  std::int64_t warmup_steps = 5000;  // until then: the plan's action, or a uniform one (rollout.hpp)
  double updates_per_step = 0.25;    // gradient steps per collected decision
  std::size_t buffer = 200000;
  double energy_weight = 0;          // seconds per joule in the reward
  std::uint64_t seed = 1;
};

struct CurvePoint {
  std::int64_t round = 0, env_steps = 0, episodes = 0, updates = 0;
  std::string stage;
  double mean_return = 0;         // the round's episodes
  double mean_latency_ratio = 0;  // latency / lower bound
  double mean_energy_J = 0;
  double q_loss = 0, policy_loss = 0, alpha = 0, entropy = 0;  // means over the round's updates
  double elapsed_s = 0, steps_per_s = 0;  // wall clock: not part of the determinism promise
};

struct TrainResult {
  SacAgent agent;
  std::vector<CurvePoint> curve;
  double wall_s = 0;
};

using Progress = std::function<void(const CurvePoint&, std::int64_t total_steps)>;

// Throws sparoa::Error on an empty curriculum, a cell without a context, or a failed worker.
TrainResult train_sac(const std::vector<TrainCell>& cells, const std::vector<Stage>& stages,
                      platforms::RolloutRunner& runner, const TrainOptions& options, const Progress& progress = {});

// The curve as CSV (header, one row per round).
std::string curve_csv(const std::vector<CurvePoint>& curve);

}  // namespace sparoa::policies::rl

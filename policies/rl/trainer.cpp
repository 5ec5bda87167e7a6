#include "policies/rl/trainer.hpp"

#include <fmt/format.h>

#include <chrono>
#include <cmath>
#include <memory>

#include "support/error.hpp"

namespace sparoa::policies::rl {
namespace {

// SplitMix64 finaliser: independent-looking seeds from (seed, round, worker).
std::uint64_t mix(std::uint64_t x) {
  x += 0x9e3779b97f4a7c15ULL;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
  return x ^ (x >> 31);
}

}  // namespace

TrainResult train_sac(const std::vector<TrainCell>& cells, const std::vector<Stage>& stages,
                      platforms::RolloutRunner& runner, const TrainOptions& o, const Progress& progress) {
  if (stages.empty()) throw Error("curriculum", "no stages");
  for (const Stage& s : stages) {
    if (s.cells.empty()) throw Error("curriculum", "stage '" + s.name + "' has no cells");
    for (std::size_t c : s.cells) {
      if (c >= cells.size() || cells[c].ctx == nullptr || cells[c].setting >= runner.settings()) {
        throw Error("curriculum", "stage '" + s.name + "' names a cell that does not exist");
      }
    }
  }
  if (o.workers < 1 || o.episodes_per_job < 1) throw Error("training", "workers and episodes per job must be at least 1");
  const auto t0 = std::chrono::steady_clock::now();
  const std::int64_t total = stages.back().steps;

  TrainResult out{SacAgent(o.sac, mix(o.seed)), {}, 0};
  SacAgent& agent = out.agent;
  ReplayBuffer buffer(o.buffer);
  nn::Rng learner_rng(mix(o.seed ^ 0x5eed));
  std::int64_t steps = 0, episodes = 0;
  double owed_updates = 0;
  std::size_t stage = 0;
  for (std::int64_t round = 0; steps < total; ++round) {
    while (stage + 1 < stages.size() && steps >= stages[stage].steps) ++stage;
    const Stage& st = stages[stage];
    std::vector<std::unique_ptr<Collector>> collectors;
    std::vector<platforms::RolloutJob> jobs;
    for (int w = 0; w < o.workers; ++w) {
      nn::Rng r(mix(mix(o.seed) ^ mix(std::uint64_t(round) * 1000003ULL + std::uint64_t(w))));
      const TrainCell& cell = cells[st.cells[r() % st.cells.size()]];
      collectors.push_back(std::make_unique<Collector>(*cell.ctx, &agent, r(), steps < o.warmup_steps, o.energy_weight,
                                                       o.sac.gamma, o.sac.n_step));
      platforms::RolloutJob job;
      job.setting = cell.setting;
      job.policy = collectors.back().get();
      job.requests = o.episodes_per_job;
      job.seed = r();
      Collector* c = collectors.back().get();
      job.result = [c] { return c->serialize(); };
      jobs.push_back(std::move(job));
    }
    runner.start(std::move(jobs));

    // Learn from what earlier rounds brought while this round's workers run.
    CurvePoint pt;
    int n_updates = 0;
    if (steps >= o.warmup_steps && buffer.size() >= std::size_t(o.sac.batch)) {
      const auto todo = std::int64_t(owed_updates);
      owed_updates -= double(todo);
      for (std::int64_t u = 0; u < todo; ++u) {
        const UpdateStats us = agent.update(buffer, learner_rng);
        pt.q_loss += us.q_loss;
        pt.policy_loss += us.policy_loss;
        pt.alpha += us.alpha;
        pt.entropy += us.entropy;
        ++n_updates;
      }
    }
    const std::vector<std::string> results = runner.finish();
    RolloutStats sum;
    std::vector<Transition> fresh;
    for (const std::string& bytes : results) {
      RolloutStats s;
      Collector::deserialize(bytes, s, fresh);
      sum.episodes += s.episodes;
      sum.steps += s.steps;
      sum.return_sum += s.return_sum;
      sum.latency_ratio_sum += s.latency_ratio_sum;
      sum.energy_sum_J += s.energy_sum_J;
    }
    for (const Transition& t : fresh) buffer.add(t);
    steps += std::int64_t(fresh.size());
    episodes += sum.episodes;
    if (steps >= o.warmup_steps) owed_updates += o.updates_per_step * double(fresh.size());

    pt.round = round;
    pt.env_steps = steps;
    pt.episodes = episodes;
    pt.updates = agent.updates();
    pt.stage = st.name;
    if (sum.episodes > 0) {
      pt.mean_return = sum.return_sum / double(sum.episodes);
      pt.mean_latency_ratio = sum.latency_ratio_sum / double(sum.episodes);
      pt.mean_energy_J = sum.energy_sum_J / double(sum.episodes);
    }
    if (n_updates > 0) {
      pt.q_loss /= n_updates;
      pt.policy_loss /= n_updates;
      pt.alpha /= n_updates;
      pt.entropy /= n_updates;
    } else {
      pt.alpha = agent.alpha();
    }
    pt.elapsed_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    pt.steps_per_s = pt.elapsed_s > 0 ? double(steps) / pt.elapsed_s : 0;
    out.curve.push_back(pt);
    if (progress) progress(pt, total);
  }
  // What the last round brought.
  if (buffer.size() >= std::size_t(o.sac.batch)) {
    for (auto u = std::int64_t(owed_updates); u > 0; --u) agent.update(buffer, learner_rng);
  }
  out.wall_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  return out;
}

std::string curve_csv(const std::vector<CurvePoint>& curve) {
  std::string s =
      "round,stage,env_steps,episodes,updates,mean_return,mean_latency_ratio,mean_energy_J,q_loss,policy_loss,alpha,entropy,"
      "elapsed_s,steps_per_s\n";
  for (const CurvePoint& p : curve) {
    s += fmt::format("{},{},{},{},{},{:.9g},{:.9g},{:.9g},{:.9g},{:.9g},{:.9g},{:.9g},{:.3f},{:.1f}\n", p.round, p.stage,
                     p.env_steps, p.episodes, p.updates, p.mean_return, p.mean_latency_ratio, p.mean_energy_J, p.q_loss,
                     p.policy_loss, p.alpha, p.entropy, p.elapsed_s, p.steps_per_s);
  }
  return s;
}

}  // namespace sparoa::policies::rl

// SAC in the simulator: rollout workers (forked, one SimGrid engine each) feed the learner;
// the same seed and worker count give the same learning curve and the same agent, bit for
// bit; on a model whose best placement is known (every operator on the GPU) the agent
// finds it within a bounded number of decisions.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "policies/policy.hpp"
#include "policies/rl/rl_policy.hpp"
#include "policies/rl/trainer.hpp"
#include "sim/fork_evaluator.hpp"
#include "sim/fork_rollouts.hpp"
#include "tests/policies/zoo_case.hpp"

namespace sparoa::policies::rl {
namespace {

namespace fs = std::filesystem;

using World = fixtures::ZooCase;

std::unique_ptr<World> world(const std::string& model, const std::string& platform) {
  return fixtures::zoo_case(model, 0, platform);
}

TrainResult train(const World& w, std::int64_t steps, int workers, std::uint64_t seed) {
  sim::EvaluationSetting s;
  s.graph = &w.g;
  s.platform = &w.p;
  sim::ForkRollouts runner({s});
  TrainOptions o;
  o.workers = workers;
  o.episodes_per_job = 4;
  o.warmup_steps = 1000;
  o.updates_per_step = 0.25;
  o.seed = seed;
  o.sac.hidden = 32;
  o.sac.batch = 64;
  o.sac.learning_rate = 1e-3;
  o.sac.initial_alpha = 0.05;
  o.sac.target_entropy = 0.2;
  return train_sac({{0, "cell", &w.ctx}}, {{"only", steps, {0}}}, runner, o);
}

std::string bytes_of(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), {}};
}

TEST(SacInSimulator, SameSeedAndWorkersGiveTheSameCurveAndAgent) {
  const auto w = world("squeezenet1_1", "agx-orin-64gb-maxn");
  TrainResult a = train(*w, 2500, 2, 5);
  TrainResult b = train(*w, 2500, 2, 5);
  ASSERT_EQ(a.curve.size(), b.curve.size());
  ASSERT_GT(a.agent.updates(), 0);
  for (std::size_t i = 0; i < a.curve.size(); ++i) {
    EXPECT_EQ(a.curve[i].env_steps, b.curve[i].env_steps);
    EXPECT_EQ(a.curve[i].mean_return, b.curve[i].mean_return) << "round " << i;
    EXPECT_EQ(a.curve[i].mean_latency_ratio, b.curve[i].mean_latency_ratio) << "round " << i;
    EXPECT_EQ(a.curve[i].q_loss, b.curve[i].q_loss) << "round " << i;
    EXPECT_EQ(a.curve[i].alpha, b.curve[i].alpha) << "round " << i;
  }
  a.agent.save("rl_sim_a.bin", "x");
  b.agent.save("rl_sim_b.bin", "x");
  EXPECT_EQ(bytes_of("rl_sim_a.bin"), bytes_of("rl_sim_b.bin"));
  // Another seed explores differently.
  TrainResult c = train(*w, 2500, 2, 6);
  bool differs = false;
  for (std::size_t i = 0; i < std::min(a.curve.size(), c.curve.size()); ++i) {
    differs = differs || a.curve[i].mean_return != c.curve[i].mean_return;
  }
  EXPECT_TRUE(differs);
}

TEST(SacInSimulator, LearnsTheKnownBestPlacement) {
  // ResNet-18 at half depth on the AGX Orin: the GPU runs every operator far faster than the
  // CPU, so gpu-only is the best schedule (it sits within 5% of the lower bound), a uniformly
  // random placement is about ten times slower.
  const auto w = world("resnet18@d0.5", "agx-orin-64gb-maxn");
  sim::EvaluationSetting s;
  s.graph = &w->g;
  s.platform = &w->p;
  sim::ForkEvaluator ev(s);
  const graph::Schedule gpu_only = make_policy("gpu-only")->schedule(w->ctx);
  const double best = ev.evaluate({gpu_only}).front().latency_mean_s;
  TrainResult r = train(*w, 40000, 2, 1);
  auto agent = std::make_shared<SacAgent>(std::move(r.agent));
  AgentPolicy online(w->ctx, agent);
  const platforms::Evaluation e = ev.evaluate_online(online);
  ASSERT_TRUE(e.ok()) << e.error;
  EXPECT_GT(r.curve.front().mean_latency_ratio, 4.0);  // the uniform warm-up rounds
  EXPECT_LE(e.latency_mean_s, 1.10 * best) << "agent " << e.latency_mean_s * 1e3 << " ms, gpu-only " << best * 1e3 << " ms";
  // Its frozen schedule is as good on the idle board.
  const double frozen = ev.evaluate({freeze_schedule(w->ctx, *agent)}).front().latency_mean_s;
  EXPECT_LE(frozen, 1.10 * best);
}

}  // namespace
}  // namespace sparoa::policies::rl

// The SAC agent without the simulator: it learns a contextual bandit whose best action is
// known, never picks a masked action, round-trips through a checkpoint bit for bit and
// rejects corrupt, truncated, foreign and mismatched files; the features of a real model.
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <fstream>

#include "graph/schedule.hpp"
#include "policies/nn/checkpoint.hpp"
#include "policies/rl/rl_policy.hpp"
#include "policies/rl/rollout.hpp"
#include "policies/rl/sac.hpp"
#include "support/error.hpp"
#include "tests/policies/zoo_case.hpp"

namespace sparoa::policies::rl {
namespace {

namespace fs = std::filesystem;

// Contexts 0..3 (one-hot in the first four features); the right action is (context + 1) % 4,
// except in context 3 where action 0 is masked and the right one is 2. Reward 0 for the
// right action, -1 otherwise; one step per episode.
int right_action(int context) { return context == 3 ? 2 : (context + 1) % 4; }
Mask bandit_mask(int context) {
  Mask m{true, true, true, true};
  if (context == 3) m[0] = false;
  return m;
}
State bandit_state(int context) {
  State s{};
  s[std::size_t(context)] = 1;
  return s;
}

TEST(Sac, LearnsAContextualBanditWithinBoundedUpdates) {
  SacConfig cfg;
  cfg.hidden = 32;
  cfg.batch = 64;
  cfg.learning_rate = 3e-3;
  cfg.initial_alpha = 0.1;
  SacAgent agent(cfg, 7);
  ReplayBuffer buffer(10000);
  nn::Rng rng(11);
  // Experience from a uniformly random behaviour policy, then off-policy updates.
  for (int i = 0; i < 4000; ++i) {
    const int c = int(rng() % 4);
    const Mask m = bandit_mask(c);
    int a;
    do a = int(rng() % 4); while (!m[std::size_t(a)]);
    Transition t;
    const State s = bandit_state(c);
    for (int k = 0; k < kFeatures; ++k) t.state[std::size_t(k)] = float(s[std::size_t(k)]);
    t.mask = mask_bits(m);
    t.action = std::uint8_t(a);
    t.reward = a == right_action(c) ? 0.f : -1.f;
    t.done = 1;
    t.discount = 0;
    buffer.add(t);
  }
  for (int u = 0; u < 1500; ++u) agent.update(buffer, rng);
  for (int c = 0; c < 4; ++c) {
    EXPECT_EQ(agent.act_greedy(bandit_state(c), bandit_mask(c)), right_action(c)) << "context " << c;
    const auto p = agent.probabilities(bandit_state(c), bandit_mask(c));
    EXPECT_GT(p[std::size_t(right_action(c))], 0.6) << "context " << c;
  }
  EXPECT_EQ(agent.probabilities(bandit_state(3), bandit_mask(3))[0], 0.0);
}

TEST(Sac, NeverSamplesAMaskedAction) {
  SacAgent agent(SacConfig{}, 3);
  nn::Rng rng(5);
  const Mask only_two{false, false, true, false};
  for (int i = 0; i < 200; ++i) EXPECT_EQ(agent.act_sample(bandit_state(i % 4), only_two, rng), 2);
  EXPECT_EQ(agent.act_greedy(bandit_state(1), only_two), 2);
}

TEST(Sac, CheckpointRoundTripsAndRejectsBadFiles) {
  SacConfig cfg;
  cfg.hidden = 16;
  SacAgent agent(cfg, 21);
  const fs::path file = "rl_test_agent.bin";
  agent.save(file, "unit test");
  SacAgent back = SacAgent::load(file);
  EXPECT_EQ(back.note(), "unit test");
  EXPECT_EQ(back.config().hidden, 16);
  for (int c = 0; c < 4; ++c) {
    const auto a = agent.probabilities(bandit_state(c), bandit_mask(c));
    const auto b = back.probabilities(bandit_state(c), bandit_mask(c));
    for (int k = 0; k < kActions; ++k) EXPECT_EQ(a[std::size_t(k)], b[std::size_t(k)]);
  }
  std::string bytes;
  {
    std::ifstream in(file, std::ios::binary);
    bytes.assign(std::istreambuf_iterator<char>(in), {});
  }
  auto write = [](const fs::path& p, const std::string& b) { std::ofstream(p, std::ios::binary) << b; };
  std::string flipped = bytes;
  flipped[flipped.size() / 2] = char(flipped[flipped.size() / 2] ^ 0x10);
  write("rl_test_flipped.bin", flipped);
  write("rl_test_truncated.bin", bytes.substr(0, bytes.size() - 100));
  for (const char* bad : {"rl_test_flipped.bin", "rl_test_truncated.bin", "rl_test_missing.bin"}) {
    try {
      SacAgent::load(bad);
      ADD_FAILURE() << bad << " was accepted";
    } catch (const Error& e) {
      EXPECT_NE(std::string(e.what()).find(bad), std::string::npos) << e.what();
    }
  }
  // A valid checkpoint of another kind, and one for other features.
  nn::Param p;
  p.init("w", nn::Matrix::Zero(2, 2));
  nn::save_checkpoint("rl_test_foreign.bin", "threshold-predictor", "features=24", {&p});
  EXPECT_THROW(SacAgent::load("rl_test_foreign.bin"), Error);
  nn::save_checkpoint("rl_test_features.bin", "sac-agent", "features=3 feature_version=1 actions=4 hidden=16\n", {&p});
  try {
    SacAgent::load("rl_test_features.bin");
    ADD_FAILURE() << "an agent for other features was accepted";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("other features"), std::string::npos) << e.what();
  }
}

using fixtures::zoo_case;

TEST(RlFeatures, FrozenScheduleIsValidAndFeaturesAreFinite) {
  const auto c = zoo_case("squeezenet1_1", 0.5, "agx-orin-64gb-maxn");
  SacAgent agent(SacConfig{}, 1);
  const graph::Schedule s = freeze_schedule(c->ctx, agent);
  EXPECT_NO_THROW(graph::validate_schedule(s, c->g, "frozen"));
  ASSERT_EQ(s.entries.size(), c->g.operators().size());

  // A collector driven by hand: its states are finite, masks allow the sparse kernel only
  // where the operator has one, and a request closes with a terminal transition whose
  // rewards add up to minus latency over the lower bound.
  Collector col(c->ctx, nullptr, 9, true, 0, 1.0, 1);
  const FeatureBuilder reference(c->ctx);
  const PlanningModel& m = reference.model();
  double t = 0;
  for (std::size_t task = 0; task < m.ops(); ++task) {
    platforms::Observation obs;
    obs.time_s = t;
    obs.op_index = m.op(task);
    obs.op_class = m.demand(task).op_class;
    obs.features = m.features(task);
    obs.kernels = graph::kernels_for(c->g, c->g.op(m.op(task)).name);
    col.place(obs);
    t += 1e-4;
  }
  platforms::BatchDone done;
  done.time_s = t;
  done.latency_mean_s = t;
  col.batch_done(done);
  ASSERT_EQ(col.transitions().size(), m.ops());
  double sum = 0;
  for (std::size_t i = 0; i < m.ops(); ++i) {
    const Transition& tr = col.transitions()[i];
    for (float x : tr.state) ASSERT_TRUE(std::isfinite(x));
    const bool sparse_allowed = (tr.mask >> 1) & 1;
    EXPECT_EQ(sparse_allowed, m.sparse_capable(i)) << c->g.op(m.op(i)).name;
    EXPECT_EQ(tr.done, i + 1 == m.ops() ? 1 : 0);
    sum += tr.reward;
  }
  const double bound = reference.lower_bound_s();
  EXPECT_NEAR(sum, -t / bound, 1e-4 * t / bound);
  EXPECT_EQ(col.stats().episodes, 1);
  RolloutStats st;
  std::vector<Transition> back;
  Collector::deserialize(col.serialize(), st, back);
  EXPECT_EQ(back.size(), col.transitions().size());
  EXPECT_EQ(st.steps, std::int64_t(m.ops()));
  EXPECT_THROW(Collector::deserialize("short", st, back), Error);
}

TEST(RlFeatures, RefusesAPlatformWithMoreDevicesThanSlots) {
  const auto c = zoo_case("squeezenet1_1", 0, "agx-orin-64gb-maxn");
  platforms::Platform three = c->p;
  platforms::Device extra = three.devices.front();
  extra.id = "cpu_extra";
  for (auto& l : extra.lanes) l.id += "_extra";
  three.devices.push_back(extra);
  PolicyContext ctx = c->ctx;
  ctx.platform = &three;
  EXPECT_THROW(FeatureBuilder{ctx}, Error);
}

}  // namespace
}  // namespace sparoa::policies::rl

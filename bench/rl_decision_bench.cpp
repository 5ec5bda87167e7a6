// What one placement decision of the rl agent costs (features from the observation, the
// actor's forward pass, the commit), against greedy-eft's decision on the same observations
// (the baseline: the cheapest online policy that reads the same state), and one SAC update.
// Observations are those of EfficientNet-B0 (the zoo model with the most operators among
// the CNNs) on the AGX Orin at MAXN, built from the cost model's idle-board plan.
//
//   build/bin/rl_decision_bench [--zoo-dir DIR] [--hidden H] [Google Benchmark flags]
#include <benchmark/benchmark.h>

#include <cstring>
#include <memory>

#include "graph/onnx_import.hpp"
#include "graph/zoo/zoo.hpp"
#include "policies/policy.hpp"
#include "policies/rl/rl_policy.hpp"

namespace {

using namespace sparoa;

std::string zoo_dir = SPAROA_BENCH_ZOO_DIR;
int hidden = 64;

struct Setup {
  graph::Graph g;
  platforms::Platform p;
  std::unique_ptr<platforms::CostModel> cost;
  policies::PolicyContext ctx;
  std::vector<platforms::Observation> obs;  // one per operator
};

Setup& setup() {
  static std::unique_ptr<Setup> s = [] {
    auto s = std::make_unique<Setup>();
    graph::ImportOptions o;
    o.batch = 1;
    s->g = graph::import_onnx(graph::zoo::build_model("efficientnet_b0", {0.5, false}, zoo_dir), o);
    s->p = platforms::read_platform(platforms::resolve_platform_path("agx-orin-64gb-maxn"));
    s->cost = std::make_unique<platforms::CostModel>(s->p);
    s->ctx.graph = &s->g;
    s->ctx.platform = &s->p;
    s->ctx.cost = s->cost.get();
    policies::rl::FeatureBuilder b(s->ctx);
    const auto& m = b.model();
    const auto& mode = s->p.initial_mode();
    for (std::size_t t = 0; t < m.ops(); ++t) {
      platforms::Observation obs;
      obs.time_s = 1e-4 * double(t);
      obs.power_mode = mode.name;
      for (const auto& dev : s->p.devices) {
        const auto& md = s->p.mode_device(mode, dev.id);
        platforms::DeviceState ds{dev.id, 0.5, dev.pstates[md.pstate].freq_MHz, md.online_units, 0.1, {}};
        for (const auto& lane : dev.lanes) ds.lanes.push_back({lane.id, int(t % 3), t % 2 == 0});
        obs.devices.push_back(ds);
      }
      for (const auto& dom : s->p.memory_domains) obs.memory_domains.push_back({dom.id, 0.3, 0.1});
      const auto& op = s->g.op(m.op(t));
      obs.op = op.name;
      obs.op_index = m.op(t);
      obs.op_type = op.type;
      obs.op_class = m.demand(t).op_class;
      obs.features = m.features(t);
      obs.kernels = graph::kernels_for(s->g, op.name);
      obs.depth = b.depth(t);
      obs.remaining_critical_path_s = b.remaining_critical_path_s(t);
      s->obs.push_back(std::move(obs));
    }
    return s;
  }();
  return *s;
}

void BM_RlDecision(benchmark::State& state) {
  Setup& s = setup();
  policies::rl::SacConfig cfg;
  cfg.hidden = hidden;
  auto agent = std::make_shared<policies::rl::SacAgent>(cfg, 1);
  policies::rl::AgentPolicy policy(s.ctx, agent);
  std::size_t i = 0;
  for (auto _ : state) {
    benchmark::DoNotOptimize(policy.place(s.obs[i]));
    i = (i + 1) % s.obs.size();
  }
}

void BM_GreedyEftDecision(benchmark::State& state) {
  Setup& s = setup();
  auto policy = policies::make_policy("greedy-eft")->online(s.ctx);
  std::size_t i = 0;
  for (auto _ : state) {
    benchmark::DoNotOptimize(policy->place(s.obs[i]));
    i = (i + 1) % s.obs.size();
  }
}

// The learner's side: one SAC gradient step (both critics, the actor, the temperature) on a
// minibatch from a buffer of random transitions.
void BM_SacUpdate(benchmark::State& state) {
  policies::rl::SacConfig cfg;
  cfg.hidden = hidden;
  cfg.batch = int(state.range(0));
  policies::rl::SacAgent agent(cfg, 1);
  policies::rl::ReplayBuffer buffer(4096);
  policies::nn::Rng rng(3);
  for (int i = 0; i < 4096; ++i) {
    policies::rl::Transition t;
    for (auto& x : t.state) x = float(rng() % 1000) / 1000.f;
    t.next = t.state;
    t.mask = t.next_mask = 0xF;
    t.action = std::uint8_t(rng() % 4);
    t.reward = -float(rng() % 100) / 1000.f;
    t.discount = 0.9f;
    buffer.add(t);
  }
  for (auto _ : state) benchmark::DoNotOptimize(agent.update(buffer, rng));
}

}  // namespace

BENCHMARK(BM_RlDecision);
BENCHMARK(BM_GreedyEftDecision);
BENCHMARK(BM_SacUpdate)->Arg(64)->Arg(128)->Unit(benchmark::kMicrosecond);

int main(int argc, char** argv) {
  std::vector<char*> rest{argv[0]};
  for (int i = 1; i < argc; ++i) {
    if (std::strcmp(argv[i], "--zoo-dir") == 0 && i + 1 < argc) {
      zoo_dir = argv[++i];
    } else if (std::strcmp(argv[i], "--hidden") == 0 && i + 1 < argc) {
      hidden = std::atoi(argv[++i]);
    } else {
      rest.push_back(argv[i]);
    }
  }
  int n = int(rest.size());
  benchmark::Initialize(&n, rest.data());
  benchmark::RunSpecifiedBenchmarks();
  return 0;
}

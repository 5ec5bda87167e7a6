// Policies: HEFT on the worked example of Topcuoglu, Hariri and Wu (IEEE TPDS 2002), every
// registered policy's schedule against its graph and in the simulator, the threshold search,
// the oracle against every policy on a graph it searches exhaustively, and bad input.
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>

#include "graph/onnx_import.hpp"
#include "graph/zoo/zoo.hpp"
#include "policies/compare.hpp"
#include "policies/rl/sac.hpp"
#include "policies/threshold_policy.hpp"
#include "policies/threshold_predictor.hpp"
#include "sim/fork_evaluator.hpp"
#include "support/error.hpp"
#include "tests/graph/onnx_test_models.hpp"
#include "tests/policies/zoo_case.hpp"

namespace sparoa::policies {
namespace {

// Figure 2 and Table 1 of the paper: 10 tasks, 3 processors, computation costs and the
// communication cost of every edge (paid only between different processors).
TaskGraph topcuoglu_example() {
  TaskGraph g;
  g.processors = 3;
  g.cost = {{14, 16, 9}, {13, 19, 18}, {11, 13, 19}, {13, 8, 17}, {12, 13, 10},
            {13, 16, 9}, {7, 15, 11},  {5, 11, 14},  {18, 12, 20}, {21, 7, 16}};
  // Edges (0-based task numbers) with their costs.
  const std::vector<std::tuple<std::size_t, std::size_t, double>> edges{
      {0, 1, 18}, {0, 2, 12}, {0, 3, 9},  {0, 4, 11}, {0, 5, 14}, {1, 7, 19}, {1, 8, 16}, {2, 6, 23},
      {3, 7, 27}, {3, 8, 23}, {4, 8, 13}, {5, 7, 15}, {6, 9, 17}, {7, 9, 11}, {8, 9, 13}};
  g.successors.assign(10, {});
  auto comm = std::make_shared<std::map<std::pair<std::size_t, std::size_t>, double>>();
  for (const auto& [a, b, c] : edges) {
    g.successors[a].push_back(b);
    (*comm)[{a, b}] = c;
  }
  g.comm = [comm](std::size_t t, std::size_t s, std::size_t p, std::size_t q) { return p == q ? 0.0 : comm->at({t, s}); };
  return g;
}

TEST(Heft, TopcuogluExampleHasScheduleLength80) {
  const TaskGraph g = topcuoglu_example();
  const auto ranks = upward_ranks(g);
  // The paper's upward ranks.
  const std::vector<double> expected{108, 77, 80, 80, 69, 63.333, 42.667, 35.667, 44.333, 14.667};
  for (std::size_t t = 0; t < 10; ++t) EXPECT_NEAR(ranks[t], expected[t], 1e-3) << "task n" << t + 1;
  const ListSchedule s = heft(g);
  EXPECT_DOUBLE_EQ(s.makespan, 80);
  // Every task starts after its predecessors' results arrive and processors never overlap.
  for (std::size_t t = 0; t < 10; ++t) {
    for (std::size_t v : g.successors[t]) {
      EXPECT_GE(s.start[v] + 1e-9, s.finish[t] + g.comm(t, v, s.processor[t], s.processor[v]));
    }
  }
  for (const auto& on : s.order) {
    for (std::size_t k = 1; k < on.size(); ++k) EXPECT_GE(s.start[on[k]] + 1e-9, s.finish[on[k - 1]]);
  }
}

TEST(Heft, WithoutInsertionTheExampleIsNotShorter) {
  const TaskGraph g = topcuoglu_example();
  EXPECT_GE(list_schedule(g, rank_order(upward_ranks(g)), false).makespan, 80);
}

TEST(Heft, RefusesTasksThatMayRunNowhereAndBadNumbering) {
  TaskGraph g = topcuoglu_example();
  g.cost[3] = {kNotAllowed, kNotAllowed, kNotAllowed};
  EXPECT_THROW(heft(g), Error);
  TaskGraph h = topcuoglu_example();
  h.successors[5].push_back(2);
  EXPECT_THROW(heft(h), Error);
}

// A small branched CNN: stem conv, two branches (1x1 and 3x3 conv with ReLU), concat, pool,
// classifier: 9 operators, 2^9 device assignments on a CPU + GPU board.
test::ModelBuilder branched_cnn(float zero_fraction) {
  test::ModelBuilder b;
  b.input("x", {-1, 16, 28, 28});
  auto weights = [&](const std::string& name, std::vector<std::int64_t> dims) {
    std::int64_t n = 1;
    for (auto d : dims) n *= d;
    std::vector<float> w(static_cast<std::size_t>(n));
    for (std::size_t i = 0; i < w.size(); ++i) {
      w[i] = (float(i % 10) + 1) < zero_fraction * 10 + 1 ? 0.0f : 0.01f * float(i % 7 + 1);
    }
    b.weight(name, dims, w);
  };
  weights("stem.w", {32, 16, 3, 3});
  weights("a.w", {32, 32, 1, 1});
  weights("c.w", {32, 32, 3, 3});
  weights("fc.w", {10, 64});
  b.weight("fc.b", {10}, std::vector<float>(10, 0.0f));
  auto conv = [&](const std::string& name, const std::string& in, const std::string& w, const std::string& out, int k) {
    auto& n = b.node("Conv", {in, w}, {out}, name);
    test::ModelBuilder::attr(n, "kernel_shape", std::vector<std::int64_t>{k, k});
    const std::int64_t p = k / 2;
    test::ModelBuilder::attr(n, "pads", std::vector<std::int64_t>{p, p, p, p});
  };
  conv("stem", "x", "stem.w", "s", 3);
  b.node("Relu", {"s"}, {"sr"}, "stem_relu");
  conv("branch_a", "sr", "a.w", "a", 1);
  b.node("Relu", {"a"}, {"ar"}, "a_relu");
  conv("branch_c", "sr", "c.w", "c", 3);
  b.node("Relu", {"c"}, {"cr"}, "c_relu");
  auto& cat = b.node("Concat", {"ar", "cr"}, {"cat"}, "concat");
  test::ModelBuilder::attr(cat, "axis", std::int64_t{1});
  b.node("GlobalAveragePool", {"cat"}, {"p"}, "pool");
  b.node("Flatten", {"p"}, {"f"}, "flatten");
  auto& fc = b.node("Gemm", {"f", "fc.w", "fc.b"}, {"y"}, "fc");
  test::ModelBuilder::attr(fc, "transB", std::int64_t{1});
  b.output("y", 2);
  return b;
}

using Case = fixtures::ZooCase;
using fixtures::make_case;
using fixtures::zoo_case;

std::unique_ptr<Case> branched_case(float zero_fraction, const std::string& platform = "agx-orin-64gb-maxn") {
  graph::ImportOptions o;
  o.batch = 1;
  const std::string file = "policies_branched_" + std::to_string(int(zero_fraction * 100)) + ".onnx";
  return make_case(graph::import_onnx(branched_cnn(zero_fraction).save(file), o), platform);
}

sim::ForkEvaluator evaluator_for(const Case& c) {
  sim::EvaluationSetting s;
  s.graph = &c.g;
  s.platform = &c.p;
  s.jobs = 2;
  return sim::ForkEvaluator(s);
}

TEST(Policies, RegistryListsEveryPolicyAndRefusesUnknownNamesAndOptions) {
  std::vector<std::string> names;
  for (const auto& p : registered_policies()) names.push_back(p.name);
  for (const char* want : {"cpu-only", "gpu-only", "heft", "greedy-eft", "intensity-only", "sparsity-only", "random",
                           "sparoa", "fastest-device"}) {
    EXPECT_NE(std::find(names.begin(), names.end(), want), names.end()) << want;
  }
  try {
    make_policy("tensorrt");
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("unknown policy"), std::string::npos);
    EXPECT_NE(std::string(e.what()).find("greedy-eft"), std::string::npos);
  }
  auto c = branched_case(0);
  c->ctx.options["mixd"] = "gpu";
  try {
    make_policy("sparoa")->schedule(c->ctx);
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("unknown option 'mixd'"), std::string::npos) << e.what();
  }
  c->ctx.options = {{"mixed", "sometimes"}};
  EXPECT_THROW(make_policy("sparoa")->schedule(c->ctx), Error);
}

TEST(Policies, EverySchedulValidatesAndRunsInTheSimulator) {
  // The rl policy needs an agent: an untrained one will do here.
  const std::string agent = "policies_test_agent.bin";
  rl::SacAgent(rl::SacConfig{}, 1).save(agent, "untrained");
  for (const char* platform : {"agx-orin-64gb-maxn", "orin-nano-8gb-15w"}) {
    auto c = zoo_case("mobilenetv3_small", 0.5, platform);
    auto ev = evaluator_for(*c);
    std::vector<graph::Schedule> schedules;
    for (const auto& info : registered_policies()) {
      SCOPED_TRACE(info.name + " on " + platform);
      PolicyContext ctx = c->ctx;
      if (!info.requires_option.empty()) {
        EXPECT_THROW(info.make()->schedule(ctx), Error);
        ctx.options[info.requires_option] = agent;
      }
      const graph::Schedule s = info.make()->schedule(ctx);
      EXPECT_NO_THROW(graph::validate_schedule(s, c->g, info.name));
      EXPECT_EQ(s.platform_name, c->p.name);
      schedules.push_back(s);
      if (info.online) {
        auto online = info.make()->online(ctx);
        ASSERT_NE(online, nullptr);
        const auto e = ev.evaluate_online(*online);
        EXPECT_TRUE(e.ok()) << e.error;
        EXPECT_GT(e.latency_mean_s, 0);
      }
    }
    const auto runs = ev.evaluate(schedules);
    for (std::size_t k = 0; k < runs.size(); ++k) {
      EXPECT_TRUE(runs[k].ok()) << runs[k].error;
      EXPECT_GT(runs[k].latency_mean_s, 0);
      EXPECT_GT(runs[k].energy_per_inference_J, 0);
    }
  }
}

TEST(Policies, BaselinesPlaceWhereTheySay) {
  auto c = zoo_case("mobilenetv3_small", 0.9, "agx-orin-64gb-maxn");
  for (const auto& e : make_policy("cpu-only")->schedule(c->ctx).entries) {
    EXPECT_TRUE(e.lane == "cpu0" || e.lane == "cpu1") << e.op;
    EXPECT_EQ(e.kernel, "dense");
  }
  for (const auto& e : make_policy("gpu-only")->schedule(c->ctx).entries) {
    EXPECT_TRUE(e.lane == "gpu0" || e.lane == "gpu1") << e.op;
    EXPECT_EQ(e.kernel, "dense");
  }
  // Random is seeded: same seed, same schedule; another seed, another one.
  const auto a = graph::schedule_to_yaml(make_policy("random")->schedule(c->ctx));
  EXPECT_EQ(a, graph::schedule_to_yaml(make_policy("random")->schedule(c->ctx)));
  c->ctx.seed = 2;
  EXPECT_NE(a, graph::schedule_to_yaml(make_policy("random")->schedule(c->ctx)));
  // No GPU: the GPU policies say so.
  auto host = zoo_case("mobilenetv3_small", 0, "host-2core-2lanes");
  for (const char* name : {"gpu-only", "sparoa", "intensity-only", "sparsity-only"}) {
    try {
      make_policy(name)->schedule(host->ctx);
      FAIL() << name << ": no error";
    } catch (const Error& e) {
      EXPECT_NE(std::string(e.what()).find("host"), std::string::npos) << e.what();
    }
  }
  EXPECT_NO_THROW(make_policy("cpu-only")->schedule(host->ctx));
  EXPECT_NO_THROW(make_policy("heft")->schedule(host->ctx));
}

TEST(Policies, ThresholdQuadrantsFollowTheRule) {
  auto c = zoo_case("mobilenetv3_small", 0.9, "agx-orin-64gb-maxn");
  const PlanningModel m(c->ctx);
  const graph::Thresholds t{0.5, 20};
  for (MixedRule rule : all_mixed_rules()) {
    const auto choice = threshold_choices(m, t, ThresholdUse::both, rule, false);
    for (std::size_t k = 0; k < m.ops(); ++k) {
      const auto& f = m.features(k);
      const bool sparse = graph::rho(f) >= t.rho, high = f.intensity >= t.intensity;
      const bool cpu = m.device_kind(choice[k].device) == platforms::DeviceKind::cpu;
      if (sparse && !high) {
        EXPECT_TRUE(cpu);
        EXPECT_EQ(choice[k].kernel == Kernel::sparse, m.sparse_capable(k));
      }
      if (!sparse && high) {
        EXPECT_FALSE(cpu);
      }
      if (sparse != high) continue;  // above: the two pure quadrants
      if (rule == MixedRule::gpu) {
        EXPECT_FALSE(cpu);
      } else if (rule == MixedRule::cpu) {
        EXPECT_TRUE(cpu);
      } else if (rule == MixedRule::sparsity) {
        EXPECT_EQ(cpu, sparse);
      } else if (rule == MixedRule::intensity) {
        EXPECT_EQ(cpu, !high);
      }
    }
  }
}

TEST(ThresholdSearch, TheLabelLiesInAnOptimalCellAndBeatsTheDefault) {
  auto c = zoo_case("resnet18", 0.9, "orin-nano-8gb-15w");
  auto ev = evaluator_for(*c);
  const ThresholdSearch s =
      search_thresholds(c->ctx, ThresholdUse::both, MixedRule::cost, false, ev, Objective::parse("latency"));
  EXPECT_GT(s.distinct_schedules, 1);
  EXPECT_EQ(ev.runs(), s.distinct_schedules);
  ASSERT_TRUE(s.best_evaluation.ok());
  // The label's own schedule is optimal among the candidates.
  PolicyContext ctx = c->ctx;
  ctx.thresholds = s.best;
  const auto at_label = ev.evaluate({make_policy("sparoa")->schedule(ctx)});
  double best = 1e300;
  for (double v : s.grid_score) best = std::min(best, v);
  EXPECT_TRUE(same_score(at_label[0].latency_mean_s, s.best_evaluation.latency_mean_s))
      << at_label[0].latency_mean_s << " vs " << s.best_evaluation.latency_mean_s;
  EXPECT_DOUBLE_EQ(best, 1.0);  // scores are relative to the best latency
  // ... and no worse than the default thresholds.
  const auto at_default = ev.evaluate({make_policy("sparoa")->schedule(c->ctx)});
  EXPECT_LE(s.best_evaluation.latency_mean_s, at_default[0].latency_mean_s * (1 + kRelativeTolerance));
}

TEST(Oracle, ExhaustiveOnASmallGraphIsNeverWorseThanAnyPolicy) {
  for (float zeros : {0.0f, 0.9f}) {
    auto c = branched_case(zeros);
    auto ev = evaluator_for(*c);
    CompareOptions o;
    const Comparison cmp = compare_policies(c->ctx, ev, o);
    ASSERT_TRUE(cmp.oracle_exhaustive);
    const CompareRow& oracle = cmp.rows.back();
    ASSERT_EQ(oracle.policy, "oracle");
    ASSERT_TRUE(oracle.evaluation.ok()) << oracle.evaluation.error;
    EXPECT_NO_THROW(graph::validate_schedule(oracle.schedule, c->g, "oracle"));
    for (const auto& r : cmp.rows) {
      ASSERT_TRUE(r.evaluation.ok()) << r.policy << ": " << r.evaluation.error;
      EXPECT_LE(oracle.evaluation.latency_mean_s, r.evaluation.latency_mean_s * (1 + kRelativeTolerance)) << r.policy;
      EXPECT_GE(r.evaluation.latency_mean_s, cmp.lower_bound_s) << r.policy;
    }
    // The exhaustive search ran fewer simulations than there are assignments (the bound
    // prunes) and the oracle's own schedule reruns to the same latency.
    EXPECT_LT(oracle.runs, std::int64_t(1) << c->g.operators().size());
    const auto again = ev.evaluate({oracle.schedule});
    EXPECT_TRUE(same_score(again[0].latency_mean_s, oracle.evaluation.latency_mean_s));
  }
}

TEST(Oracle, UnprunedExhaustiveSearchAgreesWithThePrunedOne) {
  auto c = branched_case(0.9);
  auto ev = evaluator_for(*c);
  const PlanningModel m(c->ctx);
  const graph::Schedule seed = make_policy("cpu-only")->schedule(c->ctx);
  const std::vector<SeedSchedule> seeds{{"cpu-only", seed, ev.evaluate({seed})[0]}};
  OracleOptions pruned, full;
  full.prune = false;
  const OracleResult a = find_oracle(m, ev, seeds, Objective{}, pruned);
  const OracleResult b = find_oracle(m, ev, seeds, Objective{}, full);
  ASSERT_TRUE(a.exhaustive && b.exhaustive);
  EXPECT_EQ(b.runs, std::int64_t(1) << m.ops());
  EXPECT_TRUE(same_score(a.evaluation.latency_mean_s, b.evaluation.latency_mean_s))
      << a.evaluation.latency_mean_s << " vs " << b.evaluation.latency_mean_s;
}

TEST(Evaluator, SameScheduleSameNumbersAndClearErrors) {
  auto c = branched_case(0);
  auto ev = evaluator_for(*c);
  graph::Schedule s = make_policy("heft")->schedule(c->ctx);
  const auto r = ev.evaluate({s, s, s});
  EXPECT_EQ(r[0].latency_mean_s, r[1].latency_mean_s);
  EXPECT_EQ(r[0].energy_per_inference_J, r[2].energy_per_inference_J);
  s.entries[0].lane = "npu0";  // the simulator refuses it: its error comes back
  const auto bad = ev.evaluate({s});
  EXPECT_FALSE(bad[0].ok());
  EXPECT_NE(bad[0].error.find("candidate schedule"), std::string::npos) << bad[0].error;
}

TEST(ThresholdPredictor, LearnsATinyDatasetAndRoundTripsThroughAFile) {
  std::vector<PredictorSample> samples;
  for (const char* platform : {"orin-nano-8gb-15w"}) {
    for (double sparsity : {0.0, 0.9}) {
      for (const char* model : {"mobilenetv3_small", "squeezenet1_1"}) {
        auto c = zoo_case(model, sparsity, platform);
        auto ev = evaluator_for(*c);
        const PlanningModel m(c->ctx);
        PredictorSample s;
        s.model = model;
        s.family = model_family(model);
        s.platform = platform;
        s.state = "idle";
        s.sparsity = sparsity;
        s.features = predictor_features(m, {});
        s.search = search_thresholds(c->ctx, ThresholdUse::both, MixedRule::cost, false, ev, Objective{});
        EXPECT_NEAR(s.regret(s.search.best), 0, 1e-9) << "a label is optimal on its own case";
        samples.push_back(std::move(s));
      }
    }
  }
  std::vector<const PredictorSample*> all;
  for (const auto& s : samples) all.push_back(&s);
  ThresholdPredictor p(3);
  TrainOptions o;
  o.epochs = 150;
  o.minibatch = 2;
  const auto curve = p.train(all, o);
  ASSERT_EQ(curve.size(), 150u);
  // It can learn: the loss falls by more than 10x and the thresholds it predicts for its own
  // training cases cost little.
  EXPECT_LT(curve.back().loss, curve.front().loss / 10) << curve.front().loss << " -> " << curve.back().loss;
  EXPECT_LT(curve.back().mean_regret, 0.05);

  const auto dir = std::filesystem::path(SPAROA_TEST_DATA_DIR) / "policies_test";
  std::filesystem::create_directories(dir);
  p.save(dir / "predictor.bin");
  ThresholdPredictor q = ThresholdPredictor::load(dir / "predictor.bin");
  for (const auto* s : all) {
    const auto a = p.predict(s->features), b = q.predict(s->features);
    EXPECT_EQ(a.rho, b.rho);
    EXPECT_EQ(a.intensity, b.intensity);
  }
  save_samples(dir / "samples.bin", samples);
  const auto back = load_samples(dir / "samples.bin");
  ASSERT_EQ(back.size(), samples.size());
  for (std::size_t k = 0; k < back.size(); ++k) {
    EXPECT_EQ(back[k].model, samples[k].model);
    EXPECT_EQ(back[k].search.grid_score, samples[k].search.grid_score);
    EXPECT_EQ(back[k].features, samples[k].features);
  }
  try {
    ThresholdPredictor::load(dir / "samples.bin");
    ADD_FAILURE() << "loaded labels as a predictor";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("not a threshold predictor"), std::string::npos) << e.what();
  }
  // The best global pair is one of the labels and no worse on the set than any other label.
  const auto global = best_global_thresholds(all);
  double g = 0;
  for (const auto* s : all) g += s->regret(global);
  for (const auto* c : all) {
    double r = 0;
    for (const auto* s : all) r += s->regret(c->search.best);
    EXPECT_LE(g, r + 1e-12);
  }
}

}  // namespace
}  // namespace sparoa::policies

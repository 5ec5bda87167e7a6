// The replay engine: plans (buffer reuse that never lets two live tensors share memory across
// lanes, transfers between memory domains), lanes pinned to their cores, outputs equal to the
// reference run for one lane and two, traces, and clear errors for bad input.
#include <gtest/gtest.h>

#include <algorithm>
#include <deque>
#include <set>

#include "graph/onnx_import.hpp"
#include "graph/schedule.hpp"
#include "hw/host_machine.hpp"
#include "hw/plan.hpp"
#include "hw/reference_run.hpp"
#include "hw/replay.hpp"
#include "hw/tensor_io.hpp"
#include "support/error.hpp"
#include "tests/graph/onnx_test_models.hpp"

namespace sparoa::hw {
namespace {

using test::ModelBuilder;

// x -> Conv(a) -> Relu(ra) ---------------.
//   \-> Conv(b) -> Relu(rb) -> Conv(c) --- Add(sum) -> Relu(out)
// Two independent branches that meet: the natural two-lane split.
graph::Graph branches_model(std::int64_t batch = 1) {
  ModelBuilder b;
  b.input("x", {batch, 4, 8, 8});
  std::vector<float> w(8 * 4 * 3 * 3), w2(8 * 8);
  for (std::size_t i = 0; i < w.size(); ++i) w[i] = float((i * 7) % 11) / 11.0f - 0.45f;
  for (std::size_t i = 0; i < w2.size(); ++i) w2[i] = float((i * 5) % 13) / 13.0f - 0.5f;
  b.weight("wa", {8, 4, 3, 3}, w);
  b.weight("wb", {8, 4, 3, 3}, std::vector<float>(w.rbegin(), w.rend()));
  b.weight("wc", {8, 8, 1, 1}, w2);
  auto& a = b.node("Conv", {"x", "wa"}, {"ya"}, "a");
  ModelBuilder::attr(a, "pads", std::vector<std::int64_t>{1, 1, 1, 1});
  b.node("Relu", {"ya"}, {"za"}, "ra");
  auto& bb = b.node("Conv", {"x", "wb"}, {"yb"}, "b");
  ModelBuilder::attr(bb, "pads", std::vector<std::int64_t>{1, 1, 1, 1});
  b.node("Relu", {"yb"}, {"zb"}, "rb");
  b.node("Conv", {"zb", "wc"}, {"yc"}, "c");
  b.node("Add", {"za", "yc"}, {"s"}, "sum");
  b.node("Relu", {"s"}, {"out"}, "out");
  b.output("out", 4);
  return graph::import_onnx_bytes(b.bytes(), "branches.onnx");
}

// A chain of n Relu/Neg operators: the shape of the engine-overhead benchmark.
graph::Graph chain_model(int n) {
  ModelBuilder b;
  b.input("x", {1, 16});
  std::string prev = "x";
  for (int i = 0; i < n; ++i) {
    std::string out = "t";
    out += std::to_string(i);
    b.node(i % 2 ? "Neg" : "Relu", {prev}, {out}, "op" + std::to_string(i));
    prev = out;
  }
  b.output(prev, 2);
  return graph::import_onnx_bytes(b.bytes(), "chain.onnx");
}

platforms::Platform cpu_platform(const std::vector<std::vector<int>>& lanes_per_device, bool separate_domains = false) {
  platforms::Platform p;
  p.name = "test-host";
  p.power_mode = "default";
  for (std::size_t d = 0; d < lanes_per_device.size(); ++d) {
    platforms::MemoryDomain m;
    m.id = separate_domains ? "dram" + std::to_string(d) : "dram";
    if (d == 0 || separate_domains) p.memory_domains.push_back(m);
    platforms::Device dev;
    dev.id = "cpu" + std::to_string(d);
    dev.kind = platforms::DeviceKind::cpu;
    dev.memory_domain = m.id;
    int units = 0;
    for (int c : lanes_per_device[d]) units = std::max(units, c + 1);
    dev.units = units;
    platforms::Lane lane;
    lane.id = "lane" + std::to_string(d);
    lane.cores = lanes_per_device[d];
    dev.lanes.push_back(lane);
    p.devices.push_back(dev);
  }
  return p;
}

graph::Schedule schedule_of(const graph::Graph& g, const platforms::Platform& p,
                            const std::map<std::string, std::string>& lane_of, const std::string& default_lane) {
  graph::Schedule s;
  s.model_sha256 = g.model_sha256;
  s.platform_name = p.name;
  s.batch = g.batch;
  std::map<std::string, std::int64_t> next;
  for (graph::OpId id : g.topological_order()) {
    const std::string& name = g.op(id).name;
    auto it = lane_of.find(name);
    const std::string lane = it == lane_of.end() ? default_lane : it->second;
    s.entries.push_back({name, lane, "dense", next[lane]++, {}});
  }
  return s;
}

std::map<std::string, HostTensor> random_inputs(const graph::Graph& g) {
  std::map<std::string, HostTensor> in;
  std::uint64_t k = 7;
  for (const auto& name : g.input_names()) {
    const graph::Tensor& t = g.tensor(name);
    in.emplace(name, random_tensor(t.dtype, t.shape, k++));
  }
  return in;
}

std::map<std::string, TensorView> views(const std::map<std::string, HostTensor>& in) {
  std::map<std::string, TensorView> v;
  for (const auto& [k, t] : in) v[k] = t.view();
  return v;
}

bool two_cores() { return describe_host().cpus.size() >= 2; }

// Every pair of tensors that share a buffer: one's readers all happen before the other's
// producer. Happens-before is recomputed here by a search over data edges and lane order.
void expect_no_overlap(const Plan& plan) {
  const std::size_t n = plan.steps.size();
  std::vector<std::vector<std::size_t>> succ(n);
  for (const auto& lane : plan.lanes) {
    for (std::size_t i = 1; i < lane.steps.size(); ++i) succ[lane.steps[i - 1]].push_back(lane.steps[i]);
  }
  for (std::size_t s = 0; s < n; ++s) {
    for (int in : plan.steps[s].inputs) {
      if (in >= 0 && plan.slots[std::size_t(in)].producer >= 0) succ[std::size_t(plan.slots[std::size_t(in)].producer)].push_back(s);
    }
  }
  auto reaches = [&](std::size_t from, std::size_t to) {
    std::vector<bool> seen(n);
    std::deque<std::size_t> q{from};
    while (!q.empty()) {
      const std::size_t v = q.front();
      q.pop_front();
      for (std::size_t w : succ[v]) {
        if (w == to) return true;
        if (!seen[w]) {
          seen[w] = true;
          q.push_back(w);
        }
      }
    }
    return false;
  };
  auto dead_before = [&](const Slot& a, const Slot& b) {
    if (!reaches(std::size_t(a.producer), std::size_t(b.producer))) return false;
    return std::all_of(a.readers.begin(), a.readers.end(), [&](std::size_t r) { return reaches(r, std::size_t(b.producer)); });
  };
  for (std::size_t i = 0; i < plan.slots.size(); ++i) {
    for (std::size_t j = i + 1; j < plan.slots.size(); ++j) {
      const Slot &a = plan.slots[i], &b = plan.slots[j];
      if (a.buffer < 0 || a.buffer != b.buffer) continue;
      EXPECT_TRUE(dead_before(a, b) || dead_before(b, a)) << a.tensor << " and " << b.tensor << " share buffer " << a.buffer;
    }
  }
}

TEST(Plan, BuffersAreSharedOnlyBetweenTensorsThatCannotOverlap) {
  const graph::Graph g = branches_model();
  const auto one = cpu_platform({{0}});
  const auto plan1 = make_plan(g, one, schedule_of(g, one, {}, "lane0"), "s.yaml", {{"lane0", {0}}});
  expect_no_overlap(plan1);
  EXPECT_LT(plan1.buffer_bytes(), plan1.unshared_bytes()) << "a single lane reuses memory";
  const auto two = cpu_platform({{0}, {0}});
  const auto s2 = schedule_of(g, two, {{"b", "lane1"}, {"rb", "lane1"}, {"c", "lane1"}}, "lane0");
  const auto plan2 = make_plan(g, two, s2, "s.yaml", {{"lane0", {0}}, {"lane1", {0}}});
  expect_no_overlap(plan2);
  ASSERT_EQ(plan2.lanes.size(), 2u);
  // The Add on lane0 waits for lane1's last Conv, and for nothing else across lanes.
  const auto& sum = *std::find_if(plan2.steps.begin(), plan2.steps.end(), [&](const PlanStep& s) {
    return s.kind == StepKind::op && g.op(s.group.root).name == "sum";
  });
  ASSERT_EQ(sum.waits.size(), 1u);
  EXPECT_EQ(g.op(plan2.steps[sum.waits[0]].group.root).name, "c");
}

TEST(Plan, SeparateMemoryDomainsGetATransferOnTheConsumingLane) {
  const graph::Graph g = branches_model();
  const auto p = cpu_platform({{0}, {0}}, true);
  const auto s = schedule_of(g, p, {{"b", "lane1"}, {"rb", "lane1"}, {"c", "lane1"}}, "lane0");
  const auto plan = make_plan(g, p, s, "s.yaml", {{"lane0", {0}}, {"lane1", {0}}});
  std::vector<std::string> moved;
  for (const auto& step : plan.steps) {
    if (step.kind == StepKind::transfer) moved.push_back(step.tensor + "->" + plan.lanes[step.lane].id);
  }
  // x moves into lane1's domain, yc comes back to lane0's for the Add.
  EXPECT_EQ(moved, (std::vector<std::string>{"x->lane1", "yc->lane0"}));
  expect_no_overlap(plan);
}

TEST(Replay, OneLaneAndTwoLanesGiveTheReferenceOutputs) {
  const graph::Graph g = branches_model(2);
  const auto inputs = random_inputs(g);
  const auto reference = run_reference(g, views(inputs), {.threads = 1});
  const int second = two_cores() ? 1 : 0;
  struct Case {
    platforms::Platform p;
    graph::Schedule s;
  };
  const auto one = cpu_platform({{0, second}});
  const auto two = cpu_platform({{0}, {0}});
  std::vector<Case> cases = {
      {one, schedule_of(g, one, {}, "lane0")},
      {two, schedule_of(g, two, {{"b", "lane1"}, {"rb", "lane1"}, {"c", "lane1"}}, "lane0")},
      // Alternating lanes: every operator waits for the other lane.
      {two, schedule_of(g, two, {{"ra", "lane1"}, {"rb", "lane1"}, {"sum", "lane1"}}, "lane0")},
  };
  if (!two_cores()) cases[0].p = cpu_platform({{0}});
  for (const auto& c : cases) {
    ReplayOptions o;
    o.graph = &g;
    o.platform = &c.p;
    o.schedule = &c.s;
    o.inputs = views(inputs);
    o.warmup = 1;
    o.iterations = 3;
    const ReplayResult r = replay(o);
    ASSERT_EQ(r.outputs.size(), 1u);
    EXPECT_EQ(compare_tensors(r.outputs.at("out").view(), reference.at("out").view(), 1e-5, 1e-6), "");
    EXPECT_EQ(r.latencies_us.size(), 3u);
    EXPECT_EQ(r.trace.records.size(), 3 * g.operators().size());
  }
}

TEST(Replay, LaneThreadsStayOnTheirCores) {
  if (!two_cores()) GTEST_SKIP() << "needs two usable cores";
  const graph::Graph g = branches_model();
  const auto inputs = random_inputs(g);
  for (const auto& p : {cpu_platform({{0}, {0}}), cpu_platform({{0, 1}})}) {
    const auto s = p.devices.size() == 2 ? schedule_of(g, p, {{"b", "lane1"}, {"rb", "lane1"}, {"c", "lane1"}}, "lane0")
                                         : schedule_of(g, p, {}, "lane0");
    ReplayOptions o;
    o.graph = &g;
    o.platform = &p;
    o.schedule = &s;
    o.inputs = views(inputs);
    o.iterations = 1;
    const ReplayResult r = replay(o);
    std::set<int> used;
    for (const auto& lane : r.lanes) {
      ASSERT_EQ(lane.pinning, "") << "lane " << lane.id << " could not be pinned";
      EXPECT_EQ(lane.omp_threads, int(lane.cpus.size())) << lane.id;
      // Every OpenMP thread of the lane is confined to the lane's cores.
      EXPECT_EQ(lane.observed_cpus, lane.cpus) << lane.id;
      for (int c : lane.cpus) EXPECT_TRUE(used.insert(c).second) << "core " << c << " in two lanes";
    }
  }
}

TEST(Replay, TraceHasOneRecordPerStepAndIterationInTimeOrderPerLane) {
  const graph::Graph g = branches_model();
  const auto inputs = random_inputs(g);
  const auto p = cpu_platform({{0}, {0}}, true);
  const auto s = schedule_of(g, p, {{"b", "lane1"}, {"rb", "lane1"}, {"c", "lane1"}}, "lane0");
  ReplayOptions o;
  o.graph = &g;
  o.platform = &p;
  o.schedule = &s;
  o.inputs = views(inputs);
  o.iterations = 2;
  o.run_id = "t1";
  const ReplayResult r = replay(o);
  std::map<std::string, int> kinds;
  std::map<std::pair<std::int64_t, std::string>, double> lane_end;
  for (const auto& rec : r.trace.records) {
    EXPECT_NO_THROW(traces::validate(rec, "record"));
    EXPECT_EQ(rec.source, traces::Source::hw);
    EXPECT_EQ(rec.run_id, "t1");
    EXPECT_LE(rec.start_us, rec.end_us);
    // Steps of one lane never overlap, and run in plan order.
    auto& end = lane_end[{rec.iteration, rec.lane}];
    EXPECT_GE(rec.start_us, end) << rec.op;
    end = rec.end_us;
    ++kinds[std::string(traces::to_string(rec.record))];
  }
  EXPECT_EQ(kinds["op"], 2 * int(g.operators().size()));
  EXPECT_EQ(kinds["transfer"], 2 * 2);
  // Relu outputs are half zeros on these inputs; the first Convs read none.
  EXPECT_EQ(r.activation_sparsity.at("a"), 0.0);
  EXPECT_GT(r.activation_sparsity.at("c"), 0.0);
}

TEST(Replay, FusedGroupRunsAsOneRecordAndMatchesTheUnfusedOutput) {
  const graph::Graph g = branches_model();
  const auto inputs = random_inputs(g);
  const auto reference = run_reference(g, views(inputs), {.threads = 1});
  const auto p = cpu_platform({{0}});
  graph::Schedule s = schedule_of(g, p, {}, "lane0");
  // Topological order here is a, ra, b, rb, c, sum, out: fuse ra into a, rb into b.
  for (auto& e : s.entries) {
    if (e.op == "ra") e.fuse_with = "a";
    if (e.op == "rb") e.fuse_with = "b";
  }
  ReplayOptions o;
  o.graph = &g;
  o.platform = &p;
  o.schedule = &s;
  o.inputs = views(inputs);
  o.iterations = 1;
  const ReplayResult r = replay(o);
  EXPECT_EQ(compare_tensors(r.outputs.at("out").view(), reference.at("out").view(), 1e-5, 1e-6), "");
  std::set<std::string> groups;
  for (const auto& rec : r.trace.records) groups.insert(rec.op + "|" + rec.fused_group);
  EXPECT_TRUE(groups.count("a|a+ra")) << "the group is recorded under its root";
  EXPECT_TRUE(groups.count("b|b+rb"));
  EXPECT_FALSE(groups.count("ra|"));
  EXPECT_EQ(r.trace.records.size(), g.operators().size() - 2);
}

TEST(Replay, LongChainsAcrossLanesDoNotDeadlock) {
  const graph::Graph g = chain_model(200);
  const auto inputs = random_inputs(g);
  const auto reference = run_reference(g, views(inputs), {.threads = 1});
  const auto p = cpu_platform({{0}, {0}});
  std::map<std::string, std::string> lanes;
  for (int i = 1; i < 200; i += 2) lanes["op" + std::to_string(i)] = "lane1";
  const auto s = schedule_of(g, p, lanes, "lane0");
  ReplayOptions o;
  o.graph = &g;
  o.platform = &p;
  o.schedule = &s;
  o.inputs = views(inputs);
  o.warmup = 2;
  o.iterations = 20;
  const ReplayResult r = replay(o);
  EXPECT_EQ(compare_tensors(r.outputs.begin()->second.view(), reference.begin()->second.view(), 0, 0), "");
}

TEST(ReplayErrors, BadInputsAndPlatformsAreOneClearError) {
  const graph::Graph g = branches_model();
  const auto p = cpu_platform({{0}});
  const auto s = schedule_of(g, p, {}, "lane0");
  HostTensor wrong(graph::DType::f32, {1, 4, 8, 9});
  ReplayOptions o;
  o.graph = &g;
  o.platform = &p;
  o.schedule = &s;
  o.inputs["x"] = wrong.view();
  try {
    replay(o);
    FAIL() << "a wrong input shape ran";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("input 'x'"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("1x4x8x8"), std::string::npos) << e.what();
  }
  o.inputs.clear();
  EXPECT_THROW(replay(o), Error);  // missing input

  // More cores than the machine has.
  std::vector<int> many(std::size_t(describe_host().cpus.size()) + 1);
  for (std::size_t i = 0; i < many.size(); ++i) many[i] = int(i);
  const auto big = cpu_platform({many});
  EXPECT_THROW(bind_lanes(big, describe_host()), Error);

  // A platform with a GPU sharing the CPU's DRAM (transfer: copy): its GPU lane binds to its
  // launch lane's cores, the plan gives the GPU a private domain with copies both ways, and
  // on a machine without a usable GPU the replay is refused naming the lane and the reason.
  platforms::Platform gpu = p;
  platforms::Device d;
  d.id = "gpu";
  d.kind = platforms::DeviceKind::gpu;
  d.memory_domain = "dram";
  d.lanes.push_back({"gpu0", {}, 0, "lane0"});
  gpu.devices.push_back(d);
  const auto bound = bind_lanes(gpu, describe_host());
  ASSERT_EQ(bound.count("gpu0"), 1u);
  EXPECT_EQ(bound.at("gpu0"), bound.at("lane0"));
  graph::Schedule on_gpu = s;
  for (auto& e : on_gpu.entries) e.lane = "gpu0";
  const Plan plan = make_plan(g, gpu, on_gpu, "s.yaml", bound);
  ASSERT_TRUE(plan.has_gpu());
  EXPECT_EQ(plan.lanes.at(0).domain, "dram/gpu");
  EXPECT_EQ(plan.lanes.at(0).launch_lane, "lane0");
  EXPECT_EQ(plan.kind_of("dram/gpu"), gpu::MemoryKind::device);
  EXPECT_EQ(plan.kind_of("dram"), gpu::MemoryKind::pinned);  // the input's copy to the GPU
  // Zero-copy: the GPU works in the shared domain, mapped, with no transfer steps.
  gpu.memory_domains.at(0).transfer = platforms::SharedTransfer::zero_copy;
  const Plan mapped = make_plan(g, gpu, on_gpu, "s.yaml", bound);
  EXPECT_EQ(mapped.lanes.at(0).domain, "dram");
  EXPECT_EQ(mapped.kind_of("dram"), gpu::MemoryKind::mapped);
  for (const auto& step : mapped.steps) EXPECT_EQ(step.kind, StepKind::op);
  if (gpu::unavailable_reason().empty()) GTEST_SKIP() << "a GPU is usable here: the no-GPU refusal cannot be checked";
  o.platform = &gpu;
  o.schedule = &on_gpu;
  o.schedule_origin = "s.yaml";
  HostTensor x(graph::DType::f32, {1, 4, 8, 8});
  o.inputs["x"] = x.view();
  try {
    replay(o);
    FAIL() << "a GPU schedule ran without a GPU";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("s.yaml: lane 'gpu0' is on GPU device 'gpu', but "), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find(gpu::unavailable_reason()), std::string::npos) << e.what();
  }
}

TEST(ReplayErrors, SparseKernelForAnOperatorWithoutOneNamesIt) {
  const graph::Graph g = branches_model();
  const auto inputs = random_inputs(g);
  const auto p = cpu_platform({{0}});
  graph::Schedule s = schedule_of(g, p, {}, "lane0");
  for (auto& e : s.entries) {
    if (e.op == "ra") e.kernel = "sparse";
  }
  ReplayOptions o;
  o.graph = &g;
  o.platform = &p;
  o.schedule = &s;
  o.inputs = views(inputs);
  try {
    replay(o);
    FAIL() << "a sparse Relu ran";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("ra"), std::string::npos) << e.what();
  }
}

TEST(ReplayErrors, AKernelFailingInOneLaneStopsTheOthersWithoutHanging) {
  // Gather with run-time indices out of range fails inside the kernel, on lane1, while lane0
  // waits for it.
  ModelBuilder b;
  b.input("data", {4, 3});
  b.input("idx", {2}, onnx::TensorProto::INT64);
  b.node("Gather", {"data", "idx"}, {"g"}, "gather");
  b.node("Relu", {"g"}, {"out"}, "relu");
  b.output("out", 2);
  const graph::Graph g = graph::import_onnx_bytes(b.bytes(), "gather.onnx");
  const auto p = cpu_platform({{0}, {0}});
  const auto s = schedule_of(g, p, {{"gather", "lane1"}}, "lane0");
  HostTensor data(graph::DType::f32, {4, 3});
  HostTensor idx(graph::DType::i64, {2});
  idx.as<std::int64_t>()[1] = 99;
  ReplayOptions o;
  o.graph = &g;
  o.platform = &p;
  o.schedule = &s;
  o.inputs = {{"data", data.view()}, {"idx", idx.view()}};
  try {
    replay(o);
    FAIL() << "an out-of-range index ran";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("gather"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace sparoa::hw

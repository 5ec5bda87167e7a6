// The simulator on graphs of one to three operators, with every expected number worked out
// by hand from the platform's figures (below) and the operators' FLOPs and bytes:
//
//   CPU: 2 cores of 10 GFLOP/s (1000 MHz x 10 FLOP/cycle), one core per lane (cpu0, cpu1);
//        device watts idle 2 / epsilon 4 / full 10, i.e. 1 / 2 / 5 per core; pstate 2 at 500 MHz.
//   GPU: 2 units of 5 GFLOP/s (10 GFLOP/s together), lane gpu0 launched from cpu1;
//        device watts idle 1 / epsilon 2 / full 12, i.e. 0.5 / 1 / 6 per unit.
//   DRAM: 10 GB/s shared by both; static board power 1 W.
//   Cost model: every efficiency 1, CPU dispatch 0, GPU launch LAUNCH_US.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <sstream>

#include "graph/onnx_import.hpp"
#include "graph/schedule.hpp"
#include "platforms/platform.hpp"
#include "platforms/reference_placements.hpp"
#include "platforms/arrivals.hpp"
#include "sim/simulation.hpp"
#include "platforms/state_trace.hpp"
#include "support/error.hpp"
#include "tests/graph/onnx_test_models.hpp"
#include "tests/sim/sim_child.hpp"
#include "traces/trace_csv.hpp"

namespace sparoa::test {
namespace {

namespace fs = std::filesystem;

constexpr double kCpuCore = 10e9;  // FLOP/s of one CPU core
constexpr double kGpu = 10e9;      // FLOP/s of the whole GPU
constexpr double kBw = 10e9;       // bytes/s of DRAM

struct PlatformKnobs {
  double launch_us = 0;
  const char* transfer = "copy";
  double transfer_latency_us = 10;
  double dram_GBps = 10;
  double contention = 1;  // written only when fitted (< 1), so the default file is unchanged
};

std::string platform_yaml(const PlatformKnobs& k) {
  std::ostringstream y;
  y << R"(schema_version: 1
name: tiny
power_mode: full
provenance: {source: estimated, date: 2026-11-24, document: sim_test, notes: numbers chosen to be worked out by hand}
memory_domains:
  - {id: dram, bandwidth_GBps: )" << k.dram_GBps << ", transfer: " << k.transfer << ", transfer_latency_us: " << k.transfer_latency_us
    << (k.contention != 1 ? ", contention: " + std::to_string(k.contention) : std::string()) << R"(, source: estimated}
devices:
  - id: cpu
    kind: cpu
    memory_domain: dram
    units: 2
    unit_name: core
    flops_per_cycle_per_unit: 10
    pstates:
      - {freq_MHz: 1000, idle_W: 2, epsilon_W: 4, full_W: 10}
      - {freq_MHz: 500, idle_W: 1, epsilon_W: 2, full_W: 4}
    off_W: 0
    rail: VDD_CPU
    source: estimated
    lanes:
      - {id: cpu0, cores: [0]}
      - {id: cpu1, cores: [1]}
  - id: gpu
    kind: gpu
    memory_domain: dram
    units: 2
    unit_name: SM
    flops_per_cycle_per_unit: 5
    pstates:
      - {freq_MHz: 1000, idle_W: 1, epsilon_W: 2, full_W: 12}
    off_W: 0
    rail: VDD_GPU
    source: estimated
    lanes:
      - {id: gpu0, stream: 0, launch_lane: cpu1}
links: []
power_modes:
  - name: full
    static_W: 1
    source: estimated
    devices: [{id: cpu, online_units: 2, freq_MHz: 1000}, {id: gpu, online_units: 2, freq_MHz: 1000}]
    memory_domains: [{id: dram, bandwidth_GBps: )" << k.dram_GBps << R"(}]
  - name: low
    static_W: 0.5
    source: estimated
    devices: [{id: cpu, online_units: 1, freq_MHz: 500}, {id: gpu, online_units: 1, freq_MHz: 1000}]
    memory_domains: [{id: dram, bandwidth_GBps: 5}]
cost_model:
  source: estimated
  entries:
)";
  for (const char* kind : {"cpu", "gpu"}) {
    const double overhead = std::string(kind) == "gpu" ? k.launch_us : 0;
    for (const char* kernel : {"dense", "sparse"}) {
      y << "    - {class: default, device_kind: " << kind << ", kernel: " << kernel
        << ", compute_efficiency: 1, compute_efficiency_max: 1, batch_exponent: 0, memory_efficiency: 1, overhead_us: "
        << overhead << (std::string(kernel) == "sparse" ? ", index_bytes_per_nonzero: 4" : "")
        << ", source: estimated}\n";
    }
  }
  return y.str();
}

std::string unique_name(const std::string& stem) {
  const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
  return std::string("sim_") + info->name() + "_" + stem;
}

fs::path write_text(const std::string& file, const std::string& text) {
  const fs::path path = fs::path(SPAROA_TEST_DATA_DIR) / file;
  std::ofstream(path) << text;
  return path;
}

// Models. A "memory-bound" operator is a Relu over 2M floats (2 MFLOP, 16 MB: 0.2 ms of
// compute and 1.6 ms of DRAM on either device); a "compute-bound" one is a 3x3 convolution
// with 64 channels on 32x32 (75.5 MFLOP, 0.67 MB: 7.5 ms of compute, 0.07 ms of DRAM).
constexpr std::int64_t kReluElements = 2'000'000;

// "x" + std::to_string(i) trips gcc 12's -Wrestrict false positive; append does not.
std::string numbered(const char* prefix, int i) {
  std::string s(prefix);
  s.append(std::to_string(i));
  return s;
}

ModelBuilder relu_model(int count, bool chained) {
  ModelBuilder b;
  if (chained) {
    b.input("x", {-1, kReluElements});
    std::string in = "x";
    for (int i = 0; i < count; ++i) {
      const std::string out = i + 1 == count ? "y" : numbered("t", i);
      b.node("Relu", {in}, {out}, numbered("relu", i));
      in = out;
    }
    b.output("y", 2);
  } else {
    for (int i = 0; i < count; ++i) {
      b.input(numbered("x", i), {-1, kReluElements});
      b.node("Relu", {numbered("x", i)}, {numbered("y", i)}, numbered("relu", i));
      b.output(numbered("y", i), 2);
    }
  }
  return b;
}

ModelBuilder conv_model() {
  ModelBuilder b;
  b.input("x", {-1, 64, 32, 32});
  b.weight("w", {64, 64, 3, 3}, std::vector<float>(64 * 64 * 9, 0.01f));
  auto& n = b.node("Conv", {"x", "w"}, {"y"}, "conv");
  ModelBuilder::attr(n, "pads", std::vector<std::int64_t>{1, 1, 1, 1});
  ModelBuilder::attr(n, "kernel_shape", std::vector<std::int64_t>{3, 3});
  b.output("y", 4);
  return b;
}

// Conv -> Relu: the producer on one device and the consumer on another.
ModelBuilder conv_relu_model() {
  ModelBuilder b = conv_model();
  b.model().mutable_graph()->mutable_output()->Clear();
  b.node("Relu", {"y"}, {"z"}, "relu");
  b.output("z", 4);
  return b;
}

graph::Graph import(const ModelBuilder& b, const std::string& file, std::int64_t batch = 1) {
  graph::ImportOptions o;
  o.batch = batch;
  return graph::import_onnx(b.save(file), o);
}

graph::Schedule schedule_on(const graph::Graph& g, const std::vector<std::pair<std::string, std::string>>& op_lane) {
  graph::Schedule s;
  s.model_path = g.source_path;
  s.model_sha256 = g.model_sha256;
  s.platform_name = "tiny";
  s.platform_power_mode = "full";
  s.batch = g.batch;
  std::map<std::string, std::int64_t> next;
  for (auto id : g.topological_order()) {
    const std::string& name = g.op(id).name;
    std::string lane;
    for (const auto& [op, l] : op_lane) {
      if (op == name) lane = l;
    }
    if (lane.empty()) throw std::runtime_error("test bug: no lane for " + name);
    s.entries.push_back({name, lane, "dense", next[lane]++, std::nullopt});
  }
  return s;
}

struct SimRun {
  PlatformKnobs knobs;
  std::string arrivals = "closed";
  std::int64_t requests = 1;
  std::int64_t batch = 1;
  double batch_timeout_s = 0;
  std::string state;  // state trace text, or empty
  fs::path csv;
  fs::path chrome;
  std::uint64_t seed = 1;
  std::string policy;  // reference policy instead of the schedule
};

SimRun with_knobs(const PlatformKnobs& k) {
  SimRun r;
  r.knobs = k;
  return r;
}

// Builds everything inside the child (SimGrid state must not exist in the parent), on the
// platform given as YAML text (run.knobs are then unused).
ChildResult simulate_on(const std::string& platform_text, const SimRun& run, const ModelBuilder& model,
                        const std::vector<std::pair<std::string, std::string>>& op_lane) {
  const std::string model_file = unique_name("model.onnx");
  const fs::path platform_file = write_text(unique_name("platform.yaml"), platform_text);
  const fs::path state_file = run.state.empty() ? fs::path() : write_text(unique_name("state.csv"), run.state);
  return run_in_child([&] {
    const graph::Graph g = import(model, model_file, run.batch);
    const platforms::Platform p = platforms::read_platform(platform_file);
    graph::Schedule s = schedule_on(g, op_lane);
    s.platform_name = p.name;
    std::optional<platforms::StateTrace> st;
    if (!state_file.empty()) st = platforms::read_state_trace(state_file, p);
    std::unique_ptr<platforms::OnlinePolicy> policy;
    if (!run.policy.empty()) policy = platforms::make_reference_policy(p, platforms::parse_reference_placement(run.policy));
    sim::SimulationOptions o;
    o.graph = &g;
    o.platform = &p;
    if (policy) {
      o.policy = policy.get();
    } else {
      o.schedule = &s;
    }
    o.arrivals = platforms::parse_arrivals(run.arrivals);
    o.requests = run.requests;
    o.batch_timeout_s = run.batch_timeout_s;
    o.state = st ? &*st : nullptr;
    o.csv = run.csv;
    o.chrome = run.chrome;
    o.seed = run.seed;
    return sim::simulate(o);
  });
}

ChildResult simulate(const SimRun& run, const ModelBuilder& model, const std::vector<std::pair<std::string, std::string>>& op_lane) {
  return simulate_on(platform_yaml(run.knobs), run, model, op_lane);
}

// The operator's FLOPs and bytes as the importer counts them (the test's own arithmetic
// needs only these two numbers per operator).
struct Amounts {
  double flops, bytes, out_bytes;
};
Amounts amounts(const ModelBuilder& model, const std::string& op, std::int64_t batch = 1) {
  const graph::Graph g = import(model, unique_name("amounts.onnx"), batch);
  const auto& o = g.op(*g.find_op(op));
  double out = 0;
  for (const auto& t : o.outputs) out += double(g.tensor(t).size_bytes());
  return {o.features.flops, o.features.bytes, out};
}

void expect_near_rel(double actual, double expected, double rel = 1e-6) {
  EXPECT_NEAR(actual, expected, std::abs(expected) * rel) << "expected " << expected << ", got " << actual;
}

const sim::DeviceSummary& device(const sim::Summary& s, const std::string& id) {
  for (const auto& d : s.devices) {
    if (d.id == id) return d;
  }
  throw std::runtime_error("no device " + id);
}

// -----------------------------------------------------------------------------------------

TEST(SimRoofline, ComputeBoundOperatorOnTheCpu) {
  const auto model = conv_model();
  const Amounts a = amounts(model, "conv");
  ASSERT_GT(a.flops / kCpuCore, 10 * a.bytes / kBw) << "the convolution must be compute-bound";
  const ChildResult r = simulate(SimRun{}, model, {{"conv", "cpu0"}});
  ASSERT_TRUE(r.ok) << r.error;
  expect_near_rel(r.summary.latency_mean_s, a.flops / kCpuCore);
  EXPECT_EQ(r.summary.op_executions, 1);
  EXPECT_EQ(r.summary.transfers, 0);
}

TEST(SimRoofline, MemoryBoundOperatorOnTheCpu) {
  const auto model = relu_model(1, true);
  const Amounts a = amounts(model, "relu0");
  ASSERT_GT(a.bytes / kBw, 5 * a.flops / kCpuCore) << "the Relu must be memory-bound";
  const ChildResult r = simulate(SimRun{}, model, {{"relu0", "cpu0"}});
  ASSERT_TRUE(r.ok) << r.error;
  expect_near_rel(r.summary.latency_mean_s, a.bytes / kBw);
}

TEST(SimRoofline, GpuOperatorsPayTheLaunchOnTheCpuAndTheInputAndOutputCopies) {
  // launch 20 us on cpu1; the input (graph input, on the CPU) is copied in at the same
  // time: the kernel starts after max(launch, copy); the output is copied back.
  const auto model = conv_model();
  const Amounts a = amounts(model, "conv");
  const double in_bytes = 64 * 32 * 32 * 4;
  const double copy_in = 10e-6 + 2 * in_bytes / kBw;
  const double copy_out = 10e-6 + 2 * a.out_bytes / kBw;
  PlatformKnobs k;
  k.launch_us = 20;
  const ChildResult r = simulate(with_knobs(k), model, {{"conv", "gpu0"}});
  ASSERT_TRUE(r.ok) << r.error;
  expect_near_rel(r.summary.latency_mean_s, std::max(20e-6, copy_in) + a.flops / kGpu + copy_out);
  EXPECT_EQ(r.summary.launches, 1);
  EXPECT_EQ(r.summary.transfers, 2);
  EXPECT_EQ(device(r.summary, "gpu").executions, 1);
}

TEST(SimRoofline, MemoryBoundOperatorOnTheGpuWithZeroCopy) {
  const auto model = relu_model(1, true);
  const Amounts a = amounts(model, "relu0");
  PlatformKnobs k;
  k.transfer = "zero_copy";
  k.transfer_latency_us = 0;
  const ChildResult r = simulate(with_knobs(k), model, {{"relu0", "gpu0"}});
  ASSERT_TRUE(r.ok) << r.error;
  // Zero-copy transfers move one byte each (their latency is 0 here).
  expect_near_rel(r.summary.latency_mean_s, a.bytes / kBw, 1e-6);
}

TEST(SimTransfer, ProducerOnCpuConsumerOnGpu) {
  // conv on cpu0, relu on gpu0: the conv's output is copied (read + write through DRAM,
  // plus 10 us) while cpu1 launches the relu (5 us); the relu's output is copied back.
  const auto model = conv_relu_model();
  const Amounts conv = amounts(model, "conv");
  const Amounts relu = amounts(model, "relu");
  PlatformKnobs k;
  k.launch_us = 5;
  const ChildResult r = simulate(with_knobs(k), model, {{"conv", "cpu0"}, {"relu", "gpu0"}});
  ASSERT_TRUE(r.ok) << r.error;
  const double t_conv = conv.flops / kCpuCore;
  const double copy = 10e-6 + 2 * conv.out_bytes / kBw;
  const double t_relu = std::max(relu.flops / kGpu, relu.bytes / kBw);
  const double back = 10e-6 + 2 * relu.out_bytes / kBw;
  expect_near_rel(r.summary.latency_mean_s, t_conv + std::max(copy, 5e-6) + t_relu + back);
  EXPECT_EQ(r.summary.transfers, 2);
}

TEST(SimContention, TwoMemoryBoundOperatorsOnCpuAndGpuShareTheDram) {
  // Each Relu alone takes T = bytes / bandwidth. Run together, one on the CPU and one on the
  // GPU, they split the DRAM bandwidth: both take 2T (their compute needs only T/8 at
  // half speed). Zero-copy with no latency keeps transfers out of the picture.
  const auto model = relu_model(2, false);
  const Amounts a = amounts(model, "relu0");
  const double alone = a.bytes / kBw;
  PlatformKnobs k;
  k.transfer = "zero_copy";
  k.transfer_latency_us = 0;
  const fs::path csv = fs::path(SPAROA_TEST_DATA_DIR) / unique_name("trace.csv");
  SimRun run;
  run.knobs = k;
  run.csv = csv;
  const ChildResult r = simulate(run, model, {{"relu0", "cpu0"}, {"relu1", "gpu0"}});
  ASSERT_TRUE(r.ok) << r.error;
  expect_near_rel(r.summary.latency_mean_s, 2 * alone, 1e-6);
  const traces::Trace t = traces::read_trace_csv(csv);
  int ops = 0;
  for (const auto& rec : t.records) {
    if (rec.record != traces::RecordKind::op) continue;
    ++ops;
    expect_near_rel((rec.end_us - rec.start_us) * 1e-6, 2 * alone, 1e-6);
  }
  EXPECT_EQ(ops, 2);
}

TEST(SimContention, MemoryBoundAndComputeBoundDoNotSlowEachOther) {
  // A memory-bound Relu on the GPU next to a compute-bound conv on the CPU: the conv's few
  // bytes barely touch the DRAM, so the Relu keeps (almost) the whole bandwidth.
  ModelBuilder b = conv_model();
  b.input("x2", {-1, kReluElements});
  b.node("Relu", {"x2"}, {"y2"}, "relu");
  b.output("y2", 2);
  const Amounts conv = amounts(b, "conv");
  const Amounts relu = amounts(b, "relu");
  PlatformKnobs k;
  k.transfer = "zero_copy";
  k.transfer_latency_us = 0;
  const ChildResult r = simulate(with_knobs(k), b, {{"conv", "cpu0"}, {"relu", "gpu0"}});
  ASSERT_TRUE(r.ok) << r.error;
  // The conv dominates: 7.5 ms of compute, unchanged by the Relu.
  expect_near_rel(r.summary.latency_mean_s, conv.flops / kCpuCore, 1e-3);
  (void)relu;
}

TEST(SimEnergy, KnownBusyIdlePattern) {
  // One compute-bound conv on cpu0 for T seconds; nothing else runs. SimGrid's semantics per
  // unit: core 0 at full load draws 5 W, core 1 idles at 1 W, each GPU unit idles at 0.5 W,
  // and the board's static power is 1 W. Total 5T + 1T + 1T + 1T = 8T. Attributed to the
  // operator: the energy above idle of core 0, (5 - 1) T.
  const auto model = conv_model();
  const Amounts a = amounts(model, "conv");
  const double T = a.flops / kCpuCore;
  // The conv also moves its bytes: core 0's load is 1 throughout since it is compute-bound.
  const ChildResult r = simulate(SimRun{}, model, {{"conv", "cpu0"}});
  ASSERT_TRUE(r.ok) << r.error;
  expect_near_rel(r.summary.makespan_s, T);
  expect_near_rel(device(r.summary, "cpu").energy_J, 6 * T);
  expect_near_rel(device(r.summary, "gpu").energy_J, 1 * T);
  expect_near_rel(r.summary.static_energy_J, 1 * T);
  expect_near_rel(r.summary.energy_J, 8 * T);
  expect_near_rel(r.summary.energy_per_inference_J, 8 * T);
  expect_near_rel(device(r.summary, "cpu").attributed_J, 4 * T);
  expect_near_rel(device(r.summary, "cpu").utilisation, 1.0);
  EXPECT_EQ(device(r.summary, "gpu").utilisation, 0);
}

TEST(SimEnergy, MemoryBoundOperatorDrawsEpsilonPlusItsLoad) {
  // The Relu is memory-bound: core 0 computes 2 MFLOP over T = bytes / bw, a load of
  // flops / (speed T). Its power: epsilon 2 W + (5 - 2) x load; the other core idles at 1 W.
  const auto model = relu_model(1, true);
  const Amounts a = amounts(model, "relu0");
  const double T = a.bytes / kBw;
  const double load = a.flops / (kCpuCore * T);
  const ChildResult r = simulate(SimRun{}, model, {{"relu0", "cpu0"}});
  ASSERT_TRUE(r.ok) << r.error;
  expect_near_rel(device(r.summary, "cpu").energy_J, (2 + 3 * load) * T + 1 * T);
  expect_near_rel(device(r.summary, "cpu").attributed_J, (2 + 3 * load - 1) * T);
}

TEST(SimState, PstateChangeMidOperator) {
  // The conv runs T at 1000 MHz; at T/2 the CPU drops to 500 MHz: the second half of the
  // work takes T, so the operator ends at 1.5 T.
  const auto model = conv_model();
  const Amounts a = amounts(model, "conv");
  const double T = a.flops / kCpuCore;
  SimRun run;
  run.state = "time_us,action,target,value\n" + std::to_string(T / 2 * 1e6) + ",pstate,cpu,500\n";
  const ChildResult r = simulate(run, model, {{"conv", "cpu0"}});
  ASSERT_TRUE(r.ok) << r.error;
  expect_near_rel(r.summary.latency_mean_s, 1.5 * T, 1e-6);
}

TEST(SimState, PowerModeHalvesTheGpuUnitsAndTheBandwidth) {
  // Mode "low" leaves one GPU unit on (5 GFLOP/s) and 5 GB/s of DRAM from t = 0.
  const auto model = conv_model();
  const Amounts a = amounts(model, "conv");
  PlatformKnobs k;
  k.transfer = "zero_copy";
  k.transfer_latency_us = 0;
  SimRun run;
  run.knobs = k;
  run.state = "time_us,action,target,value\n0,power_mode,low,\n";
  const ChildResult r = simulate(run, model, {{"conv", "gpu0"}});
  ASSERT_TRUE(r.ok) << r.error;
  expect_near_rel(r.summary.latency_mean_s, std::max(a.flops / (kGpu / 2), a.bytes / (kBw / 2)), 1e-6);
  EXPECT_EQ(r.summary.power_mode_end, "low");
}

TEST(SimState, BackgroundLoadOnTheGpuSlowsItsOperators) {
  // Background load 0.25 on the GPU: every 1 ms slice it asks for 0.25 ms of the GPU. Sharing
  // fairly with the conv, it gets half the GPU until done (0.5 ms), then the conv runs alone:
  // the conv progresses 0.25 + 0.5 = 0.75 ms worth per 1 ms, so it takes T / 0.75.
  const auto model = conv_model();
  const Amounts a = amounts(model, "conv");
  const double T = a.flops / kGpu;
  PlatformKnobs k;
  k.transfer = "zero_copy";
  k.transfer_latency_us = 0;
  SimRun run;
  run.knobs = k;
  run.state = "time_us,action,target,value\n0,background,gpu,0.25\n";
  const ChildResult r = simulate(run, model, {{"conv", "gpu0"}});
  ASSERT_TRUE(r.ok) << r.error;
  expect_near_rel(r.summary.latency_mean_s, T / 0.75, 0.02);
  // And the background work costs energy: more than the idle-only GPU would draw.
  EXPECT_GT(device(r.summary, "gpu").energy_J, device(r.summary, "gpu").attributed_J);
}

TEST(SimBatching, FullBatchWaitsForItsSecondRequest) {
  // Batch 2, arrivals at 0 and 100 us, timeout 1 ms: one batch leaves at 100 us.
  const auto model = relu_model(1, true);
  const Amounts a2 = amounts(model, "relu0", 2);
  const fs::path arrivals = write_text(unique_name("arrivals.txt"), "0\n100\n");
  SimRun run;
  run.arrivals = arrivals.string();
  run.requests = 2;
  run.batch = 2;
  run.batch_timeout_s = 1e-3;
  const ChildResult r = simulate(run, model, {{"relu0", "cpu0"}});
  ASSERT_TRUE(r.ok) << r.error;
  const double t2 = a2.bytes / kBw;
  EXPECT_EQ(r.summary.batches, 1);
  expect_near_rel(r.summary.latency_max_s, 100e-6 + t2);
  expect_near_rel(r.summary.makespan_s, 100e-6 + t2);
}

TEST(SimBatching, TimeoutSendsAPartialBatch) {
  // Timeout 50 us: the first request leaves alone at 50 us as a batch of 1 (half the bytes
  // of the batch-2 graph); the second arrives at 100 us and, being the last, leaves at once.
  const auto model = relu_model(1, true);
  const Amounts a2 = amounts(model, "relu0", 2);
  const fs::path arrivals = write_text(unique_name("arrivals.txt"), "0\n100\n");
  SimRun run;
  run.arrivals = arrivals.string();
  run.requests = 2;
  run.batch = 2;
  run.batch_timeout_s = 50e-6;
  const ChildResult r = simulate(run, model, {{"relu0", "cpu0"}});
  ASSERT_TRUE(r.ok) << r.error;
  const double t1 = a2.bytes / 2 / kBw;  // 1.6 ms: the first batch still runs at 100 us
  EXPECT_EQ(r.summary.batches, 2);
  // First: 50 us wait + t1. Second: waits for the lane (FIFO) until 50 us + t1, then t1.
  expect_near_rel(r.summary.makespan_s, 50e-6 + 2 * t1);
  expect_near_rel(r.summary.latency_max_s, 50e-6 + 2 * t1 - 100e-6);
}

TEST(SimDeterminism, SameSeedGivesByteIdenticalOutputs) {
  const auto model = conv_relu_model();
  auto run_once = [&](const std::string& tag, std::uint64_t seed) {
    SimRun run;
    run.arrivals = "poisson:300";
    run.requests = 20;
    run.seed = seed;
    run.csv = fs::path(SPAROA_TEST_DATA_DIR) / unique_name(tag + ".csv");
    run.chrome = fs::path(SPAROA_TEST_DATA_DIR) / unique_name(tag + ".json");
    PlatformKnobs k;
    k.launch_us = 5;
    run.knobs = k;
    const ChildResult r = simulate(run, model, {{"conv", "cpu0"}, {"relu", "gpu0"}});
    EXPECT_TRUE(r.ok) << r.error;
    auto slurp = [](const fs::path& p) {
      std::ifstream in(p, std::ios::binary);
      return std::string(std::istreambuf_iterator<char>(in), {});
    };
    return std::pair(slurp(run.csv), slurp(run.chrome));
  };
  const auto a = run_once("a", 7);
  const auto b = run_once("b", 7);
  const auto c = run_once("c", 8);
  ASSERT_FALSE(a.first.empty());
  EXPECT_EQ(a.first, b.first);
  EXPECT_EQ(a.second, b.second);
  EXPECT_NE(a.first, c.first) << "another seed must give other arrival times";
}

TEST(SimOutputs, ChromeTraceIsValidJsonWithSlicesCountersAndFlows) {
  const auto model = conv_relu_model();
  SimRun run;
  run.requests = 3;
  run.chrome = fs::path(SPAROA_TEST_DATA_DIR) / unique_name("trace.json");
  PlatformKnobs k;
  k.launch_us = 5;
  run.knobs = k;
  const ChildResult r = simulate(run, model, {{"conv", "cpu0"}, {"relu", "gpu0"}});
  ASSERT_TRUE(r.ok) << r.error;
  std::ifstream in(run.chrome);
  const nlohmann::json j = nlohmann::json::parse(in);
  ASSERT_TRUE(j.contains("traceEvents"));
  int slices = 0, counters = 0, flow_starts = 0, flow_ends = 0, launches = 0, transfers = 0;
  for (const auto& e : j["traceEvents"]) {
    const std::string ph = e["ph"];
    if (ph == "X") {
      ++slices;
      EXPECT_GE(e["dur"].get<double>(), 0);
      const std::string kind = e["args"]["record"];
      launches += kind == "launch";
      transfers += kind == "transfer";
    }
    counters += ph == "C";
    flow_starts += ph == "s";
    flow_ends += ph == "f";
  }
  EXPECT_EQ(slices, 3 * (2 + 1 + 2));  // 2 ops, 1 launch, 2 transfers per request
  EXPECT_EQ(launches, 3);
  EXPECT_EQ(transfers, 6);
  EXPECT_GT(counters, 0);
  EXPECT_EQ(flow_starts, flow_ends);
  // Per request: conv -> its transfer, relu -> its transfer back, launch -> relu's kernel.
  EXPECT_EQ(flow_starts, 3 * 3);
}

TEST(SimPolicy, OnlineCpuOnlyMatchesTheStaticSchedule) {
  const auto model = conv_relu_model();
  SimRun run;
  run.requests = 4;
  run.policy = "cpu-only";
  const ChildResult online = simulate(run, model, {{"conv", "cpu0"}, {"relu", "cpu0"}});
  run.policy.clear();
  const ChildResult fixed = simulate(run, model, {{"conv", "cpu0"}, {"relu", "cpu0"}});
  ASSERT_TRUE(online.ok) << online.error;
  ASSERT_TRUE(fixed.ok) << fixed.error;
  EXPECT_EQ(online.summary.latency_mean_s, fixed.summary.latency_mean_s);
  EXPECT_EQ(online.summary.energy_J, fixed.summary.energy_J);
}

// Online placement is asynchronous: an operator is placed once its predecessors are issued
// (a GPU one when launched), so the launch of a GPU operator overlaps its producer's kernel
// exactly as in a static schedule, instead of waiting for the producer to finish.
TEST(SimPolicy, OnlineGpuOnlyLaunchesAheadLikeTheStaticSchedule) {
  const auto model = conv_relu_model();
  SimRun run;
  run.requests = 3;
  PlatformKnobs k;
  k.launch_us = 50;  // far more than relu's kernel: a serial launch would show
  run.knobs = k;
  run.policy = "gpu-only";
  const ChildResult online = simulate(run, model, {{"conv", "gpu0"}, {"relu", "gpu0"}});
  run.policy.clear();
  const ChildResult fixed = simulate(run, model, {{"conv", "gpu0"}, {"relu", "gpu0"}});
  ASSERT_TRUE(online.ok) << online.error;
  ASSERT_TRUE(fixed.ok) << fixed.error;
  EXPECT_DOUBLE_EQ(online.summary.latency_mean_s, fixed.summary.latency_mean_s);
  EXPECT_DOUBLE_EQ(online.summary.energy_J, fixed.summary.energy_J);
}

TEST(SimPolicy, ScheduleForAnotherModelIsRefused) {
  const auto model = conv_model();
  const ChildResult r = run_in_child([&] {
    const graph::Graph g = import(model, unique_name("a.onnx"));
    const graph::Graph other = import(relu_model(1, true), unique_name("b.onnx"));
    const platforms::Platform p = platforms::parse_platform(platform_yaml({}), "tiny.yaml");
    const graph::Schedule s = schedule_on(other, {{"relu0", "cpu0"}});
    sim::SimulationOptions o;
    o.graph = &g;
    o.platform = &p;
    o.schedule = &s;
    return sim::simulate(o);
  });
  ASSERT_FALSE(r.ok);
  EXPECT_NE(r.error.find("schedule"), std::string::npos) << r.error;
}

TEST(SimStateTrace, OutOfOrderTimesAreAnErrorNamingTheLine) {
  const platforms::Platform p = platforms::parse_platform(platform_yaml({}), "tiny.yaml");
  try {
    platforms::parse_state_trace("time_us,action,target,value\n100,pstate,cpu,500\n50,pstate,cpu,1000\n", "s.csv", p);
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("s.csv:3"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("time order"), std::string::npos) << e.what();
  }
  EXPECT_THROW(platforms::parse_state_trace("time_us,action,target,value\n0,pstate,cpu,750\n", "s.csv", p), Error);
  EXPECT_THROW(platforms::parse_state_trace("time_us,action,target,value\n0,background,npu,0.5\n", "s.csv", p), Error);
  EXPECT_THROW(platforms::parse_state_trace("time_us,action,target,value\n0,background,gpu,1.5\n", "s.csv", p), Error);
  EXPECT_THROW(platforms::parse_state_trace("time_us,action,target,value\n0,power_mode,turbo,\n", "s.csv", p), Error);
  EXPECT_THROW(platforms::parse_state_trace("when,action,target,value\n", "s.csv", p), Error);
}

TEST(SimArrivals, ParsesAndRejects) {
  EXPECT_EQ(platforms::parse_arrivals("closed").kind, platforms::ArrivalSpec::Kind::closed);
  EXPECT_EQ(platforms::parse_arrivals("closed:4").clients, 4);
  EXPECT_EQ(platforms::parse_arrivals("poisson:250").rate_per_s, 250);
  EXPECT_THROW(platforms::parse_arrivals("poisson:-1"), Error);
  EXPECT_THROW(platforms::parse_arrivals("closed:0"), Error);
  EXPECT_THROW(platforms::parse_arrivals("no-such-file.txt"), Error);
  const fs::path bad = write_text(unique_name("arrivals.txt"), "0\n200\n100\n");
  try {
    platforms::OpenArrivals a(platforms::parse_arrivals(bad.string()), 1);
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find(":3"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace sparoa::test

namespace sparoa::test {
namespace {

TEST(SimPolicy, OnlineGpuPlacementsOfPipelinedBatchesNeverDeadlock) {
  // Regression: with two batches in flight, an online placement of batch k's operator lands
  // in front of batch k+1's operators already launched on the stream; the next launch must
  // be found by a scan, not a cursor (the cursor version waited forever).
  const auto model = conv_relu_model();
  SimRun run;
  run.arrivals = "poisson:2000";
  run.requests = 30;
  run.policy = "gpu-only";
  PlatformKnobs k;
  k.launch_us = 5;
  run.knobs = k;
  const ChildResult r = simulate(run, model, {{"conv", "gpu0"}, {"relu", "gpu0"}});
  ASSERT_TRUE(r.ok) << r.error;
  EXPECT_EQ(r.summary.requests, 30);
  EXPECT_EQ(r.summary.op_executions, 60);
  EXPECT_EQ(r.summary.launches, 60);
}

}  // namespace
}  // namespace sparoa::test

namespace sparoa::test {
namespace {

TEST(SimEnergy, IdleTimeBeforeTheFirstRequestIsBilledAtIdlePower) {
  // Regression: the energy plugin does not update a host when a parallel task starts on it,
  // so the idle millisecond before the only request used to be billed at full power.
  const auto model = conv_model();
  const Amounts a = amounts(model, "conv");
  const double T = a.flops / kCpuCore;
  const fs::path arrivals = write_text(unique_name("arrivals.txt"), "1000\n");
  SimRun run;
  run.arrivals = arrivals.string();
  const ChildResult r = simulate(run, model, {{"conv", "cpu0"}});
  ASSERT_TRUE(r.ok) << r.error;
  expect_near_rel(r.summary.makespan_s, 1e-3 + T);
  // CPU: both cores idle (1 W each) for 1 ms, then 5 W + 1 W for T. GPU idles at 1 W.
  expect_near_rel(device(r.summary, "cpu").energy_J, 2 * 1e-3 + 6 * T);
  expect_near_rel(device(r.summary, "gpu").energy_J, 1 * (1e-3 + T));
  expect_near_rel(r.summary.static_energy_J, 1e-3 + T);
}

TEST(SimEnergy, ContendedOperatorIsBilledAtItsReducedLoad) {
  // Two memory-bound Relus on cpu0 and gpu0 share the DRAM for 2T: the CPU core's load is
  // halved compared with running alone, and its energy follows epsilon + load over 2T.
  const auto model = relu_model(2, false);
  const Amounts a = amounts(model, "relu0");
  PlatformKnobs k;
  k.transfer = "zero_copy";
  k.transfer_latency_us = 0;
  const ChildResult r = simulate(with_knobs(k), model, {{"relu0", "cpu0"}, {"relu1", "gpu0"}});
  ASSERT_TRUE(r.ok) << r.error;
  const double T2 = 2 * a.bytes / kBw;  // both run together for 2T
  const double load = a.flops / (kCpuCore * T2);
  // Core 0: epsilon 2 W + 3 W x load; core 1 idle at 1 W.
  expect_near_rel(device(r.summary, "cpu").energy_J, (2 + 3 * load) * T2 + 1 * T2, 1e-6);
}

TEST(SimState, BackgroundLoadThatStartsLaterStillRuns) {
  // Regression: a background change after t = 0 never started its slices. Load 0.25 from
  // 1 ms: the conv runs alone for 1 ms, then at 0.75 of its speed.
  const auto model = conv_model();
  const Amounts a = amounts(model, "conv");
  const double T = a.flops / kGpu;
  PlatformKnobs k;
  k.transfer = "zero_copy";
  k.transfer_latency_us = 0;
  SimRun run;
  run.knobs = k;
  run.state = "time_us,action,target,value\n1000,background,gpu,0.25\n";
  const ChildResult r = simulate(run, model, {{"conv", "gpu0"}});
  ASSERT_TRUE(r.ok) << r.error;
  expect_near_rel(r.summary.latency_mean_s, 1e-3 + (T - 1e-3) / 0.75, 0.02);
}

TEST(SimTransfer, CopiesRunAtTheDramBandwidthEvenWithLatency) {
  // Regression: ptask_L07's TCP window (gamma / 2 x latency) capped copies at 140 GB/s with
  // 15 us of latency. At 1000 GB/s the conv's output copy must take 15 us + 2 x bytes / bw.
  const auto model = conv_relu_model();
  const Amounts conv = amounts(model, "conv");
  PlatformKnobs k;
  k.dram_GBps = 1000;
  k.transfer_latency_us = 15;
  SimRun run;
  run.knobs = k;
  run.csv = fs::path(SPAROA_TEST_DATA_DIR) / unique_name("trace.csv");
  const ChildResult r = simulate(run, model, {{"conv", "cpu0"}, {"relu", "gpu0"}});
  ASSERT_TRUE(r.ok) << r.error;
  const traces::Trace t = traces::read_trace_csv(run.csv);
  int found = 0;
  for (const auto& rec : t.records) {
    if (rec.record != traces::RecordKind::transfer || rec.op != "conv") continue;
    ++found;
    expect_near_rel((rec.end_us - rec.start_us) * 1e-6, 15e-6 + 2 * conv.out_bytes / 1000e9, 1e-6);
  }
  EXPECT_EQ(found, 1);
}

}  // namespace
}  // namespace sparoa::test

namespace sparoa::test {
namespace {

// An online policy that names only a device.
class DeviceOnlyPolicy : public platforms::OnlinePolicy {
 public:
  std::string name() const override { return "device-only"; }
  platforms::Placement place(const platforms::Observation&) override { return {"", "cpu", "dense"}; }
};

TEST(SimPolicy, DeviceOnlyPlacementTakesTheLaneFreeEarliest) {
  // Two independent Relus: the first goes to cpu0 (both free: lowest id), the second to
  // cpu1 (cpu0 is busy until its Relu ends).
  const auto model = relu_model(2, false);
  const std::string model_file = unique_name("model.onnx");
  const fs::path platform_file = write_text(unique_name("platform.yaml"), platform_yaml({}));
  const fs::path csv = fs::path(SPAROA_TEST_DATA_DIR) / unique_name("trace.csv");
  const ChildResult r = run_in_child([&] {
    const graph::Graph g = import(model, model_file);
    const platforms::Platform p = platforms::read_platform(platform_file);
    DeviceOnlyPolicy policy;
    sim::SimulationOptions o;
    o.graph = &g;
    o.platform = &p;
    o.policy = &policy;
    o.requests = 1;
    o.csv = csv;
    return sim::simulate(o);
  });
  ASSERT_TRUE(r.ok) << r.error;
  std::set<std::string> lanes;
  for (const auto& rec : traces::read_trace_csv(csv).records) {
    if (rec.record == traces::RecordKind::op) lanes.insert(rec.lane);
  }
  EXPECT_EQ(lanes, (std::set<std::string>{"cpu0", "cpu1"}));
}

}  // namespace
}  // namespace sparoa::test

namespace sparoa::test {
namespace {

TEST(SimBadInput, FusedScheduleAndShortArrivalsFileAreClearErrors) {
  const auto model = conv_relu_model();
  const std::string model_file = unique_name("model.onnx");
  const fs::path platform_file = write_text(unique_name("platform.yaml"), platform_yaml({}));
  // A schedule that declares a fusion: refused, naming the entry.
  const ChildResult fused = run_in_child([&] {
    const graph::Graph g = import(model, model_file);
    const platforms::Platform p = platforms::read_platform(platform_file);
    graph::Schedule s = schedule_on(g, {{"conv", "cpu0"}, {"relu", "cpu0"}});
    for (auto& e : s.entries) {
      if (e.op == "relu") e.fuse_with = "conv";
    }
    sim::SimulationOptions o;
    o.graph = &g;
    o.platform = &p;
    o.schedule = &s;
    o.schedule_origin = "fused.yaml";
    return sim::simulate(o);
  });
  ASSERT_FALSE(fused.ok);
  EXPECT_NE(fused.error.find("fused.yaml"), std::string::npos) << fused.error;
  EXPECT_NE(fused.error.find("relu"), std::string::npos) << fused.error;
  // An arrivals file with fewer requests than asked for: refused before simulating.
  const fs::path arrivals = write_text(unique_name("arrivals.txt"), "0\n10\n");
  SimRun run;
  run.arrivals = arrivals.string();
  run.requests = 5;
  const ChildResult short_file = simulate(run, model, {{"conv", "cpu0"}, {"relu", "cpu0"}});
  ASSERT_FALSE(short_file.ok);
  EXPECT_NE(short_file.error.find("fewer than --requests 5"), std::string::npos) << short_file.error;
}

}  // namespace
}  // namespace sparoa::test

namespace sparoa::test {
namespace {

// A fitted DRAM contention k (memory_domains[].contention): a memory-bound operator slows by
// 1 + k while a memory-bound operator of ANOTHER device runs. The platform: two CPU devices
// of one 1-core lane each in one memory domain, as platforms/host-2core-2lanes.yaml:
//
//   cpu0, cpu1: 1 core each of 16 GFLOP/s (2000 MHz x 8 FLOP/cycle); DRAM 20 GB/s, zero-copy
//   with no latency (transfers move one byte); cost model: compute efficiency 0.25, memory
//   efficiency 0.5, dispatch 3 us.
//
// The Relu (2 MFLOP, 16 MB) alone: 3 us of dispatch, then max(2e6 / 0.25 / 16e9 = 0.5 ms of
// compute, 16e6 / 0.5 / 20e9 = 1.6 ms of DRAM) = 1.6 ms: t = 1.603 ms. Two started together
// on cpu0 and cpu1: each 3 us + (1 + k) x 1.6 ms (compute stays below it for every k).
std::string two_cpu_platform_yaml(double contention) {
  std::ostringstream y;
  y << R"(schema_version: 1
name: two-cpus
power_mode: default
provenance: {source: estimated, date: 2026-11-24, document: sim_test, notes: numbers chosen to be worked out by hand}
memory_domains:
  - {id: dram, bandwidth_GBps: 20, transfer: zero_copy, transfer_latency_us: 0, contention: )"
    << contention << R"(, source: estimated}
devices:
  - id: cpu0
    kind: cpu
    memory_domain: dram
    units: 1
    unit_name: core
    flops_per_cycle_per_unit: 8
    pstates:
      - {freq_MHz: 2000, idle_W: 1, epsilon_W: 2, full_W: 5}
    source: estimated
    lanes:
      - {id: cpu0, cores: [0]}
  - id: cpu1
    kind: cpu
    memory_domain: dram
    units: 1
    unit_name: core
    flops_per_cycle_per_unit: 8
    pstates:
      - {freq_MHz: 2000, idle_W: 1, epsilon_W: 2, full_W: 5}
    source: estimated
    lanes:
      - {id: cpu1, cores: [0]}
links: []
power_modes:
  - name: default
    static_W: 0
    source: estimated
    devices: [{id: cpu0, online_units: 1, freq_MHz: 2000}, {id: cpu1, online_units: 1, freq_MHz: 2000}]
cost_model:
  source: estimated
  entries:
    - {class: default, device_kind: cpu, kernel: dense, compute_efficiency: 0.25, memory_efficiency: 0.5, overhead_us: 3, source: estimated}
    - {class: default, device_kind: cpu, kernel: sparse, compute_efficiency: 0.25, memory_efficiency: 0.5, overhead_us: 3, index_bytes_per_nonzero: 4, source: estimated}
)";
  return y.str();
}

constexpr double kTwoCpuDispatch_s = 3e-6;
constexpr double kTwoCpuMemory_s = 16e6 / 0.5 / 20e9;  // 1.6 ms

// Duration of every op record (dispatch included) of a run's trace, by operator.
std::map<std::string, double> op_durations(const fs::path& csv) {
  std::map<std::string, double> d;
  for (const auto& rec : traces::read_trace_csv(csv).records) {
    if (rec.record == traces::RecordKind::op) d[rec.op] = (rec.end_us - rec.start_us) * 1e-6;
  }
  return d;
}

// Runs two independent Relus on the two lanes given, together from t = 0, and checks that
// each op record (and the request) takes `expected` seconds.
void expect_corun(const std::string& platform_text, const SimRun& base, const std::string& lane0,
                  const std::string& lane1, double expected) {
  const auto model = relu_model(2, false);
  SimRun run = base;
  run.csv = fs::path(SPAROA_TEST_DATA_DIR) / unique_name("corun.csv");
  const ChildResult r = simulate_on(platform_text, run, model, {{"relu0", lane0}, {"relu1", lane1}});
  ASSERT_TRUE(r.ok) << r.error;
  const auto d = op_durations(run.csv);
  ASSERT_EQ(d.size(), 2u);
  for (const auto& [op, seconds] : d) {
    SCOPED_TRACE(op);
    expect_near_rel(seconds, expected, 1e-6);
  }
  expect_near_rel(r.summary.latency_mean_s, expected, 1e-6);
}

TEST(SimContention, TwoCpuDevicesReluAloneTakesItsRooflineTimeWhateverTheContention) {
  const auto model = relu_model(1, true);
  const Amounts a = amounts(model, "relu0");
  ASSERT_EQ(a.flops, 2e6);
  ASSERT_EQ(a.bytes, 16e6);
  // The port holds one operator to the domain's bandwidth even though the DRAM link has
  // 2 / (1 + k) times as much: the cost model's solo prediction stays right.
  for (double k : {1.0, 0.5, 0.0}) {
    for (const char* lane : {"cpu0", "cpu1"}) {
      SCOPED_TRACE(std::to_string(k) + " on " + lane);
      SimRun run;
      run.csv = fs::path(SPAROA_TEST_DATA_DIR) / unique_name(std::string(lane) + "_" + std::to_string(k) + ".csv");
      const ChildResult r = simulate_on(two_cpu_platform_yaml(k), run, model, {{"relu0", lane}});
      ASSERT_TRUE(r.ok) << r.error;
      expect_near_rel(op_durations(run.csv).at("relu0"), kTwoCpuDispatch_s + kTwoCpuMemory_s, 1e-6);
      expect_near_rel(r.summary.latency_mean_s, kTwoCpuDispatch_s + kTwoCpuMemory_s, 1e-6);
    }
  }
}

TEST(SimContention, TwoCpuDevicesHalfContentionSlowsEachByOneAndAHalf) {
  // 3 us + 1.5 x 1.6 ms = 2.403 ms each.
  expect_corun(two_cpu_platform_yaml(0.5), SimRun{}, "cpu0", "cpu1", kTwoCpuDispatch_s + 1.5 * kTwoCpuMemory_s);
}

TEST(SimContention, TwoCpuDevicesFullContentionSlowsEachByTwo) {
  // k = 1, written explicitly: the one-link layout; 3 us + 2 x 1.6 ms = 3.203 ms each.
  expect_corun(two_cpu_platform_yaml(1), SimRun{}, "cpu0", "cpu1", kTwoCpuDispatch_s + 2 * kTwoCpuMemory_s);
}

TEST(SimContention, TwoCpuDevicesNoContentionRunAsIfAlone) {
  // k = 0: the DRAM link has twice the bandwidth, each port all of it: 1.603 ms each.
  expect_corun(two_cpu_platform_yaml(0), SimRun{}, "cpu0", "cpu1", kTwoCpuDispatch_s + kTwoCpuMemory_s);
}

TEST(SimContention, CpuAndGpuWithHalfContentionSlowEachOtherByOneAndAHalf) {
  // The tiny platform (10 GB/s, efficiencies 1, no dispatch) with k = 0.5: T = bytes / bw
  // alone, 1.5 T together on the CPU and the GPU.
  const Amounts a = amounts(relu_model(1, true), "relu0");
  PlatformKnobs k;
  k.transfer = "zero_copy";
  k.transfer_latency_us = 0;
  k.contention = 0.5;
  expect_corun(platform_yaml(k), with_knobs(k), "cpu0", "gpu0", 1.5 * a.bytes / kBw);
}

TEST(SimContention, TwoLanesOfOneDeviceShareItsPortWhateverTheContention) {
  // cpu0 and cpu1 are lanes of ONE device: both streams go through its port, which has the
  // domain's bandwidth, so they split it: 2T, as with k = 1.
  const Amounts a = amounts(relu_model(1, true), "relu0");
  PlatformKnobs k;
  k.transfer = "zero_copy";
  k.transfer_latency_us = 0;
  k.contention = 0.5;
  expect_corun(platform_yaml(k), with_knobs(k), "cpu0", "cpu1", 2 * a.bytes / kBw);
}

TEST(SimState, PowerModeScalesThePortsAndTheDramLinkTogether) {
  // Mode "low" from t = 0 has 5 GB/s. With k = 0.5 a Relu alone takes bytes / 5 GB/s (the
  // port follows the mode; a port left at 10 GB/s would let it use the DRAM link's
  // 5 x 2 / 1.5 = 6.67 GB/s), and one on the CPU with one on the GPU 1.5 x that.
  const auto model = relu_model(1, true);
  const Amounts a = amounts(model, "relu0");
  ASSERT_GT(a.bytes / 5e9, 1.5 * a.flops / 5e9) << "the Relu must stay memory-bound at 5 GFLOP/s";
  PlatformKnobs k;
  k.transfer = "zero_copy";
  k.transfer_latency_us = 0;
  k.contention = 0.5;
  SimRun run = with_knobs(k);
  run.state = "time_us,action,target,value\n0,power_mode,low,\n";
  const ChildResult alone = simulate(run, model, {{"relu0", "gpu0"}});
  ASSERT_TRUE(alone.ok) << alone.error;
  expect_near_rel(alone.summary.latency_mean_s, a.bytes / 5e9, 1e-6);
  EXPECT_EQ(alone.summary.power_mode_end, "low");
  expect_corun(platform_yaml(k), run, "cpu0", "gpu0", 1.5 * a.bytes / 5e9);
}

}  // namespace
}  // namespace sparoa::test

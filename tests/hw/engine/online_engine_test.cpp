// The online engine: the simulator's batching and FIFO rules on real kernels, policies asked
// with an observation from the machine, partial batches on their own size's kernels, and clear
// errors; the machine-state reader on a fake /proc; background work following a state trace.
#include <gtest/gtest.h>

#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <thread>

#include "graph/onnx_import.hpp"
#include "graph/schedule.hpp"
#include "hw/background_work.hpp"
#include "hw/host_machine.hpp"
#include "hw/machine_state.hpp"
#include "hw/online_engine.hpp"
#include "hw/tensor_io.hpp"
#include "platforms/platform.hpp"
#include "support/error.hpp"
#include "tests/graph/onnx_test_models.hpp"

namespace sparoa::hw {
namespace {

namespace fs = std::filesystem;
using test::ModelBuilder;

// x -> MatMul(m1) -> Relu(r1) -> MatMul(m3) -> Add(join) -> Sigmoid(out)
//  \-> MatMul(m2) -> Tanh(t2) ------------------/
graph::Graph diamond(std::int64_t batch) {
  ModelBuilder b;
  b.input("x", {batch, 32});
  std::vector<float> w(32 * 32);
  for (std::size_t i = 0; i < w.size(); ++i) w[i] = float((i * 13) % 17) / 17.0f - 0.5f;
  b.weight("w1", {32, 32}, w);
  b.weight("w2", {32, 32}, std::vector<float>(w.rbegin(), w.rend()));
  b.weight("w3", {32, 32}, w);
  b.node("MatMul", {"x", "w1"}, {"a"}, "m1");
  b.node("Relu", {"a"}, {"ra"}, "r1");
  b.node("MatMul", {"ra", "w3"}, {"c"}, "m3");
  b.node("MatMul", {"x", "w2"}, {"d"}, "m2");
  b.node("Tanh", {"d"}, {"td"}, "t2");
  b.node("Add", {"c", "td"}, {"s"}, "join");
  b.node("Sigmoid", {"s"}, {"y"}, "out");
  b.output("y", 2);
  return graph::import_onnx_bytes(b.bytes(), "diamond.onnx");
}

platforms::Platform two_lanes() { return platforms::read_platform(platforms::resolve_platform_path("host-2core-2lanes")); }

bool two_cores() { return describe_host().cpus.size() >= 2; }

struct Fixture {
  std::vector<graph::Graph> graphs;
  platforms::Platform platform = two_lanes();
  HostTensor input;
  OnlineOptions o;
  explicit Fixture(std::int64_t batch) {
    for (std::int64_t k = 1; k <= batch; ++k) graphs.push_back(diamond(k));
    for (const auto& g : graphs) o.graphs.push_back(&g);
    const graph::Tensor& x = graphs.back().tensor("x");
    input = random_tensor(x.dtype, x.shape, 3);
    o.platform = &platform;
    o.inputs["x"] = input.view();
  }
};

graph::Schedule split_schedule(const graph::Graph& g) {
  graph::Schedule s;
  s.model_sha256 = g.model_sha256;
  s.platform_name = "host-2core-2lanes";
  s.batch = g.batch;
  std::map<std::string, std::int64_t> next;
  for (auto id : g.topological_order()) {
    const std::string& name = g.op(id).name;
    const std::string lane = name == "m2" || name == "t2" ? "cpu1" : "cpu0";
    s.entries.push_back({name, lane, "dense", next[lane]++, {}});
  }
  return s;
}

// Every batch ran every operator once, each after its predecessors of the same batch ended,
// and a lane ran one operator at a time. With a static schedule, where a batch's operators
// are all queued when it starts, a lane also serves batches FIFO: batch k's operators before
// batch k + 1's. (Online, an operator is queued only once placed, and a lane does not idle
// waiting for an earlier batch's operator that is not placed yet; the simulator does the same.)
void expect_served_in_order(const OnlineResult& r, const graph::Graph& g, bool fifo) {
  std::map<std::int64_t, std::map<std::string, const traces::Record*>> by_batch;
  for (const auto& rec : r.trace.records) {
    ASSERT_EQ(rec.record, traces::RecordKind::op);
    EXPECT_TRUE(by_batch[rec.batch_id].emplace(rec.op, &rec).second) << rec.op << " twice in batch " << rec.batch_id;
    EXPECT_LE(rec.start_us, rec.end_us);
  }
  EXPECT_EQ(std::int64_t(by_batch.size()), r.batches);
  for (const auto& [batch, ops] : by_batch) {
    ASSERT_EQ(ops.size(), g.operators().size()) << "batch " << batch;
    for (const auto& [name, rec] : ops) {
      for (auto pr : g.predecessors(*g.find_op(name))) {
        EXPECT_GE(rec->start_us, ops.at(g.op(pr).name)->end_us) << name << " started before " << g.op(pr).name;
      }
    }
  }
  std::map<std::string, std::vector<const traces::Record*>> by_lane;
  for (const auto& rec : r.trace.records) by_lane[rec.lane].push_back(&rec);
  for (auto& [lane, recs] : by_lane) {
    std::sort(recs.begin(), recs.end(), [](auto* a, auto* b) { return a->start_us < b->start_us; });
    for (std::size_t i = 1; i < recs.size(); ++i) {
      if (fifo) {
        EXPECT_LE(recs[i - 1]->batch_id, recs[i]->batch_id) << "lane " << lane << " served batches out of order";
      }
      EXPECT_GE(recs[i]->start_us, recs[i - 1]->end_us) << "lane " << lane << " ran two operators at once";
    }
  }
}

TEST(OnlineEngine, StaticScheduleClosedLoopServesEveryRequestInOrder) {
  if (!two_cores()) GTEST_SKIP() << "needs two cores";
  Fixture f(2);
  const graph::Schedule s = split_schedule(f.graphs.back());
  f.o.schedule = &s;
  f.o.arrivals = platforms::parse_arrivals("closed");
  f.o.requests = 9;  // four full batches and a last one of 1
  const OnlineResult r = run_online(f.o);
  ASSERT_EQ(r.latencies_s.size(), 9u);
  for (double l : r.latencies_s) EXPECT_GT(l, 0);
  EXPECT_EQ(r.batches, 5);
  EXPECT_EQ(r.partial_batches, 1);
  EXPECT_EQ(r.decisions, 0);
  expect_served_in_order(r, f.graphs.back(), true);
  for (const auto& rec : r.trace.records) {
    EXPECT_EQ(rec.lane, rec.op == "m2" || rec.op == "t2" ? "cpu1" : "cpu0") << rec.op;
  }
  EXPECT_EQ(r.executions_by_lane.at("cpu1"), 2 * 5);
  // Static: each lane builds its own operators' kernels, one per batch size.
  EXPECT_EQ(r.kernels_built, 7 * 2);
}

// Records what it was shown; places MatMuls on device cpu1 (any lane of it), the rest on cpu0.
class RecordingPolicy : public platforms::OnlinePolicy {
 public:
  std::string name() const override { return "recording"; }
  platforms::Placement place(const platforms::Observation& obs) override {
    seen.push_back(obs);
    platforms::Placement p;
    if (obs.op_type == "MatMul") {
      p.device = "cpu1";
    } else {
      p.lane = "cpu0";
    }
    return p;
  }
  void batch_done(const platforms::BatchDone& d) override { done.push_back(d); }
  std::vector<platforms::Observation> seen;
  std::vector<platforms::BatchDone> done;
};

TEST(OnlineEngine, PolicyPlacesEachOperatorFromAnObservationOfTheMachine) {
  if (!two_cores()) GTEST_SKIP() << "needs two cores";
  Fixture f(1);
  RecordingPolicy policy;
  f.o.policy = &policy;
  f.o.arrivals = platforms::parse_arrivals("poisson:2000");
  f.o.requests = 12;
  const OnlineResult r = run_online(f.o);
  EXPECT_EQ(r.decisions, 12 * 7);
  ASSERT_EQ(policy.seen.size(), 12u * 7u);
  ASSERT_EQ(policy.done.size(), std::size_t(r.batches));
  for (const auto& rec : r.trace.records) {
    const bool matmul = rec.op[0] == 'm';
    EXPECT_EQ(rec.lane, matmul ? "cpu1" : "cpu0") << rec.op;
  }
  std::set<std::string> ops;
  for (const auto& obs : policy.seen) {
    ops.insert(obs.op);
    ASSERT_EQ(obs.devices.size(), 2u);
    EXPECT_EQ(obs.devices[0].id, "cpu0");
    ASSERT_EQ(obs.devices[0].lanes.size(), 1u);
    EXPECT_GT(obs.devices[0].freq_MHz, 0);
    EXPECT_EQ(obs.devices[0].online_units, 1);
    EXPECT_GE(obs.devices[1].busy_fraction, 0);
    EXPECT_LE(obs.devices[1].busy_fraction, 1);
    EXPECT_GE(obs.devices[1].background_load, 0);
    EXPECT_LE(obs.devices[1].background_load, 1);
    EXPECT_EQ(obs.batch, 1);
    EXPECT_FALSE(obs.kernels.empty());
    EXPECT_GT(obs.remaining_critical_path_s, 0);
    EXPECT_GE(obs.time_s, 0);
    if (obs.op == "out") {
      EXPECT_EQ(obs.depth, 4);
    }
  }
  EXPECT_EQ(ops.size(), 7u);
  expect_served_in_order(r, f.graphs.back(), false);
}

TEST(OnlineEngine, PartialBatchesRunOnTheirOwnSizeAndTimeoutsFormThem) {
  if (!two_cores()) GTEST_SKIP() << "needs two cores";
  Fixture f(3);
  RecordingPolicy policy;
  f.o.policy = &policy;
  // Arrivals 0, 10 ms, 20 ms... with a 1 ms timeout: every batch leaves with one request.
  const fs::path file = fs::temp_directory_path() / ("sparoa-arrivals-" + std::to_string(::getpid()) + ".txt");
  std::ofstream(file) << "0\n10000\n20000\n30000\n";
  f.o.arrivals = platforms::parse_arrivals(file.string());
  f.o.requests = 4;
  f.o.batch_timeout_s = 1e-3;
  const OnlineResult r = run_online(f.o);
  fs::remove(file);
  EXPECT_EQ(r.batches, 4);
  EXPECT_EQ(r.partial_batches, 4);
  for (const auto& obs : policy.seen) EXPECT_EQ(obs.batch, 1);
  // A request waits at least the timeout (its batch left because of it), except the last:
  // no more requests will come, so its batch need not wait.
  for (std::size_t i = 0; i + 1 < r.latencies_s.size(); ++i) EXPECT_GE(r.latencies_s[i], 1e-3) << i;
  expect_served_in_order(r, f.graphs.back(), false);
}

class BadPolicy : public platforms::OnlinePolicy {
 public:
  explicit BadPolicy(platforms::Placement p) : p_(std::move(p)) {}
  std::string name() const override { return "bad"; }
  platforms::Placement place(const platforms::Observation&) override { return p_; }
  platforms::Placement p_;
};

TEST(OnlineEngineErrors, BadInputIsOneClearError) {
  Fixture f(1);
  auto message = [&](const OnlineOptions& o) {
    try {
      run_online(o);
    } catch (const Error& e) {
      return std::string(e.what());
    }
    return std::string("no error");
  };
  f.o.requests = 2;
  {
    BadPolicy p({"gpu9", "", "dense"});
    OnlineOptions o = f.o;
    o.policy = &p;
    EXPECT_NE(message(o).find("placed on lane 'gpu9'"), std::string::npos) << message(o);
  }
  {
    BadPolicy p({"cpu0", "", "sparse"});
    OnlineOptions o = f.o;
    o.policy = &p;
    const std::string m = message(o);
    EXPECT_NE(m.find("kernel 'sparse' does not exist"), std::string::npos) << m;
    EXPECT_NE(m.find("policy bad"), std::string::npos) << m;
  }
  {
    graph::Schedule s = split_schedule(f.graphs.back());
    s.entries[1].fuse_with = s.entries[0].op;
    OnlineOptions o = f.o;
    o.schedule = &s;
    EXPECT_NE(message(o).find("online runs take unfused schedules"), std::string::npos) << message(o);
  }
  {
    const fs::path file = fs::temp_directory_path() / ("sparoa-short-" + std::to_string(::getpid()) + ".txt");
    std::ofstream(file) << "0\n";
    BadPolicy p({"cpu0", "", "dense"});
    OnlineOptions o = f.o;
    o.policy = &p;
    o.arrivals = platforms::parse_arrivals(file.string());
    EXPECT_NE(message(o).find("fewer than --requests 2"), std::string::npos) << message(o);
    fs::remove(file);
  }
  {
    // The default platform of `sparoa run` has no cost model: fine for schedules, not policies.
    const platforms::Platform host = host_platform(describe_host());
    BadPolicy p({"cpu0", "", "dense"});
    OnlineOptions o = f.o;
    o.platform = &host;
    o.policy = &p;
    EXPECT_NE(message(o).find("has no cost model"), std::string::npos) << message(o);
  }
  {
    // A platform with a GPU lane: refused before anything runs, naming the lane.
    platforms::Platform gpu =
        platforms::read_platform(fs::path(SPAROA_SOURCE_DIR) / "tests/cli/fixtures/host-2core-gpu.yaml");
    BadPolicy p({"cpu0", "", "dense"});
    OnlineOptions o = f.o;
    o.platform = &gpu;
    o.policy = &p;
    EXPECT_NE(message(o).find("lane 'gpu0' is a GPU lane"), std::string::npos) << message(o);
  }
}

// ---------------------------------------------------------------------------------------
// The machine's state

struct FakeRoot {
  fs::path dir = fs::temp_directory_path() / ("sparoa-proc-" + std::to_string(::getpid()));
  FakeRoot() { fs::create_directories(dir / "proc"); }
  ~FakeRoot() { fs::remove_all(dir); }
  void stat(const std::string& text) const { std::ofstream(dir / "proc/stat") << text; }
};

TEST(ProcStat, ParsesPerCpuLinesAndCountsStealAsBusy) {
  const auto t = parse_proc_stat("cpu  10 0 10 80 0 0 0 0 0 0\ncpu0 5 1 4 80 10 0 0 20 3 0\ncpu1 1 0 1 8\nintr 1 2 3\n", "stat");
  ASSERT_EQ(t.size(), 2u);
  EXPECT_EQ(t[0].cpu, 0);
  EXPECT_EQ(t[0].total, 120u);  // guest (3) is inside user already
  EXPECT_EQ(t[0].busy, 30u);    // user + nice + system + steal
  EXPECT_EQ(t[1].busy, 2u);
  EXPECT_EQ(t[1].total, 10u);
  EXPECT_THROW(parse_proc_stat("cpu0 1 2 x\n", "stat"), Error);
  EXPECT_THROW(parse_proc_stat("cpu0 1 2\n", "stat"), Error);
}

TEST(MachineState, LoadOverAWindowMinusTheEngineOwnShare) {
  FakeRoot root;
  root.stat("cpu0 0 0 0 100 0 0 0 0\ncpu1 0 0 0 100 0 0 0 0\n");
  std::vector<double> own = {0, 0};
  MachineStateOptions o;
  o.root = root.dir;
  o.window = std::chrono::microseconds(20000);
  o.own_cpu_s = [&] { return own; };
  MachineState m({{"cpu0", {0}}, {"cpu1", {1}}}, o);
  EXPECT_FALSE(m.read()[0].load_known);  // one reading: no window yet
  EXPECT_NE(m.notes().front().find("no readable cpufreq"), std::string::npos);
  // Readings at chosen times, 100 ms apart: cpu0 busy 60 of 100 ticks, cpu1 busy 100 of 100,
  // of which the engine's own threads on cpu1 used 50 ms.
  const auto t1 = std::chrono::steady_clock::now() + std::chrono::seconds(1);
  m.refresh(t1);
  root.stat("cpu0 50 0 10 140 0 0 0 0\ncpu1 80 0 0 100 0 0 0 20\n");
  own = {0, 0.05};
  m.refresh(t1 + std::chrono::milliseconds(100));
  const auto& r = m.read(t1 + std::chrono::milliseconds(100));
  ASSERT_TRUE(r[0].load_known);
  EXPECT_DOUBLE_EQ(r[0].load, 0.6);
  EXPECT_DOUBLE_EQ(r[1].load, 1.0);
  EXPECT_DOUBLE_EQ(r[0].other_load, 0.6);
  EXPECT_NEAR(r[1].other_load, 0.5, 1e-12);
  EXPECT_EQ(r[0].freq_MHz, 0);
  // Cached between refreshes: the same readings without reading the file.
  const auto n = m.refreshes();
  m.read(t1 + std::chrono::milliseconds(101));
  EXPECT_EQ(m.refreshes(), n);
  // A malformed file is one error naming it.
  root.stat("cpu0 1 2 oops\n");
  EXPECT_THROW(m.refresh(t1 + std::chrono::milliseconds(200)), Error);
  root.stat("cpu0 0 0 0 100 0 0 0 0\n");
  EXPECT_THROW(MachineState({{"cpu9", {9}}}, o), Error);  // no line for CPU 9
}

TEST(MachineState, ReadsThisMachine) {
  const auto cpus = describe_host().cpus;
  MachineStateOptions o;
  o.window = std::chrono::microseconds(20000);
  MachineState m({{"cpu", cpus}}, o);
  std::this_thread::sleep_for(std::chrono::milliseconds(40));
  m.refresh(std::chrono::steady_clock::now());
  const auto& r = m.read();
  ASSERT_EQ(r.size(), 1u);
  EXPECT_TRUE(r[0].load_known);
  EXPECT_GE(r[0].load, 0);
  EXPECT_LE(r[0].load, 1);
}

TEST(BackgroundWork, LoadsTheDeviceCoresAsTheTraceSays) {
  const platforms::Platform p = two_lanes();
  const auto trace = platforms::parse_state_trace("time_us,action,target,value\n0,background,cpu1,1\n30000,background,cpu1,0\n",
                                                  "load.csv", p);
  const int cpu = describe_host().cpus.back();
  BackgroundWork w(trace, p, {{"cpu1", {cpu}}});
  w.start(std::chrono::steady_clock::now());
  std::this_thread::sleep_for(std::chrono::milliseconds(20));
  EXPECT_EQ(w.load("cpu1"), 1);
  std::this_thread::sleep_for(std::chrono::milliseconds(40));
  EXPECT_EQ(w.load("cpu1"), 0);
  w.stop();
  // It spun for about the first 30 ms, then slept.
  EXPECT_GT(w.cpu_s(), 0.005);
  EXPECT_LT(w.cpu_s(), 0.055);
}

TEST(BackgroundWork, ChangesThisMachineCannotMakeAreRefusedNamingTheLine) {
  const platforms::Platform p = two_lanes();
  auto message = [&](const std::string& text) {
    try {
      const auto t = platforms::parse_state_trace(text, "s.csv", p);
      BackgroundWork w(t, p, {{"cpu0", {0}}, {"cpu1", {1}}});
    } catch (const Error& e) {
      return std::string(e.what());
    }
    return std::string("no error");
  };
  EXPECT_NE(message("time_us,action,target,value\n0,background,cpu0,0.2\n5,pstate,cpu0,2096\n").find("s.csv:3"), std::string::npos);
  EXPECT_NE(message("time_us,action,target,value\n0,power_mode,default,\n").find("power_mode changes are not made"),
            std::string::npos);
  EXPECT_EQ(message("time_us,action,target,value\n0,background,dram,0.5\n"), "no error");
  // GPU background work needs the online GPU path, which is not built.
  const platforms::Platform gpu =
      platforms::read_platform(fs::path(SPAROA_SOURCE_DIR) / "tests/cli/fixtures/host-2core-gpu.yaml");
  const auto t = platforms::parse_state_trace("time_us,action,target,value\n0,background,gpu,0.5\n", "g.csv", gpu);
  try {
    BackgroundWork w(t, gpu, {{"cpu0", {0}}});
    ADD_FAILURE() << "GPU background work was accepted";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("g.csv:2"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("GPU device 'gpu'"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace sparoa::hw

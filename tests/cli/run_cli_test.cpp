// End-to-end tests of `sparoa run` and `sparoa profile` on this machine's CPU: every zoo model
// with a dense, a sparse and a mixed two-lane schedule gives the all-dense reference's outputs
// (`--verify`), traces that Perfetto reads, tensors in the ONNX test-data layout, and one-line
// errors with exit code 1 and no partial output for bad input.
#include <nlohmann/json.hpp>

#include <cstdlib>

#include "graph/onnx_import.hpp"
#include "graph/schedule.hpp"
#include "graph/zoo/zoo.hpp"
#include "hw/gpu/gpu_runtime.hpp"
#include "tests/hw/gpu/gpu_schedules.hpp"
#include "hw/tensor_io.hpp"
#include "platforms/profile.hpp"
#include "tests/cli/cli_runner.hpp"

namespace sparoa::test::cli {
namespace {

Result run(std::vector<std::string> args) { return run_sparoa(std::move(args), "run_cli_test"); }

graph::ImportOptions batch_one() {
  graph::ImportOptions o;
  o.batch = 1;
  return o;
}

std::string zoo_dir() { return (fs::path(SPAROA_TEST_DATA_DIR) / "zoo").string(); }

bool skip_large(const std::string& model) {
  const char* skip = std::getenv("SPAROA_SKIP_LARGE_MODELS");
  return skip != nullptr && std::string(skip) == "1" &&
         (model == "vgg16" || model == "resnet50" || model == "bert_small");
}

enum class Split { one_lane, two_lanes };

// Every operator on cpu0 (one lane) or, with two lanes, operators alternating between cpu0
// and cpu1 in topological order; `sparse` picks the sparse kernel wherever one exists.
graph::Schedule make_schedule(const graph::Graph& g, const std::string& platform, Split split, bool sparse) {
  return hw::test::lanes_schedule(g, platform, split == Split::two_lanes ? std::vector<std::string>{"cpu0", "cpu1"} : std::vector<std::string>{"cpu0"},
                                  sparse);
}

class EveryZooModelOnHardware : public ::testing::TestWithParam<std::string> {};

TEST_P(EveryZooModelOnHardware, DenseSparseAndTwoLaneSchedulesMatchTheReference) {
  const std::string model = GetParam();
  if (skip_large(model)) GTEST_SKIP() << "SPAROA_SKIP_LARGE_MODELS=1";
  const fs::path dir = scratch("run_cli_test") / model;
  fs::create_directories(dir);
  // Half the weights pruned, so that sparse kernels have zeros to skip.
  const fs::path file = graph::zoo::build_model(model, {0.5, false}, zoo_dir());
  const graph::Graph g = graph::import_onnx(file, batch_one());
  struct Case {
    std::string name, platform;
    Split split;
    bool sparse;
  };
  for (const Case& c : {Case{"dense", "host-2core-1lane", Split::one_lane, false},
                        Case{"sparse", "host-2core-1lane", Split::one_lane, true},
                        Case{"mixed", "host-2core-2lanes", Split::two_lanes, true}}) {
    SCOPED_TRACE(c.name);
    const fs::path schedule = dir / (c.name + ".yaml");
    const fs::path json = dir / (c.name + ".json"), csv = dir / (c.name + ".csv");
    graph::write_schedule(schedule, make_schedule(g, c.platform == "host-2core-1lane" ? "host-2core-1lane" : "host-2core-2lanes",
                                                  c.split, c.sparse));
    const Result r = run({"run", "-m", file.string(), "-p", c.platform, "-s", schedule.string(), "--warmup", "1", "-n", "2",
                          "--verify", "--trace", json.string(), "--csv", csv.string()});
    ASSERT_EQ(r.code, 0) << r.err;
    EXPECT_NE(r.out.find("outputs match the all-dense reference"), std::string::npos) << r.out;
    EXPECT_NE(r.out.find("latency p99"), std::string::npos) << r.out;
    EXPECT_NE(r.out.find("energy"), std::string::npos) << r.out;
    std::ifstream in(json);
    const nlohmann::json j = nlohmann::json::parse(in);  // throws on invalid JSON
    std::set<std::string> lanes;
    std::size_t slices = 0;
    for (const auto& e : j["traceEvents"]) {
      if (e["ph"] != "X") continue;
      ++slices;
      if (e["args"].contains("lane")) lanes.insert(e["args"]["lane"].get<std::string>());
    }
    EXPECT_EQ(slices, 2 * g.operators().size());
    const std::string text = slurp(csv);
    EXPECT_NE(text.find(",hw,"), std::string::npos);
    if (c.split == Split::two_lanes) {
      EXPECT_NE(text.find(",cpu1,"), std::string::npos) << "the second lane ran nothing";
    }
    if (c.sparse) {
      EXPECT_NE(text.find(",sparse,"), std::string::npos);
    }
  }
}

// A trtexec --exportProfile file (tests/cli/fixtures, written to TensorRT's documented layout
// with resnet18's node names): fused layers count for their first node, TensorRT's own
// reformatting layers for none, and -o writes a profile CSV that calibration reads.
TEST(ImportCli, TrtexecProfileMapsLayersOntoOperators) {
  const fs::path fixture = fs::path(SPAROA_SOURCE_DIR) / "tests" / "cli" / "fixtures" / "trtexec-resnet18.json";
  const fs::path csv = scratch("run_cli_test") / "trt.csv";
  fs::remove(csv);
  const Result r = run({"import", "trtexec-profile", fixture.string(), "-m", "resnet18", "--sparsity", "0", "--zoo-dir", zoo_dir(),
                        "-p", "agx-orin-64gb-maxn", "-o", csv.string()});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_NE(r.out.find("9 layers, 250 inferences timed; 0.290 ms per inference"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("matched 7 operators of 69"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("2 layers name no operator"), std::string::npos) << r.out;
  const platforms::Profile p = platforms::read_profile_csv(csv);
  ASSERT_EQ(p.rows.size(), 7u);
  EXPECT_EQ(p.header.timing, "in-context");
  EXPECT_EQ(p.header.platform, "jetson-agx-orin-64gb");
  EXPECT_EQ(p.header.power_mode, "MAXN");
  std::map<std::string, platforms::ProfileRow> by_op;
  for (const auto& row : p.rows) by_op[row.op] = row;
  EXPECT_DOUBLE_EQ(by_op.at("stem.conv").median_us, 84.2);           // medianMs, fused BN and Relu included
  EXPECT_DOUBLE_EQ(by_op.at("layer1.1.1.act").median_us, 5.9);       // PWN(...) unwrapped
  EXPECT_DOUBLE_EQ(by_op.at("fc").median_us, 12.0);                  // no medianMs: the average
  EXPECT_EQ(by_op.count("stem.bn"), 0u) << "a reformatting layer was counted for the node it feeds";
  EXPECT_EQ(by_op.at("stem.conv").lane, "gpu0");
  EXPECT_EQ(by_op.at("stem.conv").repetitions, 250);
  // Bad input: one line, exit 1, nothing written.
  const fs::path bad = scratch("run_cli_test") / "bad-trt.json";
  std::ofstream(bad) << R"([{"count": 5}, {"name": "stem.conv", "timeMs": 1}])";
  const fs::path none = scratch("run_cli_test") / "none.csv";
  const Result e = run({"import", "trtexec-profile", bad.string(), "-m", "resnet18", "--sparsity", "0", "--zoo-dir", zoo_dir(),
                        "-o", none.string()});
  EXPECT_EQ(e.code, 1);
  EXPECT_NE(e.err.find("layer 1 ('stem.conv'): no \"averageMs\""), std::string::npos) << e.err;
  EXPECT_FALSE(fs::exists(none));
}

// Without a usable GPU (here), a schedule on a GPU lane and a GPU profile are refused with one
// line naming the lane and the reason; nothing is written. The fixture platform puts a
// discrete GPU beside this machine's two cores.
TEST(RunCli, GpuLanesWithoutAGpuAreOneClearError) {
  const Result kind = run({"profile", "-m", "squeezenet1_1", "--sparsity", "0", "--zoo-dir", zoo_dir(), "--devices", "tpu", "-o",
                           (scratch("run_cli_test") / "never.csv").string()});
  EXPECT_EQ(kind.code, 1);
  EXPECT_NE(kind.err.find("--devices: unknown device kind 'tpu' (cpu, gpu)"), std::string::npos) << kind.err;
  const std::string why = hw::gpu::unavailable_reason();
  if (why.empty()) GTEST_SKIP() << "a GPU is usable here: the refusal without one cannot be checked";
  const fs::path dir = scratch("run_cli_test") / "nogpu";
  fs::create_directories(dir);
  const std::string platform = (fs::path(SPAROA_SOURCE_DIR) / "tests" / "cli" / "fixtures" / "host-2core-gpu.yaml").string();
  const fs::path schedule = dir / "gpu-only.yaml", csv = dir / "t.csv", json = dir / "t.json";
  ASSERT_EQ(run({"schedule", "-m", "squeezenet1_1", "--sparsity", "0", "--zoo-dir", zoo_dir(), "-p", platform, "--policy", "gpu-only",
                 "-o", schedule.string()})
                .code,
            0);
  const Result r = run({"run", "-m", "squeezenet1_1", "--sparsity", "0", "--zoo-dir", zoo_dir(), "-p", platform, "-s",
                        schedule.string(), "--csv", csv.string(), "--trace", json.string()});
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(r.err.find(schedule.string() + ": lane 'gpu0' is on GPU device 'gpu', but " + why), std::string::npos) << r.err;
  EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
  EXPECT_FALSE(fs::exists(csv));
  EXPECT_FALSE(fs::exists(json));
  const Result p = run({"profile", "-m", "squeezenet1_1", "--sparsity", "0", "--zoo-dir", zoo_dir(), "-p", platform, "--devices", "gpu",
                        "-o", csv.string()});
  EXPECT_EQ(p.code, 1);
  EXPECT_NE(p.err.find("lane 'gpu0' is on GPU device 'gpu', but " + why), std::string::npos) << p.err;
  EXPECT_FALSE(fs::exists(csv));
  const Result q = run({"profile", "-m", "squeezenet1_1", "--sparsity", "0", "--zoo-dir", zoo_dir(), "--devices", "gpu", "-o", csv.string()});
  EXPECT_EQ(q.code, 1);
  EXPECT_NE(q.err.find("platform host has no gpu device"), std::string::npos) << q.err;
  const Result both = run({"profile", "-m", "squeezenet1_1", "--sparsity", "0", "--zoo-dir", zoo_dir(), "--devices", "gpu", "--lanes",
                           "cpu0", "-o", csv.string()});
  EXPECT_NE(both.err.find("give --lanes or --devices, not both"), std::string::npos) << both.err;
  EXPECT_FALSE(fs::exists(csv));
}

INSTANTIATE_TEST_SUITE_P(Zoo, EveryZooModelOnHardware,
                         ::testing::Values("mobilenetv3_small", "mobilenetv2", "resnet18", "resnet50", "vgg16",
                                           "squeezenet1_1", "efficientnet_b0", "vit_tiny_16", "bert_small"));

TEST(RunCli, DefaultScheduleOnThisMachineWithOutputsAndInputsInTestDataLayout) {
  const fs::path dir = scratch("run_cli_test") / "io";
  fs::remove_all(dir);
  const Result first = run({"run", "-m", "squeezenet1_1", "--zoo-dir", zoo_dir(), "-n", "2", "--save-inputs",
                            (dir / "in").string(), "--outputs", (dir / "out").string()});
  ASSERT_EQ(first.code, 0) << first.err;
  EXPECT_NE(first.out.find("energy"), std::string::npos);
  EXPECT_NE(first.out.find("not measured (no power meter found)"), std::string::npos) << first.out;
  const auto out = hw::read_tensor_pb(dir / "out" / "output_0.pb");
  EXPECT_EQ(out.tensor.shape(), (graph::Shape{1, 1000}));
  // The same inputs read back give the same outputs, bit for bit (same kernels, same threads).
  const Result second = run({"run", "-m", "squeezenet1_1", "--zoo-dir", zoo_dir(), "-n", "1", "--inputs",
                             (dir / "in").string(), "--outputs", (dir / "out2").string(), "--fuse", "--verify"});
  ASSERT_EQ(second.code, 0) << second.err;
  EXPECT_NE(second.out.find("fused"), std::string::npos) << second.out;
  const auto again = hw::read_tensor_pb(dir / "out2" / "output_0.pb");
  EXPECT_EQ(hw::compare_tensors(again.tensor.view(), out.tensor.view(), 1e-3, 1e-4), "");
}

TEST(RunCli, BadInputIsOneLineAndWritesNoTrace) {
  const fs::path dir = scratch("run_cli_test") / "bad";
  fs::remove_all(dir);
  fs::create_directories(dir);
  const fs::path model = graph::zoo::build_model("squeezenet1_1", {0, false}, zoo_dir());
  const graph::Graph g = graph::import_onnx(model, batch_one());
  const fs::path json = dir / "t.json";
  auto no_trace = [&] { EXPECT_FALSE(fs::exists(json)) << "a failed run left a trace"; };

  // A lane this platform does not have.
  graph::Schedule s = make_schedule(g, "host-2core-1lane", Split::one_lane, false);
  s.entries.back().lane = "cpu7";  // the last of cpu0's orders: the rest stays valid
  graph::write_schedule(dir / "lane.yaml", s);
  expect_input_error(run({"run", "-m", model.string(), "-p", "host-2core-1lane", "-s", (dir / "lane.yaml").string(),
                          "--trace", json.string()}),
                     "cpu7");
  no_trace();
  // A sparse kernel for an operator that has none.
  s = make_schedule(g, "host-2core-1lane", Split::one_lane, false);
  std::string relu;
  for (auto& e : s.entries) {
    if (g.op(*g.find_op(e.op)).type == "Relu" && relu.empty()) {
      e.kernel = "sparse";
      relu = e.op;
    }
  }
  graph::write_schedule(dir / "kernel.yaml", s);
  expect_input_error(run({"run", "-m", model.string(), "-p", "host-2core-1lane", "-s", (dir / "kernel.yaml").string(),
                          "--trace", json.string()}),
                     relu);
  no_trace();
  // A board's platform: its 12-core CPU does not fit this machine (its GPU lanes would be
  // refused when planned: replay_test).
  expect_input_error(run({"run", "-m", model.string(), "-p", "agx-orin-64gb-maxn", "--trace", json.string()}),
                     "device 'cpu' needs cores 0..11");
  no_trace();
  // Inputs of the wrong shape.
  hw::HostTensor wrong(graph::DType::f32, {1, 3, 100, 100});
  fs::create_directories(dir / "wrong");
  hw::write_tensor_pb(dir / "wrong" / "input_0.pb", wrong.view(), g.input_names()[0]);
  expect_input_error(run({"run", "-m", model.string(), "--inputs", (dir / "wrong").string(), "--trace", json.string()}),
                     "1x3x224x224");
  no_trace();
  // A corrupt input file.
  fs::create_directories(dir / "corrupt");
  std::ofstream(dir / "corrupt" / "input_0.pb") << "not a tensor at all \xff\xff\xff";
  expect_input_error(run({"run", "-m", model.string(), "--inputs", (dir / "corrupt").string(), "--trace", json.string()}),
                     "input_0.pb");
  no_trace();
}

TEST(RunCli, OnlineRunServesArrivingRequestsWithAPolicyUnderBackgroundLoad) {
  const fs::path dir = scratch("run_cli_test") / "online";
  fs::remove_all(dir);
  fs::create_directories(dir);
  const fs::path model = graph::zoo::build_model("squeezenet1_1", {0, false}, zoo_dir());
  const graph::Graph g = graph::import_onnx(model, batch_one());
  const fs::path csv = dir / "t.csv", summary = dir / "s.csv";
  const fs::path state = dir / "load.csv";  // other work on half of cpu1, then a third of cpu0
  std::ofstream(state) << "time_us,action,target,value\n0,background,cpu1,0.5\n20000,background,cpu0,0.3\n";
  const Result r = run({"run", "-m", model.string(), "-p", "host-2core-2lanes", "--policy", "greedy-eft", "--arrivals",
                        "poisson:200", "--requests", "6", "--state", state.string(), "--csv", csv.string(), "--summary",
                        summary.string()});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_NE(r.out.find("latency p99"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("decisions"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("lane cpu1: cores"), std::string::npos) << r.out;
  const std::string rows = slurp(summary);
  EXPECT_EQ(std::count(rows.begin(), rows.end(), '\n'), 2) << rows;
  EXPECT_NE(rows.find(",policy greedy-eft,1,6,"), std::string::npos) << rows;
  // One op record per operator and request (batch 1), each in the schema.
  const std::string trace = slurp(csv);
  EXPECT_EQ(std::size_t(std::count(trace.begin(), trace.end(), '\n')),
            6 * g.operators().size() + std::size_t(std::count(trace.begin(), trace.end(), '#')) + 1);
}

TEST(RunCli, OnlineRunBadInputIsOneLineAndWritesNothing) {
  const fs::path dir = scratch("run_cli_test") / "online-bad";
  fs::remove_all(dir);
  fs::create_directories(dir);
  const fs::path model = graph::zoo::build_model("squeezenet1_1", {0, false}, zoo_dir());
  const fs::path summary = dir / "s.csv";
  const std::vector<std::string> base = {"run", "-m", model.string(), "-p", "host-2core-2lanes", "--summary", summary.string()};
  auto with = [&](std::vector<std::string> extra) {
    std::vector<std::string> args = base;
    args.insert(args.end(), extra.begin(), extra.end());
    return run(args);
  };
  expect_input_error(with({"--policy", "greedy-eft", "--iterations", "5"}), "--iterations");
  expect_input_error(with({"--policy", "heft", "--requests", "2"}), "is a static policy");
  expect_input_error(with({"--arrivals", "poisson:100", "--requests", "2"}), "give --schedule FILE, --policy NAME or --agent FILE");
  const graph::Graph g = graph::import_onnx(model, batch_one());
  graph::write_schedule(dir / "s.yaml", make_schedule(g, "host-2core-2lanes", Split::one_lane, false));
  expect_input_error(with({"-s", (dir / "s.yaml").string(), "--policy", "greedy-eft"}), "not both");
  std::ofstream(dir / "pstate.csv") << "time_us,action,target,value\n0,pstate,cpu0,2096\n";
  expect_input_error(with({"--policy", "greedy-eft", "--state", (dir / "pstate.csv").string()}), "pstate.csv:2");
  std::ofstream(dir / "few.txt") << "0\n10\n";
  expect_input_error(with({"--policy", "greedy-eft", "--arrivals", (dir / "few.txt").string(), "--requests", "3"}),
                     "fewer than --requests 3");
  EXPECT_FALSE(fs::exists(summary)) << "a failed run left a summary";
}

TEST(ProfileCli, TimesEveryOperatorPerKernelAndBatch) {
  const fs::path dir = scratch("run_cli_test") / "profile";
  fs::create_directories(dir);
  const fs::path csv = dir / "p.csv";
  const Result r = run({"profile", "-m", "squeezenet1_1", "--zoo-dir", zoo_dir(), "--sparsity", "0.5", "--kernels",
                        "dense,sparse", "-b", "1,2", "-r", "2", "-q", "-o", csv.string()});
  ASSERT_EQ(r.code, 0) << r.err;
  const fs::path model = graph::zoo::build_model("squeezenet1_1", {0.5, false}, zoo_dir());
  const graph::Graph g = graph::import_onnx(model, batch_one());
  std::size_t sparse_ops = 0;
  for (const auto& op : g.operators()) {
    const auto k = graph::kernels_for(g, op.name);
    sparse_ops += std::find(k.begin(), k.end(), "sparse") != k.end();
  }
  const std::string text = slurp(csv);
  EXPECT_NE(text.find("# machine: "), std::string::npos);
  EXPECT_NE(text.find("# model_sha256: " + g.model_sha256), std::string::npos);
  const auto rows = std::count(text.begin(), text.end(), '\n') - 12;  // 11 header lines + column names
  EXPECT_EQ(std::size_t(rows), 2 * (g.operators().size() + sparse_ops));
  EXPECT_NE(text.find(",sparse,"), std::string::npos);
}

TEST(ProfileCli, CorunNeedsAnotherLanesCores) {
  const fs::path csv = scratch("run_cli_test") / "corun.csv";
  expect_input_error(run({"profile", "-m", "squeezenet1_1", "--zoo-dir", zoo_dir(), "--corun", "-o", csv.string()}),
                     "--corun");
  const Result r = run({"profile", "-m", "squeezenet1_1", "--zoo-dir", zoo_dir(), "-p", "host-2core-2lanes", "--lanes",
                        "cpu0", "--corun", "-r", "1", "-q", "-o", csv.string()});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_NE(slurp(csv).find(",0,1,1,"), std::string::npos) << "cold_cache 0, corun 1, 1 repetition";
}

}  // namespace
}  // namespace sparoa::test::cli

// End-to-end tests of `sparoa run` and `sparoa profile` on this machine's CPU: every zoo model
// with a dense, a sparse and a mixed two-lane schedule gives the all-dense reference's outputs
// (`--verify`), traces that Perfetto reads, tensors in the ONNX test-data layout, and one-line
// errors with exit code 1 and no partial output for bad input.
#include <nlohmann/json.hpp>

#include <cstdlib>

#include "graph/onnx_import.hpp"
#include "graph/schedule.hpp"
#include "graph/zoo/zoo.hpp"
#include "hw/tensor_io.hpp"
#include "tests/cli/cli_runner.hpp"

namespace sparoa::test::cli {
namespace {

Result run(std::vector<std::string> args) { return run_sparoa(std::move(args), "run_cli_test"); }

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
  graph::Schedule s;
  s.model_sha256 = g.model_sha256;
  s.platform_name = platform;
  s.batch = g.batch;
  std::map<std::string, std::int64_t> next;
  std::size_t k = 0;
  for (graph::OpId id : g.topological_order()) {
    const std::string& name = g.op(id).name;
    const std::string lane = split == Split::two_lanes && (k++ % 2) ? "cpu1" : "cpu0";
    const auto kernels = graph::kernels_for(g, name);
    const bool has_sparse = std::find(kernels.begin(), kernels.end(), "sparse") != kernels.end();
    s.entries.push_back({name, lane, sparse && has_sparse ? "sparse" : "dense", next[lane]++, {}});
  }
  return s;
}

class EveryZooModelOnHardware : public ::testing::TestWithParam<std::string> {};

TEST_P(EveryZooModelOnHardware, DenseSparseAndTwoLaneSchedulesMatchTheReference) {
  const std::string model = GetParam();
  if (skip_large(model)) GTEST_SKIP() << "SPAROA_SKIP_LARGE_MODELS=1";
  const fs::path dir = scratch("run_cli_test") / model;
  fs::create_directories(dir);
  // Half the weights pruned, so that sparse kernels have zeros to skip.
  const fs::path file = graph::zoo::build_model(model, {0.5, false}, zoo_dir());
  const graph::Graph g = graph::import_onnx(file, {.batch = 1});
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
    if (c.sparse) EXPECT_NE(text.find(",sparse,"), std::string::npos);
  }
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
  const graph::Graph g = graph::import_onnx(model, {.batch = 1});
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

TEST(ProfileCli, TimesEveryOperatorPerKernelAndBatch) {
  const fs::path dir = scratch("run_cli_test") / "profile";
  fs::create_directories(dir);
  const fs::path csv = dir / "p.csv";
  const Result r = run({"profile", "-m", "squeezenet1_1", "--zoo-dir", zoo_dir(), "--sparsity", "0.5", "--kernels",
                        "dense,sparse", "-b", "1,2", "-r", "2", "-q", "-o", csv.string()});
  ASSERT_EQ(r.code, 0) << r.err;
  const fs::path model = graph::zoo::build_model("squeezenet1_1", {0.5, false}, zoo_dir());
  const graph::Graph g = graph::import_onnx(model, {.batch = 1});
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

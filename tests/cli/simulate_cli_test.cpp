// End-to-end tests of `sparoa simulate`: every zoo model on every shipped platform with both
// reference placements, the outputs (Chrome trace JSON that Perfetto reads, trace CSVs), and
// one-line errors with exit code 1 for bad input.
#include <nlohmann/json.hpp>

#include <cstdlib>

#include "tests/cli/cli_runner.hpp"

namespace sparoa::test::cli {
namespace {

Result run(std::vector<std::string> args) { return run_sparoa(std::move(args), "simulate_cli_test"); }

std::string zoo_dir() { return (fs::path(SPAROA_TEST_DATA_DIR) / "zoo").string(); }

std::vector<fs::path> platform_files() {
  std::vector<fs::path> files;
  for (const auto& e : fs::directory_iterator(fs::path(SPAROA_SOURCE_DIR) / "platforms")) {
    if (e.path().extension() == ".yaml") files.push_back(e.path());
  }
  std::sort(files.begin(), files.end());
  return files;
}

bool skip_large(const std::string& model) {
  const char* skip = std::getenv("SPAROA_SKIP_LARGE_MODELS");
  return skip != nullptr && std::string(skip) == "1" &&
         (model == "vgg16" || model == "resnet50" || model == "bert_small");
}

class EveryZooModel : public ::testing::TestWithParam<std::string> {};

TEST_P(EveryZooModel, SimulatesOnEveryPlatformWithBothPlacements) {
  const std::string model = GetParam();
  if (skip_large(model)) GTEST_SKIP() << "SPAROA_SKIP_LARGE_MODELS=1";
  const auto platforms = platform_files();
  ASSERT_EQ(platforms.size(), 9u);
  for (const auto& p : platforms) {
    // The host platforms have no GPU: gpu-only does not apply there.
    const bool has_gpu = slurp(p).find("kind: gpu") != std::string::npos;
    for (const std::string placement : {"cpu-only", "gpu-only"}) {
      if (placement == "gpu-only" && !has_gpu) continue;
      const Result r = run({"simulate", "-m", model, "--zoo-dir", zoo_dir(), "-p", p.string(), "--policy", placement,
                            "-n", "2"});
      ASSERT_EQ(r.code, 0) << model << " on " << p << " " << placement << ": " << r.err;
      EXPECT_NE(r.out.find("latency p99"), std::string::npos) << r.out;
      EXPECT_NE(r.out.find("energy per inference"), std::string::npos) << r.out;
      // The placement shows in the per-device table: executions only on the placed device.
      const std::string busy = placement == "cpu-only" ? "\ncpu" : "\ngpu ";
      EXPECT_NE(r.out.find(busy), std::string::npos) << r.out;
    }
  }
}

INSTANTIATE_TEST_SUITE_P(Zoo, EveryZooModel,
                         ::testing::Values("mobilenetv3_small", "mobilenetv2", "resnet18", "resnet50", "vgg16",
                                           "squeezenet1_1", "efficientnet_b0", "vit_tiny_16", "bert_small"));

TEST(SimulateCli, TraceOpensAsChromeTraceJsonAndCsvReadsBack) {
  const fs::path dir = scratch("simulate_cli_test");
  const fs::path json = dir / "mnv3.json";
  const fs::path csv = dir / "mnv3.csv";
  const Result r = run({"simulate", "-m", "mobilenetv3_small", "--zoo-dir", zoo_dir(), "-p", "agx-orin-64gb-maxn",
                        "--policy", "gpu-only", "-n", "2", "--trace", json.string(), "--csv", csv.string()});
  ASSERT_EQ(r.code, 0) << r.err;
  std::ifstream in(json);
  const nlohmann::json j = nlohmann::json::parse(in);  // throws on invalid JSON
  ASSERT_TRUE(j["traceEvents"].is_array());
  std::size_t slices = 0, launches = 0;
  for (const auto& e : j["traceEvents"]) {
    ASSERT_TRUE(e.contains("ph"));
    if (e["ph"] == "X") {
      ++slices;
      ASSERT_TRUE(e["ts"].is_number());
      ASSERT_TRUE(e["dur"].is_number());
      launches += e["args"]["record"] == "launch";
    }
  }
  EXPECT_GT(slices, 0u);
  EXPECT_GT(launches, 0u);
  const std::string text = slurp(csv);
  EXPECT_NE(text.find("# model_sha256: "), std::string::npos);
  EXPECT_NE(text.find("# simgrid_version: 3.32"), std::string::npos);
  EXPECT_TRUE(fs::exists(dir / "mnv3.power.csv"));
  EXPECT_TRUE(fs::exists(dir / "mnv3.state.csv"));
}

TEST(SimulateCli, SameSeedSameBytes) {
  const fs::path dir = scratch("simulate_cli_test");
  std::string first;
  for (int i = 0; i < 2; ++i) {
    const fs::path csv = dir / ("seed" + std::to_string(i) + ".csv");
    const Result r = run({"simulate", "-m", "squeezenet1_1", "--zoo-dir", zoo_dir(), "-p", "orin-nano-8gb-15w",
                          "--policy", "gpu-only", "-n", "20", "--arrivals", "poisson:200", "--seed", "5", "--csv",
                          csv.string()});
    ASSERT_EQ(r.code, 0) << r.err;
    if (i == 0) {
      first = slurp(csv);
    } else {
      EXPECT_EQ(first, slurp(csv));
    }
  }
}

TEST(SimulateCli, BadInputGivesOneLineAndExitOne) {
  const fs::path dir = scratch("simulate_cli_test");
  const std::string model = "squeezenet1_1";
  // A state trace out of time order.
  {
    const fs::path state = dir / "unordered.csv";
    std::ofstream(state) << "time_us,action,target,value\n100,background,gpu,0.5\n50,background,gpu,0\n";
    expect_input_error(run({"simulate", "-m", model, "--zoo-dir", zoo_dir(), "-p", "agx-orin-64gb-maxn", "--policy",
                            "gpu-only", "--state", state.string()}),
                       "unordered.csv:3");
  }
  // A schedule made for another model.
  {
    const fs::path sched = dir / "other.yaml";
    ASSERT_EQ(run({"zoo", "build", "--out", zoo_dir(), "--models", "mobilenetv3_small"}).code, 0);
    fs::path other;
    for (const auto& e : fs::directory_iterator(zoo_dir())) {
      const auto name = e.path().filename().string();
      if (name.rfind("mobilenetv3_small-s0.00-u-", 0) == 0 && e.path().extension() == ".onnx") other = e.path();
    }
    ASSERT_FALSE(other.empty());
    const Result t = run({"schedule", "template", other.string(), "-o", sched.string(), "--platform",
                          "jetson-agx-orin-64gb", "--power-mode", "MAXN"});
    ASSERT_EQ(t.code, 0) << t.err;
    expect_input_error(run({"simulate", "-m", model, "--zoo-dir", zoo_dir(), "-p", "agx-orin-64gb-maxn",
                            "--schedule", sched.string()}),
                       "other.yaml");
  }
  // A platform file with an unknown key.
  {
    const fs::path plat = dir / "bad-platform.yaml";
    std::string text = slurp(fs::path(SPAROA_SOURCE_DIR) / "platforms" / "orin-nano-8gb-15w.yaml");
    text += "\nturbo_boost: true\n";
    std::ofstream(plat) << text;
    expect_input_error(run({"simulate", "-m", model, "--zoo-dir", zoo_dir(), "-p", plat.string(), "--policy",
                            "cpu-only"}),
                       "turbo_boost");
  }
  expect_input_error(run({"simulate", "-m", "no_such_model", "-p", "agx-orin-64gb-maxn", "--policy", "cpu-only"}),
                     "no_such_model");
  expect_input_error(run({"simulate", "-m", model, "--zoo-dir", zoo_dir(), "-p", "no-such-board", "--policy",
                          "cpu-only"}),
                     "no-such-board");
  expect_input_error(run({"simulate", "-m", model, "--zoo-dir", zoo_dir(), "-p", "agx-orin-64gb-maxn", "--policy",
                          "npu-only"}),
                     "npu-only");
  expect_input_error(run({"simulate", "-m", model, "--zoo-dir", zoo_dir(), "-p", "agx-orin-64gb-maxn", "--policy",
                          "cpu-only", "--arrivals", "poisson:-3"}),
                     "poisson");
}

}  // namespace
}  // namespace sparoa::test::cli

// End-to-end tests of the calibration loop on this machine: sparoa profile -> sparoa
// calibrate -> sparoa validate (hardware replay against the simulator), and one-line errors
// with exit code 1 and no output file for bad input.
#include <nlohmann/json.hpp>

#include <regex>

#include "tests/cli/cli_runner.hpp"

namespace sparoa::test::cli {
namespace {

Result run(std::vector<std::string> args) { return run_sparoa(std::move(args), "calibrate_cli_test"); }

std::string zoo_dir() { return (fs::path(SPAROA_TEST_DATA_DIR) / "zoo").string(); }

fs::path dir() {
  const fs::path d = scratch("calibrate_cli_test") / "loop";
  fs::create_directories(d);
  return d;
}

// Profiles of SqueezeNet 1.1 (50% pruned) on host-2core-2lanes, alone and co-running, made
// once for the whole suite.
const std::vector<fs::path>& profiles() {
  static const std::vector<fs::path> files = [] {
    std::vector<fs::path> out;
    for (const bool corun : {false, true}) {
      const fs::path csv = dir() / (corun ? "corun.csv" : "solo.csv");
      std::vector<std::string> args = {"profile", "-m", "squeezenet1_1", "--zoo-dir", zoo_dir(), "--sparsity", "0.5",
                                       "-p", "host-2core-2lanes", "--lanes", "cpu0", "--kernels",
                                       corun ? "dense" : "dense,sparse", "-r", "3", "-q", "-o", csv.string()};
      if (corun) args.push_back("--corun");
      const Result r = run(args);
      EXPECT_EQ(r.code, 0) << r.err;
      out.push_back(csv);
    }
    return out;
  }();
  return files;
}

fs::path model_file() {
  // The file the zoo built for the profiles (the same content hash every time).
  for (const auto& e : fs::directory_iterator(zoo_dir())) {
    const std::string name = e.path().filename().string();
    if (name.rfind("squeezenet1_1-s0.50-u-", 0) == 0 && e.path().extension() == ".onnx") return e.path();
  }
  ADD_FAILURE() << "no squeezenet1_1-s0.50 in " << zoo_dir();
  return {};
}

TEST(CalibrateCli, FitsAPlatformThatValidatesATwoLaneScheduleWithBothTimelines) {
  const auto& p = profiles();
  const fs::path fitted = dir() / "fitted.yaml";
  fs::remove(fitted);
  Result r = run({"calibrate", "--profile", p[0].string(), "--profile", p[1].string(), "-p", "host-2core-2lanes", "-o",
                  fitted.string()});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_NE(r.out.find("conv cpu dense"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("contention of dram"), std::string::npos) << r.out;
  EXPECT_TRUE(std::regex_search(r.out, std::regex("\\n[0-9]+ parameters fitted from [0-9]+ rows"))) << r.out;
  const std::string yaml = slurp(fitted);
  EXPECT_NE(yaml.find("source: fitted"), std::string::npos);
  EXPECT_NE(yaml.find("solo.csv (sha256 "), std::string::npos) << "provenance names the profiles";
  ASSERT_EQ(run({"platform", "show", fitted.string()}).code, 0);

  const fs::path schedule = dir() / "mixed.yaml";
  r = run({"schedule", "template", model_file().string(), "--platform", "host-2core-2lanes", "--lane", "cpu0,cpu1",
           "--kernel", "sparse", "-o", schedule.string()});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_NE(r.out.find("sparse"), std::string::npos) << r.out;

  const fs::path csv = dir() / "validate.csv", trace = dir() / "validate.json";
  r = run({"validate", "-m", model_file().string(), "-p", fitted.string(), "-s", schedule.string(), "-n", "3", "--csv",
           csv.string(), "--trace", trace.string()});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_NE(r.out.find("latency mean (us)"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("per-operator |error|"), std::string::npos) << r.out;
  const std::string text = slurp(csv);
  EXPECT_NE(text.find("# latency_mean_error: "), std::string::npos);
  EXPECT_NE(text.find("# platform_source: fitted"), std::string::npos);
  EXPECT_NE(text.find(",cpu1,sparse,"), std::string::npos) << "the mixed schedule's second lane and kernel";
  // Both timelines in one Chrome trace: simulated and measured processes.
  const auto json = nlohmann::json::parse(slurp(trace));
  std::set<std::string> processes;
  for (const auto& e : json.at("traceEvents")) {
    if (e.value("ph", "") == "M" && e.value("name", "") == "process_name") processes.insert(e["args"]["name"]);
  }
  bool sim = false, hw = false;
  for (const auto& name : processes) {
    sim |= name.rfind("sim", 0) == 0;
    hw |= name.rfind("hw", 0) == 0;
  }
  EXPECT_TRUE(sim && hw) << nlohmann::json(processes).dump();
}

TEST(CalibrateCli, RefusesProfilesOfAnotherPowerModeOrPlatformAndWritesNothing) {
  const auto& p = profiles();
  const fs::path out = dir() / "refused.yaml";
  fs::remove(out);
  std::string text = slurp(p[0]);
  const fs::path other_mode = dir() / "other-mode.csv";
  std::ofstream(other_mode) << std::regex_replace(text, std::regex("# power_mode: default"), "# power_mode: MAXN");
  expect_input_error(run({"calibrate", "--profile", other_mode.string(), "-p", "host-2core-2lanes", "-o", out.string()}),
                     "power mode 'MAXN'");
  expect_input_error(run({"calibrate", "--profile", p[0].string(), "-p", "host-2core-1lane", "-o", out.string()}),
                     "was measured with platform 'host-2core-2lanes'");
  const fs::path truncated = dir() / "truncated.csv";
  std::ofstream(truncated) << text.substr(0, text.find("model,op,"));
  expect_input_error(run({"calibrate", "--profile", truncated.string(), "-p", "host-2core-2lanes", "-o", out.string()}),
                     "truncated.csv: no column row");
  const fs::path few = dir() / "few.csv";
  std::size_t cut = text.find("model,op,");
  for (int line = 0; line < 3; ++line) cut = text.find('\n', cut) + 1;  // the column row and two rows
  std::ofstream(few) << text.substr(0, cut);
  expect_input_error(run({"calibrate", "--profile", few.string(), "-p", "host-2core-2lanes", "-o", out.string()}),
                     "profile row(s) (classes");
  const fs::path bad = dir() / "bad.csv";
  std::ofstream(bad) << std::regex_replace(text, std::regex(",dense,"), ",densest,", std::regex_constants::format_first_only);
  expect_input_error(run({"calibrate", "--profile", bad.string(), "-p", "host-2core-2lanes", "-o", out.string()}),
                     "bad.csv:13: column kernel");
  EXPECT_FALSE(fs::exists(out));
}

TEST(CalibrateCli, ValidateRefusesAPlatformFittedElsewhereAndAScheduleOfAnotherModel) {
  const auto& p = profiles();
  const fs::path fitted = dir() / "fitted-elsewhere.yaml";
  ASSERT_EQ(run({"calibrate", "--profile", p[0].string(), "-p", "host-2core-2lanes", "-o", fitted.string()}).code, 0);
  const std::string yaml = slurp(fitted);
  // Replace the CPU model itself: the document must no longer contain it.
  const fs::path elsewhere = dir() / "elsewhere.yaml";
  std::ofstream(elsewhere) << std::regex_replace(yaml, std::regex("document: \"sparoa calibrate[^\"]*\""),
                                                 "document: \"sparoa calibrate from rows measured on Imaginary CPU 1\"");
  expect_input_error(run({"validate", "-m", model_file().string(), "-p", elsewhere.string(), "--policy", "cpu-only"}),
                     "was fitted on another machine");
  const fs::path schedule = dir() / "other-model.yaml";
  ASSERT_EQ(run({"zoo", "build", "--out", zoo_dir(), "--models", "mobilenetv3_small", "--sparsity", "0"}).code, 0);
  const fs::path other = [] {
    for (const auto& e : fs::directory_iterator(zoo_dir())) {
      if (e.path().filename().string().rfind("mobilenetv3_small-s0.00", 0) == 0 && e.path().extension() == ".onnx") return e.path();
    }
    return fs::path();
  }();
  ASSERT_FALSE(other.empty());
  ASSERT_EQ(run({"schedule", "template", other.string(), "-o", schedule.string()}).code, 0);
  expect_input_error(run({"validate", "-m", model_file().string(), "-p", "host-2core-1lane"}),
                     "give either --schedule FILE or --policy cpu-only|gpu-only");
  expect_input_error(run({"validate", "-m", model_file().string(), "-p", "host-2core-1lane", "--policy", "gpu-only"}),
                     "platform host-2core-1lane has no gpu device");
  expect_input_error(run({"validate", "-m", model_file().string(), "-p", "host-2core-1lane", "-s", schedule.string()}),
                     "it was made for a model with SHA-256");
}

TEST(CalibrateCli, InContextProfilesTimeEveryOperatorAndDoNotMixWithIsolatedOnes) {
  const auto& p = profiles();
  const fs::path csv = dir() / "in-context.csv";
  const Result r = run({"profile", "-m", "squeezenet1_1", "--zoo-dir", zoo_dir(), "--sparsity", "0.5", "-p",
                        "host-2core-2lanes", "--lanes", "cpu0", "--kernels", "dense,sparse", "--in-context", "-r", "3", "-q",
                        "-o", csv.string()});
  ASSERT_EQ(r.code, 0) << r.err;
  const std::string text = slurp(csv), isolated = slurp(p[0]);
  EXPECT_NE(text.find("# timing: in-context"), std::string::npos);
  EXPECT_NE(isolated.find("# timing: isolated"), std::string::npos);
  // One row per operator and kernel, as the isolated profile has.
  EXPECT_EQ(std::count(text.begin(), text.end(), '\n'), std::count(isolated.begin(), isolated.end(), '\n'));
  EXPECT_NE(text.find(",sparse,\"sparse:csr-spmm"), std::string::npos) << "the sparse pass's rows";
  const fs::path out = dir() / "mixed-timing.yaml";
  fs::remove(out);
  expect_input_error(run({"calibrate", "--profile", p[0].string(), "--profile", csv.string(), "-p", "host-2core-2lanes",
                          "-o", out.string()}),
                     "one way of timing");
  EXPECT_FALSE(fs::exists(out));
  expect_input_error(run({"profile", "-m", "squeezenet1_1", "--zoo-dir", zoo_dir(), "--in-context", "--cold-cache", "-o",
                          (dir() / "never.csv").string()}),
                     "--cold-cache");
}

TEST(ValidateCli, OnlineRunComparesTheLatencyDistributionWithTheSimulator) {
  const fs::path csv = dir() / "online.csv";
  fs::remove(csv);
  const fs::path state = dir() / "load.csv";  // other work on half of cpu1
  std::ofstream(state) << "time_us,action,target,value\n0,background,cpu1,0.5\n";
  // The zoo model by name: this test may run before the profiles that build the file.
  const Result r = run({"validate", "-m", "squeezenet1_1", "--sparsity", "0.5", "--zoo-dir", zoo_dir(), "-p",
                        "host-2core-2lanes", "--policy", "greedy-eft", "--arrivals", "poisson:200", "--requests", "8", "--state", state.string(), "--csv", csv.string()});
  ASSERT_EQ(r.code, 0) << r.err;
  for (const char* row : {"latency p50 (ms)", "latency p95 (ms)", "latency p99 (ms)", "throughput (inferences/s)",
                          "energy per inference", "placements seen on both sides"}) {
    EXPECT_NE(r.out.find(row), std::string::npos) << row << "\n" << r.out;
  }
  const std::string rows = slurp(csv);
  EXPECT_NE(rows.find("\nlatency_p99_s,"), std::string::npos) << rows;
  EXPECT_NE(rows.find("# placement: policy greedy-eft"), std::string::npos) << rows;
  // A replay-only option in an online run is one clear error.
  expect_input_error(run({"validate", "-m", "squeezenet1_1", "--zoo-dir", zoo_dir(), "-p", "host-2core-2lanes", "--policy",
                          "greedy-eft", "--iterations", "3"}),
                     "--iterations");
}

TEST(DemoCli, RunsTheWholeLoopAndSaysWhereEachFileIs) {
  const fs::path out = scratch("calibrate_cli_test") / "demo";
  fs::remove_all(out);
  const Result r = run({"demo", "--zoo-dir", zoo_dir(), "--out", out.string()});
  ASSERT_EQ(r.code, 0) << r.err << r.out;
  for (const std::string step : {"== 1/6", "== 2/6", "== 3/6", "== 4/6", "== 5/6", "== 6/6", "demo wall time"}) {
    EXPECT_NE(r.out.find(step), std::string::npos) << step << " in " << r.out;
  }
  EXPECT_NE(r.out.find("sparse/low-I"), std::string::npos) << "the quadrant table";
  EXPECT_NE(r.out.find("90.0%"), std::string::npos) << "the 90% model's zero-weight share";
  EXPECT_TRUE(std::regex_search(r.out, std::regex("resnet18 +gpu-only"))) << "the placement table";
  EXPECT_NE(r.out.find("parameters fitted from"), std::string::npos) << "the calibration";
  EXPECT_TRUE(std::regex_search(r.out, std::regex("\n(oracle) +[0-9.]+ +[0-9.]+"))) << "the compare table's oracle";
  EXPECT_NE(r.out.find("sparoa*"), std::string::npos) << "the compare table's searched thresholds";
  EXPECT_NE(r.out.find("trained:"), std::string::npos) << "the rl training run";
  EXPECT_TRUE(std::regex_search(r.out, std::regex("\n(rl) +[0-9.]+ +[0-9.]+"))) << "the compare table's rl row";
  EXPECT_NE(r.out.find("uncalibrated"), std::string::npos) << "the error table";
  for (const std::string f : {"agent.bin", "agent.bin.curve.csv", "sim-resnet18-gpu-only.json", "host-2core-2lanes-fitted.yaml", "validate-fitted.json",
                              "validate-uncalibrated.csv", "validate-fitted.csv"}) {
    EXPECT_TRUE(fs::exists(out / f)) << f;
  }
  // The plot needs Debian's python3-matplotlib (scripts/install-deps.sh installs it).
  if (fs::exists("/usr/lib/python3/dist-packages/matplotlib")) {
    EXPECT_TRUE(fs::exists(out / "validation.png"));
  }
}

}  // namespace
}  // namespace sparoa::test::cli

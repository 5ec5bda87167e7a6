// End-to-end tests of `sparoa schedule --policy` and `sparoa compare`.
#include <gtest/gtest.h>

#include <fstream>

#include "tests/cli/cli_runner.hpp"

namespace sparoa::test::cli {
namespace {

Result run(std::vector<std::string> args) { return run_sparoa(std::move(args), "policies_cli_test"); }
std::string zoo_dir() { return (fs::path(SPAROA_TEST_DATA_DIR) / "zoo").string(); }
fs::path dir() { return scratch("policies_cli_test"); }

TEST(ScheduleCli, EveryPolicyWritesAScheduleThatSimulates) {
  const Result list = run({"schedule", "--list"});
  ASSERT_EQ(list.code, 0) << list.err;
  for (const char* p : {"cpu-only", "gpu-only", "heft", "greedy-eft", "sparoa", "intensity-only", "sparsity-only",
                        "random", "fastest-device"}) {
    EXPECT_NE(list.out.find(p), std::string::npos) << p;
    const fs::path out = dir() / (std::string(p) + ".yaml");
    const Result r = run({"schedule", "--model", "mobilenetv3_small", "--sparsity", "0.9", "--zoo-dir", zoo_dir(),
                          "--platform", "orin-nano-8gb-15w", "--policy", p, "--thresholds", "0.5,12", "-o", out.string()});
    ASSERT_EQ(r.code, 0) << p << ": " << r.err;
    EXPECT_TRUE(fs::exists(out));
    const Result sim = run({"simulate", "--model", "mobilenetv3_small", "--sparsity", "0.9", "--zoo-dir", zoo_dir(),
                            "--platform", "orin-nano-8gb-15w", "--schedule", out.string(), "-n", "2"});
    EXPECT_EQ(sim.code, 0) << p << ": " << sim.err;
  }
}

TEST(ScheduleCli, BadInputGivesOneLineAndExitOne) {
  const std::string out = (dir() / "never.yaml").string();
  const std::vector<std::string> base{"schedule", "--model", "mobilenetv3_small", "--zoo-dir", zoo_dir(), "-o", out};
  auto with = [&](std::vector<std::string> more) {
    std::vector<std::string> a = base;
    a.insert(a.end(), more.begin(), more.end());
    return run(a);
  };
  const std::vector<std::pair<std::vector<std::string>, std::string>> cases{
      {{"--platform", "agx-orin-64gb-maxn", "--policy", "tensorrt"}, "unknown policy"},
      {{"--platform", "agx-orin-64gb-maxn", "--policy", "sparoa", "--thresholds", "0.5"}, "--thresholds"},
      {{"--platform", "agx-orin-64gb-maxn", "--policy", "sparoa", "--thresholds", "0.5,-1"}, "--thresholds"},
      {{"--platform", "agx-orin-64gb-maxn", "--policy", "sparoa", "--option", "mixed=often"}, "mixed"},
      {{"--platform", "agx-orin-64gb-maxn", "--policy", "heft", "--option", "mixed=gpu"}, "unknown option 'mixed'"},
      {{"--platform", "host-2core-2lanes", "--policy", "gpu-only"}, "no gpu device"},
      {{"--platform", "agx-orin-64gb-maxn"}, "give --model, --platform, --policy and --out"},
  };
  for (const auto& [args, want] : cases) {
    const Result r = with(args);
    EXPECT_EQ(r.code, 1) << want << ": " << r.err;
    EXPECT_NE(r.err.find(want), std::string::npos) << r.err;
    EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
  }
  EXPECT_FALSE(fs::exists(out));
}

TEST(CompareCli, PrintsEveryPolicyTheOracleAndTheBoundAndWritesCsv) {
  const fs::path csv = dir() / "compare.csv";
  const fs::path schedules = dir() / "compare_schedules";
  const Result r = run({"compare", "--model", "squeezenet1_1", "--sparsity", "0.5", "--zoo-dir", zoo_dir(), "--platform",
                        "agx-orin-64gb-maxn", "--oracle-runs", "20", "--csv", csv.string(), "--schedules",
                        schedules.string()});
  ASSERT_EQ(r.code, 0) << r.err;
  for (const char* row : {"cpu-only", "gpu-only", "heft", "greedy-eft", "sparoa", "intensity-only", "sparsity-only",
                          "random", "sparoa*", "oracle", "lower bound", "best baseline:"}) {
    EXPECT_NE(r.out.find(row), std::string::npos) << row << "\n" << r.out;
  }
  const std::string text = slurp(csv);
  EXPECT_EQ(text.rfind("model,platform,policy,ok,latency_mean_ms", 0), 0u);
  EXPECT_NE(text.find(",oracle,1,"), std::string::npos) << text;
  EXPECT_TRUE(fs::exists(schedules / "oracle.yaml"));
  EXPECT_TRUE(fs::exists(schedules / "sparoas.yaml"));
  const Result sim = run({"simulate", "--model", "squeezenet1_1", "--sparsity", "0.5", "--zoo-dir", zoo_dir(),
                          "--platform", "agx-orin-64gb-maxn", "--schedule", (schedules / "oracle.yaml").string(), "-n", "1"});
  EXPECT_EQ(sim.code, 0) << sim.err;
}

TEST(CompareCli, BadInputGivesOneLineAndExitOne) {
  const std::vector<std::pair<std::vector<std::string>, std::string>> cases{
      {{"--policies", "heft,tvm"}, "unknown policy"},
      {{"--objective", "speed"}, "objective"},
      {{"--objective", "mix:2"}, "objective"},
      {{"--state", (dir() / "missing.csv").string()}, "missing.csv"},
  };
  for (const auto& [more, want] : cases) {
    std::vector<std::string> a{"compare", "--model", "mobilenetv3_small", "--zoo-dir", zoo_dir(), "--platform",
                               "agx-orin-64gb-maxn"};
    a.insert(a.end(), more.begin(), more.end());
    const Result r = run(a);
    EXPECT_EQ(r.code, 1) << want << ": " << r.err;
    EXPECT_NE(r.err.find(want), std::string::npos) << r.err;
    EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
  }
}

TEST(TrainCli, LabelsTrainsEvaluatesAndThePredictorDrivesSchedules) {
  const fs::path config = dir() / "train.yaml";
  std::ofstream(config) << "models: [squeezenet1_1, \"mobilenetv3_small@w0.75\"]\nsparsity: [0, 0.9]\n"
                           "platforms: [orin-nano-8gb-15w]\nstates: [idle, \"gpu-busy:0.5\"]\nepochs: 5\n";
  const fs::path out = dir() / "predictor.bin";
  fs::remove(out.string() + ".labels");
  const Result r = run({"train", "thresholds", "--config", config.string(), "-o", out.string(), "--zoo-dir", zoo_dir()});
  ASSERT_EQ(r.code, 0) << r.err;
  for (const char* want : {"labels: 8 cases", "leave-one-family-out", "squeezenet", "mobilenet", "global pair",
                           "training time"}) {
    EXPECT_NE(r.out.find(want), std::string::npos) << want << "\n" << r.out;
  }
  EXPECT_TRUE(fs::exists(out));
  EXPECT_TRUE(fs::exists(out.string() + ".labels"));
  const std::string curve = slurp(out.string() + ".curve.csv");
  EXPECT_EQ(curve.rfind("epoch,train_loss,train_mean_regret,wall_s\n1,", 0), 0u) << curve;
  EXPECT_EQ(std::count(curve.begin(), curve.end(), '\n'), 6);
  // The labels are reused when the cases are the same.
  const Result again = run({"train", "thresholds", "--config", config.string(), "-o", out.string(), "--zoo-dir", zoo_dir()});
  ASSERT_EQ(again.code, 0) << again.err;
  EXPECT_NE(again.out.find("read from"), std::string::npos) << again.out;
  // The predictor drives the threshold policy.
  const fs::path schedule = dir() / "predicted.yaml";
  const Result s = run({"schedule", "-m", "resnet18", "--zoo-dir", zoo_dir(), "-p", "orin-nano-8gb-15w", "--policy",
                        "sparoa", "--predictor", out.string(), "-o", schedule.string()});
  ASSERT_EQ(s.code, 0) << s.err;
  EXPECT_NE(s.out.find("predicted thresholds: rho*="), std::string::npos) << s.out;
  // A damaged predictor, a bad config: one line, exit 1.
  std::string bytes = slurp(out);
  bytes[bytes.size() / 2] ^= 0x20;
  const fs::path damaged = dir() / "damaged.bin";
  std::ofstream(damaged, std::ios::binary) << bytes;
  const Result d = run({"schedule", "-m", "resnet18", "--zoo-dir", zoo_dir(), "-p", "orin-nano-8gb-15w", "--policy",
                        "sparoa", "--predictor", damaged.string(), "-o", (dir() / "never.yaml").string()});
  EXPECT_EQ(d.code, 1);
  EXPECT_NE(d.err.find("checksum"), std::string::npos) << d.err;
  EXPECT_NE(d.err.find("damaged.bin"), std::string::npos) << d.err;
  const std::vector<std::pair<std::string, std::string>> bad{
      {"models: [resnet18]\nplatforms: [orin-nano-8gb-15w]\nepoch: 3\n", "epoch: unknown key"},
      {"platforms: [orin-nano-8gb-15w]\n", "models: missing"},
      {"models: [resnet18]\nplatforms: [orin-nano-8gb-15w]\nsparsity: [1.5]\n", "outside [0, 1)"},
      {"models: [resnet18]\nplatforms: [orin-nano-8gb-15w]\nstates: [\"gpu-busy:2\"]\n", "gpu-busy:2"},
      {"models: [resnet99]\nplatforms: [orin-nano-8gb-15w]\n", "resnet99"},
      {"models: [resnet18\n", "malformed YAML at line 2"},
  };
  for (const auto& [text, want] : bad) {
    const fs::path f = dir() / "bad-train.yaml";
    std::ofstream(f) << text;
    const Result b = run({"train", "thresholds", "--config", f.string(), "-o", (dir() / "never.bin").string(), "--zoo-dir",
                          zoo_dir(), "--labels", (dir() / "never.labels").string()});
    EXPECT_EQ(b.code, 1) << want << ": " << b.err;
    EXPECT_NE(b.err.find(want), std::string::npos) << b.err;
    EXPECT_EQ(std::count(b.err.begin(), b.err.end(), '\n'), 1) << b.err;
  }
  EXPECT_FALSE(fs::exists(dir() / "never.bin"));
}

TEST(TuneCli, ChoosesTheMostThroughputWithinTheSloOrSaysNoneMeetsIt) {
  const std::vector<std::string> base{"tune", "batch", "-m", "mobilenetv3_small", "--zoo-dir", zoo_dir(), "-p",
                                      "agx-orin-64gb-maxn", "--timeouts-us", "0,1000", "-n", "200"};
  auto with = [&](std::vector<std::string> more) {
    std::vector<std::string> a = base;
    a.insert(a.end(), more.begin(), more.end());
    return run(a);
  };
  const Result ok = with({"--rate", "400", "--slo-ms", "20", "--batches", "1,2,4"});
  ASSERT_EQ(ok.code, 0) << ok.err;
  EXPECT_NE(ok.out.find("<- chosen"), std::string::npos) << ok.out;
  EXPECT_NE(ok.out.find("chosen: batch"), std::string::npos) << ok.out;
  // Batch 1 runs once (a timeout means nothing to it), the others once per timeout: 5 rows.
  EXPECT_EQ(std::count(ok.out.begin(), ok.out.end(), '\n'), 2 + 1 + 5 + 1) << ok.out;
  const Result none = with({"--rate", "400", "--slo-ms", "0.01", "--batches", "1,2,4"});
  EXPECT_EQ(none.code, 1);
  EXPECT_NE(none.err.find("no batch size and timeout meets"), std::string::npos) << none.err;
  EXPECT_NE(none.out.find("misses"), std::string::npos) << "the table is still printed";
  const Result bad = with({"--rate", "400", "--slo-ms", "20", "--batches", "1,x"});
  EXPECT_EQ(bad.code, 1);
  EXPECT_NE(bad.err.find("--batches"), std::string::npos) << bad.err;
  const Result zero = with({"--rate", "400", "--slo-ms", "20", "--batches", "0,2"});
  EXPECT_EQ(zero.code, 1);
  EXPECT_NE(zero.err.find("at least 1"), std::string::npos) << zero.err;
}

}  // namespace
}  // namespace sparoa::test::cli

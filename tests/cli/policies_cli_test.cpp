// End-to-end tests of `sparoa schedule --policy` and `sparoa compare`.
#include <gtest/gtest.h>

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

// `sparoa sweep` end to end: a sweep killed mid-way resumes with no cell lost or duplicated
// and the same numbers as an uninterrupted one; a failing cell is recorded and the others run;
// each command a cell can run writes the columns the runner expects.
#include <gtest/gtest.h>
#include <signal.h>

#include <chrono>
#include <map>
#include <set>
#include <thread>

#include "experiments/results.hpp"
#include "tests/cli/cli_runner.hpp"

namespace sparoa::test::cli {
namespace {

using experiments::split_csv_line;

fs::path fresh(const std::string& name) {
  const fs::path d = scratch("sweep_cli_test") / name;
  fs::remove_all(d);
  fs::create_directories(d);
  return d;
}

struct Table {
  std::vector<std::string> header;
  std::vector<std::vector<std::string>> rows;
  std::string col(std::size_t r, const std::string& name) const {
    for (std::size_t i = 0; i < header.size(); ++i) {
      if (header[i] == name) return rows[r][i];
    }
    ADD_FAILURE() << "no column " << name;
    return "";
  }
};

Table read_table(const fs::path& f) {
  Table t;
  std::istringstream in(slurp(f));
  std::string line;
  while (std::getline(in, line)) {
    auto fields = split_csv_line(line, f.string());
    if (t.header.empty()) {
      t.header = std::move(fields);
    } else {
      t.rows.push_back(std::move(fields));
    }
  }
  return t;
}

// The cell's numbers, without what legitimately differs between two runs (wall clock).
std::map<std::string, std::string> numbers_by_cell(const Table& t) {
  std::map<std::string, std::string> out;
  for (std::size_t r = 0; r < t.rows.size(); ++r) {
    std::string key = t.col(r, "cell") + "/" + t.col(r, "row");
    std::string v;
    for (std::size_t i = 0; i < t.header.size(); ++i) {
      const auto& h = t.header[i];
      if (h == "wall_s" || h == "sim_wall_s" || h == "finished_at") continue;
      v += t.rows[r][i] + "|";
    }
    EXPECT_TRUE(out.emplace(key, v).second) << "duplicate row " << key;
  }
  return out;
}

void write(const fs::path& f, const std::string& text) { std::ofstream(f) << text; }

// Waits until `results` holds at least `rows` rows (bounded by a generous deadline, which
// only guards against a hang: the test asserts on what it sees, not on time).
std::size_t wait_for_rows(const fs::path& results, std::size_t rows) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(120);
  std::size_t seen = 0;
  while (std::chrono::steady_clock::now() < deadline) {
    const std::string text = slurp(results);
    seen = text.empty() ? 0 : std::size_t(std::count(text.begin(), text.end(), '\n')) - 1;
    if (seen >= rows) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  return seen;
}

const char* kMatrix = R"(schema_version: 1
name: resume
command: simulate
matrix:
  platform: [agx-orin-64gb-maxn, orin-nano-8gb-15w]
  policy: [cpu-only, gpu-only, greedy-eft]
  seed: [1, 2]
fixed:
  model: mobilenetv3_small
  arrivals: poisson:300
  requests: 40
)";

TEST(SweepCli, KilledSweepResumesWithNoCellLostOrDuplicated) {
  const fs::path d = fresh("resume");
  // Cells find zoo models in the default zoo folder: build it there once, not in two cells at once.
  ASSERT_EQ(run_sparoa({"inspect", "-m", "mobilenetv3_small", "--summary"}).code, 0);
  write(d / "exp.yaml", kMatrix);
  const Result whole = run_sparoa({"sweep", (d / "exp.yaml").string(), "--out", (d / "whole").string(), "-j", "2"});
  ASSERT_EQ(whole.code, 0) << whole.err;
  EXPECT_NE(whole.out.find("12 cells, 0 recorded before, 12 ran (12 ok, 0 failed)"), std::string::npos) << whole.out;
  const Table reference = read_table(d / "whole" / "results.csv");
  ASSERT_EQ(reference.rows.size(), 12u);

  // Start the same sweep, kill it (SIGKILL: no chance to clean up) once some cells are in.
  const fs::path out = d / "killed";
  const pid_t pid = start_sparoa({"sweep", (d / "exp.yaml").string(), "--out", out.string(), "-j", "2", "--no-progress"});
  ASSERT_GT(pid, 0);
  const std::size_t seen = wait_for_rows(out / "results.csv", 3);
  ::kill(pid, SIGKILL);
  int status = 0;
  ::waitpid(pid, &status, 0);
  ASSERT_GE(seen, 3u);
  const std::size_t before = read_table(out / "results.csv").rows.size();
  ASSERT_LT(before, 12u) << "the sweep finished before it could be killed";
  // What a kill inside the append would leave: half a line (a kill can land anywhere).
  {
    std::ofstream torn(out / "results.csv", std::ios::app);
    torn << "0123456789abcdef,0,1,ok,,0.5,agx";
  }
  const Result resumed =
      run_sparoa({"sweep", (d / "exp.yaml").string(), "--out", out.string(), "-j", "2", "--no-progress"});
  ASSERT_EQ(resumed.code, 0) << resumed.err;
  EXPECT_NE(resumed.out.find(std::to_string(before) + " recorded before"), std::string::npos) << resumed.out;
  const Table after = read_table(out / "results.csv");
  EXPECT_EQ(after.rows.size(), 12u);
  EXPECT_EQ(numbers_by_cell(after), numbers_by_cell(reference)) << "same seeds, same numbers, each cell once";

  // Nothing left to do: a third run runs nothing.
  const Result again = run_sparoa({"sweep", (d / "exp.yaml").string(), "--out", out.string(), "--no-progress"});
  EXPECT_EQ(again.code, 0);
  EXPECT_NE(again.out.find("12 recorded before, 0 ran"), std::string::npos) << again.out;
}

TEST(SweepCli, SigtermStopsTheCellsAndKeepsWhatFinished) {
  const fs::path d = fresh("sigterm");
  ASSERT_EQ(run_sparoa({"inspect", "-m", "mobilenetv3_small", "--summary"}).code, 0);
  write(d / "exp.yaml", kMatrix);
  const fs::path out = d / "out";
  const pid_t pid = start_sparoa({"sweep", (d / "exp.yaml").string(), "--out", out.string(), "-j", "2", "--no-progress"});
  ASSERT_GT(pid, 0);
  ASSERT_GE(wait_for_rows(out / "results.csv", 1), 1u);
  // A second sweep on the same folder meanwhile is refused, and touches nothing.
  expect_input_error(run_sparoa({"sweep", (d / "exp.yaml").string(), "--out", out.string(), "--no-progress"}),
                     "another sparoa sweep");
  ::kill(pid, SIGTERM);
  int status = 0;
  ::waitpid(pid, &status, 0);
  ASSERT_TRUE(WIFEXITED(status));
  const std::size_t rows = read_table(out / "results.csv").rows.size();
  if (rows < 12) {
    EXPECT_EQ(WEXITSTATUS(status), 130);
  }
  // Nothing of the stopped cells was recorded: every row is ok, and a resume completes the rest.
  for (const auto& row : read_table(out / "results.csv").rows) EXPECT_EQ(row[3], "ok");
  const Result resumed = run_sparoa({"sweep", (d / "exp.yaml").string(), "--out", out.string(), "--no-progress"});
  EXPECT_EQ(resumed.code, 0) << resumed.err;
  EXPECT_EQ(read_table(out / "results.csv").rows.size(), 12u);
}

TEST(SweepCli, CellPastItsTimeoutIsKilledAndRecordedAsFailed) {
  const fs::path d = fresh("timeout");
  write(d / "exp.yaml", "schema_version: 1\nname: timeout\ncommand: simulate\nmatrix:\n  seed: [1, 2]\nfixed:\n"
                        "  model: mobilenetv3_small\n  platform: agx-orin-64gb-maxn\n  policy: cpu-only\n");
  // No sparoa process starts, imports a model and simulates in a millisecond.
  const Result r = run_sparoa({"sweep", (d / "exp.yaml").string(), "--out", (d / "out").string(), "--cell-timeout", "0.001"});
  EXPECT_EQ(r.code, 3) << r.err;
  const Table t = read_table(d / "out" / "results.csv");
  ASSERT_EQ(t.rows.size(), 2u);
  for (std::size_t i = 0; i < 2; ++i) {
    EXPECT_EQ(t.col(i, "status"), "failed");
    EXPECT_NE(t.col(i, "error").find("timed out"), std::string::npos) << t.col(i, "error");
  }
}

TEST(SweepCli, FailingCellIsRecordedAndTheOthersRun) {
  const fs::path d = fresh("failing");
  write(d / "exp.yaml", R"(schema_version: 1
name: failing
command: simulate
matrix:
  model: [mobilenetv3_small, no_such_model]
  policy: [cpu-only, gpu-only]
fixed:
  platform: agx-orin-64gb-maxn
  requests: 5
)");
  const Result r = run_sparoa({"sweep", (d / "exp.yaml").string(), "--out", (d / "out").string(), "-j", "2"});
  EXPECT_EQ(r.code, 3) << r.err;
  EXPECT_NE(r.err.find("2 cells failed"), std::string::npos) << r.err;
  const Table t = read_table(d / "out" / "results.csv");
  ASSERT_EQ(t.rows.size(), 4u);
  int failed = 0;
  for (std::size_t i = 0; i < t.rows.size(); ++i) {
    if (t.col(i, "status") == "failed") {
      ++failed;
      EXPECT_EQ(t.col(i, "model"), "no_such_model");
      EXPECT_NE(t.col(i, "error").find("no_such_model"), std::string::npos) << t.col(i, "error");
      EXPECT_EQ(t.col(i, "latency_mean_ms"), "");
    } else {
      EXPECT_GT(std::stod(t.col(i, "latency_mean_ms")), 0);
      EXPECT_EQ(t.col(i, "git_revision").empty(), false);
      EXPECT_EQ(t.col(i, "platform_sha256").size(), 64u);
    }
  }
  EXPECT_EQ(failed, 2);
  // Failed cells stay recorded unless asked: --retry-failed runs them again.
  const Result again = run_sparoa({"sweep", (d / "exp.yaml").string(), "--out", (d / "out").string(), "--retry-failed"});
  EXPECT_EQ(again.code, 3);
  EXPECT_NE(again.out.find("2 recorded before, 2 ran"), std::string::npos) << again.out;
  EXPECT_EQ(read_table(d / "out" / "results.csv").rows.size(), 6u) << "retries are appended; readers keep one per cell";
}

TEST(SweepCli, EveryCellCommandWritesTheExpectedColumns) {
  // The runner checks each output header against the command's declared columns: an ok cell
  // proves they agree.
  const fs::path d = fresh("columns");
  const std::map<std::string, std::string> experiments = {
      {"simulate", "policy: [sparoa, greedy-eft]\n  platform: [agx-orin-64gb-maxn]\nfixed:\n  requests: 5\n"},
      {"compare",
       "platform: [orin-nano-8gb-15w]\nfixed:\n  requests: 3\n  oracle: false\n  search: false\n  policies: [cpu-only, "
       "gpu-only, sparoa]\n"},
      {"inspect", "sparsity: [0.5]\n"},
      {"bench-policy", "policy: [heft, greedy-eft]\n  platform: [agx-orin-64gb-maxn]\nfixed:\n  repeats: 2\n  requests: 3\n"},
  };
  for (const auto& [command, rest] : experiments) {
    SCOPED_TRACE(command);
    write(d / (command + ".yaml"), "schema_version: 1\nname: " + command + "\ncommand: " + command +
                                       "\nmatrix:\n  model: [mobilenetv3_small]\n  " + rest);
    const Result r = run_sparoa({"sweep", (d / (command + ".yaml")).string(), "--out", (d / command).string(), "-j", "2"});
    EXPECT_EQ(r.code, 0) << r.out << r.err << slurp(d / command / "results.csv");
    const Table t = read_table(d / command / "results.csv");
    ASSERT_FALSE(t.rows.empty());
    for (std::size_t i = 0; i < t.rows.size(); ++i) EXPECT_EQ(t.col(i, "status"), "ok") << t.col(i, "error");
  }
}

// The report script reads what the runner writes: a real sweep of each figure kind the paper
// files use most, drawn by `sparoa report` (Debian's python3 with matplotlib).
TEST(SweepCli, ReportDrawsRealSweeps) {
  const fs::path d = fresh("report");
  const std::map<std::string, std::string> experiments = {
      {"speedup",
       "command: compare\nmatrix:\n  model: [mobilenetv3_small, squeezenet1_1]\nfixed:\n  platform: orin-nano-8gb-15w\n"
       "  sparsity: 0.5\n  requests: 1\n  oracle: false\n  policies: [cpu-only, gpu-only, heft, greedy-eft, sparoa]\n"
       "report:\n  figure: speedup\n  paper: \"1.22x-1.31x\"\n"},
      {"quadrants",
       "command: inspect\nmatrix:\n  model: [mobilenetv3_small]\n  sparsity: [0, 0.5]\n"
       "report:\n  figure: quadrants\n  rho: 0.5\n  intensity: 10\n"},
      {"bars",
       "command: simulate\nmatrix:\n  model: [mobilenetv3_small]\n  policy: [sparoa, gpu-only]\n  inflight: [1, 2]\nfixed:\n"
       "  platform: agx-orin-64gb-maxn\n  requests: 10\nreport:\n  figure: bars\n  x: model\n  series: [policy, inflight]\n"
       "  y: throughput_rps\n  normalise: {policy: sparoa, inflight: \"2\"}\n"},
  };
  for (const auto& [name, body] : experiments) {
    SCOPED_TRACE(name);
    write(d / (name + ".yaml"), "schema_version: 1\nname: " + name + "\n" + body);
    const fs::path out = d / name;
    ASSERT_EQ(run_sparoa({"sweep", (d / (name + ".yaml")).string(), "--out", out.string(), "--no-progress"}).code, 0);
    const Result r = run_sparoa({"report", out.string()});
    ASSERT_EQ(r.code, 0) << r.err;
    for (const auto* ext : {".png", ".svg", ".csv"}) EXPECT_TRUE(fs::exists(out / "report" / (name + ext))) << ext;
    const std::string summary = slurp(out / "report" / "summary.md");
    EXPECT_NE(summary.find("Ours:"), std::string::npos) << summary;
    if (name != "quadrants") {
      EXPECT_NE(summary.find("not fitted on a board"), std::string::npos) << summary;
    }
  }
  EXPECT_NE(slurp(d / "speedup" / "report" / "summary.md").find("Paper: 1.22x-1.31x"), std::string::npos);
}

TEST(SweepCli, BadExperimentIsOneLine) {
  const fs::path d = fresh("bad");
  write(d / "exp.yaml", "schema_version: 1\nname: bad\ncommand: simulate\nmatrix:\n  model: []\n");
  expect_input_error(run_sparoa({"sweep", (d / "exp.yaml").string(), "--out", (d / "out").string()}),
                     "matrix.model: empty list");
  write(d / "exp2.yaml", "schema_version: 1\nname: bad\ncommand: simulate\nmatrix:\n  model: [a]\nfixd:\n  seed: 1\n");
  expect_input_error(run_sparoa({"sweep", (d / "exp2.yaml").string()}), "fixd: unknown key");
  expect_input_error(run_sparoa({"sweep", (d / "none.yaml").string()}), "cannot read the experiment file");
  // A folder holding another experiment's results is refused, untouched.
  write(d / "other.yaml", "schema_version: 1\nname: other\ncommand: inspect\nmatrix:\n  model: [mobilenetv3_small]\n");
  ASSERT_EQ(run_sparoa({"sweep", (d / "other.yaml").string(), "--out", (d / "out2").string()}).code, 0);
  write(d / "exp3.yaml", kMatrix);
  expect_input_error(run_sparoa({"sweep", (d / "exp3.yaml").string(), "--out", (d / "out2").string()}),
                     "another experiment");
  expect_input_error(run_sparoa({"sweep", "collect", (d / "nowhere").string()}), "not a sweep folder");
  // Slurm script values are checked before anything is written or submitted.
  expect_input_error(run_sparoa({"sweep", (d / "exp3.yaml").string(), "--slurm", "--out", (d / "out3").string(),
                                 "--sbatch-option", "mem=4G"}),
                     "--sbatch-option mem=4G");
  expect_input_error(run_sparoa({"sweep", (d / "exp3.yaml").string(), "--slurm", "--out", (d / "out3").string(),
                                 "--partition", "a b"}),
                     "--partition 'a b': must be one word");
  EXPECT_FALSE(fs::exists(d / "out3" / "slurm"));
  // bench policy: an unknown policy is one line.
  expect_input_error(run_sparoa({"bench", "policy", "-m", "mobilenetv3_small", "-p", "agx-orin-64gb-maxn", "--policy",
                                 "tensorrt"}),
                     "tensorrt");
}

}  // namespace
}  // namespace sparoa::test::cli

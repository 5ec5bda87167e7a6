// Kills `sparoa simulate`, `run`, `train thresholds`, `train rl` and `sweep` with SIGKILL at
// random moments (a seeded draw over the length of an uninterrupted run) and checks what is
// left: every output is either the old file or the complete new one (byte for byte what an
// uninterrupted run writes, for the deterministic simulator and training; for `run`, whose
// timings vary, a trace with every record), and no temporary file remains. A sweep killed
// this way resumes to the same results as an uninterrupted one.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>

#include <chrono>
#include <filesystem>
#include <functional>
#include <iostream>
#include <map>
#include <random>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

#include "cli_runner.hpp"

namespace sparoa::test::cli {
namespace {

constexpr int kKills = 6;  // per command

fs::path dir() { return scratch("crash_safe_output_test"); }
std::string zoo() { return (dir() / "zoo").string(); }

// A file name our writers use for content not yet in place.
bool is_temporary(const fs::path& p) {
  const std::string n = p.filename().string();
  return n.size() > 1 && n[0] == '.' && n.find(".tmp.") != std::string::npos;
}

std::vector<fs::path> temporaries(const fs::path& folder) {
  std::vector<fs::path> found;
  for (const auto& e : fs::recursive_directory_iterator(folder)) {
    if (is_temporary(e.path())) found.push_back(e.path());
  }
  return found;
}

using Args = std::function<std::vector<std::string>(const fs::path& out)>;

// Runs to the end; returns the wall time it took.
double run_whole(const Args& args, const fs::path& out) {
  const auto start = std::chrono::steady_clock::now();
  const Result r = run_sparoa(args(out), "crash_safe_output_test");
  EXPECT_EQ(r.code, 0) << r.err;
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

// Starts the command and SIGKILLs it after `delay_s` (if it is still running).
void run_and_kill(const Args& args, const fs::path& out, double delay_s) {
  const pid_t pid = start_sparoa(args(out));
  ASSERT_GT(pid, 0);
  std::this_thread::sleep_for(std::chrono::duration<double>(delay_s));
  ::kill(pid, SIGKILL);
  int status = 0;
  ::waitpid(pid, &status, 0);
}

// Moments spread over [0, 1.1 * length): seeded, so a failure can be replayed.
std::vector<double> kill_moments(double length_s, unsigned seed) {
  std::mt19937_64 rng(seed);
  std::uniform_real_distribution<double> u(0.0, 1.1 * length_s);
  std::vector<double> t;
  for (int k = 0; k < kKills; ++k) t.push_back(u(rng));
  std::sort(t.begin(), t.end());
  return t;
}

// A CSV as complete as `reference`: as many lines, each with as many fields (commas), and a
// final newline. For files whose numbers differ between runs (wall times): a cut file has fewer
// lines or a torn last one.
bool same_csv_shape(const std::string& bytes, const std::string& reference) {
  if (bytes.empty() || bytes.back() != '\n') return false;
  std::istringstream a(bytes), b(reference);
  std::string x, y;
  while (true) {
    const bool more_a = static_cast<bool>(std::getline(a, x)), more_b = static_cast<bool>(std::getline(b, y));
    if (more_a != more_b) return false;
    if (!more_a) return true;
    if (std::count(x.begin(), x.end(), ',') != std::count(y.begin(), y.end(), ',')) return false;
  }
}

// The command writes `files` (relative to its output folder). Each killed run starts from the
// old outputs (`old_args`' run); after the kill each file must be the old one or the new one:
// byte for byte, or for a CSV with wall times (`timed`) of the same shape as the new one.
void check_kills(const std::string& name, const Args& args, const Args& old_args, const std::vector<std::string>& files,
                 unsigned seed, const std::vector<std::string>& timed = {},
                 const std::function<bool(const std::string&, const std::string&)>& whole = {}) {
  const fs::path ref = dir() / (name + "-new"), old = dir() / (name + "-old");
  fs::remove_all(ref);
  fs::remove_all(old);
  fs::create_directories(ref);
  fs::create_directories(old);
  const double length = run_whole(args, ref);
  run_whole(old_args, old);
  std::map<std::string, std::string> new_bytes, old_bytes;
  for (const auto& f : files) {
    ASSERT_TRUE(fs::exists(ref / f)) << f;
    ASSERT_TRUE(fs::exists(old / f)) << f;
    new_bytes[f] = slurp(ref / f);
    old_bytes[f] = slurp(old / f);
  }
  int saw_old = 0, saw_new = 0;
  for (const double at : kill_moments(length, seed)) {
    SCOPED_TRACE(name + " killed after " + std::to_string(at) + " s of a " + std::to_string(length) + " s run");
    const fs::path work = dir() / (name + "-killed");
    fs::remove_all(work);
    fs::copy(old, work, fs::copy_options::recursive);
    run_and_kill(args, work, at);
    EXPECT_EQ(temporaries(work), std::vector<fs::path>{});
    for (const auto& f : files) {
      SCOPED_TRACE(f);
      ASSERT_TRUE(fs::exists(work / f));  // the old one at least
      const std::string now = slurp(work / f);
      const bool is_timed = std::find(timed.begin(), timed.end(), f) != timed.end();
      if (now == old_bytes[f] && now != new_bytes[f]) {
        ++saw_old;
      } else if (now == new_bytes[f] || (is_timed && same_csv_shape(now, new_bytes[f])) || (whole && whole(f, now))) {
        ++saw_new;
      } else {
        ADD_FAILURE() << "neither the old file nor a complete new one (" << now.size() << " bytes)";
      }
    }
  }
  // The draw covers the run: the kills must have caught some files before and some after.
  // (Both counts are deterministic in what they test, not in timing: a slow machine shifts the
  // moments with the run, since they are drawn over its measured length.)
  EXPECT_GT(saw_old + saw_new, 0);
  std::cout << name << ": " << kKills << " kills over a " << length << " s run: " << saw_old << " files old, " << saw_new
            << " new\n";
}

TEST(CrashSafeOutputs, SimulateKilledAtRandomMoments) {
  auto args = [](int requests) {
    return [requests](const fs::path& out) -> std::vector<std::string> {
      return {"simulate", "-m", "squeezenet1_1", "--zoo-dir", zoo(), "-p", "agx-orin-64gb-maxn", "--policy",
              "greedy-eft", "-n", std::to_string(requests), "--csv", (out / "t.csv").string(), "--trace",
              (out / "t.json").string(), "--summary", (out / "s.csv").string()};
    };
  };
  check_kills("simulate", args(400), args(20), {"t.csv", "t.power.csv", "t.state.csv", "t.json", "s.csv"}, 11,
              {"s.csv"});  // the summary holds sim_wall_s
}

TEST(CrashSafeOutputs, RunKilledAtRandomMoments) {
  auto args = [](int iterations) {
    return [iterations](const fs::path& out) -> std::vector<std::string> {
      return {"run", "-m", "squeezenet1_1", "--zoo-dir", zoo(), "-n", std::to_string(iterations), "--csv",
              (out / "r.csv").string(), "--trace", (out / "r.json").string()};
    };
  };
  // Timings differ between runs. The records CSV has as many rows as the reference (timed);
  // the sample CSVs' row counts follow wall time, so each must be a header and whole rows of
  // its width; the Chrome trace must be complete JSON.
  const auto whole = [](const std::string& f, const std::string& bytes) {
    if (f == "r.json") return nlohmann::json::accept(bytes);
    if (bytes.empty() || bytes.back() != '\n') return false;
    std::istringstream in(bytes);
    std::string line;
    long width = -1, rows = 0;
    while (std::getline(in, line)) {
      if (line.empty() || line[0] == '#') continue;
      const long commas = std::count(line.begin(), line.end(), ',');
      if (width < 0) width = commas;
      else if (commas != width) return false;
      else ++rows;
    }
    return width > 0 && rows > 0;
  };
  check_kills("run", args(30), args(2), {"r.csv", "r.power.csv", "r.state.csv", "r.json"}, 12, {"r.csv"}, whole);
}

const char* kThresholdsConfig = "models: [squeezenet1_1]\nsparsity: [0, 0.5]\nplatforms: [orin-nano-8gb-15w]\n"
                                "states: [idle]\nepochs: 4\n";

TEST(CrashSafeOutputs, TrainThresholdsKilledAtRandomMoments) {
  const fs::path config = dir() / "thresholds.yaml";
  std::ofstream(config) << kThresholdsConfig;
  const fs::path old_config = dir() / "thresholds-old.yaml";
  std::ofstream(old_config) << "models: [squeezenet1_1]\nsparsity: [0]\nplatforms: [orin-nano-8gb-15w]\n"
                               "states: [idle]\nepochs: 1\n";
  auto args = [&](const fs::path& cfg) {
    return [cfg](const fs::path& out) -> std::vector<std::string> {
      return {"train", "thresholds", "--config", cfg.string(), "--zoo-dir", zoo(), "-j", "1",
              "-o", (out / "p.bin").string(), "--labels", (out / "p.labels").string(), "--curve",
              (out / "p.curve.csv").string()};
    };
  };
  check_kills("thresholds", args(config), args(old_config), {"p.bin", "p.labels", "p.curve.csv"}, 13,
              {"p.curve.csv"});  // the curve holds wall_s
}

TEST(CrashSafeOutputs, TrainRlKilledAtRandomMoments) {
  auto config = [](int steps) {
    const fs::path f = dir() / ("rl-" + std::to_string(steps) + ".yaml");
    std::ofstream(f) << "seed: 3\nworkers: 1\nepisodes_per_job: 1\nwarmup_steps: 100\nupdates_per_step: 0.1\n"
                        "state_variants: 1\nsac: {hidden: 8, batch: 16}\nstages:\n  - name: idle\n    steps: "
                     << steps << "\n    models: [squeezenet1_1]\n    platforms: [orin-nano-8gb-15w]\n    states: [idle]\n";
    return f;
  };
  auto args = [&](const fs::path& cfg) {
    return [cfg](const fs::path& out) -> std::vector<std::string> {
      return {"train", "rl", "--config", cfg.string(), "--zoo-dir", zoo(), "-q", "-o", (out / "agent.bin").string(),
              "--curve", (out / "curve.csv").string()};
    };
  };
  check_kills("rl", args(config(600)), args(config(200)), {"agent.bin", "curve.csv"}, 14, {"curve.csv"});
}

TEST(CrashSafeOutputs, SweepKilledAtRandomMomentsResumesToTheSameResults) {
  const fs::path exp = dir() / "sweep.yaml";
  std::ofstream(exp) << "schema_version: 1\nname: kill\ncommand: simulate\nmatrix:\n  model: [squeezenet1_1]\n"
                        "  platform: [agx-orin-64gb-maxn, orin-nano-8gb-15w]\n  policy: [cpu-only, gpu-only, greedy-eft]\n"
                        "fixed:\n  requests: 20\n";
  auto args = [&](const fs::path& out) -> std::vector<std::string> {
    return {"sweep", exp.string(), "-j", "2", "--out", out.string()};
  };
  const fs::path ref = dir() / "sweep-new";
  fs::remove_all(ref);
  const double length = run_whole(args, ref);
  auto cells = [](const fs::path& results) {
    // cell id and outputs; provenance (times, host) and wall_s differ between runs
    std::vector<std::string> rows;
    std::istringstream in(slurp(results));
    for (std::string line; std::getline(in, line);) {
      std::istringstream f(line);
      std::string cell, row, rows_n, status;
      std::getline(f, cell, ','), std::getline(f, row, ','), std::getline(f, rows_n, ','), std::getline(f, status, ',');
      rows.push_back(cell + "," + row + "," + rows_n + "," + status);
    }
    std::sort(rows.begin(), rows.end());
    return rows;
  };
  for (const double at : kill_moments(length, 15)) {
    SCOPED_TRACE("sweep killed after " + std::to_string(at) + " s");
    const fs::path work = dir() / "sweep-killed";
    fs::remove_all(work);
    run_and_kill(args, work, at);
    if (fs::exists(work)) EXPECT_EQ(temporaries(work), std::vector<fs::path>{});
    const Result resumed = run_sparoa(args(work), "crash_safe_output_test");
    EXPECT_EQ(resumed.code, 0) << resumed.err;
    EXPECT_EQ(cells(work / "results.csv"), cells(ref / "results.csv"));
  }
}

}  // namespace
}  // namespace sparoa::test::cli

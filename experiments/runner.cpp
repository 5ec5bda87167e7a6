#include "experiments/runner.hpp"

#include <fcntl.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fmt/format.h>

#include <chrono>
#include <csignal>
#include <fstream>
#include <iostream>
#include <map>
#include <optional>
#include <set>
#include <thread>

#include "experiments/invocation.hpp"
#include "experiments/results.hpp"
#include "support/atomic_file.hpp"
#include "support/date.hpp"
#include "support/error.hpp"

namespace sparoa::experiments {
namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

namespace {

volatile std::sig_atomic_t g_stop = 0;
void on_stop_signal(int) { g_stop = 1; }

std::string host_name() {
  char buf[256] = {};
  if (::gethostname(buf, sizeof buf - 1) != 0) return "unknown";
  return buf;
}

std::string clock_text(double s) {
  if (s < 0) return "--:--";
  const long t = long(s + 0.5);
  return t >= 3600 ? fmt::format("{}:{:02}:{:02}", t / 3600, t / 60 % 60, t % 60) : fmt::format("{:02}:{:02}", t / 60, t % 60);
}

// Why a cell failed, in one line: the command's own error line when it printed one.
std::string failure_text(const fs::path& log, const std::string& status) {
  std::ifstream in(log);
  std::string line, last, error;
  while (std::getline(in, line)) {
    const auto start = line.find_last_of('\r');
    if (start != std::string::npos) line = line.substr(start + 1);
    if (line.find_first_not_of(" \t") == std::string::npos || line.rfind("Run with --help", 0) == 0) continue;
    last = line;
    if (line.find("error:") != std::string::npos) error = line;
  }
  std::string text = !error.empty() ? error : last;
  if (text.size() > 400) text = text.substr(0, 400) + "...";
  return text.empty() ? status : text + " (" + status + ")";
}

struct Running {
  Cell cell;
  Invocation inv;
  pid_t pid = -1;
  Clock::time_point start;
  bool timed_out = false;
};

pid_t spawn(const fs::path& program, bool self, const Invocation& inv) {
  std::vector<std::string> args;
  args.push_back(program.string());
  args.insert(args.end(), inv.args.begin(), inv.args.end());
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  const std::string log = inv.log.string();
  const char* exe = self ? "/proc/self/exe" : argv[0];
  const pid_t parent = ::getpid();
  const pid_t pid = ::fork();
  if (pid < 0) throw Error("sweep", "cannot fork a cell's process");
  if (pid == 0) {
    // Only async-signal-safe calls from here to exec.
    ::setpgid(0, 0);                      // its own group: interrupting it stops its children too
    ::prctl(PR_SET_PDEATHSIG, SIGKILL);   // a killed sweep leaves no cell running
    if (::getppid() != parent) ::_exit(127);
    const int fd = ::open(log.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    const int null_fd = ::open("/dev/null", O_RDONLY);
    if (fd >= 0) {
      ::dup2(fd, 1);
      ::dup2(fd, 2);
      ::close(fd);
    }
    if (null_fd >= 0) {
      ::dup2(null_fd, 0);
      ::close(null_fd);
    }
    ::execv(exe, argv.data());
    static const char msg[] = "sparoa: error: sweep: cannot execute the sparoa binary\n";
    [[maybe_unused]] auto n = ::write(2, msg, sizeof msg - 1);
    ::_exit(127);
  }
  ::setpgid(pid, pid);  // also here: a kill(-pid) right after fork must reach the child
  return pid;
}

// The cell's rows for the results file: its output rows, or one failed row.
std::string result_block(const Experiment& e, const CommandSpec& spec, const Running& r, int wait_status, double wall_s,
                         const BuildProvenance& build, const std::string& host, bool& ok) {
  std::string status_text;
  if (r.timed_out) {
    status_text = "timed out";
  } else if (WIFEXITED(wait_status)) {
    status_text = "exit " + std::to_string(WEXITSTATUS(wait_status));
  } else if (WIFSIGNALED(wait_status)) {
    status_text = "killed by signal " + std::to_string(WTERMSIG(wait_status));
  }
  std::vector<std::vector<std::string>> outputs;
  std::string error;
  if (!r.timed_out && WIFEXITED(wait_status) && WEXITSTATUS(wait_status) == 0) {
    std::ifstream in(r.inv.output);
    std::string line;
    if (!in || !std::getline(in, line)) {
      error = "the command wrote no output CSV " + r.inv.output.string();
    } else {
      try {
        if (split_csv_line(line, r.inv.output.string()) != spec.columns) {
          error = "the command's output columns differ from those " + spec.name + " is expected to write: " + line;
        }
        while (error.empty() && std::getline(in, line)) {
          if (line.empty()) continue;
          auto f = split_csv_line(line, r.inv.output.string());
          if (f.size() != spec.columns.size()) {
            error = "a row of " + r.inv.output.string() + " has " + std::to_string(f.size()) + " fields";
          }
          outputs.push_back(std::move(f));
        }
      } catch (const Error& ex) {
        error = ex.what();
      }
      if (error.empty() && outputs.empty()) error = "the command's output CSV has no rows";
    }
  } else {
    error = failure_text(r.inv.log, r.timed_out ? fmt::format("timed out after {:.0f} s", wall_s) : status_text);
  }
  ok = error.empty();
  if (!ok) outputs.assign(1, std::vector<std::string>(spec.columns.size()));
  const auto kept = kept_output_columns(e);
  std::vector<std::size_t> index;
  for (const auto& k : kept) {
    for (std::size_t i = 0; i < spec.columns.size(); ++i) {
      if (spec.columns[i] == k) index.push_back(i);
    }
  }
  const std::string finished = utc_timestamp_now();
  std::string block;
  for (std::size_t row = 0; row < outputs.size(); ++row) {
    std::vector<std::string> f = {r.cell.id, std::to_string(row), std::to_string(outputs.size()), ok ? "ok" : "failed",
                                  error, fmt::format("{:.3f}", wall_s)};
    for (const auto& kv : r.cell.settings) f.push_back(kv.second);
    for (std::size_t i : index) f.push_back(outputs[row][i]);
    for (const auto& v : {e.sha256.substr(0, 16), cell_seed(r.cell, spec), r.inv.inputs_sha256, r.inv.platform_sha256, build.git_revision,
                          build.simgrid_version, build.sparoa_version, host, finished}) {
      f.push_back(v);
    }
    block += csv_line(f);
  }
  return block;
}

class Progress {
 public:
  Progress(std::string name, std::size_t total, std::size_t before, bool enabled)
      : name_(std::move(name)), total_(total), before_(before), enabled_(enabled), tty_(::isatty(2)) {}

  void update(std::size_t finished, std::size_t failed, std::size_t running, bool final = false) {
    if (!enabled_) return;
    const auto now = Clock::now();
    const double since_print = std::chrono::duration<double>(now - printed_).count();
    if (!final && since_print < (tty_ ? 0.25 : 10.0)) return;
    printed_ = now;
    const double elapsed = std::chrono::duration<double>(now - start_).count();
    const std::size_t done = before_ + finished;
    const std::size_t left = total_ - done;
    const double eta = finished > 0 ? elapsed / double(finished) * double(left) : -1;
    const int width = 24;
    const int filled = total_ ? int(double(done) / double(total_) * width) : width;
    const std::string line =
        fmt::format("sweep {} [{}{}] {}/{} cells, {} failed, {} running, {} elapsed, ETA {}", name_,
                    std::string(std::size_t(filled), '#'), std::string(std::size_t(width - filled), '.'), done, total_,
                    failed, running, clock_text(elapsed), left == 0 ? "00:00" : clock_text(eta));
    std::cerr << (tty_ ? "\r" + line + "\033[K" : line + "\n");
    if (final && tty_) std::cerr << '\n';
    std::cerr.flush();
  }

 private:
  std::string name_;
  std::size_t total_, before_;
  bool enabled_, tty_;
  Clock::time_point start_ = Clock::now();
  Clock::time_point printed_{};
};

}  // namespace

fs::path shard_file(const fs::path& out, const Shard& s) {
  std::string stem = s.cells_file.stem().string();  // cells-N
  if (stem.rfind("cells-", 0) == 0) stem = stem.substr(6);
  return out / "shards" / fmt::format("shard-{}-{}.csv", stem, s.index);
}

std::vector<Cell> pending_cells(const Experiment& e, const fs::path& out, bool retry_failed) {
  const auto recorded = recorded_cells(out, results_header(e), false);
  std::vector<Cell> pending;
  for (auto& c : expand_cells(e)) {
    const auto it = recorded.find(c.id);
    if (it == recorded.end() || (retry_failed && !it->second.ok)) pending.push_back(std::move(c));
  }
  return pending;
}

SweepSummary run_sweep(const Experiment& e, const SweepOptions& o) {
  const auto t0 = Clock::now();
  const CommandSpec& spec = command_spec(e.command, e.file.string());
  const auto header = results_header(e);
  fs::create_directories(o.out);
  // One local sweep per folder at a time (array tasks run side by side: each has its own file).
  std::optional<FolderLock> lock;
  if (!o.shard) lock.emplace(o.out);
  // A sweep's folder holds one experiment's results: refuse another's before touching anything.
  const auto recorded = recorded_cells(o.out, header, !o.shard);
  if (!o.shard) {
    write_file_atomically(o.out / "experiment.yaml", e.text);
    write_file_atomically(o.out / "experiment.path", fs::absolute(e.file).lexically_normal().string() + "\n");
  }

  std::vector<Cell> all = expand_cells(e);
  std::vector<Cell> mine;
  fs::path target = o.out / "results.csv";
  if (o.shard) {
    std::map<std::string, const Cell*> by_id;
    for (const auto& c : all) by_id[c.id] = &c;
    std::ifstream in(o.shard->cells_file);
    if (!in) throw Error(o.shard->cells_file.string(), "cannot read the shard's cell list");
    std::string id;
    for (std::size_t j = 0; std::getline(in, id); ++j) {
      if (id.empty() || int(j % std::size_t(o.shard->count)) != o.shard->index) continue;
      const auto it = by_id.find(id);
      if (it == by_id.end()) throw Error(o.shard->cells_file.string(), "cell " + id + " is not in " + e.file.string());
      mine.push_back(*it->second);
    }
    target = shard_file(o.out, *o.shard);
  } else {
    mine = all;
  }
  SweepSummary sum;
  sum.cells = mine.size();
  std::vector<Cell> pending;
  for (auto& c : mine) {
    const auto it = recorded.find(c.id);
    if (it == recorded.end() || (o.retry_failed && !it->second.ok)) {
      pending.push_back(std::move(c));
    } else {
      ++sum.recorded;
    }
  }

  g_stop = 0;
  struct sigaction sa {}, old_int {}, old_term {};
  sa.sa_handler = on_stop_signal;
  sigemptyset(&sa.sa_mask);
  ::sigaction(SIGINT, &sa, &old_int);
  ::sigaction(SIGTERM, &sa, &old_term);

  const std::string host = host_name();
  Progress progress(e.name, sum.cells, sum.recorded, o.progress);
  std::vector<Running> running;
  std::size_t next = 0;
  const int jobs = std::max(1, o.jobs);
  try {
    while ((next < pending.size() || !running.empty()) && !g_stop) {
      while (next < pending.size() && int(running.size()) < jobs && !g_stop) {
        Running r;
        r.cell = pending[next++];
        const fs::path dir = o.out / "cells" / r.cell.id;
        try {
          r.inv = build_invocation(e, r.cell, dir);
        } catch (const Error& ex) {
          // A cell that cannot even be built (a missing file) is a failed cell, not a failed sweep.
          r.inv.log = dir / "log.txt";
          fs::create_directories(dir);
          write_file_atomically(r.inv.log, std::string("sparoa: error: ") + ex.what() + "\n");
          bool ok = false;
          append_block(target, header, result_block(e, spec, r, 1 << 8, 0, o.build, host, ok));
          ++sum.ran;
          ++sum.failed;
          continue;
        }
        r.start = Clock::now();
        r.pid = spawn(o.program, o.program_is_self, r.inv);
        running.push_back(std::move(r));
      }
      int status = 0;
      const pid_t pid = ::waitpid(-1, &status, WNOHANG);
      if (pid <= 0) {
        const auto now = Clock::now();
        for (auto& r : running) {
          if (o.cell_timeout_s > 0 && !r.timed_out &&
              std::chrono::duration<double>(now - r.start).count() > o.cell_timeout_s) {
            r.timed_out = true;
            ::kill(-r.pid, SIGKILL);
          }
        }
        progress.update(sum.ran, sum.failed, running.size());
        std::this_thread::sleep_for(std::chrono::milliseconds(5));
        continue;
      }
      for (std::size_t i = 0; i < running.size(); ++i) {
        if (running[i].pid != pid) continue;
        Running r = std::move(running[i]);
        running.erase(running.begin() + std::ptrdiff_t(i));
        ::kill(-r.pid, SIGKILL);  // whatever the cell left behind in its group
        const double wall = std::chrono::duration<double>(Clock::now() - r.start).count();
        bool ok = false;
        append_block(target, header, result_block(e, spec, r, status, wall, o.build, host, ok));
        ++sum.ran;
        (ok ? sum.ok : sum.failed) += 1;
        progress.update(sum.ran, sum.failed, running.size());
        break;
      }
    }
  } catch (...) {
    for (auto& r : running) ::kill(-r.pid, SIGKILL);
    for (auto& r : running) ::waitpid(r.pid, nullptr, 0);
    ::sigaction(SIGINT, &old_int, nullptr);
    ::sigaction(SIGTERM, &old_term, nullptr);
    throw;
  }
  if (g_stop) {
    sum.interrupted = true;
    for (auto& r : running) ::kill(-r.pid, SIGTERM);
    const auto deadline = Clock::now() + std::chrono::seconds(2);
    for (auto& r : running) {
      while (::waitpid(r.pid, nullptr, WNOHANG) == 0) {
        if (Clock::now() > deadline) {
          ::kill(-r.pid, SIGKILL);
          ::waitpid(r.pid, nullptr, 0);
          break;
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
      }
    }
  }
  ::sigaction(SIGINT, &old_int, nullptr);
  ::sigaction(SIGTERM, &old_term, nullptr);
  progress.update(sum.ran, sum.failed, 0, true);
  sum.wall_s = std::chrono::duration<double>(Clock::now() - t0).count();
  return sum;
}

}  // namespace sparoa::experiments

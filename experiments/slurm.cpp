#include "experiments/slurm.hpp"

#include <fcntl.h>
#include <poll.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fmt/format.h>

#include <algorithm>
#include <fstream>
#include <set>
#include <sstream>

#include "experiments/results.hpp"
#include "experiments/runner.hpp"
#include "support/atomic_file.hpp"
#include "support/error.hpp"

namespace sparoa::experiments {
namespace fs = std::filesystem;

namespace {

std::string shell_quote(const std::string& s) {
  std::string q = "'";
  for (char c : s) q += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return q + "'";
}

// Runs argv; returns its exit status, what it wrote on stdout and on stderr (apart: sbatch
// may print notes on stderr before the job id on stdout).
int run_capture(const std::vector<std::string>& args, std::string& out, std::string& err) {
  int o[2], e[2];
  if (::pipe2(o, O_CLOEXEC) != 0) throw Error(args.front(), "cannot create a pipe");
  if (::pipe2(e, O_CLOEXEC) != 0) {
    ::close(o[0]);
    ::close(o[1]);
    throw Error(args.front(), "cannot create a pipe");
  }
  std::vector<std::string> copy = args;
  std::vector<char*> argv;
  for (auto& a : copy) argv.push_back(a.data());
  argv.push_back(nullptr);
  const pid_t pid = ::fork();
  if (pid < 0) throw Error(args.front(), "cannot fork");
  if (pid == 0) {
    ::dup2(o[1], 1);
    ::dup2(e[1], 2);
    ::execvp(argv[0], argv.data());
    ::_exit(127);
  }
  ::close(o[1]);
  ::close(e[1]);
  pollfd fds[2] = {{o[0], POLLIN, 0}, {e[0], POLLIN, 0}};
  std::string* sinks[2] = {&out, &err};
  int open_fds = 2;
  while (open_fds > 0) {
    if (::poll(fds, 2, -1) < 0) {
      if (errno == EINTR) continue;
      break;
    }
    for (int i = 0; i < 2; ++i) {
      if (fds[i].fd < 0 || !(fds[i].revents & (POLLIN | POLLHUP | POLLERR))) continue;
      char buf[4096];
      const ssize_t n = ::read(fds[i].fd, buf, sizeof buf);
      if (n > 0) {
        sinks[i]->append(buf, std::size_t(n));
      } else if (n == 0 || errno != EINTR) {
        ::close(fds[i].fd);
        fds[i].fd = -1;
        --open_fds;
      }
    }
  }
  for (auto& f : fds) {
    if (f.fd >= 0) ::close(f.fd);
  }
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  if (WIFEXITED(status) && WEXITSTATUS(status) == 127 && out.empty() && err.empty()) {
    throw Error(args.front(), "not found: is Slurm's client installed and on PATH?");
  }
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

// A value that goes into the script: one line, and no shell or sbatch specials where noted.
std::string script_safe(const std::string& v, const std::string& what, bool no_space) {
  if (v.find_first_of("\n\r") != std::string::npos || (no_space && v.find_first_of(" \t'\"$`\\") != std::string::npos)) {
    throw Error(what + " '" + v + "'", no_space ? "must be one word" : "must be one line");
  }
  return v;
}

// An #SBATCH --output path: sbatch expands %-patterns, so a literal % is written %%.
std::string sbatch_path(const std::string& p) {
  std::string out;
  for (char c : script_safe(p, "the sweep folder", false)) out += c == '%' ? std::string("%%") : std::string(1, c);
  return out;
}

std::string last_line(const std::string& text) {
  std::istringstream in(text);
  std::string line, last;
  while (std::getline(in, line)) {
    if (!line.empty()) last = line;
  }
  return last;
}

}  // namespace

Experiment sweep_experiment(const fs::path& dir) {
  const fs::path copy = dir / "experiment.yaml";
  if (!fs::exists(copy)) throw Error(dir.string(), "not a sweep folder (no experiment.yaml)");
  std::ifstream in(dir / "experiment.path");
  std::string original;
  std::getline(in, original);
  std::ifstream text_in(copy, std::ios::binary);
  std::ostringstream ss;
  ss << text_in.rdbuf();
  // Parsed as if from the original file: its relative paths, its name in messages.
  return parse_experiment(ss.str(), original.empty() ? copy : fs::path(original));
}

// Job ids of earlier submissions that squeue still lists (pending or running).
std::vector<std::string> live_jobs(const fs::path& slurm_dir, const std::string& squeue) {
  std::vector<std::string> live;
  std::error_code ec;
  if (!fs::is_directory(slurm_dir, ec)) return live;
  for (const auto& entry : fs::directory_iterator(slurm_dir)) {
    if (entry.path().extension() != ".jobid") continue;
    std::ifstream in(entry.path());
    std::string id;
    std::getline(in, id);
    if (id.empty()) continue;
    std::string out, err;
    // A job squeue no longer knows is over (it exits non-zero with "Invalid job id").
    if (run_capture({squeue, "-h", "-j", id, "-o", "%i"}, out, err) == 0 && !last_line(out).empty()) live.push_back(id);
  }
  return live;
}

SlurmSubmission submit_sweep(const Experiment& e, const SlurmOptions& o) {
  // The script's values first: a bad one is refused before anything is written.
  if (!o.partition.empty()) script_safe(o.partition, "--partition", true);
  if (!o.time_limit.empty()) script_safe(o.time_limit, "--time", true);
  for (const auto& opt : o.sbatch_options) {
    if (opt.rfind("--", 0) != 0) throw Error("--sbatch-option " + opt, "expected one sbatch option such as --mem=4G");
    script_safe(opt, "--sbatch-option", false);
  }
  FolderLock lock(o.out);
  // First: a folder holding another experiment's results is refused before anything is written.
  const auto pending = pending_cells(e, o.out, o.retry_failed);
  SlurmSubmission s;
  s.cells = pending.size();
  if (pending.empty()) return s;
  // A submission while an earlier one still runs would run its cells twice.
  if (const auto live = live_jobs(o.out / "slurm", o.squeue); !live.empty()) {
    throw Error(o.out.string(), "job " + live.front() + " of an earlier submission is still queued or running (squeue); "
                                "wait for it or scancel it, then submit again");
  }
  fs::create_directories(o.out / "slurm");
  fs::create_directories(o.out / "shards");
  write_file_atomically(o.out / "experiment.yaml", e.text);
  write_file_atomically(o.out / "experiment.path", fs::absolute(e.file).lexically_normal().string() + "\n");
  const int max_tasks = 1000;
  s.tasks = int(std::min<std::size_t>(pending.size(), std::size_t(o.array_size > 0 ? o.array_size : max_tasks)));
  // Each submission has its own cell list and its own frozen copy of the experiment: editing
  // the file while the array waits in the queue changes nothing of it.
  int n = 0;
  while (fs::exists(o.out / "slurm" / fmt::format("cells-{}.txt", n))) ++n;
  const fs::path out = fs::absolute(o.out).lexically_normal();
  const fs::path cells_file = out / "slurm" / fmt::format("cells-{}.txt", n);
  const fs::path frozen = out / "slurm" / fmt::format("experiment-{}.yaml", n);
  std::string ids;
  for (const auto& c : pending) ids += c.id + "\n";
  write_file_atomically(frozen, e.text);
  write_file_atomically(cells_file, ids);
  std::string script = "#!/bin/bash\n";
  script += fmt::format("#SBATCH --job-name={}\n", "sparoa-" + e.name);
  script += fmt::format("#SBATCH --array=0-{}\n", s.tasks - 1);
  script += fmt::format("#SBATCH --output={}\n", sbatch_path((out / "slurm" / fmt::format("submission-{}-task-", n)).string()) + "%a.log");
  script += fmt::format("#SBATCH --ntasks=1\n#SBATCH --cpus-per-task={}\n", std::max(1, o.cpus_per_task));
  if (!o.partition.empty()) script += "#SBATCH --partition=" + o.partition + "\n";
  if (!o.time_limit.empty()) script += "#SBATCH --time=" + o.time_limit + "\n";
  for (const auto& opt : o.sbatch_options) script += "#SBATCH " + opt + "\n";
  script += fmt::format("# {} cells of {}, submission {}: task I runs the cells at lines I, I+{}, ... of {}\n",
                        pending.size(), e.name, n, s.tasks, cells_file.filename().string());
  script += fmt::format("exec {} sweep {} --base-dir {} --out {} --shard \"$SLURM_ARRAY_TASK_ID/{}\" --cells {} --jobs 1 "
                        "--no-progress{}{}\n",
                        shell_quote(fs::absolute(o.program).string()), shell_quote(frozen.string()),
                        shell_quote(fs::absolute(e.dir).lexically_normal().string()), shell_quote(out.string()), s.tasks,
                        shell_quote(cells_file.string()),
                        o.cell_timeout_s > 0 ? fmt::format(" --cell-timeout {}", o.cell_timeout_s) : "",
                        o.retry_failed ? " --retry-failed" : "");
  s.script = out / "slurm" / fmt::format("submission-{}.sbatch", n);
  write_file_atomically(s.script, script);
  std::vector<std::string> args = {o.sbatch, "--parsable"};
  if (o.wait) args.push_back("--wait");
  args.push_back(s.script.string());
  std::string stdout_text, stderr_text;
  s.sbatch_status = run_capture(args, stdout_text, stderr_text);
  // --parsable prints "jobid[;cluster]" on stdout; notes from plugins go to stderr.
  std::istringstream in(stdout_text);
  std::string line;
  while (std::getline(in, line)) {
    const std::string id = line.substr(0, line.find(';'));
    if (!id.empty() && id.find_first_not_of("0123456789") == std::string::npos) {
      s.job_id = id;
      break;
    }
  }
  if (s.job_id.empty()) {
    const std::string why = !last_line(stderr_text).empty() ? last_line(stderr_text) : last_line(stdout_text);
    throw Error("sbatch", "refused the job array: " + (why.empty() ? "no output" : why) + " (script: " + s.script.string() + ")");
  }
  write_file_atomically(out / "slurm" / fmt::format("submission-{}.jobid", n), s.job_id + "\n");
  return s;
}

Collection collect_sweep(const fs::path& dir) {
  const Experiment e = sweep_experiment(dir);
  FolderLock lock(dir);
  const auto header = results_header(e);
  Collection col;
  std::error_code ec;
  if (fs::is_directory(dir / "shards", ec)) {
    for (const auto& entry : fs::directory_iterator(dir / "shards")) col.shard_files += entry.path().extension() == ".csv";
  }
  for (const auto& f : {dir / "results.csv"}) col.dropped_rows += read_results(f, header).dropped_rows;
  const auto recorded = recorded_cells(dir, header, false);
  std::vector<CellRows> merged;
  std::set<std::string> in_matrix;
  for (const auto& c : expand_cells(e)) {
    in_matrix.insert(c.id);
    ++col.cells;
    const auto it = recorded.find(c.id);
    if (it == recorded.end()) {
      col.missing.push_back(c);
      continue;
    }
    (it->second.ok ? col.ok : col.failed) += 1;
    merged.push_back(it->second);
  }
  // Cells of levels since removed from the file stay: collecting never loses a result.
  for (const auto& [id, rows] : recorded) {
    if (!in_matrix.count(id)) merged.push_back(rows);
  }
  write_results(dir / "results.csv", header, merged);
  return col;
}

}  // namespace sparoa::experiments

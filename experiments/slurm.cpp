#include "experiments/slurm.hpp"

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

// Runs argv, returns its exit status and everything it printed.
int run_capture(const std::vector<std::string>& args, std::string& output) {
  int fds[2];
  if (::pipe(fds) != 0) throw Error(args.front(), "cannot create a pipe");
  std::vector<std::string> copy = args;
  std::vector<char*> argv;
  for (auto& a : copy) argv.push_back(a.data());
  argv.push_back(nullptr);
  const pid_t pid = ::fork();
  if (pid < 0) throw Error(args.front(), "cannot fork");
  if (pid == 0) {
    ::dup2(fds[1], 1);
    ::dup2(fds[1], 2);
    ::close(fds[0]);
    ::close(fds[1]);
    ::execvp(argv[0], argv.data());
    ::_exit(127);
  }
  ::close(fds[1]);
  char buf[4096];
  ssize_t n;
  while ((n = ::read(fds[0], buf, sizeof buf)) > 0 || (n < 0 && errno == EINTR)) {
    if (n > 0) output.append(buf, std::size_t(n));
  }
  ::close(fds[0]);
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  if (WIFEXITED(status) && WEXITSTATUS(status) == 127 && output.empty()) {
    throw Error(args.front(), "not found: is Slurm's client installed and on PATH?");
  }
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
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

SlurmSubmission submit_sweep(const Experiment& e, const SlurmOptions& o) {
  // First: a folder holding another experiment's results is refused before anything is written.
  const auto pending = pending_cells(e, o.out, o.retry_failed);
  fs::create_directories(o.out / "slurm");
  fs::create_directories(o.out / "shards");
  write_file_atomically(o.out / "experiment.yaml", e.text);
  write_file_atomically(o.out / "experiment.path", fs::absolute(e.file).lexically_normal().string() + "\n");
  SlurmSubmission s;
  s.cells = pending.size();
  if (pending.empty()) return s;
  const int max_tasks = 1000;
  s.tasks = int(std::min<std::size_t>(pending.size(), std::size_t(o.array_size > 0 ? o.array_size : max_tasks)));
  // Each submission has its own cell list: a re-submission splits only what is missing.
  int n = 0;
  while (fs::exists(o.out / "slurm" / fmt::format("cells-{}.txt", n))) ++n;
  const fs::path cells_file = fs::absolute(o.out / "slurm" / fmt::format("cells-{}.txt", n));
  std::string ids;
  for (const auto& c : pending) ids += c.id + "\n";
  write_file_atomically(cells_file, ids);
  const fs::path out = fs::absolute(o.out).lexically_normal();
  std::string script = "#!/bin/bash\n";
  script += fmt::format("#SBATCH --job-name={}\n", "sparoa-" + e.name);
  script += fmt::format("#SBATCH --array=0-{}\n", s.tasks - 1);
  script += fmt::format("#SBATCH --output={}\n", (out / "slurm" / fmt::format("submission-{}-task-%a.log", n)).string());
  script += fmt::format("#SBATCH --ntasks=1\n#SBATCH --cpus-per-task={}\n", std::max(1, o.cpus_per_task));
  for (const auto& opt : o.sbatch_options) {
    if (opt.rfind("--", 0) != 0 || opt.find('\n') != std::string::npos) {
      throw Error("--sbatch-option " + opt, "expected one sbatch option such as --mem=4G");
    }
    script += "#SBATCH " + opt + "\n";
  }
  if (!o.partition.empty()) script += "#SBATCH --partition=" + o.partition + "\n";
  if (!o.time_limit.empty()) script += "#SBATCH --time=" + o.time_limit + "\n";
  script += fmt::format("# {} cells of {} ({}), submission {}: task I runs the cells at lines I, I+{}, ... of {}\n",
                        pending.size(), e.name, fs::absolute(e.file).lexically_normal().string(), n, s.tasks,
                        cells_file.string());
  script += fmt::format("exec {} sweep {} --out {} --shard \"$SLURM_ARRAY_TASK_ID/{}\" --cells {} --jobs 1 --no-progress{}{}\n",
                        shell_quote(fs::absolute(o.program).string()),
                        shell_quote(fs::absolute(e.file).lexically_normal().string()), shell_quote(out.string()),
                        s.tasks, shell_quote(cells_file.string()),
                        o.cell_timeout_s > 0 ? fmt::format(" --cell-timeout {}", o.cell_timeout_s) : "",
                        o.retry_failed ? " --retry-failed" : "");
  s.script = out / "slurm" / fmt::format("submission-{}.sbatch", n);
  write_file_atomically(s.script, script);
  std::vector<std::string> args = {o.sbatch, "--parsable"};
  if (o.wait) args.push_back("--wait");
  args.push_back(s.script.string());
  std::string output;
  s.sbatch_status = run_capture(args, output);
  // --parsable prints "jobid[;cluster]" on its first line.
  std::istringstream in(output);
  std::string first;
  std::getline(in, first);
  const std::string id = first.substr(0, first.find(';'));
  if (id.empty() || id.find_first_not_of("0123456789") != std::string::npos) {
    throw Error("sbatch", "refused the job array: " + (last_line(output).empty() ? "no output" : last_line(output)) +
                              " (script: " + s.script.string() + ")");
  }
  s.job_id = id;
  return s;
}

Collection collect_sweep(const fs::path& dir) {
  const Experiment e = sweep_experiment(dir);
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

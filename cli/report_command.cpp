// sparoa report: plots and Markdown summaries of a sweep's results, and Gantt charts of
// traces. The drawing is Python with Debian's matplotlib (experiments/report/report.py); this
// command finds the script and the interpreter and passes their exit status on.
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <iostream>

#include "cli/commands.hpp"
#include "support/error.hpp"

namespace sparoa::cli {
namespace fs = std::filesystem;

namespace {

fs::path report_script() {
  if (const char* env = std::getenv("SPAROA_REPORT_SCRIPT")) return env;
  const fs::path p = fs::path(SPAROA_SOURCE_DIR) / "experiments" / "report" / "report.py";
  if (!fs::exists(p)) throw Error(p.string(), "the report script is missing (set SPAROA_REPORT_SCRIPT to its path)");
  return p;
}

// Debian's interpreter first: it is the one with python3-matplotlib, where a user's own
// python3 (pyenv, conda) earlier on PATH often has none.
std::string python() {
  if (const char* env = std::getenv("SPAROA_PYTHON")) return env;
  return fs::exists("/usr/bin/python3") ? "/usr/bin/python3" : "python3";
}

int run_python(std::vector<std::string> args) {
  args.insert(args.begin(), {python(), report_script().string()});
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  std::cout.flush();
  const pid_t pid = ::fork();
  if (pid < 0) throw Error("report", "cannot fork");
  if (pid == 0) {
    ::execvp(argv[0], argv.data());
    static const char msg[] = "sparoa: error: report: python3 not found (install python3 and python3-matplotlib)\n";
    [[maybe_unused]] auto n = ::write(2, msg, sizeof msg - 1);
    ::_exit(127);
  }
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

}  // namespace

void add_report_command(CLI::App& app) {
  struct Args {
    std::string dir, out, trace, png;
    double from_ms = 0, to_ms = 0;
  };
  auto args = std::make_shared<Args>();
  auto* cmd = app.add_subcommand("report", "Plots (PNG and SVG), tables and a Markdown summary of a sweep's results");
  cmd->add_option("dir", args->dir, "a sweep's results folder (sparoa sweep --out)");
  cmd->add_option("--out,-o", args->out, "where to write (default: DIR/report)");
  auto* gantt = cmd->add_subcommand("gantt", "Gantt chart of a trace CSV (sparoa simulate --csv or sparoa run --csv): "
                                             "one row per lane, one bar per operator, transfers and launches");
  gantt->add_option("trace", args->trace, "trace CSV")->required();
  gantt->add_option("--out,-o", args->png, "PNG to write (an SVG beside it)")->required();
  gantt->add_option("--from-ms", args->from_ms, "start of the window")->check(CLI::NonNegativeNumber);
  gantt->add_option("--to-ms", args->to_ms, "end of the window (default: the trace's end)")->check(CLI::NonNegativeNumber);
  cmd->require_subcommand(0, 1);
  gantt->callback([args] {
    std::vector<std::string> a = {"gantt", args->trace, "--out", args->png};
    if (args->from_ms > 0) a.insert(a.end(), {"--from-ms", std::to_string(args->from_ms)});
    if (args->to_ms > 0) a.insert(a.end(), {"--to-ms", std::to_string(args->to_ms)});
    if (const int rc = run_python(a); rc != 0) throw ExitWith{rc};
  });
  cmd->callback([args, cmd] {
    if (cmd->got_subcommand("gantt")) return;
    if (args->dir.empty()) throw Error("report", "give a sweep's results folder (or: sparoa report gantt TRACE.csv -o FILE)");
    std::vector<std::string> a = {"sweep", args->dir};
    if (!args->out.empty()) a.insert(a.end(), {"--out", args->out});
    if (const int rc = run_python(a); rc != 0) throw ExitWith{rc};
  });
}

}  // namespace sparoa::cli

// sparoa sweep: an experiment's matrix on a local process pool or as a Slurm job array, and
// `sweep collect`, which merges a Slurm sweep's shards.
#include <fmt/format.h>

#include <iostream>
#include <set>
#include <thread>

#include "cli/commands.hpp"
#include "experiments/results.hpp"
#include "experiments/runner.hpp"
#include "experiments/slurm.hpp"
#include "support/error.hpp"

namespace sparoa::cli {
namespace fs = std::filesystem;

namespace {

fs::path self_program() {
  std::error_code ec;
  const fs::path p = fs::read_symlink("/proc/self/exe", ec);
  if (ec) throw Error("sweep", "cannot find the sparoa binary (/proc/self/exe)");
  return p;
}

experiments::BuildProvenance build_provenance() {
  return {kGitRevision, SPAROA_HAVE_SIMGRID_BUILD ? SPAROA_SIMGRID_VERSION : "none", SPAROA_VERSION};
}

void print_missing(const std::vector<experiments::Cell>& missing) {
  const std::size_t shown = std::min<std::size_t>(missing.size(), 10);
  for (std::size_t i = 0; i < shown; ++i) {
    std::string settings;
    for (const auto& [k, v] : missing[i].settings) settings += fmt::format(" {}={}", k, v);
    std::cout << fmt::format("  missing {}:{}\n", missing[i].id, settings);
  }
  if (missing.size() > shown) std::cout << fmt::format("  ... and {} more\n", missing.size() - shown);
}

}  // namespace

void add_sweep_command(CLI::App& app) {
  struct Args {
    std::string file, out, shard, cells, partition, time_limit, collect_dir, base_dir;
    int jobs = 0, array_size = 0, cpus_per_task = 1;
    std::vector<std::string> sbatch_options;
    double cell_timeout_s = 0;
    bool slurm = false, wait = false, retry_failed = false, no_progress = false, list = false;
  };
  auto args = std::make_shared<Args>();
  auto* cmd = app.add_subcommand("sweep", "Run an experiment's matrix: every cell its own sparoa process, on a local "
                                          "pool or as a Slurm job array; results appended per cell, resumable");
  cmd->add_option("file", args->file, "experiment YAML (see experiments/README.md)");
  cmd->add_option("--out,-o", args->out, "results folder (default: out/<experiment name>)");
  cmd->add_option("--jobs,-j", args->jobs, "cells at once (default: one per CPU)")->check(CLI::NonNegativeNumber);
  cmd->add_flag("--retry-failed", args->retry_failed, "run cells recorded as failed again");
  cmd->add_option("--cell-timeout", args->cell_timeout_s, "seconds a cell may run before it is killed and recorded as failed")
      ->check(CLI::NonNegativeNumber);
  cmd->add_flag("--no-progress", args->no_progress, "no progress line");
  cmd->add_flag("--list", args->list, "print the cells (id, settings, recorded or not) and run nothing");
  auto* slurm = cmd->add_flag("--slurm", args->slurm, "submit the pending cells as a Slurm job array instead");
  cmd->add_option("--array-size", args->array_size, "array tasks (default: one per pending cell, at most 1000)")
      ->check(CLI::PositiveNumber)->needs(slurm);
  cmd->add_option("--partition", args->partition, "Slurm partition")->needs(slurm);
  cmd->add_option("--time", args->time_limit, "Slurm time limit per array task (sbatch --time)")->needs(slurm);
  cmd->add_option("--cpus-per-task", args->cpus_per_task, "CPUs of each array task (sbatch --cpus-per-task)")
      ->check(CLI::PositiveNumber)->needs(slurm)->capture_default_str();
  cmd->add_option("--sbatch-option", args->sbatch_options, "one more sbatch option for the script, e.g. --mem=4G; repeatable")
      ->needs(slurm);
  cmd->add_flag("--wait", args->wait, "wait until the array has finished, then collect")->needs(slurm);
  auto* shard = cmd->add_option("--shard", args->shard, "I/K: run as array task I of K (written by --slurm)")->group("");
  cmd->add_option("--cells", args->cells, "the cell list the shards split (written by --slurm)")->group("")->needs(shard);
  cmd->add_option("--base-dir", args->base_dir, "the folder the experiment's paths are relative to (written by --slurm)")
      ->group("");
  auto* collect = cmd->add_subcommand("collect", "Merge a Slurm sweep's shard files into DIR/results.csv and name the "
                                                 "cells still missing (re-submit to run them)");
  collect->add_option("dir", args->collect_dir, "the sweep's results folder")->required();
  cmd->require_subcommand(0, 1);

  collect->callback([args] {
    const auto c = experiments::collect_sweep(args->collect_dir);
    std::cout << fmt::format("{}: {} cells: {} ok, {} failed, {} missing ({} shard files merged into {})\n",
                             args->collect_dir, c.cells, c.ok, c.failed, c.missing.size(), c.shard_files,
                             (fs::path(args->collect_dir) / "results.csv").string());
    print_missing(c.missing);
    if (!c.missing.empty()) {
      std::cout << "once no array task of this folder is queued or running (squeue), the same submit command runs "
                   "them (sparoa sweep FILE --slurm --out "
                << args->collect_dir << ")\n";
    }
  });

  cmd->callback([args, cmd] {
    if (cmd->got_subcommand("collect")) return;
    if (args->file.empty()) throw Error("sweep", "give an experiment file (or: sparoa sweep collect DIR)");
    auto e = experiments::read_experiment(args->file);
    if (!args->base_dir.empty()) e.dir = args->base_dir;  // a submission's frozen copy: paths as in the original
    if (!SPAROA_HAVE_SIMGRID_BUILD && experiments::command_spec(e.command, args->file).needs_simulator) {
      throw Error(args->file + ": command", "'" + e.command + "' needs the simulator, and this sparoa is a build "
                                            "without SimGrid (a board build): run the sweep with a SimGrid build");
    }
    const fs::path out = args->out.empty() ? fs::path("out") / e.name : fs::path(args->out);
    if (args->list) {
      const auto pending = experiments::pending_cells(e, out, args->retry_failed);
      std::set<std::string> todo;
      for (const auto& c : pending) todo.insert(c.id);
      for (const auto& c : experiments::expand_cells(e)) {
        std::string settings;
        for (const auto& [k, v] : c.settings) settings += fmt::format(" {}={}", k, v);
        std::cout << fmt::format("{} {}{}\n", c.id, todo.count(c.id) ? "pending " : "recorded", settings);
      }
      return;
    }
    if (args->slurm) {
      experiments::SlurmOptions o;
      o.out = out;
      o.program = self_program();
      o.array_size = args->array_size;
      o.partition = args->partition;
      o.time_limit = args->time_limit;
      o.cpus_per_task = args->cpus_per_task;
      o.sbatch_options = args->sbatch_options;
      o.cell_timeout_s = args->cell_timeout_s;
      o.retry_failed = args->retry_failed;
      o.wait = args->wait;
      const auto s = experiments::submit_sweep(e, o);
      if (s.job_id.empty()) {
        std::cout << fmt::format("{}: every cell is recorded in {}; nothing to submit\n", e.name, out.string());
        return;
      }
      std::cout << fmt::format("submitted job {}: {} pending cells of {} as {} array tasks ({})\n", s.job_id, s.cells,
                               e.name, s.tasks, s.script.string());
      if (!args->wait) {
        std::cout << "when it has finished: sparoa sweep collect " << out.string() << '\n';
        return;
      }
      const auto c = experiments::collect_sweep(out);
      std::cout << fmt::format("{}: {} cells: {} ok, {} failed, {} missing\n", out.string(), c.cells, c.ok, c.failed,
                               c.missing.size());
      print_missing(c.missing);
      if (c.failed > 0 || !c.missing.empty()) throw ExitWith{3};
      return;
    }
    experiments::SweepOptions o;
    o.out = out;
    o.program = self_program();
    o.program_is_self = true;
    o.jobs = args->jobs > 0 ? args->jobs : int(std::max(1u, std::thread::hardware_concurrency()));
    o.retry_failed = args->retry_failed;
    o.progress = !args->no_progress;
    o.cell_timeout_s = args->cell_timeout_s;
    o.build = build_provenance();
    if (!args->shard.empty()) {
      experiments::Shard sh;
      if (std::sscanf(args->shard.c_str(), "%d/%d", &sh.index, &sh.count) != 2 || sh.count < 1 || sh.index < 0 ||
          sh.index >= sh.count) {
        throw Error("--shard " + args->shard, "expected I/K with 0 <= I < K");
      }
      if (args->cells.empty()) throw Error("--shard", "needs --cells FILE");
      sh.cells_file = args->cells;
      o.shard = sh;
    }
    const auto s = experiments::run_sweep(e, o);
    std::cout << fmt::format("{}: {} cells, {} recorded before, {} ran ({} ok, {} failed) in {:.1f} s; results in {}\n",
                             e.name, s.cells, s.recorded, s.ran, s.ok, s.failed, s.wall_s,
                             (o.shard ? experiments::shard_file(out, *o.shard) : out / "results.csv").string());
    if (s.interrupted) {
      std::cerr << "sparoa: sweep interrupted: finished cells are recorded; run the same command again to resume\n";
      throw ExitWith{130};
    }
    if (s.failed > 0) {
      std::cerr << fmt::format("sparoa: {} cells failed: their errors are in the results' error column\n", s.failed);
      throw ExitWith{3};
    }
  });
}

}  // namespace sparoa::cli

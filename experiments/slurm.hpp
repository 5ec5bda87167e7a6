#pragma once
// Sweeps on a Slurm cluster: the pending cells as one job array (each array task runs
// `sparoa sweep --shard I/K` on its share and appends to DIR/shards/shard-I.csv), and
// `collect`, which merges the shards into DIR/results.csv and names the cells still missing.
#include <filesystem>
#include <string>
#include <vector>

#include "experiments/experiment.hpp"

namespace sparoa::experiments {

struct SlurmOptions {
  std::filesystem::path out;
  std::filesystem::path program;  // the sparoa binary, as the compute nodes see it (a shared file system)
  int array_size = 0;             // array tasks; 0: one per pending cell, at most 1000
  std::string partition;          // "" : the cluster's default
  std::string time_limit;         // sbatch --time per task; "" : the partition's default
  int cpus_per_task = 1;          // a cell that runs its own workers (train-rl, compare jobs) wants more
  std::vector<std::string> sbatch_options;  // more "#SBATCH" lines: --account=A, --mem=4G, ...
  double cell_timeout_s = 0;
  bool retry_failed = false;
  bool wait = false;              // sbatch --wait: return when the array has finished
  std::string sbatch = "sbatch";
  std::string squeue = "squeue";  // asked whether an earlier submission's job still runs
};

struct SlurmSubmission {
  std::string job_id;  // empty when nothing was pending
  std::size_t cells = 0;
  int tasks = 0;
  std::filesystem::path script;
  int sbatch_status = 0;  // with wait: sbatch's exit status (non-zero when a task failed)
};

// Refuses (sparoa::Error) while a job of an earlier submission to the folder is still queued
// or running, and with sbatch's own message when sbatch refuses the job.
SlurmSubmission submit_sweep(const Experiment& e, const SlurmOptions& o);

struct Collection {
  std::size_t cells = 0, ok = 0, failed = 0;
  std::vector<Cell> missing;
  std::size_t shard_files = 0;
  std::size_t dropped_rows = 0;  // rows of cells cut short by a kill, left out
};

// Reads DIR/experiment.yaml, merges DIR/results.csv and DIR/shards/*.csv into DIR/results.csv
// (atomically; a cell once, a successful record preferred), and lists the missing cells.
Collection collect_sweep(const std::filesystem::path& dir);

// The experiment a sweep folder holds (DIR/experiment.yaml, its paths relative to the
// original file recorded in DIR/experiment.path).
Experiment sweep_experiment(const std::filesystem::path& dir);

}  // namespace sparoa::experiments

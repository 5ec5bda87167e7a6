#pragma once
// The local sweep runner: every pending cell of an experiment as its own sparoa process, N at
// once, each finished cell appended to the results as one block. Also what one Slurm array
// task runs (its shard of the cells pending when the array was submitted).
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "experiments/experiment.hpp"

namespace sparoa::experiments {

// Where the numbers come from, beyond the cell: written into every row.
struct BuildProvenance {
  std::string git_revision, simgrid_version, sparoa_version;
};

struct Shard {
  int index = 0, count = 1;
  std::filesystem::path cells_file;  // DIR/slurm/cells-N.txt: the ids the shards of submission N split
};

// DIR/shards/shard-N-I.csv: task I of submission N (from cells-N.txt), so that two submissions
// never append to one file.
std::filesystem::path shard_file(const std::filesystem::path& out, const Shard& s);

struct SweepOptions {
  std::filesystem::path out;       // results folder
  std::filesystem::path program;   // the sparoa binary each cell runs
  bool program_is_self = false;    // it is this process's binary: exec /proc/self/exe, so that a
                                   // rebuild during the sweep cannot swap it under the provenance
  int jobs = 1;
  bool retry_failed = false;       // run cells recorded as failed again
  bool progress = true;            // the progress line on stderr
  double cell_timeout_s = 0;       // 0: none; a cell past it is killed and recorded as failed
  std::optional<Shard> shard;      // a Slurm array task: append to DIR/shards/shard-I.csv
  BuildProvenance build;
};

struct SweepSummary {
  std::size_t cells = 0;      // in the matrix (or in this shard)
  std::size_t recorded = 0;   // already in the results before this run
  std::size_t ran = 0, ok = 0, failed = 0;
  bool interrupted = false;   // SIGINT or SIGTERM: running cells were stopped and not recorded
  double wall_s = 0;
};

// Copies the experiment into DIR/experiment.yaml, then runs. Throws sparoa::Error for an
// output folder holding another experiment's results.
SweepSummary run_sweep(const Experiment& e, const SweepOptions& o);

// The cells not yet recorded (ok, or failed unless retry_failed), in matrix order.
std::vector<Cell> pending_cells(const Experiment& e, const std::filesystem::path& out, bool retry_failed);

}  // namespace sparoa::experiments

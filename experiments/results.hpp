#pragma once
// The tidy results CSV of a sweep: one row per output row of each cell, with the cell's
// settings and provenance. Each finished cell is appended as one block in one write(2) on a
// file opened O_APPEND, and every row says how many rows its cell has, so a reader can tell a
// complete cell from one cut short by a kill and drop the latter: no cell lost (it runs again)
// and none duplicated.
#include <filesystem>
#include <map>
#include <string>
#include <vector>

#include "experiments/experiment.hpp"

namespace sparoa::experiments {

// Columns before the settings, and the provenance columns after the outputs.
inline const std::vector<std::string> kLeadColumns = {"cell", "row", "rows", "status", "error", "wall_s"};
// run_seed: the seed the cell ran with, also when the experiment left it to the command's default.
inline const std::vector<std::string> kProvenanceColumns = {
    "config_sha256", "run_seed", "inputs_sha256", "platform_sha256", "git_revision", "simgrid_version", "sparoa_version", "host",
    "finished_at"};

// lead columns, the experiment's keys (matrix then fixed), the kept output columns (metrics,
// else all, less those named like one of the experiment's keys), provenance.
std::vector<std::string> results_header(const Experiment& e);
// The output columns kept, in the command's order.
std::vector<std::string> kept_output_columns(const Experiment& e);

std::string csv_field(const std::string& s);  // quoted when it holds ',', '"' or starts with a space
std::string csv_line(const std::vector<std::string>& fields);  // with '\n'
// Splits one CSV line (RFC 4180 quoting, no embedded newlines); throws sparoa::Error naming `where`.
std::vector<std::string> split_csv_line(const std::string& line, const std::string& where);

struct CellRows {
  std::string id;
  bool ok = false;
  std::vector<std::vector<std::string>> rows;  // full result rows
};

struct ResultsFile {
  // Complete cells in the order of their first record; a later record that ran well replaces
  // a failed one (a --retry-failed that succeeded).
  std::vector<CellRows> cells;
  std::size_t dropped_rows = 0;         // rows of incomplete cells or a torn last line
  std::size_t duplicate_cells = 0;      // later records of a cell already seen
};

// Reads a results or shard file; a missing file is empty. Throws sparoa::Error when the header
// differs from `header` (another experiment or another version wrote it).
ResultsFile read_results(const std::filesystem::path& file, const std::vector<std::string>& header);

// Writes `cells` as a complete results file, atomically (temporary file, then rename).
void write_results(const std::filesystem::path& file, const std::vector<std::string>& header,
                   const std::vector<CellRows>& cells);

// Appends `block` (whole lines) in one write, creating the file with `header` first; fsyncs.
void append_block(const std::filesystem::path& file, const std::vector<std::string>& header, const std::string& block);

// Holds DIR/.lock (flock) while alive: one local sweep, collect or submission per folder at a
// time. Throws sparoa::Error naming the folder when another process holds it.
class FolderLock {
 public:
  explicit FolderLock(const std::filesystem::path& dir);
  FolderLock(const FolderLock&) = delete;
  FolderLock& operator=(const FolderLock&) = delete;
  ~FolderLock();

 private:
  int fd_ = -1;
};

// Every complete cell in DIR/results.csv and DIR/shards/*.csv, a cell that ran well preferred
// over a failed record of it; with `repair`, results.csv is rewritten without dropped rows.
std::map<std::string, CellRows> recorded_cells(const std::filesystem::path& dir, const std::vector<std::string>& header,
                                               bool repair);

}  // namespace sparoa::experiments

#pragma once
// An experiment file: a matrix of factors whose every combination is one cell, each cell one
// run of a sparoa command in its own process (SimGrid cannot be reset within a process). The
// file's schema is in experiments/README.md; reading it checks every key against the command.
#include <yaml-cpp/yaml.h>

#include <filesystem>
#include <string>
#include <utility>
#include <vector>

namespace sparoa::experiments {

// How one experiment key becomes arguments of the cell's command.
enum class KeyKind {
  value,       // --flag VALUE
  path,        // --flag FILE, the file relative to the experiment file
  name_or_path,  // --flag X: an existing file relative to the experiment file, else X as given (zoo model, shipped platform)
  list,        // --flag a,b,c (a YAML list or a comma-separated string)
  repeated,    // --flag a --flag b (a YAML list or one string)
  negated,     // a boolean: false passes --flag (e.g. oracle: false -> --no-oracle)
  runner,      // read by the runner itself, not passed on (perturb)
};

struct KeySpec {
  std::string key;
  std::string flag;
  KeyKind kind = KeyKind::value;
  std::string help;
};

// A command a cell can run: its arguments, the output file flag, and the output columns the
// runner expects (a child writing other columns is a failed cell, not a silently shifted table).
struct CommandSpec {
  std::string name;                  // as in experiment files: simulate, compare, ...
  std::vector<std::string> argv;     // the sparoa subcommand words
  std::vector<std::string> always;   // arguments every cell gets
  std::string output_flag;           // the child writes its CSV there
  std::vector<std::string> columns;  // that CSV's header
  std::vector<KeySpec> keys;
  // Flags given when the experiment does not set them (key -> flag, value): a cell runs
  // alongside others, so its own parallelism defaults to 1.
  std::vector<std::pair<std::string, std::string>> defaults;
  std::string artifact_flag, artifact_file;  // a file the command must write (a model): kept in the cell's folder
  std::string default_seed = "1";   // what the command seeds with when no seed is given
  bool needs_simulator = true;
};

const std::vector<CommandSpec>& command_specs();
const CommandSpec& command_spec(const std::string& name, const std::string& where);  // throws naming the choices

// One factor or fixed setting, its values as written in the file (scalars verbatim).
struct Setting {
  std::string key;
  std::vector<std::string> values;  // a factor: one per level; a fixed key: exactly one
};

struct Experiment {
  std::filesystem::path file;   // as given
  std::filesystem::path dir;    // paths in the file are relative to it
  std::string sha256;           // of the file's bytes
  std::string text;             // the file's bytes
  std::string name;
  std::string description;
  std::string command;          // a CommandSpec name
  std::vector<Setting> matrix;  // in file order
  std::vector<Setting> fixed;   // in file order
  std::vector<std::string> metrics;  // output columns kept (empty: all)
  YAML::Node report;            // read by `sparoa report` only
};

// Throws sparoa::Error naming the file and key: unknown keys, a factor with no levels, a key
// the command does not take, a key both in matrix and fixed, a metric the command does not write.
Experiment read_experiment(const std::filesystem::path& file);
Experiment parse_experiment(const std::string& text, const std::filesystem::path& file);

struct Cell {
  std::size_t index = 0;  // in the matrix's order (last factor varies fastest)
  std::string id;         // 16 hex digits of SHA-256 over the command and every setting
  std::vector<std::pair<std::string, std::string>> settings;  // matrix then fixed keys, file order
  const std::string& get(const std::string& key) const;  // "" when absent
};

std::vector<Cell> expand_cells(const Experiment& e);

// The seed a cell runs with: its `seed` setting, else the command's default ("none" for a
// command without randomness, "config" where the training config holds it).
std::string cell_seed(const Cell& c, const CommandSpec& spec);

}  // namespace sparoa::experiments

#pragma once
// What a cell runs: the sparoa command line built from its settings, with paths resolved
// against the experiment file's folder and a perturbed platform written into the cell's folder.
#include <filesystem>
#include <string>
#include <vector>

#include "experiments/experiment.hpp"

namespace sparoa::experiments {

struct Invocation {
  std::vector<std::string> args;  // after the program name
  std::filesystem::path output;   // the CSV the command writes
  std::filesystem::path log;      // its stdout and stderr
  std::string platform_sha256;    // of the platform file it reads ("" when none)
  std::string inputs_sha256;      // over every file it reads that the experiment names
};

// Creates `cell_dir` (emptied first: a cell that ran before in a killed sweep starts afresh).
// Throws sparoa::Error naming the experiment file and key for a file that does not exist or a
// bad perturbation.
Invocation build_invocation(const Experiment& e, const Cell& c, const std::filesystem::path& cell_dir);

}  // namespace sparoa::experiments

#pragma once
// Each command registers its subcommand and options on the app; the callback runs it.
#include <CLI/CLI.hpp>

namespace sparoa::cli {

// The source tree's revision at build time ("-dirty" with uncommitted changes); generated.
extern const char* const kGitRevision;

// Thrown by a command that finished but must exit with a status other than 0 or 1 (a sweep
// with failed cells: 3; interrupted: 130); what it had to say is already printed.
struct ExitWith {
  int code;
};

void add_sweep_command(CLI::App& app);   // experiments: local pool or Slurm job array
void add_report_command(CLI::App& app);  // plots and summaries of sweeps, Gantt charts of traces

void add_inspect_command(CLI::App& app);
void add_zoo_command(CLI::App& app);
void add_demo_command(CLI::App& app);      // only in builds with SimGrid: the tour of the whole loop
void add_schedule_command(CLI::App& app);
void add_platform_command(CLI::App& app);
void add_run_command(CLI::App& app);      // the hardware backend: real kernels
void add_profile_command(CLI::App& app);  // per-operator timings for calibration
void add_import_command(CLI::App& app);   // profiles from other tools (TensorRT)
void add_calibrate_command(CLI::App& app);  // fits a platform's cost model to profiles
void add_simulate_command(CLI::App& app);  // only in builds with SimGrid
void add_bench_command(CLI::App& app);     // only in builds with SimGrid
void add_bench_policy_command(CLI::App& bench);  // `bench policy`, called by add_bench_command
void add_validate_command(CLI::App& app);
void add_compare_command(CLI::App& app);
void add_tune_command(CLI::App& app);
void add_train_rl_command(CLI::App& train);  // `train rl`, called by add_train_command
void add_train_command(CLI::App& app);     // only in builds with SimGrid: the threshold predictor

}  // namespace sparoa::cli

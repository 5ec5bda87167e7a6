#pragma once
// Each command registers its subcommand and options on the app; the callback runs it.
#include <CLI/CLI.hpp>

namespace sparoa::cli {

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
void add_validate_command(CLI::App& app);
void add_compare_command(CLI::App& app);
void add_tune_command(CLI::App& app);
void add_train_rl_command(CLI::App& train);  // `train rl`, called by add_train_command
void add_train_command(CLI::App& app);     // only in builds with SimGrid: the threshold predictor      // only in builds with SimGrid: batch size and timeout for an SLO   // only in builds with SimGrid: every policy side by side  // only in builds with SimGrid: hw replay against the simulator

}  // namespace sparoa::cli

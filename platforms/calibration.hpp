#pragma once
// Calibration: fits the cost model's parameters to measured profiles (`sparoa profile`), by
// least squares on relative error with Eigen. Per (operator class, device kind, kernel) only,
// never per operator instance (DESIGN.md): a class gets its own entry when the profiles hold
// at least `min_rows` rows of it; the `default` entry of each (device kind, kernel) is fitted
// on all of that kind's rows and serves every other class. Fitted per entry: the overhead
// (dispatch or launch), the compute efficiency, the memory efficiency, and the batch exponent
// when several batch sizes were profiled; per memory domain, the DRAM-contention factor from
// rows measured with `--corun`. The roofline's max() is fitted by alternating between
// assigning each row to its bound (compute or memory) and a bounded linear least-squares
// solve, until the assignment no longer changes.
#include <string>
#include <vector>

#include "platforms/cost_model.hpp"
#include "platforms/platform.hpp"
#include "platforms/profile.hpp"

namespace sparoa::platforms {

struct CalibrationOptions {
  std::size_t min_rows = 3;  // rows a class needs for an entry of its own (and a default needs at all)
  int max_iterations = 100;  // of the bound assignment, per solve
  std::string date;          // YYYY-MM-DD written into the provenance
};

struct ParameterFit {
  std::string name;    // compute_efficiency, memory_efficiency, overhead_us, batch_exponent, contention
  double before = 0;
  double after = 0;
  std::string status;  // "fitted", "at bound", or "kept: <why>"
};

struct EntryFit {
  std::string op_class;  // a class name or "default"
  std::string device_kind;
  std::string kernel;
  std::size_t rows = 0;
  std::vector<std::string> models;  // whose rows it was fitted on
  std::vector<ParameterFit> parameters;
  // Relative error of the rows it was fitted on: median of |predicted / measured - 1| and
  // the root mean square of that ratio's logarithm, with the base and the fitted entry.
  double median_error_before = 0, median_error_after = 0;
  double rms_log_before = 0, rms_log_after = 0;
  int iterations = 0;
};

struct CalibrationResult {
  Platform fitted;
  std::vector<EntryFit> entries;
  std::vector<EntryFit> contention;  // one per memory domain with --corun rows (op_class = domain id)
  std::vector<std::string> removed;  // class entries of the base dropped for too few rows (they use the default)
  std::size_t parameters = 0;        // fitted (including those that ended at a bound)
  std::size_t rows = 0;              // rows used (solo + corun)
  // Over every solo row: median relative error with the base and with the fitted platform.
  double median_error_before = 0, median_error_after = 0;
};

// Throws sparoa::Error (naming the profile, the entry or the parameter) when the profiles do
// not belong to `base` (another platform, power mode, or machine; lanes it lacks), when an
// entry has too few rows to fit, or when a fit does not converge. Nothing is written.
CalibrationResult calibrate(const Platform& base, const std::vector<Profile>& profiles, const CalibrationOptions& options);

// The cost model's prediction for one profile row (seconds), with `contention` applied to the
// memory time when the row was measured co-running.
double predict_profile_row_s(const CostModel& model, const ProfileRow& row);

}  // namespace sparoa::platforms

#pragma once
// Simulated against measured: the per-operator part of `sparoa validate`. Both traces hold
// op records of the same schedule (several requests or iterations each); every operator is
// reduced to its median duration on each side, and its error is simulated / measured - 1.
// End-to-end latency is compared by the caller, which knows each side's summary.
#include <string>
#include <vector>

#include "traces/record.hpp"

namespace sparoa::traces {

struct OpComparison {
  std::string op;
  std::string device, lane, kernel;
  double measured_us = 0;   // median over the hw trace's op records of this operator
  double simulated_us = 0;  // median over the sim trace's
  std::size_t measured_samples = 0, simulated_samples = 0;
  double error = 0;         // simulated / measured - 1
};

struct TraceComparison {
  std::vector<OpComparison> ops;  // in the order of first appearance in the hw trace
  // Over |error| of every operator: median, 90th percentile (nearest rank), maximum.
  double median_abs_error = 0, p90_abs_error = 0, max_abs_error = 0;
  // Sums of the medians: how much of the difference is in the operators themselves.
  double measured_total_us = 0, simulated_total_us = 0;
  // Online comparisons: (operator, lane, kernel) placements seen on one side only.
  std::size_t unmatched_measured = 0, unmatched_simulated = 0;
};

// Throws sparoa::Error when an operator appears on one side only, runs on another lane on
// the other side, or a side has no op records: the traces are not of the same schedule.
// Fused groups are compared by their root (the only op record a fused group has).
TraceComparison compare_op_durations(const Trace& simulated, const Trace& measured);

// For online policies, which may place an operator differently on each side and from one
// request to the next: compares per (operator, lane, kernel) placement seen on both sides and
// counts the others. Throws sparoa::Error when no placement is on both sides.
TraceComparison compare_op_durations_by_placement(const Trace& simulated, const Trace& measured);

}  // namespace sparoa::traces

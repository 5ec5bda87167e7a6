#pragma once
// Searches that run candidates in an Evaluator (the simulator): the threshold search that
// labels (model, platform, state, batch) with the best thresholds, and the objective they
// share.
#include <cstdint>
#include <string>
#include <vector>

#include "platforms/evaluation.hpp"
#include "policies/threshold_policy.hpp"

namespace sparoa::policies {

// What a search minimises: (1 - w) x latency / best latency + w x energy / best energy over
// the candidates it ran. w = 0: latency (mean over the run's requests); w = 1: energy per
// inference.
struct Objective {
  double energy_weight = 0;
  static Objective parse(const std::string& text);  // "latency", "energy", "mix:W"; throws sparoa::Error
  std::string to_string() const;
};

// Scores of evaluations under an objective; failed runs score +infinity.
std::vector<double> scores(const std::vector<platforms::Evaluation>& e, const Objective& objective);

// Candidates are compared with a relative tolerance: runs of equal schedules that start at
// different simulated times differ in the last bits.
inline constexpr double kRelativeTolerance = 1e-9;
inline bool same_score(double a, double b) { return std::abs(a - b) <= kRelativeTolerance * std::max(std::abs(a), std::abs(b)); }

struct ThresholdSearch {
  graph::Thresholds best;        // the centre of the optimal region (intensity in log scale)
  platforms::Evaluation best_evaluation;
  double best_score = 0;
  std::vector<double> rho_candidates, intensity_candidates;  // one per partition of each axis
  std::vector<double> rho_values, intensity_values;  // the operators' distinct values (partition edges)
  std::vector<double> grid_score;     // [rho][intensity], row-major
  std::int64_t distinct_schedules = 0;  // candidates that gave different schedules (= runs)
  std::int64_t optimal_cells = 0;
};

// The score of any thresholds on the searched case, from the grid: the cell they fall in
// (exact: equal thresholds' partitions give equal schedules). Regret = score_at - 1 for the
// latency objective.
double score_at(const ThresholdSearch& s, const graph::Thresholds& t);

// Tries one threshold between each pair of neighbouring values of rho and of intensity among
// the graph's operators (plus one below and one above all of them), runs each distinct
// schedule once and returns the best. `use` restricts the search to one axis for the
// ablations (the other threshold is irrelevant then).
ThresholdSearch search_thresholds(const PolicyContext& ctx, ThresholdUse use, MixedRule mixed, bool best_kernel,
                                  platforms::Evaluator& evaluator, const Objective& objective);

}  // namespace sparoa::policies

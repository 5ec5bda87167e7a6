#pragma once
// Every policy side by side on one (model, platform, state) in one evaluator: the rows of
// `sparoa compare` and of the demo. Adds the threshold policies with thresholds searched in
// the evaluator (the best each can do on this case), the oracle and the lower bound.
#include <optional>
#include <string>
#include <vector>

#include "policies/oracle.hpp"

namespace sparoa::policies {

struct CompareOptions {
  Objective objective;
  OracleOptions oracle;
  bool search_thresholds = true;  // add "sparoa*", "intensity-only*", "sparsity-only*" rows
  bool run_oracle = true;
  std::vector<std::string> policies;  // empty: every registered policy
};

struct CompareRow {
  std::string policy;  // registered name; searched rows end in '*'; "oracle"
  std::string note;    // thresholds used, the oracle's method, or why the policy could not run
  bool baseline = false;  // counts for "best baseline": cpu-only, gpu-only, heft, greedy-eft
  bool online = false;
  graph::Schedule schedule;       // empty for online runs and failures
  platforms::Evaluation evaluation;
  std::optional<graph::Thresholds> thresholds;
  std::int64_t runs = 0;  // simulations spent on the row (searches)
};

struct Comparison {
  std::vector<CompareRow> rows;  // policies, then searched rows, then the oracle
  double lower_bound_s = 0;
  double cpu_only_s = 0;       // 0 when cpu-only could not run
  double best_baseline_s = 0;  // 0 when no baseline ran
  std::string best_baseline;
  bool oracle_exhaustive = false;
  std::int64_t runs = 0;
};

Comparison compare_policies(const PolicyContext& ctx, platforms::Evaluator& evaluator, const CompareOptions& options);

// The baselines "speedup over the best baseline" is measured against.
bool is_baseline(const std::string& policy);

}  // namespace sparoa::policies

#pragma once
// SparOA's threshold rule and its one-threshold ablations. Thresholds (rho*, I*) split the
// operators into four quadrants (graph::quadrant): sparse and low intensity goes to the CPU
// with the sparse kernel, dense and high intensity to the GPU with the dense kernel. The two
// mixed quadrants follow a rule chosen by the option `mixed`:
//   cost      (default) the device the cost model predicts faster for the operator alone
//   gpu, cpu  both mixed quadrants to that device
//   sparsity  sparsity decides: sparse + high intensity -> CPU, dense + low -> GPU
//   intensity intensity decides: sparse + high intensity -> GPU, dense + low -> CPU
// Option `kernel`: `rule` (default; the CPU gets the sparse kernel where the operator's
// sparsity passed the threshold and it has one, else dense) or `best` (the cost model's
// faster kernel on the chosen device).
#include <string>
#include <vector>

#include "policies/planning.hpp"

namespace sparoa::policies {

enum class MixedRule { cost, gpu, cpu, sparsity, intensity };
MixedRule parse_mixed_rule(const std::string& text);  // throws sparoa::Error listing the rules
std::string to_string(MixedRule r);
const std::vector<MixedRule>& all_mixed_rules();

enum class ThresholdUse { both, intensity_only, sparsity_only };

// The default thresholds when none are given, searched or predicted.
graph::Thresholds default_thresholds();

// Device and kernel per task by the rule; throws when the platform lacks a CPU or a GPU.
std::vector<DeviceChoice> threshold_choices(const PlanningModel& m, const graph::Thresholds& t, ThresholdUse use,
                                            MixedRule mixed, bool best_kernel);

// The schedule of the policy named `policy` (sparoa, intensity-only, sparsity-only) with
// ctx's thresholds (or the defaults) and options.
graph::Schedule threshold_schedule(const PolicyContext& ctx, ThresholdUse use, const std::string& policy);

}  // namespace sparoa::policies

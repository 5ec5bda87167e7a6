#pragma once
// The options every command that runs a policy shares: --thresholds, --option, --seed.
#include <CLI/CLI.hpp>

#include <optional>
#include <string>
#include <vector>

#include "policies/policy.hpp"
#include "policies/threshold_predictor.hpp"

namespace sparoa::cli {

struct PolicyArgs {
  std::string thresholds;            // "rho,I"
  std::string predictor;             // threshold predictor file (instead of thresholds)
  std::string agent;                 // rl agent file (sparoa train rl): the rl policy's option agent=
  std::vector<std::string> options;  // "key=value"
  std::uint64_t seed = 1;
};

void add_policy_options(CLI::App& cmd, PolicyArgs& args);

// Fills the thresholds, options and seed of `ctx`; throws sparoa::Error naming the option.
void apply_policy_args(const PolicyArgs& args, policies::PolicyContext& ctx);

std::optional<graph::Thresholds> parse_thresholds(const std::string& text);  // "" -> nullopt

// With --predictor: ctx.thresholds predicted for ctx's graph and platform under `state`
// (ctx.graph, platform and cost must be set). Returns whether a predictor was used.
bool apply_predictor(const PolicyArgs& args, policies::PolicyContext& ctx, const policies::StateFeatures& state);

// Whether `name` is a registered policy that only plans a schedule (sparoa, heft, ...); false
// for cpu-only and gpu-only, which run as reference placements, and for unknown names.
bool is_static_policy(const std::string& name);

// The online policy `name` (cpu-only, gpu-only, or a registered online policy such as
// greedy-eft or rl) for ctx's graph and platform; ctx must outlive it (it points into it) and
// have graph, platform and cost set. With `name` empty and an agent given: rl. Throws
// sparoa::Error naming --policy for a static or unknown policy.
std::unique_ptr<platforms::OnlinePolicy> make_online_policy(std::string name, const PolicyArgs& args,
                                                            policies::PolicyContext& ctx);

}  // namespace sparoa::cli

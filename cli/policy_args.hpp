#pragma once
// The options every command that runs a policy shares: --thresholds, --option, --seed.
#include <CLI/CLI.hpp>

#include <optional>
#include <string>
#include <vector>

#include "policies/policy.hpp"

namespace sparoa::cli {

struct PolicyArgs {
  std::string thresholds;            // "rho,I"
  std::vector<std::string> options;  // "key=value"
  std::uint64_t seed = 1;
};

void add_policy_options(CLI::App& cmd, PolicyArgs& args);

// Fills the thresholds, options and seed of `ctx`; throws sparoa::Error naming the option.
void apply_policy_args(const PolicyArgs& args, policies::PolicyContext& ctx);

std::optional<graph::Thresholds> parse_thresholds(const std::string& text);  // "" -> nullopt

}  // namespace sparoa::cli

#include "cli/policy_args.hpp"

#include <cmath>

#include "platforms/reference_placements.hpp"
#include "support/error.hpp"

namespace sparoa::cli {

void add_policy_options(CLI::App& cmd, PolicyArgs& args) {
  auto* t = cmd.add_option("--thresholds", args.thresholds, "rho*,I* for the threshold policies (default 0.5,10)");
  cmd.add_option("--predictor", args.predictor, "threshold predictor file (sparoa train thresholds) instead of --thresholds")
      ->excludes(t);
  cmd.add_option("--option", args.options, "policy option key=value (e.g. mixed=gpu for sparoa); repeatable");
  cmd.add_option("--agent", args.agent, "agent file of the rl policy (sparoa train rl)");
  cmd.add_option("--seed", args.seed, "seed of every random draw")->capture_default_str();
}

std::optional<graph::Thresholds> parse_thresholds(const std::string& text) {
  if (text.empty()) return std::nullopt;
  const auto comma = text.find(',');
  graph::Thresholds t;
  try {
    if (comma == std::string::npos) throw std::invalid_argument("no comma");
    std::size_t a = 0, b = 0;
    t.rho = std::stod(text.substr(0, comma), &a);
    t.intensity = std::stod(text.substr(comma + 1), &b);
    if (a != comma || b != text.size() - comma - 1) throw std::invalid_argument("trailing text");
  } catch (const std::exception&) {
    throw Error("--thresholds " + text, "expected rho,I (two numbers, e.g. 0.5,10)");
  }
  if (!std::isfinite(t.rho) || !std::isfinite(t.intensity) || t.rho < 0 || t.intensity < 0) {
    throw Error("--thresholds " + text, "both thresholds must be finite and non-negative");
  }
  return t;
}

void apply_policy_args(const PolicyArgs& args, policies::PolicyContext& ctx) {
  ctx.thresholds = parse_thresholds(args.thresholds);
  ctx.seed = args.seed;
  for (const std::string& kv : args.options) {
    const auto eq = kv.find('=');
    if (eq == std::string::npos || eq == 0 || eq + 1 == kv.size()) {
      throw Error("--option " + kv, "expected key=value");
    }
    ctx.options[kv.substr(0, eq)] = kv.substr(eq + 1);
  }
  if (!args.agent.empty()) ctx.options["agent"] = args.agent;
}

bool apply_predictor(const PolicyArgs& args, policies::PolicyContext& ctx, const policies::StateFeatures& state) {
  if (args.predictor.empty()) return false;
  auto predictor = policies::ThresholdPredictor::load(args.predictor);
  const policies::PlanningModel m(ctx);
  ctx.thresholds = predictor.predict(policies::predictor_features(m, state));
  return true;
}

bool is_static_policy(const std::string& name) {
  if (name.empty() || name == "cpu-only" || name == "gpu-only") return false;
  for (const auto& p : policies::registered_policies()) {
    if (p.name == name) return !p.online;
  }
  return false;
}

std::unique_ptr<platforms::OnlinePolicy> make_online_policy(std::string name, const PolicyArgs& args,
                                                            policies::PolicyContext& ctx) {
  if (name.empty() && !args.agent.empty()) name = "rl";
  if (name == "cpu-only" || name == "gpu-only") {
    return platforms::make_reference_policy(ctx.p(), platforms::parse_reference_placement(name));
  }
  const policies::PolicyInfo& info = policies::policy_info(name);
  if (!info.online) throw Error("--policy " + name, "is a static policy: write its schedule with `sparoa schedule`");
  ctx.seed = args.seed;
  apply_policy_args(args, ctx);
  policies::check_options(ctx, info);
  return policies::make_policy(name)->online(ctx);
}

}  // namespace sparoa::cli

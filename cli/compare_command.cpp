// sparoa compare: every policy on one model, platform and hardware state, run in the
// simulator, with the threshold policies' searched thresholds, the oracle and the lower bound.
#include <fmt/format.h>

#include <filesystem>
#include <iostream>

#include "cli/commands.hpp"
#include "cli/model_source.hpp"
#include "cli/policy_args.hpp"
#include "cli/state_features.hpp"
#include "cli/table.hpp"
#include "policies/compare.hpp"
#include "sim/fork_evaluator.hpp"
#include "support/atomic_file.hpp"
#include "support/error.hpp"

namespace sparoa::cli {
namespace {

std::string ratio(double num, double den) { return num > 0 && den > 0 ? fmt::format("{:.2f}x", num / den) : "-"; }
std::string gap(double value, double ref) {
  return value > 0 && ref > 0 ? fmt::format("{:+.1f}%", (value / ref - 1) * 100) : "-";
}

}  // namespace

void print_comparison(std::ostream& out, const policies::Comparison& c) {
  double oracle = 0;
  for (const auto& r : c.rows) {
    if (r.policy == "oracle" && r.evaluation.ok()) oracle = r.evaluation.latency_mean_s;
  }
  Table t({"policy", "latency ms", "energy mJ", "vs cpu-only", "vs best baseline", "gap to oracle", "gap to bound",
           "note"},
          {false, true, true, true, true, true, true, false});
  for (const auto& r : c.rows) {
    if (r.policy == "oracle") t.add_rule();
    if (!r.evaluation.ok()) {
      t.add_row({r.policy, "-", "-", "-", "-", "-", "-", "failed: " + r.evaluation.error});
      continue;
    }
    const double l = r.evaluation.latency_mean_s;
    t.add_row({r.policy, fmt::format("{:.3f}", l * 1e3), fmt::format("{:.2f}", r.evaluation.energy_per_inference_J * 1e3),
               ratio(c.cpu_only_s, l), ratio(c.best_baseline_s, l), gap(l, oracle), gap(l, c.lower_bound_s), r.note});
  }
  t.add_row({"lower bound", fmt::format("{:.3f}", c.lower_bound_s * 1e3), "-", ratio(c.cpu_only_s, c.lower_bound_s),
             ratio(c.best_baseline_s, c.lower_bound_s), gap(c.lower_bound_s, oracle), "-",
             "max(critical path, work / capacity, CPU-lane work incl. launches)"});
  t.print(out);
  out << fmt::format("best baseline: {}; * = thresholds searched in the simulator for this case; {} simulations\n",
                     c.best_baseline.empty() ? "none ran" : c.best_baseline, c.runs);
}

std::string comparison_csv(const policies::Comparison& c, const std::string& model, const std::string& platform) {
  std::string out =
      "model,platform,policy,ok,latency_mean_ms,latency_p99_ms,energy_per_inference_mJ,speedup_vs_cpu_only,"
      "speedup_vs_best_baseline,rho_threshold,intensity_threshold,runs,note\n";
  auto quote = [](std::string s) {
    for (auto& ch : s) {
      if (ch == '"') ch = '\'';
    }
    return "\"" + s + "\"";
  };
  for (const auto& r : c.rows) {
    const auto& e = r.evaluation;
    const double l = e.latency_mean_s;
    out += fmt::format("{},{},{},{},{},{},{},{},{},{},{},{},{}\n", model, platform, r.policy, e.ok() ? 1 : 0,
                       e.ok() ? fmt::format("{:.6f}", l * 1e3) : "", e.ok() ? fmt::format("{:.6f}", e.latency_p99_s * 1e3) : "",
                       e.ok() ? fmt::format("{:.6f}", e.energy_per_inference_J * 1e3) : "",
                       e.ok() && c.cpu_only_s > 0 ? fmt::format("{:.4f}", c.cpu_only_s / l) : "",
                       e.ok() && c.best_baseline_s > 0 ? fmt::format("{:.4f}", c.best_baseline_s / l) : "",
                       r.thresholds ? fmt::format("{:.6g}", r.thresholds->rho) : "",
                       r.thresholds ? fmt::format("{:.6g}", r.thresholds->intensity) : "", r.runs,
                       quote(e.ok() ? r.note : e.error));
  }
  out += fmt::format("{},{},lower-bound,1,{:.6f},,,,,,,0,\"\"\n", model, platform, c.lower_bound_s * 1e3);
  return out;
}

void add_compare_command(CLI::App& app) {
  struct Args {
    ModelSource model;
    std::string platform, state, objective = "latency", csv, schedules, policies;
    std::int64_t requests = 0;
    int jobs = 0;
    std::int64_t oracle_runs = 240;
    bool no_oracle = false, no_search = false;
    PolicyArgs policy;
  };
  auto args = std::make_shared<Args>();
  args->model.zoo_dir = SPAROA_DEFAULT_ZOO_DIR;
  auto* cmd = app.add_subcommand("compare", "Every policy side by side in the simulator: latency, energy, speedups, "
                                            "gap to the oracle and to the lower bound");
  cmd->add_option("--model,-m", args->model.model, "ONNX file or zoo model name")->required();
  cmd->add_option("--sparsity", args->model.sparsity, "weight sparsity of a zoo model's pruned build")
      ->check(CLI::Range(0.0, 0.99))->capture_default_str();
  cmd->add_option("--zoo-dir", args->model.zoo_dir, "where zoo models are built and cached")->capture_default_str();
  cmd->add_option("--platform,-p", args->platform, "platform YAML file or shipped platform name")->required();
  cmd->add_option("--batch,-b", args->model.batch, "batch size")->check(CLI::PositiveNumber)->capture_default_str();
  cmd->add_option("--state", args->state, "hardware state trace every run follows (the oracle is clairvoyant of it)");
  cmd->add_option("--requests,-n", args->requests,
                  "requests per run (default: one batch; 20 batches with --state)")->check(CLI::NonNegativeNumber);
  cmd->add_option("--objective", args->objective, "what searches minimise: latency, energy or mix:W")
      ->capture_default_str();
  cmd->add_option("--policies", args->policies, "comma-separated policies (default: every registered one)");
  cmd->add_option("--jobs,-j", args->jobs, "simulations at once (default: one per CPU)")->check(CLI::NonNegativeNumber);
  cmd->add_option("--oracle-runs", args->oracle_runs, "simulations the oracle's annealing may spend")
      ->check(CLI::NonNegativeNumber)->capture_default_str();
  cmd->add_flag("--no-oracle", args->no_oracle, "leave out the oracle");
  cmd->add_flag("--no-search", args->no_search, "leave out the rows with searched thresholds");
  cmd->add_option("--csv", args->csv, "write the table as CSV");
  cmd->add_option("--schedules", args->schedules, "write each row's schedule into this folder");
  add_policy_options(*cmd, args->policy);
  cmd->callback([args] {
    const auto platform = platforms::read_platform(platforms::resolve_platform_path(args->platform));
    const graph::Graph g = load_model(args->model);
    const platforms::CostModel cost(platform);
    const auto state = args->state.empty() ? std::optional<platforms::StateTrace>()
                                            : std::optional<platforms::StateTrace>(platforms::read_state_trace(args->state, platform));
    policies::PolicyContext ctx;
    ctx.graph = &g;
    ctx.platform = &platform;
    ctx.cost = &cost;
    apply_policy_args(args->policy, ctx);
    const bool predicted = apply_predictor(args->policy, ctx, state ? state_features(*state, platform) : policies::StateFeatures{});
    policies::CompareOptions o;
    o.objective = policies::Objective::parse(args->objective);
    o.oracle.anneal_runs = args->oracle_runs;
    o.oracle.seed = args->policy.seed;
    o.oracle.prune = !state.has_value();  // a trace may speed the board up past the bound
    o.run_oracle = !args->no_oracle;
    o.search_thresholds = !args->no_search;
    for (std::size_t a = 0; a < args->policies.size();) {
      std::size_t b = args->policies.find(',', a);
      if (b == std::string::npos) b = args->policies.size();
      if (b > a) o.policies.push_back(args->policies.substr(a, b - a));
      a = b + 1;
    }
    for (const auto& name : o.policies) policies::policy_info(name);  // unknown names fail before any run
    sim::EvaluationSetting setting;
    setting.graph = &g;
    setting.platform = &platform;
    setting.state = state ? &*state : nullptr;
    setting.requests = args->requests;
    setting.seed = args->policy.seed;
    setting.jobs = args->jobs;
    sim::ForkEvaluator evaluator(setting);
    const policies::Comparison c = policies::compare_policies(ctx, evaluator, o);
    std::cout << fmt::format("{} (weight sparsity {:.2f}) on {} ({}), batch {}, {} request{} per run{}\n", g.name,
                             graph::totals(g).weight_sparsity(), platform.name, platform.power_mode, g.batch,
                             evaluator.requests_per_run(), evaluator.requests_per_run() == 1 ? "" : "s",
                             state ? ", state " + args->state : "");
    if (predicted) {
      std::cout << fmt::format("thresholds predicted by {}: rho*={:.4g} I*={:.4g}\n", args->policy.predictor,
                               ctx.thresholds->rho, ctx.thresholds->intensity);
    }
    print_comparison(std::cout, c);
    if (!args->csv.empty()) write_file_atomically(args->csv, comparison_csv(c, g.name, platform.name));
    if (!args->schedules.empty()) {
      std::filesystem::create_directories(args->schedules);
      for (const auto& r : c.rows) {
        if (r.schedule.entries.empty()) continue;
        std::string file = r.policy;
        for (auto& ch : file) {
          if (ch == '*') ch = 's';
        }
        graph::write_schedule(std::filesystem::path(args->schedules) / (file + ".yaml"), r.schedule);
      }
    }
  });
}

}  // namespace sparoa::cli

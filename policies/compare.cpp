#include "policies/compare.hpp"

#include <fmt/format.h>

#include <algorithm>

#include "support/error.hpp"

namespace sparoa::policies {

bool is_baseline(const std::string& policy) {
  return policy == "cpu-only" || policy == "gpu-only" || policy == "heft" || policy == "greedy-eft";
}

Comparison compare_policies(const PolicyContext& ctx, platforms::Evaluator& evaluator, const CompareOptions& options) {
  Comparison out;
  const std::int64_t runs_before = evaluator.runs();
  const PlanningModel m(ctx);
  out.lower_bound_s = lower_bound_s(m);

  std::vector<PolicyInfo> infos;
  if (options.policies.empty()) {
    infos = registered_policies();
  } else {
    for (const auto& name : options.policies) infos.push_back(policy_info(name));
  }
  // Static schedules run together (in parallel where the evaluator can); online ones alone.
  std::vector<graph::Schedule> batch;
  std::vector<std::size_t> batch_row;
  for (const PolicyInfo& info : infos) {
    if (options.policies.empty() && !info.requires_option.empty() && ctx.options.count(info.requires_option) == 0) continue;
    CompareRow row;
    row.policy = info.name;
    row.baseline = is_baseline(info.name);
    row.online = info.online;
    PolicyContext c = ctx;
    if (info.uses_thresholds) {
      row.thresholds = ctx.thresholds.value_or(graph::Thresholds{});
      row.note = fmt::format("rho*={:.3g} I*={:.3g}", row.thresholds->rho, row.thresholds->intensity);
    }
    for (auto it = c.options.begin(); it != c.options.end();) {
      // Options go only to the policies that take them.
      if (std::find(info.option_keys.begin(), info.option_keys.end(), it->first) == info.option_keys.end()) {
        it = c.options.erase(it);
      } else {
        ++it;
      }
    }
    try {
      const auto policy = info.make();
      if (info.online) {
        auto online = policy->online(c);
        row.evaluation = evaluator.evaluate_online(*online);
        row.note = "online";
      } else {
        row.schedule = policy->schedule(c);
        batch.push_back(row.schedule);
        batch_row.push_back(out.rows.size());
      }
    } catch (const Error& e) {
      row.evaluation.error = e.what();
    }
    out.rows.push_back(std::move(row));
  }
  const auto runs = evaluator.evaluate(batch);
  for (std::size_t k = 0; k < batch.size(); ++k) out.rows[batch_row[k]].evaluation = runs[k];

  if (options.search_thresholds) {
    for (const auto& [name, use] : {std::pair{"sparoa", ThresholdUse::both},
                                    std::pair{"intensity-only", ThresholdUse::intensity_only},
                                    std::pair{"sparsity-only", ThresholdUse::sparsity_only}}) {
      if (!options.policies.empty() &&
          std::find(options.policies.begin(), options.policies.end(), name) == options.policies.end()) {
        continue;
      }
      CompareRow row;
      row.policy = std::string(name) + "*";
      MixedRule mixed = MixedRule::cost;
      bool best_kernel = false;
      if (auto it = ctx.options.find("mixed"); it != ctx.options.end() && use == ThresholdUse::both) {
        mixed = parse_mixed_rule(it->second);
      }
      if (auto it = ctx.options.find("kernel"); it != ctx.options.end()) best_kernel = it->second == "best";
      try {
        const std::int64_t before = evaluator.runs();
        const ThresholdSearch s = search_thresholds(ctx, use, mixed, best_kernel, evaluator, options.objective);
        row.thresholds = s.best;
        row.evaluation = s.best_evaluation;
        row.runs = evaluator.runs() - before;
        PolicyContext c = ctx;
        c.thresholds = s.best;
        c.options.clear();
        if (use == ThresholdUse::both) c.options["mixed"] = to_string(mixed);
        if (best_kernel) c.options["kernel"] = "best";
        row.schedule = threshold_schedule(c, use, name);
        row.note = use == ThresholdUse::intensity_only ? fmt::format("searched I*={:.3g}", s.best.intensity)
                   : use == ThresholdUse::sparsity_only ? fmt::format("searched rho*={:.3g}", s.best.rho)
                                                        : fmt::format("searched rho*={:.3g} I*={:.3g}", s.best.rho,
                                                                      s.best.intensity);
        row.note += fmt::format(", {} schedules", s.distinct_schedules);
      } catch (const Error& e) {
        row.evaluation.error = e.what();
      }
      out.rows.push_back(std::move(row));
    }
  }

  for (const CompareRow& r : out.rows) {
    if (!r.evaluation.ok()) continue;
    if (r.policy == "cpu-only") out.cpu_only_s = r.evaluation.latency_mean_s;
    if (r.baseline && (out.best_baseline_s == 0 || r.evaluation.latency_mean_s < out.best_baseline_s)) {
      out.best_baseline_s = r.evaluation.latency_mean_s;
      out.best_baseline = r.policy;
    }
  }

  if (options.run_oracle) {
    std::vector<SeedSchedule> seeds;
    for (const CompareRow& r : out.rows) {
      if (r.evaluation.ok() && !r.schedule.entries.empty()) seeds.push_back({r.policy, r.schedule, r.evaluation});
    }
    CompareRow row;
    row.policy = "oracle";
    if (seeds.empty()) {
      row.evaluation.error = "no policy produced a schedule to start from";
    } else {
      const OracleResult o = find_oracle(m, evaluator, seeds, options.objective, options.oracle);
      row.schedule = o.schedule;
      row.evaluation = o.evaluation;
      row.runs = o.runs;
      out.oracle_exhaustive = o.exhaustive;
      row.note = fmt::format("{} ({} runs; found by {})", o.exhaustive ? "exhaustive" : "best known", o.runs, o.origin);
    }
    out.rows.push_back(std::move(row));
  }
  out.runs = evaluator.runs() - runs_before;
  return out;
}

}  // namespace sparoa::policies

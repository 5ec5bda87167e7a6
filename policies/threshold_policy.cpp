#include "policies/threshold_policy.hpp"

#include "support/error.hpp"

namespace sparoa::policies {

const std::vector<MixedRule>& all_mixed_rules() {
  static const std::vector<MixedRule> rules{MixedRule::cost, MixedRule::gpu, MixedRule::cpu, MixedRule::sparsity,
                                            MixedRule::intensity};
  return rules;
}

std::string to_string(MixedRule r) {
  switch (r) {
    case MixedRule::cost: return "cost";
    case MixedRule::gpu: return "gpu";
    case MixedRule::cpu: return "cpu";
    case MixedRule::sparsity: return "sparsity";
    case MixedRule::intensity: return "intensity";
  }
  return "cost";
}

MixedRule parse_mixed_rule(const std::string& text) {
  for (MixedRule r : all_mixed_rules()) {
    if (to_string(r) == text) return r;
  }
  throw Error("option mixed=" + text, "unknown rule (rules: cost, gpu, cpu, sparsity, intensity)");
}

graph::Thresholds default_thresholds() { return graph::Thresholds{}; }

std::vector<DeviceChoice> threshold_choices(const PlanningModel& m, const graph::Thresholds& t, ThresholdUse use,
                                            MixedRule mixed, bool best_kernel) {
  const std::size_t cpu = m.first_device(platforms::DeviceKind::cpu);
  const std::size_t gpu = m.first_device(platforms::DeviceKind::gpu);
  if (cpu == m.devices() || gpu == m.devices()) {
    throw Error("platform " + m.context().p().name, "a threshold policy needs a CPU and a GPU device");
  }
  std::vector<DeviceChoice> out(m.ops());
  for (std::size_t k = 0; k < m.ops(); ++k) {
    const graph::Features& f = m.features(k);
    const bool sparse = graph::rho(f, m.context().rho_source) >= t.rho;
    const bool high = f.intensity >= t.intensity;
    bool on_cpu = false;
    switch (use) {
      case ThresholdUse::intensity_only: on_cpu = !high; break;
      case ThresholdUse::sparsity_only: on_cpu = sparse; break;
      case ThresholdUse::both:
        if (sparse && !high) on_cpu = true;
        else if (!sparse && high) on_cpu = false;
        else {
          switch (mixed) {
            case MixedRule::cost: on_cpu = m.best_device_time(k, cpu) < m.best_device_time(k, gpu); break;
            case MixedRule::gpu: on_cpu = false; break;
            case MixedRule::cpu: on_cpu = true; break;
            case MixedRule::sparsity: on_cpu = sparse; break;
            case MixedRule::intensity: on_cpu = !high; break;
          }
        }
        break;
    }
    DeviceChoice& c = out[k];
    c.device = on_cpu ? cpu : gpu;
    if (best_kernel) {
      c.kernel = m.best_kernel(k, c.device);
    } else {
      const bool sparse_rule = use != ThresholdUse::intensity_only && sparse;
      c.kernel = on_cpu && sparse_rule && m.sparse_capable(k) ? Kernel::sparse : Kernel::dense;
    }
  }
  return out;
}

graph::Schedule threshold_schedule(const PolicyContext& ctx, ThresholdUse use, const std::string& policy) {
  check_options(ctx, policy_info(policy));
  MixedRule mixed = MixedRule::cost;
  bool best_kernel = false;
  if (auto it = ctx.options.find("mixed"); it != ctx.options.end()) mixed = parse_mixed_rule(it->second);
  if (auto it = ctx.options.find("kernel"); it != ctx.options.end()) {
    if (it->second != "rule" && it->second != "best") {
      throw Error("option kernel=" + it->second, "unknown kernel rule (rule, best)");
    }
    best_kernel = it->second == "best";
  }
  const PlanningModel m(ctx);
  try {
    return schedule_from_choices(m, threshold_choices(m, ctx.thresholds.value_or(default_thresholds()), use, mixed,
                                                      best_kernel));
  } catch (const Error& e) {
    throw Error("policy " + policy, e.what());
  }
}

namespace {

class Sparoa final : public Policy {
 public:
  graph::Schedule schedule(const PolicyContext& ctx) const override {
    return threshold_schedule(ctx, ThresholdUse::both, "sparoa");
  }
};
class IntensityOnly final : public Policy {
 public:
  graph::Schedule schedule(const PolicyContext& ctx) const override {
    return threshold_schedule(ctx, ThresholdUse::intensity_only, "intensity-only");
  }
};
class SparsityOnly final : public Policy {
 public:
  graph::Schedule schedule(const PolicyContext& ctx) const override {
    return threshold_schedule(ctx, ThresholdUse::sparsity_only, "sparsity-only");
  }
};

}  // namespace
}  // namespace sparoa::policies

using sparoa::policies::IntensityOnly;
using sparoa::policies::Sparoa;
using sparoa::policies::SparsityOnly;

SPAROA_REGISTER_POLICY(Sparoa, .name = "sparoa",
                       .description = "SparOA's thresholds (rho*, I*): sparse+low intensity -> CPU sparse, "
                                      "dense+high -> GPU dense, mixed quadrants by the option mixed",
                       .display_rank = 40, .option_keys = {"mixed", "kernel"}, .uses_thresholds = true)
SPAROA_REGISTER_POLICY(IntensityOnly, .name = "intensity-only",
                       .description = "ablation: intensity >= I* -> GPU dense, else CPU dense",
                       .display_rank = 50, .option_keys = {"kernel"}, .uses_thresholds = true)
SPAROA_REGISTER_POLICY(SparsityOnly, .name = "sparsity-only",
                       .description = "ablation: rho >= rho* -> CPU (sparse kernel), else GPU dense",
                       .display_rank = 51, .option_keys = {"kernel"}, .uses_thresholds = true)

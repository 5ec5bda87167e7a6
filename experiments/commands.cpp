// The sparoa commands a cell can run, and how experiment keys become their arguments. The
// output columns are those the commands write today; a test runs each command and compares.
#include <fmt/format.h>

#include "experiments/experiment.hpp"
#include "support/error.hpp"

namespace sparoa::experiments {
namespace {

using K = KeyKind;

std::vector<KeySpec> model_keys() {
  return {{"model", "--model", K::name_or_path, "zoo model name or ONNX file"},
          {"sparsity", "--sparsity", K::value, "weight sparsity of a zoo model's pruned build"},
          {"batch", "--batch", K::value, "batch size"}};
}

std::vector<KeySpec> platform_keys() {
  return {{"platform", "--platform", K::name_or_path, "shipped platform name or platform YAML"},
          {"perturb", "", K::runner,
           "none, or KEY=FACTOR[;KEY=FACTOR]: the platform with gpu_efficiency, cpu_efficiency, launch_overhead or "
           "dram_bandwidth scaled"}};
}

std::vector<KeySpec> join(std::vector<KeySpec> a, const std::vector<KeySpec>& b) {
  a.insert(a.end(), b.begin(), b.end());
  return a;
}

std::vector<CommandSpec> build_specs() {
  std::vector<CommandSpec> s;
  {
    CommandSpec c;
    c.name = "simulate";
    c.argv = {"simulate"};
    c.output_flag = "--summary";
    c.columns = {"model",           "platform",       "power_mode",     "placement",      "batch",
                 "requests",        "latency_mean_ms", "latency_p50_ms", "latency_p95_ms", "latency_p99_ms",
                 "latency_max_ms",  "throughput_rps", "energy_per_inference_J", "energy_J", "static_energy_J",
                 "makespan_ms",     "op_executions",  "gpu_executions", "transfers",      "launches",
                 "sim_wall_s"};
    c.keys = join(join(model_keys(), platform_keys()),
                  {{"policy", "--policy", K::value, "any registered policy, cpu-only, gpu-only"},
                   {"schedule", "--schedule", K::path, "static schedule YAML (instead of policy)"},
                   {"thresholds", "--thresholds", K::value, "rho,I of the threshold policies"},
                   {"predictor", "--predictor", K::path, "threshold predictor file"},
                   {"agent", "--agent", K::path, "rl agent file"},
                   {"option", "--option", K::repeated, "policy option key=value"},
                   {"arrivals", "--arrivals", K::name_or_path, "closed, closed:C, poisson:RATE or a file"},
                   {"requests", "--requests", K::value, "requests to serve"},
                   {"batch_timeout_us", "--batch-timeout-us", K::value, "batching timeout"},
                   {"inflight", "--inflight", K::value, "batches in the lanes at once"},
                   {"state", "--state", K::path, "hardware state trace (idle: none)"},
                   {"seed", "--seed", K::value, "seed of every random draw"}});
    s.push_back(std::move(c));
  }
  {
    CommandSpec c;
    c.name = "compare";
    c.argv = {"compare"};
    c.output_flag = "--csv";
    c.columns = {"model", "platform", "policy", "ok", "latency_mean_ms", "latency_p99_ms", "energy_per_inference_mJ",
                 "speedup_vs_cpu_only", "speedup_vs_best_baseline", "rho_threshold", "intensity_threshold", "runs",
                 "note"};
    c.keys = join(join(model_keys(), platform_keys()),
                  {{"policies", "--policies", K::list, "policies to compare (default: every registered one)"},
                   {"thresholds", "--thresholds", K::value, "rho,I of the unstarred threshold rows"},
                   {"predictor", "--predictor", K::path, "threshold predictor file"},
                   {"agent", "--agent", K::path, "rl agent file (adds the rl row)"},
                   {"option", "--option", K::repeated, "policy option key=value"},
                   {"state", "--state", K::path, "hardware state trace (idle: none)"},
                   {"requests", "--requests", K::value, "requests per simulation"},
                   {"objective", "--objective", K::value, "latency, energy or mix:W"},
                   {"oracle", "--no-oracle", K::negated, "false: no oracle row"},
                   {"oracle_runs", "--oracle-runs", K::value, "simulations the oracle may spend"},
                   {"search", "--no-search", K::negated, "false: no searched threshold rows"},
                   {"jobs", "--jobs", K::value, "simulations at once inside the cell (default 1)"},
                   {"seed", "--seed", K::value, "seed"}});
    c.defaults = {{"jobs", "1"}};
    s.push_back(std::move(c));
  }
  {
    CommandSpec c;
    c.name = "inspect";
    c.argv = {"inspect"};
    c.output_flag = "--csv";
    c.default_seed = "none";
    c.needs_simulator = false;
    c.columns = {"index",  "operator",        "type",          "output_shape",    "macs",
                 "flops",  "bytes",           "intensity",     "params",          "weight_elements",
                 "weight_zeros", "weight_sparsity", "activation_sparsity", "activation_provenance", "quadrant"};
    // Not "intensity": that is an output column (each operator's), and a key hides its namesake.
    c.keys = join(model_keys(), {{"rho_threshold", "--rho", K::value, "sparsity threshold of the quadrant column"},
                                 {"intensity_threshold", "--intensity", K::value, "intensity threshold of the quadrant column"}});
    s.push_back(std::move(c));
  }
  {
    CommandSpec c;
    c.name = "train-thresholds";
    c.argv = {"train", "thresholds"};
    c.output_flag = "--evaluation";
    c.default_seed = "config";
    c.columns = {"family", "cases", "predictor_regret", "global_regret", "global_rho", "global_intensity"};
    c.keys = {{"config", "--config", K::path, "training config (sparoa train thresholds)"},
              {"jobs", "--jobs", K::value, "simulations at once inside the cell (default 1)"}};
    c.defaults = {{"jobs", "1"}};
    c.artifact_flag = "--out";
    c.artifact_file = "predictor.bin";
    s.push_back(std::move(c));
  }
  {
    CommandSpec c;
    c.name = "train-rl";
    c.argv = {"train", "rl"};
    c.always = {"--quiet"};
    c.artifact_flag = "--out";
    c.artifact_file = "agent.bin";
    c.output_flag = "--curve";
    c.default_seed = "config";
    c.columns = {"round",        "stage",   "env_steps", "episodes", "updates",  "mean_return",
                 "mean_latency_ratio", "mean_energy_J", "q_loss", "policy_loss", "alpha", "entropy",
                 "elapsed_s",    "steps_per_s"};
    c.keys = {{"config", "--config", K::path, "training config (sparoa train rl)"},
              {"seed", "--seed", K::value, "seed (default: the config's)"},
              {"workers", "--workers", K::value, "rollout workers (default: the config's)"}};
    s.push_back(std::move(c));
  }
  {
    CommandSpec c;
    c.name = "bench-policy";
    c.argv = {"bench", "policy"};
    c.output_flag = "--csv";
    c.columns = {"model", "platform", "policy", "kind", "operators", "repeats", "plan_ms_median", "plan_ms_min",
                 "plan_us_per_op", "decisions", "decision_us_mean", "decision_share_of_latency"};
    c.keys = join(join(model_keys(), platform_keys()),
                  {{"policy", "--policy", K::value, "the policy to time"},
                   {"thresholds", "--thresholds", K::value, "rho,I of the threshold policies"},
                   {"agent", "--agent", K::path, "rl agent file"},
                   {"requests", "--requests", K::value, "requests of the simulation that counts decisions"},
                   {"repeats", "--repeats", K::value, "plans timed per policy"},
                   {"seed", "--seed", K::value, "seed"}});
    s.push_back(std::move(c));
  }
  return s;
}

}  // namespace

const std::vector<CommandSpec>& command_specs() {
  static const std::vector<CommandSpec> specs = build_specs();
  return specs;
}

const CommandSpec& command_spec(const std::string& name, const std::string& where) {
  std::string names;
  for (const auto& c : command_specs()) {
    if (c.name == name) return c;
    names += (names.empty() ? "" : ", ") + c.name;
  }
  throw Error(where, fmt::format("unknown command '{}' (one of: {})", name, names));
}

}  // namespace sparoa::experiments

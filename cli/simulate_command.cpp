#include <fmt/format.h>

#include <iostream>

#include "cli/commands.hpp"
#include "cli/model_source.hpp"
#include "cli/policy_args.hpp"
#include "cli/state_features.hpp"
#include "cli/table.hpp"
#include "graph/schedule.hpp"
#include "platforms/reference_placements.hpp"
#include "sim/simulation.hpp"
#include "support/atomic_file.hpp"
#include "support/error.hpp"
#include "support/sha256.hpp"

namespace sparoa::cli {

void print_summary(std::ostream& out, const sim::Summary& s) {
  out << fmt::format("{} on {} ({}{}), {}, batch {}\n", s.model, s.platform, s.power_mode_start,
                     s.power_mode_end != s.power_mode_start ? " -> " + s.power_mode_end : "", s.placement, s.batch);
  Table t({"metric", "value"}, {false, true});
  t.add_row({"requests", std::to_string(s.requests)});
  t.add_row({"batches", std::to_string(s.batches)});
  t.add_row({"simulated time", fmt::format("{:.3f} ms", s.makespan_s * 1e3)});
  t.add_row({"latency mean", fmt::format("{:.3f} ms", s.latency_mean_s * 1e3)});
  t.add_row({"latency p50", fmt::format("{:.3f} ms", s.latency_p50_s * 1e3)});
  t.add_row({"latency p95", fmt::format("{:.3f} ms", s.latency_p95_s * 1e3)});
  t.add_row({"latency p99", fmt::format("{:.3f} ms", s.latency_p99_s * 1e3)});
  t.add_row({"throughput", fmt::format("{:.1f} inferences/s", s.throughput_rps)});
  t.add_row({"energy per inference", fmt::format("{:.4f} J", s.energy_per_inference_J)});
  t.add_row({"energy total", fmt::format("{:.3f} J (static {:.3f} J)", s.energy_J, s.static_energy_J)});
  t.add_row({"operator executions", std::to_string(s.op_executions)});
  t.add_row({"transfers", std::to_string(s.transfers)});
  t.add_row({"GPU launches", std::to_string(s.launches)});
  t.add_row({"SimGrid activities", std::to_string(s.simgrid_activities)});
  t.add_row({"wall time", fmt::format("{:.3f} s", s.wall_s)});
  t.print(out);
  out << '\n';
  Table d({"device", "utilisation", "executions", "energy J", "attributed J"}, {false, true, true, true, true});
  for (const auto& dev : s.devices) {
    d.add_row({dev.id, fmt::format("{:.1f}%", dev.utilisation * 100), std::to_string(dev.executions),
               fmt::format("{:.4f}", dev.energy_J), fmt::format("{:.4f}", dev.attributed_J)});
  }
  d.print(out);
}

// The one-row CSV of --summary: what `sparoa sweep` records of a simulate cell (its columns
// are listed in experiments/commands.cpp; a test keeps the two equal).
std::string summary_csv(const sim::Summary& s, const platforms::Platform& platform) {
  std::int64_t gpu_executions = 0;
  for (const auto& d : s.devices) {
    const auto* dev = platform.find_device(d.id);
    if (dev && dev->kind == platforms::DeviceKind::gpu) gpu_executions += d.executions;
  }
  return fmt::format(
      "model,platform,power_mode,placement,batch,requests,latency_mean_ms,latency_p50_ms,latency_p95_ms,latency_p99_ms,"
      "latency_max_ms,throughput_rps,energy_per_inference_J,energy_J,static_energy_J,makespan_ms,op_executions,"
      "gpu_executions,transfers,launches,sim_wall_s\n"
      "{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{:.3f}\n",
      s.model, s.platform, s.power_mode_start, s.placement, s.batch, s.requests, s.latency_mean_s * 1e3,
      s.latency_p50_s * 1e3, s.latency_p95_s * 1e3, s.latency_p99_s * 1e3, s.latency_max_s * 1e3, s.throughput_rps,
      s.energy_per_inference_J, s.energy_J, s.static_energy_J, s.makespan_s * 1e3, s.op_executions, gpu_executions,
      s.transfers, s.launches, s.wall_s);
}

void add_simulate_command(CLI::App& app) {
  struct Args {
    ModelSource model;
    std::string platform;
    std::string schedule;
    std::string policy;
    PolicyArgs policy_args;
    std::string arrivals = "closed";
    std::int64_t requests = 100;
    double batch_timeout_us = 0;
    int inflight = 2;
    std::string state;
    std::string trace;
    std::string csv;
    std::string summary;
    double sample_us = 1000;
  };
  auto args = std::make_shared<Args>();
  args->model.zoo_dir = SPAROA_DEFAULT_ZOO_DIR;
  auto* cmd = app.add_subcommand("simulate", "Simulate a model on a platform with SimGrid: latency, throughput, energy, traces");
  cmd->add_option("--model,-m", args->model.model, "ONNX file or zoo model name")->required();
  cmd->add_option("--sparsity", args->model.sparsity, "weight sparsity of a zoo model's pruned build")
      ->check(CLI::Range(0.0, 0.99))->capture_default_str();
  cmd->add_option("--zoo-dir", args->model.zoo_dir, "where zoo models are built and cached")->capture_default_str();
  cmd->add_option("--platform,-p", args->platform, "platform YAML file or shipped platform name")->required();
  auto* schedule = cmd->add_option("--schedule,-s", args->schedule, "static schedule YAML");
  auto* policy = cmd->add_option("--policy", args->policy,
                                 "a policy instead of a schedule: an online one (cpu-only, gpu-only, greedy-eft, rl, ...) "
                                 "decides as the run goes; a static one (sparoa, heft, ...) plans the schedule first");
  schedule->excludes(policy);
  add_policy_options(*cmd, args->policy_args);
  auto* batch = cmd->add_option("--batch,-b", args->model.batch,
                                "batch size: the model is bound to it and requests are batched up to it "
                                "(default: the schedule's, else 1)")
                    ->check(CLI::PositiveNumber);
  cmd->add_option("--arrivals", args->arrivals, "closed, closed:CLIENTS, poisson:RATE (per s) or a file of arrival times (us)")
      ->capture_default_str();
  cmd->add_option("--requests,-n", args->requests, "requests to serve")->check(CLI::PositiveNumber)->capture_default_str();
  cmd->add_option("--batch-timeout-us", args->batch_timeout_us, "a partial batch leaves when its oldest request waited this long")
      ->check(CLI::NonNegativeNumber)->capture_default_str();
  cmd->add_option("--inflight", args->inflight, "batches in the lanes at once (pipelining depth)")
      ->check(CLI::Range(1, 64))->capture_default_str();
  cmd->add_option("--state", args->state, "hardware state trace (CSV: time_us,action,target,value)");
  cmd->add_option("--trace", args->trace, "write a Chrome trace JSON (open in Perfetto)");
  cmd->add_option("--csv", args->csv, "write the per-operator trace CSV (+ .power.csv, .state.csv beside it)");
  cmd->add_option("--summary", args->summary, "write the summary as a one-row CSV (for scripts and sweeps)");
  cmd->add_option("--sample-us", args->sample_us, "period of power and state samples in the outputs")
      ->check(CLI::PositiveNumber)->capture_default_str();
  cmd->callback([args, batch] {
    if (args->schedule.empty() && args->policy.empty() && args->policy_args.agent.empty()) {
      throw Error("simulate", "give --schedule FILE or --policy NAME (cpu-only, gpu-only, greedy-eft, rl, ...)");
    }
    const auto platform_path = platforms::resolve_platform_path(args->platform);
    const platforms::Platform platform = platforms::read_platform(platform_path);
    std::optional<graph::Schedule> schedule;
    if (!args->schedule.empty()) {
      schedule = graph::read_schedule(args->schedule);
      // The schedule's batch binds the model; a --batch that differs is a contradiction.
      if (batch->count() == 0) args->model.batch = schedule->batch;
      if (args->model.batch != schedule->batch) {
        throw Error(args->schedule, "batch " + std::to_string(schedule->batch) + " but --batch " +
                                        std::to_string(args->model.batch) + " was given");
      }
    }
    const graph::Graph g = load_model(args->model);
    if (schedule && !schedule->model_sha256.empty() && schedule->model_sha256 != g.model_sha256) {
      throw Error(args->schedule, "model: it was made for a model with SHA-256 " + schedule->model_sha256.substr(0, 12) +
                                      "..., not " + g.name + " (" + g.model_sha256.substr(0, 12) + "...)");
    }
    const auto state = args->state.empty() ? std::optional<platforms::StateTrace>()
                                            : std::optional<platforms::StateTrace>(platforms::read_state_trace(args->state, platform));
    std::unique_ptr<platforms::OnlinePolicy> policy;
    const platforms::CostModel cost(platform);
    policies::PolicyContext ctx;  // outlives the policy, which points into it
    const std::uint64_t seed = args->policy_args.seed;
    ctx.graph = &g;
    ctx.platform = &platform;
    ctx.cost = &cost;
    ctx.seed = seed;
    if (!schedule && is_static_policy(args->policy)) {
      // A static policy plans once on the idle board, then the plan runs as a schedule.
      apply_policy_args(args->policy_args, ctx);
      apply_predictor(args->policy_args, ctx, state ? state_features(*state, platform) : policies::StateFeatures{});
      const policies::PolicyInfo& info = policies::policy_info(args->policy);
      policies::check_options(ctx, info);
      schedule = info.make()->schedule(ctx);
      graph::validate_schedule(*schedule, g, "--policy " + args->policy);
    } else if (!schedule) {
      policy = make_online_policy(args->policy, args->policy_args, ctx);
    }
    sim::SimulationOptions o;
    o.graph = &g;
    o.platform = &platform;
    o.schedule = schedule ? &*schedule : nullptr;
    o.schedule_origin = args->schedule;
    o.policy = policy.get();
    o.arrivals = platforms::parse_arrivals(args->arrivals);
    o.requests = args->requests;
    o.batch_timeout_s = args->batch_timeout_us * 1e-6;
    o.max_inflight_batches = args->inflight;
    o.state = state ? &*state : nullptr;
    o.seed = seed;
    o.csv = args->csv;
    o.chrome = args->trace;
    o.sample_period_s = args->sample_us * 1e-6;
    o.run_id = fmt::format("sim-{}-{}-s{}", g.name, platform.power_mode, seed);
    o.provenance.model_sha256 = g.model_sha256;
    o.provenance.platform_sha256 = platform.sha256;
    if (!args->schedule.empty()) o.provenance.schedule_sha256 = sha256_file_hex(args->schedule);
    o.provenance.git_revision = kGitRevision;
    const sim::Summary s = sim::simulate(o);
    print_summary(std::cout, s);
    if (!args->summary.empty()) write_file_atomically(args->summary, summary_csv(s, platform));
  });
}

}  // namespace sparoa::cli

// sparoa bench policy: what a policy costs to run, the scheduler-overhead figure of the SparOA
// evaluation. A static policy: the wall time of planning the whole model (median of repeats).
// An online policy: the same for its idle-board plan, and the wall time of each decision it
// takes inside a simulated run, against the simulated latency it decides for.
#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <iostream>

#include "cli/commands.hpp"
#include "cli/model_source.hpp"
#include "cli/policy_args.hpp"
#include "cli/table.hpp"
#include "experiments/results.hpp"
#include "platforms/reference_placements.hpp"
#include "sim/simulation.hpp"
#include "support/atomic_file.hpp"
#include "support/error.hpp"

namespace sparoa::cli {
namespace {

using Clock = std::chrono::steady_clock;

// Forwards to the policy and adds up the wall time of its decisions.
class TimedPolicy : public platforms::OnlinePolicy {
 public:
  explicit TimedPolicy(platforms::OnlinePolicy& inner) : inner_(inner) {}
  std::string name() const override { return inner_.name(); }
  platforms::Placement place(const platforms::Observation& obs) override {
    const auto t0 = Clock::now();
    platforms::Placement p = inner_.place(obs);
    total_s += std::chrono::duration<double>(Clock::now() - t0).count();
    ++decisions;
    return p;
  }
  void batch_done(const platforms::BatchDone& b) override { inner_.batch_done(b); }

  double total_s = 0;
  std::int64_t decisions = 0;

 private:
  platforms::OnlinePolicy& inner_;
};

}  // namespace

void add_bench_policy_command(CLI::App& bench) {
  struct Args {
    ModelSource model;
    std::string platform, policy, csv;
    PolicyArgs policy_args;
    int repeats = 20;
    std::int64_t requests = 50;
  };
  auto args = std::make_shared<Args>();
  args->model.zoo_dir = SPAROA_DEFAULT_ZOO_DIR;
  auto* cmd = bench.add_subcommand("policy", "Wall time a policy takes: planning a whole model, and each online decision "
                                             "inside a simulated run");
  cmd->add_option("--model,-m", args->model.model, "ONNX file or zoo model name")->required();
  cmd->add_option("--sparsity", args->model.sparsity, "weight sparsity of a zoo model's pruned build")
      ->check(CLI::Range(0.0, 0.99));
  cmd->add_option("--batch,-b", args->model.batch, "batch size")->check(CLI::PositiveNumber);
  cmd->add_option("--zoo-dir", args->model.zoo_dir, "where zoo models are built and cached")->capture_default_str();
  cmd->add_option("--platform,-p", args->platform, "platform YAML file or shipped platform name")->required();
  cmd->add_option("--policy", args->policy, "the policy to time")->required();
  add_policy_options(*cmd, args->policy_args);
  cmd->add_option("--repeats", args->repeats, "plans timed")->check(CLI::PositiveNumber)->capture_default_str();
  cmd->add_option("--requests,-n", args->requests, "requests of the simulated run that times an online policy's decisions")
      ->check(CLI::PositiveNumber)->capture_default_str();
  cmd->add_option("--csv", args->csv, "write the figures as a one-row CSV");
  cmd->callback([args] {
    const platforms::Platform platform = platforms::read_platform(platforms::resolve_platform_path(args->platform));
    const graph::Graph g = load_model(args->model);
    const platforms::CostModel cost(platform);
    policies::PolicyContext ctx;
    ctx.graph = &g;
    ctx.platform = &platform;
    ctx.cost = &cost;
    ctx.seed = args->policy_args.seed;
    apply_policy_args(args->policy_args, ctx);
    apply_predictor(args->policy_args, ctx, {});
    const policies::PolicyInfo& info = policies::policy_info(args->policy);
    policies::check_options(ctx, info);
    std::vector<double> plan_s;
    for (int r = 0; r < args->repeats; ++r) {
      const auto t0 = Clock::now();
      const graph::Schedule s = info.make()->schedule(ctx);
      plan_s.push_back(std::chrono::duration<double>(Clock::now() - t0).count());
      if (s.entries.size() != g.operators().size()) throw Error("--policy " + args->policy, "planned a schedule that misses operators");
    }
    std::sort(plan_s.begin(), plan_s.end());
    const double median = plan_s[plan_s.size() / 2];
    std::int64_t decisions = 0;
    double decision_us = 0, share = 0;
    if (info.online) {
      auto policy = make_online_policy(args->policy, args->policy_args, ctx);
      TimedPolicy timed(*policy);
      sim::SimulationOptions o;
      o.graph = &g;
      o.platform = &platform;
      o.policy = &timed;
      o.requests = args->requests;
      o.seed = ctx.seed;
      o.run_id = "bench-policy";
      const sim::Summary s = sim::simulate(o);
      decisions = timed.decisions;
      decision_us = decisions ? timed.total_s / double(decisions) * 1e6 : 0;
      // Decision time per inference over the simulated latency: what the decisions would add
      // were they on the critical path (on a board they run on a CPU core beside the work).
      share = s.latency_mean_s > 0 ? timed.total_s / double(s.requests) / s.latency_mean_s : 0;
    }
    Table t({"figure", "value"}, {false, true});
    t.add_row({"policy", fmt::format("{} ({})", args->policy, info.online ? "online" : "static")});
    t.add_row({"operators", std::to_string(g.operators().size())});
    t.add_row({"plan (median of " + std::to_string(args->repeats) + ")", fmt::format("{:.3f} ms", median * 1e3)});
    t.add_row({"plan per operator", fmt::format("{:.2f} us", median * 1e6 / double(g.operators().size()))});
    if (info.online) {
      t.add_row({"decisions in the run", std::to_string(decisions)});
      t.add_row({"per decision", fmt::format("{:.2f} us", decision_us)});
      t.add_row({"decisions / simulated latency", fmt::format("{:.2f}%", share * 100)});
    }
    t.print(std::cout);
    if (!args->csv.empty()) {
      write_file_atomically(
          args->csv,
          fmt::format("model,platform,policy,kind,operators,repeats,plan_ms_median,plan_ms_min,plan_us_per_op,decisions,"
                      "decision_us_mean,decision_share_of_latency\n{},{},{},{},{},{},{:.6f},{:.6f},{:.4f},{},{},{}\n",
                      experiments::csv_field(g.name), experiments::csv_field(platform.name),
                      experiments::csv_field(args->policy), info.online ? "online" : "static", g.operators().size(), args->repeats,
                      median * 1e3, plan_s.front() * 1e3, median * 1e6 / double(g.operators().size()), decisions,
                      info.online ? fmt::format("{:.4f}", decision_us) : "",
                      info.online ? fmt::format("{:.6f}", share) : ""));
    }
  });
}

}  // namespace sparoa::cli

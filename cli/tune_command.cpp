// sparoa tune batch: the batch size and batching timeout with the most throughput within a
// p99 latency SLO at a given arrival rate, by simulation.
#include <fmt/format.h>

#include <iostream>
#include <map>

#include "cli/commands.hpp"
#include "cli/model_source.hpp"
#include "cli/policy_args.hpp"
#include "cli/table.hpp"
#include "policies/batch_tuning.hpp"
#include "sim/fork_evaluator.hpp"
#include "support/error.hpp"

namespace sparoa::cli {
namespace {

template <class T>
std::vector<T> parse_list(const std::string& text, const std::string& option) {
  std::vector<T> out;
  std::size_t a = 0;
  while (a <= text.size()) {
    std::size_t b = text.find(',', a);
    if (b == std::string::npos) b = text.size();
    const std::string item = text.substr(a, b - a);
    try {
      std::size_t used = 0;
      const double v = std::stod(item, &used);
      if (used != item.size()) throw std::invalid_argument(item);
      out.push_back(T(v));
      if (double(T(v)) != v) throw std::invalid_argument(item);
    } catch (const std::exception&) {
      throw Error(option + " " + text, "expected a comma-separated list of numbers, not '" + item + "'");
    }
    a = b + 1;
  }
  return out;
}

}  // namespace

void add_tune_command(CLI::App& app) {
  struct Args {
    ModelSource model;
    std::string platform, policy = "heft", batches = "1,2,4,8,16", timeouts_us = "0,1000,5000", state;
    double rate = 0, slo_ms = 0;
    std::int64_t requests = 400;
    int jobs = 0;
    PolicyArgs policy_args;
  };
  auto args = std::make_shared<Args>();
  args->model.zoo_dir = SPAROA_DEFAULT_ZOO_DIR;
  auto* tune = app.add_subcommand("tune", "Tune serving settings by simulation");
  tune->require_subcommand(1);
  auto* cmd = tune->add_subcommand("batch", "The batch size and batching timeout with the most throughput whose p99 "
                                            "latency meets an SLO, at a Poisson arrival rate");
  cmd->add_option("--model,-m", args->model.model, "ONNX file or zoo model name")->required();
  cmd->add_option("--sparsity", args->model.sparsity, "weight sparsity of a zoo model's pruned build")
      ->check(CLI::Range(0.0, 0.99))->capture_default_str();
  cmd->add_option("--zoo-dir", args->model.zoo_dir, "where zoo models are built and cached")->capture_default_str();
  cmd->add_option("--platform,-p", args->platform, "platform YAML file or shipped platform name")->required();
  cmd->add_option("--policy", args->policy, "placement policy at every batch size")->capture_default_str();
  cmd->add_option("--rate", args->rate, "Poisson arrival rate, requests per second")->required()->check(CLI::PositiveNumber);
  cmd->add_option("--slo-ms", args->slo_ms, "p99 latency SLO in milliseconds")->required()->check(CLI::PositiveNumber);
  cmd->add_option("--batches", args->batches, "batch sizes to try")->capture_default_str();
  cmd->add_option("--timeouts-us", args->timeouts_us, "batching timeouts to try (microseconds)")->capture_default_str();
  cmd->add_option("--requests,-n", args->requests, "requests per run")->check(CLI::PositiveNumber)->capture_default_str();
  cmd->add_option("--state", args->state, "hardware state trace every run follows");
  cmd->add_option("--jobs,-j", args->jobs, "simulations at once (default: one per CPU)")->check(CLI::NonNegativeNumber);
  add_policy_options(*cmd, args->policy_args);
  cmd->callback([args] {
    const auto batches = parse_list<std::int64_t>(args->batches, "--batches");
    std::vector<double> timeouts;
    for (double us : parse_list<double>(args->timeouts_us, "--timeouts-us")) timeouts.push_back(us * 1e-6);
    const policies::PolicyInfo& info = policies::policy_info(args->policy);
    const auto platform = platforms::read_platform(platforms::resolve_platform_path(args->platform));
    const platforms::CostModel cost(platform);
    const auto state = args->state.empty() ? std::optional<platforms::StateTrace>()
                                            : std::optional<platforms::StateTrace>(platforms::read_state_trace(args->state, platform));
    std::map<std::int64_t, std::unique_ptr<graph::Graph>> graphs;  // one binding per batch size
    std::string model_name;
    const auto choice = policies::tune_batch(batches, timeouts, args->slo_ms * 1e-3, [&](std::int64_t b, double timeout) {
      auto& g = graphs[b];
      if (!g) {
        ModelSource source = args->model;
        source.batch = b;
        g = std::make_unique<graph::Graph>(load_model(source));
        model_name = g->name;
      }
      policies::PolicyContext ctx;
      ctx.graph = g.get();
      ctx.platform = &platform;
      ctx.cost = &cost;
      apply_policy_args(args->policy_args, ctx);
      apply_predictor(args->policy_args, ctx, {});
      policies::check_options(ctx, info);
      sim::EvaluationSetting setting;
      setting.graph = g.get();
      setting.platform = &platform;
      setting.state = state ? &*state : nullptr;
      setting.arrivals = platforms::parse_arrivals(fmt::format("poisson:{}", args->rate));
      setting.requests = args->requests;
      setting.batch_timeout_s = timeout;
      setting.seed = args->policy_args.seed;
      setting.jobs = args->jobs;
      sim::ForkEvaluator ev(setting);
      const auto policy = info.make();
      if (info.online) return ev.evaluate_online(*policy->online(ctx));
      return ev.evaluate({policy->schedule(ctx)}).front();
    });
    std::cout << fmt::format("{} on {} ({}), {}, Poisson {} requests/s, p99 SLO {} ms, {} requests per run\n",
                             model_name, platform.name, platform.power_mode, args->policy, args->rate, args->slo_ms,
                             args->requests);
    Table t({"batch", "timeout ms", "throughput /s", "latency mean ms", "p99 ms", "energy mJ", "SLO"},
            {true, true, true, true, true, true, false});
    for (std::size_t i = 0; i < choice.candidates.size(); ++i) {
      const auto& c = choice.candidates[i];
      if (!c.evaluation.ok()) {
        t.add_row({std::to_string(c.batch), fmt::format("{:.1f}", c.timeout_s * 1e3), "-", "-", "-", "-",
                   "failed: " + c.evaluation.error});
        continue;
      }
      t.add_row({std::to_string(c.batch), fmt::format("{:.1f}", c.timeout_s * 1e3),
                 fmt::format("{:.1f}", c.evaluation.throughput_rps), fmt::format("{:.3f}", c.evaluation.latency_mean_s * 1e3),
                 fmt::format("{:.3f}", c.evaluation.latency_p99_s * 1e3),
                 fmt::format("{:.2f}", c.evaluation.energy_per_inference_J * 1e3),
                 std::string(c.meets_slo ? "meets" : "misses") + (int(i) == choice.best ? "  <- chosen" : "")});
    }
    t.print(std::cout);
    std::cout.flush();  // the table before the error line
    if (choice.best < 0) {
      throw Error("tune batch", fmt::format("no batch size and timeout meets a p99 of {} ms at {} requests/s",
                                            args->slo_ms, args->rate));
    }
    const auto& best = choice.candidates[std::size_t(choice.best)];
    std::cout << fmt::format("chosen: batch {}, timeout {:.1f} ms ({:.1f} requests/s, p99 {:.3f} ms)\n", best.batch,
                             best.timeout_s * 1e3, best.evaluation.throughput_rps, best.evaluation.latency_p99_s * 1e3);
  });
}

}  // namespace sparoa::cli

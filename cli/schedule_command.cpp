#include <fmt/format.h>

#include <algorithm>
#include <iostream>
#include <map>
#include <sstream>

#include "cli/commands.hpp"
#include "cli/model_source.hpp"
#include "cli/policy_args.hpp"
#include "cli/table.hpp"
#include "graph/onnx_import.hpp"
#include "platforms/platform.hpp"
#include "graph/schedule.hpp"
#include "support/error.hpp"

namespace sparoa::cli {
namespace {

graph::Graph import_model(const std::string& path, std::optional<std::int64_t> batch) {
  graph::ImportOptions options;
  options.batch = batch;
  return graph::import_onnx(path, options);
}

}  // namespace

void add_schedule_command(CLI::App& app) {
  auto* sched = app.add_subcommand("schedule", "Make a schedule with a policy (--policy), check one against its model, "
                                               "or write a single-lane one to start from");
  sched->require_subcommand(0, 1);

  // sparoa schedule --model M --platform P --policy NAME -o schedule.yaml
  struct PolicyRun {
    ModelSource model;
    std::string platform, policy, out;
    PolicyArgs policy_args;
    bool list = false;
  };
  auto run = std::make_shared<PolicyRun>();
  run->model.zoo_dir = SPAROA_DEFAULT_ZOO_DIR;
  sched->add_option("--model,-m", run->model.model, "ONNX file or zoo model name");
  sched->add_option("--sparsity", run->model.sparsity, "weight sparsity of a zoo model's pruned build")
      ->check(CLI::Range(0.0, 0.99));
  sched->add_option("--zoo-dir", run->model.zoo_dir, "where zoo models are built and cached");
  sched->add_option("--batch,-b", run->model.batch, "batch size the model is bound to")->check(CLI::PositiveNumber);
  sched->add_option("--platform,-p", run->platform, "platform YAML file or shipped platform name");
  sched->add_option("--policy", run->policy, "policy name (--list shows them)");
  sched->add_option("--out,-o", run->out, "schedule YAML to write");
  sched->add_flag("--list", run->list, "list the policies and their options");
  add_policy_options(*sched, run->policy_args);
  sched->callback([sched, run] {
    if (!sched->get_subcommands().empty()) return;  // check or template ran
    if (run->list) {
      Table t({"policy", "kind", "options", "description"});
      for (const auto& p : policies::registered_policies()) {
        std::string keys;
        for (const auto& k : p.option_keys) keys.append(keys.empty() ? "" : ",").append(k);
        if (p.uses_thresholds) keys.append(keys.empty() ? "" : ",").append("thresholds");
        t.add_row({p.name, p.online ? "online" : "static", keys.empty() ? "-" : keys, p.description});
      }
      t.print(std::cout);
      return;
    }
    if (run->policy.empty() || run->model.model.empty() || run->platform.empty() || run->out.empty()) {
      throw Error("schedule", "give --model, --platform, --policy and --out (or a subcommand: check, template)");
    }
    const policies::PolicyInfo& info = policies::policy_info(run->policy);
    const auto platform = platforms::read_platform(platforms::resolve_platform_path(run->platform));
    const graph::Graph g = load_model(run->model);
    const platforms::CostModel cost(platform);
    policies::PolicyContext ctx;
    ctx.graph = &g;
    ctx.platform = &platform;
    ctx.cost = &cost;
    apply_policy_args(run->policy_args, ctx);
    if (apply_predictor(run->policy_args, ctx, {})) {
      std::cout << fmt::format("predicted thresholds: rho*={:.4g} I*={:.4g}\n", ctx.thresholds->rho,
                               ctx.thresholds->intensity);
    }
    policies::check_options(ctx, info);
    const graph::Schedule s = info.make()->schedule(ctx);
    graph::validate_schedule(s, g, run->out);
    graph::write_schedule(run->out, s);
    std::map<std::string, int> per_lane;
    int sparse = 0;
    for (const auto& e : s.entries) {
      ++per_lane[e.lane];
      sparse += e.kernel == "sparse" ? 1 : 0;
    }
    std::string lanes;
    for (const auto& [lane, n] : per_lane) lanes += fmt::format("{}{} {}", lanes.empty() ? "" : ", ", lane, n);
    std::cout << fmt::format("{}: {} for {} on {} ({}), batch {}: {} operators ({}), {} sparse{}\n", run->out,
                             run->policy, g.name, platform.name, platform.power_mode, s.batch, s.entries.size(),
                             lanes, sparse, info.online ? " (online policy: its decisions on an idle board)" : "");
  });

  struct CheckArgs {
    std::string schedule, model;
  };
  auto check = std::make_shared<CheckArgs>();
  auto* c = sched->add_subcommand("check", "Validate a schedule against its model: every operator placed once, "
                                           "kernels, lane orders, dependencies, fusions, model hash");
  c->add_option("schedule", check->schedule, "schedule YAML")->required();
  c->add_option("model", check->model, "ONNX model the schedule is for")->required();
  c->callback([check] {
    const graph::Schedule s = graph::read_schedule(check->schedule);
    const graph::Graph g = import_model(check->model, s.batch);
    graph::validate_schedule(s, g, check->schedule);
    std::size_t lanes = 0;
    {
      std::vector<std::string> seen;
      for (const auto& e : s.entries) {
        if (std::find(seen.begin(), seen.end(), e.lane) == seen.end()) seen.push_back(e.lane);
      }
      lanes = seen.size();
    }
    std::cout << fmt::format("{}: valid for {} (batch {}, {} operators on {} lanes)\n", check->schedule, g.name,
                             s.batch, s.entries.size(), lanes);
  });

  struct TemplateArgs {
    std::string model, lane = "cpu0", out, platform = "host", power_mode = "default", kernel = "dense";
    std::optional<std::int64_t> batch;
  };
  auto tmpl = std::make_shared<TemplateArgs>();
  auto* t = sched->add_subcommand("template", "Write a valid schedule: every operator in topological order, on one "
                                              "lane or dealt round-robin over several");
  t->add_option("model", tmpl->model, "ONNX model")->required();
  t->add_option("--out,-o", tmpl->out, "schedule YAML to write")->required();
  t->add_option("--lane", tmpl->lane, "the lane, or comma-separated lanes to deal operators to in turn")
      ->capture_default_str();
  t->add_option("--kernel", tmpl->kernel, "dense, or sparse (wherever the operator has a sparse kernel)")
      ->check(CLI::IsMember({"dense", "sparse"}))->capture_default_str();
  t->add_option("--batch,-b", tmpl->batch, "bind the symbolic batch dimension (default: the model's, else 1)")
      ->check(CLI::PositiveNumber);
  t->add_option("--platform", tmpl->platform, "platform name recorded in the schedule")->capture_default_str();
  t->add_option("--power-mode", tmpl->power_mode, "power mode recorded in the schedule")->capture_default_str();
  t->callback([tmpl] {
    // A symbolic batch defaults to 1; a batch fixed in the model is taken as it is.
    graph::Graph g = [&] {
      if (tmpl->batch) return import_model(tmpl->model, tmpl->batch);
      try {
        return import_model(tmpl->model, std::nullopt);
      } catch (const Error&) {
        return import_model(tmpl->model, 1);
      }
    }();
    graph::Schedule s;
    s.model_path = tmpl->model;
    s.model_sha256 = g.model_sha256;
    s.platform_name = tmpl->platform;
    s.platform_power_mode = tmpl->power_mode;
    s.batch = g.batch;
    std::vector<std::string> lanes;
    {
      std::stringstream in(tmpl->lane);
      for (std::string l; std::getline(in, l, ',');) {
        if (!l.empty()) lanes.push_back(l);
      }
    }
    if (lanes.empty()) throw Error("--lane", "no lane given");
    std::map<std::string, std::int64_t> next;
    std::size_t k = 0;
    std::size_t sparse = 0;
    for (graph::OpId id : g.topological_order()) {
      const std::string& name = g.op(id).name;
      const std::string& lane = lanes[k++ % lanes.size()];
      std::string kernel = "dense";
      if (tmpl->kernel == "sparse") {
        const auto kernels = graph::kernels_for(g, name);
        if (std::find(kernels.begin(), kernels.end(), "sparse") != kernels.end()) {
          kernel = "sparse";
          ++sparse;
        }
      }
      s.entries.push_back({name, lane, kernel, next[lane]++, {}});
    }
    graph::validate_schedule(s, g, tmpl->out);
    graph::write_schedule(tmpl->out, s);
    std::cout << fmt::format("{}: {} operators on lane{} {}{}\n", tmpl->out, s.entries.size(), lanes.size() > 1 ? "s" : "",
                             tmpl->lane, tmpl->kernel == "sparse" ? fmt::format(", {} sparse", sparse) : "");
  });
}

}  // namespace sparoa::cli

#include <fmt/format.h>

#include <algorithm>
#include <iostream>
#include <map>
#include <sstream>

#include "cli/commands.hpp"
#include "graph/onnx_import.hpp"
#include "graph/schedule.hpp"
#include "support/error.hpp"

namespace sparoa::cli {
namespace {

graph::Graph load_model(const std::string& path, std::optional<std::int64_t> batch) {
  graph::ImportOptions options;
  options.batch = batch;
  return graph::import_onnx(path, options);
}

}  // namespace

void add_schedule_command(CLI::App& app) {
  auto* sched = app.add_subcommand("schedule", "Schedules (DESIGN.md's YAML schema): check one against its model, "
                                               "or write a single-lane one to start from");
  sched->require_subcommand(1);

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
    const graph::Graph g = load_model(check->model, s.batch);
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
      if (tmpl->batch) return load_model(tmpl->model, tmpl->batch);
      try {
        return load_model(tmpl->model, std::nullopt);
      } catch (const Error&) {
        return load_model(tmpl->model, 1);
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

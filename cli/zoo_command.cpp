#include <fmt/format.h>

#include <chrono>
#include <iostream>
#include <sstream>

#include "cli/commands.hpp"
#include "cli/table.hpp"
#include "graph/zoo/zoo.hpp"
#include "support/error.hpp"

namespace sparoa::cli {
namespace {

std::vector<double> parse_sparsities(const std::string& list) {
  std::vector<double> out;
  std::stringstream in(list);
  std::string item;
  while (std::getline(in, item, ',')) {
    std::size_t used = 0;
    double v = 0;
    try {
      v = std::stod(item, &used);
    } catch (const std::exception&) {
      used = 0;
    }
    if (used == 0 || used != item.size()) throw Error("--sparsity '" + list + "'", "'" + item + "' is not a number");
    out.push_back(v);
  }
  if (out.empty()) throw Error("--sparsity", "empty list");
  return out;
}

void list_models() {
  Table table({"model", "input", "params", "MACs", "description"}, {false, false, true, true, false});
  for (const auto& m : graph::zoo::models()) {
    std::string input;
    for (std::size_t i = 0; i < m.standard_input.size(); ++i) input += (i ? "x" : "") + std::to_string(m.standard_input[i]);
    table.add_row({m.name, input, fmt::format("{}", m.published_params), fmt::format("{:.1f} M", m.published_macs / 1e6),
                   m.description});
  }
  table.print(std::cout);
}

}  // namespace

void add_zoo_command(CLI::App& app) {
  auto* zoo = app.add_subcommand("zoo", "The model zoo: real architectures as ONNX with seeded weights, pruned on request");
  zoo->require_subcommand(1);

  zoo->add_subcommand("list", "List the zoo's models with their published sizes")->callback(list_models);

  struct Args {
    std::string out;
    std::vector<std::string> models;
    std::string sparsity = "0";
    std::string structured;
    std::uint64_t seed = 0;
  };
  auto args = std::make_shared<Args>();
  auto* build = zoo->add_subcommand("build", "Write zoo models as ONNX files (cached: existing files are reused)");
  build->add_option("--out,-o", args->out, "output folder")->required();
  build->add_option("--models,-m", args->models, "models to build (default: all)")->delimiter(',');
  build->add_option("--sparsity,-s", args->sparsity, "unstructured weight sparsities, comma-separated")->capture_default_str();
  build->add_option("--structured", args->structured, "also build a structured-sparse variant: 2:4");
  build->add_option("--seed", args->seed, "weight seed")->capture_default_str();
  build->callback([args] {
    std::vector<std::string> names = args->models;
    if (names.empty()) {
      for (const auto& m : graph::zoo::models()) names.push_back(m.name);
    }
    std::vector<graph::zoo::Pruning> prunings;
    for (double s : parse_sparsities(args->sparsity)) prunings.push_back({s, false});
    if (!args->structured.empty()) {
      if (args->structured != "2:4") throw Error("--structured '" + args->structured + "'", "only 2:4 is supported");
      prunings.push_back({0.5, true});
    }
    for (const auto& name : names) graph::zoo::model_info(name);  // unknown names fail before any work
    for (const auto& p : prunings) graph::zoo::validate(p);
    Table table({"model", "pruning", "file", "MiB", "seconds"}, {false, false, false, true, true});
    for (const auto& name : names) {
      for (const auto& p : prunings) {
        const auto start = std::chrono::steady_clock::now();
        const auto path = graph::zoo::build_model(name, p, args->out, args->seed);
        const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
        table.add_row({name, graph::zoo::pruning_tag(p), path.string(),
                       fixed(static_cast<double>(std::filesystem::file_size(path)) / (1 << 20), 1), fixed(secs, 2)});
      }
    }
    table.print(std::cout);
  });
}

}  // namespace sparoa::cli

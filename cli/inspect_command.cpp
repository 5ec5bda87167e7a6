#include <iostream>

#include "cli/commands.hpp"
#include "cli/inspect_report.hpp"
#include "graph/onnx_import.hpp"

namespace sparoa::cli {

void add_inspect_command(CLI::App& app) {
  struct Args {
    std::string model;
    std::optional<std::int64_t> batch;
    std::vector<std::string> input_shapes;
    std::string csv;
    graph::Thresholds thresholds;
    bool quiet = false;
  };
  auto args = std::make_shared<Args>();
  auto* cmd = app.add_subcommand("inspect", "Per-operator features of an ONNX model: FLOPs, bytes, intensity, "
                                            "parameters, weight sparsity, quadrant");
  cmd->add_option("model", args->model, "ONNX model file")->required();
  cmd->add_option("--batch,-b", args->batch, "bind the symbolic batch dimension of the inputs")->check(CLI::PositiveNumber);
  cmd->add_option("--input-shape", args->input_shapes, "bind an input's whole shape: NAME=1x3x224x224 (repeatable)");
  cmd->add_option("--csv", args->csv, "also write the per-operator table with exact numbers to this CSV file");
  cmd->add_option("--rho", args->thresholds.rho, "sparsity threshold rho* for the quadrants")
      ->check(CLI::Range(0.0, 1.0))->capture_default_str();
  cmd->add_option("--intensity", args->thresholds.intensity, "intensity threshold I* in FLOP/byte for the quadrants")
      ->check(CLI::NonNegativeNumber)->capture_default_str();
  cmd->add_flag("--summary", args->quiet, "print only the totals and the quadrant summary");
  cmd->callback([args] {
    graph::ImportOptions options;
    options.batch = args->batch;
    for (const auto& s : args->input_shapes) {
      auto [name, shape] = graph::parse_input_shape(s);
      options.input_shapes[name] = shape;
    }
    const graph::Graph g = graph::import_onnx(args->model, options);
    if (!args->quiet) {
      print_operator_table(std::cout, g, args->thresholds);
      std::cout << '\n';
    }
    print_totals(std::cout, g, args->thresholds);
    if (!args->csv.empty()) write_operator_csv(args->csv, g, args->thresholds);
  });
}

}  // namespace sparoa::cli

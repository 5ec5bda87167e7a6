#include <filesystem>
#include <iostream>

#include "support/error.hpp"

#include "cli/commands.hpp"
#include "cli/inspect_report.hpp"
#include "cli/model_source.hpp"
#include "graph/onnx_import.hpp"

namespace sparoa::cli {

void add_inspect_command(CLI::App& app) {
  struct Args {
    std::string model, model_flag, zoo_dir = SPAROA_DEFAULT_ZOO_DIR;
    double sparsity = 0;
    std::optional<std::int64_t> batch;
    std::vector<std::string> input_shapes;
    std::string csv;
    graph::Thresholds thresholds;
    bool quiet = false;
  };
  auto args = std::make_shared<Args>();
  auto* cmd = app.add_subcommand("inspect", "Per-operator features of an ONNX model: FLOPs, bytes, intensity, "
                                            "parameters, weight sparsity, quadrant");
  auto* positional = cmd->add_option("model", args->model, "ONNX model file or zoo model name");
  cmd->add_option("--model,-m", args->model_flag, "the same as the positional MODEL")->excludes(positional);
  cmd->add_option("--sparsity", args->sparsity, "weight sparsity of a zoo model's pruned build")->check(CLI::Range(0.0, 0.99));
  cmd->add_option("--zoo-dir", args->zoo_dir, "where zoo models are built and cached")->capture_default_str();
  cmd->add_option("--batch,-b", args->batch, "bind the symbolic batch dimension of the inputs")->check(CLI::PositiveNumber);
  cmd->add_option("--input-shape", args->input_shapes, "bind an input's whole shape: NAME=1x3x224x224 (repeatable)");
  cmd->add_option("--csv", args->csv, "also write the per-operator table with exact numbers to this CSV file");
  cmd->add_option("--rho", args->thresholds.rho, "sparsity threshold rho* for the quadrants")
      ->check(CLI::Range(0.0, 1.0))->capture_default_str();
  cmd->add_option("--intensity", args->thresholds.intensity, "intensity threshold I* in FLOP/byte for the quadrants")
      ->check(CLI::NonNegativeNumber)->capture_default_str();
  cmd->add_flag("--summary", args->quiet, "print only the totals and the quadrant summary");
  cmd->callback([args] {
    if (!args->model_flag.empty()) args->model = args->model_flag;
    if (args->model.empty()) throw CLI::RequiredError("MODEL (an ONNX file or a zoo model name)");
    graph::ImportOptions options;
    options.batch = args->batch;
    for (const auto& s : args->input_shapes) {
      auto [name, shape] = graph::parse_input_shape(s);
      options.input_shapes[name] = shape;
    }
    // A file as given (its batch dimension left symbolic unless bound); otherwise a zoo name.
    std::error_code ec;
    const bool file = std::filesystem::exists(args->model, ec);
    if (file && args->sparsity > 0) throw Error("--sparsity", "applies to zoo models; prune the file's weights instead");
    ModelSource zoo{args->model, args->sparsity, args->batch.value_or(1), args->zoo_dir, args->input_shapes};
    const graph::Graph g = file ? graph::import_onnx(args->model, options) : load_model(zoo);
    if (!args->quiet) {
      print_operator_table(std::cout, g, args->thresholds);
      std::cout << '\n';
    }
    print_totals(std::cout, g, args->thresholds);
    if (!args->csv.empty()) write_operator_csv(args->csv, g, args->thresholds);
  });
}

}  // namespace sparoa::cli

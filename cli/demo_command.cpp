#include <fmt/format.h>

#include <array>
#include <iostream>

#include "cli/commands.hpp"
#include "cli/inspect_report.hpp"
#include "cli/table.hpp"
#include "graph/onnx_import.hpp"
#include "graph/zoo/zoo.hpp"

namespace sparoa::cli {

// For now the main job is the workload half of the loop: build MobileNetV3-Small at three
// weight sparsities and show how pruning moves its operators between the quadrants.
void add_demo_command(CLI::App& app) {
  struct Args {
    std::string zoo_dir = SPAROA_DEFAULT_ZOO_DIR;
    graph::Thresholds thresholds;
  };
  auto args = std::make_shared<Args>();
  auto* cmd = app.add_subcommand("demo", "Build MobileNetV3-Small at 0%, 50% and 90% weight sparsity and compare "
                                         "their features and quadrants");
  cmd->add_option("--zoo-dir", args->zoo_dir, "where zoo models are built and cached")->capture_default_str();
  cmd->add_option("--rho", args->thresholds.rho, "sparsity threshold rho*")->check(CLI::Range(0.0, 1.0))->capture_default_str();
  cmd->add_option("--intensity", args->thresholds.intensity, "intensity threshold I* (FLOP/byte)")
      ->check(CLI::NonNegativeNumber)->capture_default_str();
  cmd->callback([args] {
    const std::string model = "mobilenetv3_small";
    Table summary({"weight sparsity", "operators", "params", "MACs", "zero weights", "sparse/low-I", "sparse/high-I",
                   "dense/low-I", "dense/high-I"},
                  {true, true, true, true, true, true, true, true, true});
    for (double s : {0.0, 0.5, 0.9}) {
      const auto path = graph::zoo::build_model(model, {s, false}, args->zoo_dir);
      graph::ImportOptions options;
      options.batch = 1;
      const graph::Graph g = graph::import_onnx(path, options);
      std::cout << fmt::format("== {} at {:.0f}% weight sparsity: {}\n", model, s * 100, path.string());
      print_totals(std::cout, g, args->thresholds);
      std::cout << '\n';
      const auto tot = graph::totals(g);
      std::array<int, 4> counts{};
      for (const auto& op : g.operators()) ++counts[static_cast<std::size_t>(graph::quadrant(op.features, args->thresholds))];
      summary.add_row({fmt::format("{:.0f}%", s * 100), std::to_string(tot.operators), std::to_string(tot.params),
                       fmt::format("{:.1f} M", tot.macs / 1e6), fmt::format("{:.1f}%", 100 * tot.weight_sparsity()),
                       std::to_string(counts[0]), std::to_string(counts[1]), std::to_string(counts[2]),
                       std::to_string(counts[3])});
    }
    std::cout << fmt::format("Quadrants of {} (rho* = {:.2f}, I* = {:.1f} FLOP/B; operators without weights use "
                             "activation sparsity, unknown until measured = 0):\n",
                             model, args->thresholds.rho, args->thresholds.intensity);
    summary.print(std::cout);
  });
}

}  // namespace sparoa::cli

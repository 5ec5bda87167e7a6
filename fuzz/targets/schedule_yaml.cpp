// Schedule YAML, then the check of an accepted schedule against a model (names, kernels,
// orders, fusions, dependencies across lanes). The model is a small zoo network built once;
// the schedule's model hash is set to it, so that mutations explore the entries.
#include "fuzz/fuzz_support.hpp"
#include "support/yaml_load.hpp"
#include "graph/onnx_import.hpp"
#include "graph/schedule.hpp"
#include "graph/zoo/zoo.hpp"

namespace {
const sparoa::graph::Graph& model() {
  static const sparoa::graph::Graph g = [] {
    const std::string bytes = sparoa::graph::zoo::build_model_bytes("squeezenet1_1", {}, 1);
    sparoa::graph::ImportOptions options;
    options.batch = 1;
    return sparoa::graph::import_onnx_bytes(bytes, "squeezenet1_1.onnx", options);
  }();
  return g;
}
}  // namespace

SPAROA_FUZZ_TARGET(schedule_yaml) {
  sparoa::fuzz::count_input("schedule_yaml");
  const std::string text(reinterpret_cast<const char*>(data), size);
  const auto& g = model();
  // The first parse is libyaml's, under our limits (support/yaml_load.hpp); yaml-cpp's own
  // parser only ever sees text that passed it.
  try {
    sparoa::check_yaml_text(text, "fuzz.yaml");
    sparoa::fuzz::count_parsed();
  } catch (const sparoa::Error&) {
  }
  sparoa::fuzz::expect_clean([&] {
    auto s = sparoa::graph::parse_schedule(text, "fuzz.yaml");
    // Past the model hash: mutations should explore the entries, not stop at a hash mismatch.
    s.model_sha256 = g.model_sha256;
    sparoa::graph::validate_schedule(s, g, "fuzz.yaml");
  });
  return 0;
}

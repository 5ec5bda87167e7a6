// Experiment files of `sparoa sweep`: keys, factors, commands, metrics, then the cells.
#include "experiments/experiment.hpp"
#include "fuzz/fuzz_support.hpp"
#include "support/yaml_load.hpp"

SPAROA_FUZZ_TARGET(experiment_yaml) {
  sparoa::fuzz::count_input("experiment_yaml");
  const std::string text(reinterpret_cast<const char*>(data), size);
  // The first parse is libyaml's, under our limits (support/yaml_load.hpp); yaml-cpp's own
  // parser only ever sees text that passed it.
  try {
    sparoa::check_yaml_text(text, "fuzz.yaml");
    sparoa::fuzz::count_parsed();
  } catch (const sparoa::Error&) {
  }
  sparoa::fuzz::expect_clean([&] {
    const auto e = sparoa::experiments::parse_experiment(text, "fuzz/experiment.yaml");
    sparoa::experiments::expand_cells(e);
  });
  return 0;
}

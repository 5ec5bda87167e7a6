// The small languages of command-line options: arrival processes (--arrivals), platform
// perturbations (perturb=...), input shapes (--input-shape) and zoo model names. The first
// byte picks the parser. There is no third-party first parse: every input is ours.
#include "fuzz/fuzz_support.hpp"
#include "graph/onnx_import.hpp"
#include "graph/zoo/zoo.hpp"
#include "platforms/arrivals.hpp"
#include "platforms/perturb.hpp"

SPAROA_FUZZ_TARGET(option_specs) {
  sparoa::fuzz::count_input("option_specs");
  if (size == 0) return 0;
  const int which = data[0] % 4;
  const std::string text(reinterpret_cast<const char*>(data) + 1, size - 1);
  sparoa::fuzz::count_parsed();
  sparoa::fuzz::expect_clean([&] {
    if (which == 0) sparoa::platforms::parse_arrivals(text);
    if (which == 1) sparoa::platforms::check_perturb_spec(text, "perturb");
    if (which == 2) sparoa::graph::parse_input_shape(text);
    if (which == 3) sparoa::graph::zoo::parse_model_name(text);
  });
  return 0;
}

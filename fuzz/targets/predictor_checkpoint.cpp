// Threshold predictor files (`sparoa train thresholds --predictor` output): as agent_checkpoint,
// the input is the payload inside a valid envelope.
#include "fuzz/fuzz_support.hpp"
#include "policies/nn/checkpoint.hpp"
#include "policies/threshold_predictor.hpp"

SPAROA_FUZZ_TARGET(predictor_checkpoint) {
  sparoa::fuzz::count_input("predictor_checkpoint");
  const std::string bytes =
      sparoa::fuzz::checkpoint_envelope(std::string_view(reinterpret_cast<const char*>(data), size));
  try {
    sparoa::policies::nn::parse_checkpoint(bytes, "fuzz.predictor");
    sparoa::fuzz::count_parsed();
  } catch (const sparoa::Error&) {
    return 0;
  }
  const sparoa::fuzz::MemFile file(bytes, "predictor");
  sparoa::fuzz::expect_clean([&] { sparoa::policies::ThresholdPredictor::load(file.path()); });
  return 0;
}

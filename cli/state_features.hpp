#pragma once
// Between the simulator's state traces and the threshold predictor: named constant states for
// training ("idle", "gpu-busy:0.5", "cpu-busy:0.3", "dram-busy:0.4") and the StateFeatures a
// trace gives the predictor.
#include <string>

#include "platforms/platform.hpp"
#include "policies/threshold_predictor.hpp"
#include "sim/state_trace.hpp"

namespace sparoa::cli {

struct NamedState {
  std::string name;
  std::string trace_text;  // empty for idle
  policies::StateFeatures features;
};
// Throws sparoa::Error naming the text when the name or load is unknown or out of [0, 0.95].
NamedState named_state(const std::string& text, const platforms::Platform& p);

// The background loads a trace sets at time 0 (later changes are not seen by the predictor).
policies::StateFeatures state_features(const sim::StateTrace& trace, const platforms::Platform& p);

}  // namespace sparoa::cli

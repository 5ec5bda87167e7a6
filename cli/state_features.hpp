#pragma once
// Between the simulator's state traces and the threshold predictor: named constant states for
// training ("idle", "gpu-busy:0.5", "cpu-busy:0.3", "dram-busy:0.4") and the StateFeatures a
// trace gives the predictor.
#include <cstdint>
#include <string>

#include "platforms/platform.hpp"
#include "policies/threshold_predictor.hpp"
#include "platforms/state_trace.hpp"

namespace sparoa::cli {

struct NamedState {
  std::string name;
  std::string trace_text;  // empty for idle
  policies::StateFeatures features;
};
// Throws sparoa::Error naming the text when the name or load is unknown or out of [0, 0.95].
NamedState named_state(const std::string& text, const platforms::Platform& p);

// A changing hardware state drawn from `seed` for `horizon_s` seconds, as trace text (empty
// for idle). Kinds: idle; dvfs (the power mode, or where there is one mode the GPU's pstate,
// changes every 10-40 ms); gpu-bursts and cpu-bursts (other work takes 40-90% of the device
// for 5-40 ms, then leaves it for 5-40 ms); dram-heavy (memory-streaming work asks for 30-80%
// of the DRAM bandwidth, changing every 10-50 ms, with 0-50% CPU load beside it).
// Throws sparoa::Error naming the kind when it is unknown.
std::string dynamic_state_text(const std::string& kind, std::uint64_t seed, const platforms::Platform& p, double horizon_s);
bool is_dynamic_state(const std::string& kind);

// The background loads a trace sets at time 0 (later changes are not seen by the predictor).
policies::StateFeatures state_features(const platforms::StateTrace& trace, const platforms::Platform& p);

}  // namespace sparoa::cli

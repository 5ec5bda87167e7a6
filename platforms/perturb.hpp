#pragma once
// A platform with one group of its parameters scaled: the sensitivity studies of
// experiments/ ask whether a conclusion survives the simulator being wrong by +-30%.
#include <string>

#include "platforms/platform.hpp"

namespace sparoa::platforms {

// `spec`: "none", or KEY=FACTOR pairs separated by ';' with KEY one of
//   gpu_efficiency   compute_efficiency and compute_efficiency_max of every GPU cost entry
//                    (capped at 1, the peak; the cap is named in the provenance notes)
//   cpu_efficiency   the same for the CPU entries
//   launch_overhead  overhead_us of every GPU cost entry (the kernel launch time)
//   dram_bandwidth   every memory domain's bandwidth, power-mode overrides included
// and FACTOR a positive number. The provenance notes record the change; sha256 is cleared.
// Throws sparoa::Error naming `where` for an unknown key or a bad factor.
void perturb_platform(Platform& p, const std::string& spec, const std::string& where);

// Checks `spec` as perturb_platform would, without a platform (experiment files are checked
// when read, before any cell runs).
void check_perturb_spec(const std::string& spec, const std::string& where);

}  // namespace sparoa::platforms

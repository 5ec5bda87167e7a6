#pragma once
// Hardware state over time: a CSV file of changes, applied at their times during a run.
//
//   time_us,action,target,value
//   0,background,gpu,0.3          # another application takes 30% of the GPU
//   5000,pstate,cpu,1497.6        # DVFS: the CPU drops to its 1497.6 MHz pstate
//   10000,power_mode,15W,         # nvpmodel: clocks, online cores, GPU TPCs and EMC change together
//   12000,background,dram,0.5     # memory-streaming work asks for half the DRAM bandwidth
//
// Actions: pstate (target = device, value = a freq_MHz of its pstates), power_mode (target =
// a mode of the platform, value empty), background (target = device or memory domain, value
// = load 0..1; 0 stops it). Times ascend (equal times apply in file order). '#' starts a
// comment line. Errors name file:line and column.
#include <filesystem>
#include <string>
#include <vector>

#include "platforms/platform.hpp"

namespace sparoa::platforms {

struct StateChange {
  enum class Action { pstate, power_mode, background };
  double time_s = 0;
  Action action = Action::pstate;
  std::string target;
  double value = 0;         // freq_MHz or load
  std::size_t pstate = 0;   // resolved for pstate changes
  std::size_t line = 0;
};

struct StateTrace {
  std::string origin;
  std::vector<StateChange> changes;
};

// Parses and checks against the platform (targets exist, frequencies are pstates, loads in
// [0, 1], power modes exist). Throws sparoa::Error naming file:line and the column.
StateTrace read_state_trace(const std::filesystem::path& path, const platforms::Platform& p);
StateTrace parse_state_trace(const std::string& text, const std::string& origin, const platforms::Platform& p);

}  // namespace sparoa::platforms

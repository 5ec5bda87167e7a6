#pragma once
// Setting up the thread of a CPU lane, shared by the replay and the online engine: pin it to
// the lane's cores and size its OpenMP team to them. Debian's oneDNN uses OpenMP and sizes a
// primitive by the team of the thread that creates it, so kernels must be created on this
// thread afterwards; the team's threads inherit its affinity mask.
#include <string>
#include <vector>

#include "hw/replay.hpp"

namespace sparoa::hw {

// One spin-wait step: lets the sibling hyper-thread (x86) or core (aarch64) run.
inline void cpu_relax() {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_ia32_pause();
#elif defined(__aarch64__)
  asm volatile("yield");
#endif
}

// Returns the lane's report: its cores, whether pinning worked, the team size and the
// affinity masks its OpenMP threads saw (for the test that lanes stay on their cores).
LaneReport prepare_cpu_lane_thread(const std::string& lane_id, const std::vector<int>& cpus);

}  // namespace sparoa::hw

#pragma once
// What this machine offers the replay engine, and how a platform's lanes land on it. A
// platform numbers the cores of each CPU device from 0; on the machine, the CPU devices take
// the usable cores (this process's affinity mask, ascending) one after another in the file's
// order: with cores {0,1}, a platform with devices cpu0 (1 core) and cpu1 (1 core) runs cpu0
// on core 0 and cpu1 on core 1.
#include <map>
#include <string>
#include <vector>

#include "hw/gpu/gpu_runtime.hpp"
#include "platforms/platform.hpp"

namespace sparoa::hw {

struct HostMachine {
  std::string cpu_model;   // /proc/cpuinfo "model name" (or the architecture when absent)
  std::string arch;        // uname machine, e.g. x86_64, aarch64
  std::string hostname;
  std::vector<int> cpus;   // usable OS CPU ids, ascending
  int gpus = 0;            // 1 when the CUDA runtime sees a GPU (0 without the GPU backend)
};

HostMachine describe_host();

// One CPU device `cpu` with one lane `cpu0` on all usable cores, in one memory domain: the
// default platform of `sparoa run`. No cost model: it is not meant for the simulator. When
// a GPU is usable, a device `gpu` with lane `gpu0` (stream 0, launched from cpu0) joins it
// (add_host_gpu).
platforms::Platform host_platform(const HostMachine& m);
// A discrete GPU gets its own memory domain `gpu_memory` and a link `pcie` (pinned copies);
// an integrated one (Jetson) shares the CPU's domain, marked zero_copy (mapped memory).
void add_host_gpu(platforms::Platform& p, const gpu::DeviceProperties& props);

// OS CPU ids of every lane of `p`, by lane id: a CPU lane's cores, and for a GPU lane those of
// its launch lane (where its host thread runs). Throws
// sparoa::Error naming the platform and the device or lane when the machine cannot run it:
// more cores than the machine has.
std::map<std::string, std::vector<int>> bind_lanes(const platforms::Platform& p, const HostMachine& m);

// Pins the calling thread to `cpus`; returns "" or why it could not (a container may forbid
// it: the engine then runs unpinned and says so).
std::string pin_current_thread(const std::vector<int>& cpus);
// The calling thread's affinity mask, ascending.
std::vector<int> current_thread_cpus();

}  // namespace sparoa::hw

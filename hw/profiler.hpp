#pragma once
// The profiler: times each operator of a model in isolation on one lane of this machine, for
// each kernel it has and each batch size asked for, so that calibration can fit the cost
// model's per-class parameters. Optionally with cold caches (a sweep through a buffer larger
// than the last-level cache before every repetition) and co-running: another lane streams
// through memory meanwhile, so the DRAM-contention factor can be fitted too.
#include <cstdint>
#include <filesystem>
#include <functional>
#include <string>
#include <vector>

#include "graph/graph.hpp"
#include "hw/cpu/cpu_kernel.hpp"
#include "hw/host_machine.hpp"
#include "platforms/platform.hpp"
#include "platforms/profile.hpp"

namespace sparoa::hw {

struct ProfileLane {
  std::string id;         // lane id of the platform
  std::string device;
  std::vector<int> cpus;  // OS CPU ids (a GPU lane: where its host thread runs)
  bool gpu = false;       // a GPU lane: each operator timed with CUDA events on one stream
};

struct ProfileOptions {
  std::vector<KernelChoice> kernels = {KernelChoice::dense};
  int repetitions = 15;
  int warmup = 2;
  bool cold_cache = false;
  std::size_t cold_cache_bytes = 64u << 20;  // swept before each repetition
  // Co-running: a memory-streaming thread per core of `corun_cpus` runs for the whole
  // profile. Empty: no co-running.
  std::vector<int> corun_cpus;
  std::size_t corun_bytes = 96u << 20;  // well beyond the last-level cache
  std::uint64_t seed = 1;  // random operator inputs
};

using platforms::ProfileHeader;
using platforms::ProfileRow;
using platforms::write_profile_csv;

// Times every operator of `g` (bound to its batch size) on `lane`, for each kernel of
// options.kernels the operator has. `progress` is called after each row. On a GPU lane each
// repetition is the time between CUDA events recorded around the operator's kernels (the
// launch cost on the host is not in it); cold caches and co-running are CPU-only options.
std::vector<ProfileRow> profile_graph(const graph::Graph& g, const ProfileLane& lane, const ProfileOptions& options,
                                      const std::function<void(const ProfileRow&)>& progress = {});

// The same rows, timed in context: the whole model runs `options.repetitions` times (after
// `options.warmup`) on `lane` through the replay engine, one pass per kernel of
// options.kernels (operators without that kernel run dense in its pass and are not
// recorded there), and each operator's row comes from its own records of those runs. Its
// caches hold what the previous operators left, as when the model runs, which isolated
// timing on hot caches does not show. Not with cold_cache.
std::vector<ProfileRow> profile_graph_in_context(const graph::Graph& g, const platforms::Platform& platform,
                                                 const ProfileLane& lane, const ProfileOptions& options,
                                                 const std::function<void(const ProfileRow&)>& progress = {});

// Current frequency of each CPU of `cpus` from cpufreq, "cpu0=2096MHz,cpu1=..."; "" when
// the machine does not expose it (e.g. a virtual machine).
std::string cpu_clocks(const std::vector<int>& cpus);

}  // namespace sparoa::hw

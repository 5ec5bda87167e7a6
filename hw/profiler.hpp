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

namespace sparoa::hw {

struct ProfileLane {
  std::string id;         // lane id of the platform
  std::string device;
  std::vector<int> cpus;  // OS CPU ids
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

struct ProfileRow {
  std::string model;
  std::string op;
  std::string op_type;
  std::string op_class;    // platforms::op_class of the operator
  std::string kernel;      // dense | sparse
  std::string implementation;
  std::int64_t batch = 1;
  std::string lane;
  std::string device;
  int threads = 1;
  double flops = 0;
  double bytes = 0;
  double weight_sparsity = 0;
  bool cold_cache = false;
  bool corun = false;
  int repetitions = 0;
  double median_us = 0;
  double p10_us = 0;
  double p90_us = 0;
  double min_us = 0;
};

// Times every operator of `g` (bound to its batch size) on `lane`, for each kernel of
// options.kernels the operator has. `progress` is called after each row.
std::vector<ProfileRow> profile_graph(const graph::Graph& g, const ProfileLane& lane, const ProfileOptions& options,
                                      const std::function<void(const ProfileRow&)>& progress = {});

struct ProfileHeader {
  std::string machine;      // hostname and CPU model
  std::string date;         // YYYY-MM-DD
  std::string platform;     // name
  std::string power_mode;
  std::string clocks;       // "cpu0=2096MHz,..." when readable, else ""
  std::string git_revision;
  std::string onednn_version;
  std::string model_sha256;
};

// The profile CSV: '# key: value' header lines, then one row per ProfileRow. Atomic.
void write_profile_csv(const std::filesystem::path& path, const ProfileHeader& header, const std::vector<ProfileRow>& rows);

// Current frequency of each CPU of `cpus` from cpufreq, "cpu0=2096MHz,cpu1=..."; "" when
// the machine does not expose it (e.g. a virtual machine).
std::string cpu_clocks(const std::vector<int>& cpus);

}  // namespace sparoa::hw

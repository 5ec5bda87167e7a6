#pragma once
// The replay engine: executes a schedule on this machine's real kernels. Each CPU lane is a
// thread pinned to the lane's cores with an OpenMP team of that many threads; each GPU lane
// is a CUDA stream fed by a thread on its launch lane's cores. A step starts as soon as the
// steps it reads from (on other lanes) are done: per-step completion counters, CUDA events
// between GPU lanes, no barrier per layer. Iterations run one after another (warm-ups
// first), and every measured iteration yields one trace record per step on a steady clock
// (GPU steps: CUDA event times placed on it through an anchor event).
#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "graph/graph.hpp"
#include "graph/schedule.hpp"
#include "hw/plan.hpp"
#include "hw/tensor.hpp"
#include "platforms/platform.hpp"
#include "traces/record.hpp"

namespace sparoa::hw {

struct ReplayOptions {
  const graph::Graph* graph = nullptr;
  const platforms::Platform* platform = nullptr;
  const graph::Schedule* schedule = nullptr;
  std::string schedule_origin = "schedule";
  std::map<std::string, TensorView> inputs;  // one per graph input, by name
  int warmup = 2;       // iterations run before the measured ones (at least 1: it measures activation sparsity)
  int iterations = 10;  // measured iterations
  std::string run_id = "hw";
  bool allow_tf32 = false;  // GPU: TF32 Tensor Core math for float32 convolutions and GEMMs
};

struct LaneReport {
  std::string id;
  std::vector<int> cpus;           // the cores it was bound to
  std::string pinning;             // "" when pinned, otherwise why not
  std::vector<int> observed_cpus;  // affinity masks of its OpenMP threads, seen at start (union)
  int omp_threads = 0;             // the team size its OpenMP threads reported
};

struct ReplayResult {
  std::vector<double> latencies_us;  // per measured iteration: first step start to last step end
  traces::Trace trace;               // records of the measured iterations (and power samples)
  std::map<std::string, HostTensor> outputs;  // graph outputs after the last iteration
  // Fraction of zeros in each operator's activation inputs (not weights), measured in the
  // first warm-up iteration, by operator name (the group's root for a fused group).
  std::map<std::string, double> activation_sparsity;
  std::map<std::string, std::string> implementations;  // group root -> kernel implementation
  std::vector<LaneReport> lanes;
  std::size_t buffer_bytes = 0;    // activation memory with reuse by liveness
  std::size_t unshared_bytes = 0;  // ... without reuse
  // The measured iterations' window on the steady clock (seconds since its epoch), for
  // integrating power samples taken meanwhile.
  double window_begin_s = 0, window_end_s = 0;
  // GPU lanes: the largest uncertainty of placing CUDA event times on the steady clock (half
  // the bracket of the anchor event, hw/README.md), in microseconds; 0 without GPU lanes.
  double gpu_clock_uncertainty_us = 0;
  std::map<std::string, std::string> memory_kinds;  // memory domain -> host|pinned|device|mapped
};

// Throws sparoa::Error with one clear line (schedule, lane, operator or input named) for a
// schedule that does not fit, a platform this machine cannot run, an input of the wrong shape,
// or a kernel that fails. Nothing is written anywhere: the caller writes traces on success.
ReplayResult replay(const ReplayOptions& options);

// Writes measured activation sparsity into the graph's features (operators of a fused group
// other than its root read the root's output, which the engine never materialises: they keep
// what they had). `provenance`: measured for real inputs, synthetic for seeded random ones.
void apply_activation_sparsity(graph::Graph& g, const std::map<std::string, double>& sparsity,
                               graph::SparsityProvenance provenance);

}  // namespace sparoa::hw

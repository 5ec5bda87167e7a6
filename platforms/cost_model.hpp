#pragma once
// The cost model (DESIGN.md): time = overhead + max(FLOPs / (peak x compute efficiency),
// bytes / (bandwidth x memory efficiency)). It lives below sim/ and policies/ so that both use
// the same predictions; the simulator hands exactly these work amounts to SimGrid, whose
// ptask_L07 model turns them into the same roofline when an operator runs alone and adds
// contention when it does not.
#include <cstdint>
#include <string>
#include <vector>

#include "graph/graph.hpp"
#include "platforms/op_class.hpp"
#include "platforms/platform.hpp"

namespace sparoa::platforms {

enum class Kernel { dense, sparse };
std::string_view to_string(Kernel k);
bool parse_kernel(std::string_view text, Kernel& out);

// What one operator execution costs independent of where it runs, at the graph's batch size.
struct OpDemand {
  OpClass op_class = OpClass::elementwise;
  double flops = 0;             // at the graph batch
  double bytes = 0;             // at the graph batch (inputs + weights + outputs)
  double weight_bytes = 0;      // part of `bytes` that does not scale with the batch
  double weight_sparsity = 0;
  bool sparse_capable = false;  // has a sparse kernel (graph::kernels_for)
};

// Demands of every operator of a finalized graph with features computed.
std::vector<OpDemand> op_demands(const graph::Graph& g);

// The amounts handed to the simulator (and the basis of every prediction).
struct Work {
  double effective_flops = 0;  // FLOPs / compute efficiency (sparse: non-zeros' FLOPs only)
  double effective_bytes = 0;  // bytes / memory efficiency
  double overhead_s = 0;       // CPU: dispatch on the lane; GPU: launch on the launch lane
};

class CostModel {
 public:
  explicit CostModel(const Platform& p);  // resolves the entry table once; keeps a reference to p
  CostModel(Platform&&) = delete;          // p must outlive the model

  const Platform& platform() const { return *platform_; }
  const CostEntry& entry(OpClass c, DeviceKind kind, Kernel kernel) const;

  // Work for `batch` requests of a graph bound to `graph_batch` (batch <= graph_batch):
  // FLOPs and activation bytes scale with batch / graph_batch, weight bytes do not.
  Work work(const OpDemand& d, DeviceKind kind, Kernel kernel, std::int64_t batch,
            std::int64_t graph_batch) const;

  // Predicted time of one execution alone on `lane` with the device at `pstate` and
  // `online_units` units on (default: the initial power mode).
  double predict_s(const OpDemand& d, const std::string& lane, Kernel kernel, std::int64_t batch,
                   std::int64_t graph_batch) const;
  double predict_s(const Work& w, const std::string& lane, std::size_t pstate, int online_units,
                   double bandwidth_GBps) const;
  // Time to move `bytes` between devices (0 when they are the same device).
  double transfer_s(double bytes, const std::string& from_device, const std::string& to_device) const;
  // Peak FLOP/s of a lane: a CPU lane's cores (online ones), or the whole GPU.
  double lane_peak_flops(const Lane& lane, const Device& d, std::size_t pstate, int online_units) const;

 private:
  const Platform* platform_;
  // [class][kind][kernel] -> index into platform_->cost_model.entries
  std::vector<int> table_;
};

}  // namespace sparoa::platforms

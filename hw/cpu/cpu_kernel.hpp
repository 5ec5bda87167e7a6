#pragma once
// The CPU kernel interface: one object per (fused group, kernel choice, lane). The replay
// engine constructs it on the lane's own thread, because Debian's oneDNN is built with
// OpenMP and a primitive sizes itself by the OpenMP team of the thread that creates it; own
// kernels use `#pragma omp parallel` on the same team. Construction does all one-off work
// (weight reorders and folding, CSR conversion, primitive creation); run() only computes.
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "graph/graph.hpp"
#include "hw/cpu/fusion.hpp"
#include "hw/tensor.hpp"

namespace sparoa::hw {

enum class KernelChoice { dense, sparse };
std::string_view to_string(KernelChoice k);

struct KernelContext {
  const graph::Graph* graph = nullptr;
  FusedGroup group;          // what to compute (a single operator is a group of one)
  KernelChoice kernel = KernelChoice::dense;
  int threads = 1;           // the lane's cores: the OpenMP team size on the lane's thread

  const graph::Operator& root() const { return graph->op(group.root); }
  // The graph tensor behind input i of the group (weights carry their data).
  const graph::Tensor& input_tensor(std::size_t i) const { return graph->tensor(group.inputs.at(i)); }
  bool input_is_weight(std::size_t i) const;  // false for an omitted ("") input
};

class CpuKernel {
 public:
  virtual ~CpuKernel() = default;
  // inputs: one view per KernelContext::group.inputs entry (weights point at the graph's
  // data, omitted inputs are views without data); outputs: one per group.outputs entry,
  // allocated by the engine with the graph's shapes and dtypes. Kernels never write inputs.
  virtual void run(std::span<const TensorView> inputs, std::span<const TensorView> outputs) = 0;
  // Which implementation runs, for traces and the kernel table: "onednn:convolution
  // (jit:avx512_core)", "own:gather", "sparse:csr-spmm", ...
  virtual std::string implementation() const = 0;
};

// The engine's single entry point: picks oneDNN, the own kernels or the sparse kernels.
// Throws sparoa::Error naming the operator when the kernel choice does not exist for it
// (e.g. `sparse` for a Relu), or the operator/dtype is not supported on the CPU.
std::unique_ptr<CpuKernel> make_cpu_kernel(const KernelContext& ctx);

// The three families, each returning nullptr when it does not handle the case (so that the
// factory can fall back: oneDNN first, then own kernels). Implemented in dnnl_*.cpp,
// own_*.cpp and sparse_*.cpp.
std::unique_ptr<CpuKernel> make_dnnl_kernel(const KernelContext& ctx);
std::unique_ptr<CpuKernel> make_own_kernel(const KernelContext& ctx);
std::unique_ptr<CpuKernel> make_sparse_kernel(const KernelContext& ctx);
// Own kernels preferred over oneDNN where oneDNN's plain-layout primitive is slow: inference
// BatchNormalization and the global poolings on float32 (own_channel.cpp).
std::unique_ptr<CpuKernel> make_own_channel_kernel(const KernelContext& ctx);

// One row per supported ONNX operator type: what runs it on the CPU (hw/README.md's table;
// a test checks that every type the importer supports has a row and that the README agrees).
struct CpuKernelTableRow {
  std::string op_type;
  std::string dense;   // e.g. "oneDNN convolution", "own", "oneDNN binary (f32), own otherwise"
  std::string sparse;  // "" when there is no sparse kernel for the type
};
const std::vector<CpuKernelTableRow>& cpu_kernel_table();

}  // namespace sparoa::hw

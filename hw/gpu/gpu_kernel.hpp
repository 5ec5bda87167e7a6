#pragma once
// The GPU kernel interface: one object per (fused group, kernel choice, GPU lane), built on the
// lane's thread before the first run (cuDNN algorithm choice, weight folding and upload, CSR
// conversion, workspace sizing), so that run() only enqueues work on the lane's stream.
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "hw/cpu/cpu_kernel.hpp"
#include "hw/gpu/gpu_runtime.hpp"
#include "hw/tensor.hpp"

namespace sparoa::hw::gpu {

class GpuKernel {
 public:
  virtual ~GpuKernel() = default;
  // Enqueues the group on the lane's stream and returns. Views carry device addresses (the
  // engine uploads constant weights once; kernels that fold or convert weights keep their own
  // copies, made from the graph's data at construction). Outputs have the graph's shapes.
  virtual void run(std::span<const TensorView> inputs, std::span<const TensorView> outputs) = 0;
  // "cudnn:convolution (implicit_precomp_gemm)", "cublas:sgemm", "cusparse:spmm-csr", "own:pad"...
  virtual std::string implementation() const = 0;
  // Called once the stream has completed a run: throws sparoa::Error for what the device
  // found wrong (a Gather index out of range). Most kernels find nothing.
  virtual void check_after_sync() {}
};

// Picks cuDNN, cuBLAS, cuSPARSE or our own CUDA kernels. Throws sparoa::Error naming the
// operator when nothing on the GPU runs the case (a type, a layout, a sparse kernel that
// does not exist for it), or the build has no GPU backend.
std::unique_ptr<GpuKernel> make_gpu_kernel(const KernelContext& ctx, Stream& stream);

// One row per supported ONNX operator type: what runs it on the GPU (hw/README.md's table).
struct GpuKernelTableRow {
  std::string op_type;
  std::string dense;
  std::string sparse;  // "" when there is no sparse kernel
};
const std::vector<GpuKernelTableRow>& gpu_kernel_table();

}  // namespace sparoa::hw::gpu

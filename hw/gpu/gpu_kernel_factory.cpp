// Picks the implementation of each fused group on the GPU: cuSPARSE when the schedule says
// `sparse`, cuDNN where it has the operator, cuBLAS for Gemm and MatMul, our own CUDA kernels
// for the rest. gpu_kernel_table() (gpu_kernel_table.cpp) describes the same choices.
#include <algorithm>

#include "graph/schedule.hpp"
#include "hw/gpu/gpu_kernel_common.hpp"
#include "support/error.hpp"

namespace sparoa::hw::gpu {

std::unique_ptr<GpuKernel> make_gpu_kernel(const KernelContext& ctx, Stream& stream) {
  const graph::Operator& op = ctx.root();
  const std::string where = own::op_where(op);
  for (const auto& name : ctx.group.inputs) {
    if (!name.empty() && ctx.graph->tensor(name).shape.size() > std::size_t(kMaxDims) + 2) {
      throw Error(where, "tensors of rank above " + std::to_string(kMaxDims + 2) + " are not supported on the GPU");
    }
  }
  if (ctx.kernel == KernelChoice::sparse) {
    const auto kinds = graph::kernels_for(*ctx.graph, op.name);
    if (std::find(kinds.begin(), kinds.end(), "sparse") == kinds.end()) {
      throw Error(where, "has no sparse kernel: sparse kernels exist for Conv, ConvTranspose, Gemm and MatMul with constant weights");
    }
    if (auto k = make_cusparse_kernel(ctx, stream)) return k;
    throw Error(where, "has no sparse GPU kernel");
  }
  if (auto k = make_cudnn_kernel(ctx, stream)) return k;
  if (auto k = make_cublas_kernel(ctx, stream)) return k;
  if (ctx.group.fused()) throw Error(where, "no GPU kernel runs the fusion group '" + ctx.group.name + "'");
  if (auto k = make_own_gpu_kernel(ctx, stream)) return k;
  throw Error(where, "no GPU kernel for this operator");
}

}  // namespace sparoa::hw::gpu

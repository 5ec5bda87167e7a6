// Entry point of the oneDNN kernel family: picks the primitive for the group's root operator.
// Conv, ConvTranspose, Gemm, MatMul, the pools, BatchNormalization, LayerNormalization and
// Softmax run only here, so a configuration oneDNN cannot run throws; the elementwise and
// data-movement types return nullptr instead and the own kernels take them.
#include "hw/cpu/cpu_kernel.hpp"
#include "hw/cpu/dnnl_common.hpp"

namespace sparoa::hw {

std::unique_ptr<CpuKernel> make_dnnl_kernel(const KernelContext& ctx) {
  const std::string& t = ctx.root().type;
  if (t == "Conv" || t == "ConvTranspose") return onednn::make_conv_kernel(ctx);
  if (t == "Gemm" || t == "MatMul") return onednn::make_matmul_kernel(ctx);
  if (ctx.group.fused()) return nullptr;  // only the four types above root a fused group
  if (auto k = onednn::make_pool_kernel(ctx)) return k;
  if (auto k = onednn::make_norm_kernel(ctx)) return k;
  if (auto k = onednn::make_data_kernel(ctx)) return k;
  return onednn::make_elementwise_kernel(ctx);
}

}  // namespace sparoa::hw

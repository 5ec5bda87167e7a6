// Picks the implementation of each fused group: sparse kernels when the schedule says
// `sparse`, otherwise oneDNN where it has a primitive for the case, our own kernels for the
// rest. The table below is what hw/README.md shows; a test keeps the two in step.
#include <algorithm>

#include "graph/schedule.hpp"
#include "hw/cpu/cpu_kernel.hpp"
#include "support/error.hpp"

namespace sparoa::hw {

std::string_view to_string(KernelChoice k) { return k == KernelChoice::sparse ? "sparse" : "dense"; }

bool KernelContext::input_is_weight(std::size_t i) const {
  const std::string& name = group.inputs.at(i);
  return !name.empty() && graph->tensor(name).data != nullptr;
}

namespace {

std::string dtypes_of(const KernelContext& ctx) {
  std::string s;
  for (const auto& name : ctx.group.inputs) {
    if (!s.empty()) s += ", ";
    s += name.empty() ? "-" : std::string(graph::dtype_name(ctx.graph->tensor(name).dtype));
  }
  return s;
}

}  // namespace

std::unique_ptr<CpuKernel> make_cpu_kernel(const KernelContext& ctx) {
  const graph::Operator& op = ctx.root();
  const std::string where = "operator '" + op.name + "' (" + op.type + ")";
  if (ctx.kernel == KernelChoice::sparse) {
    const auto kinds = graph::kernels_for(*ctx.graph, op.name);
    if (std::find(kinds.begin(), kinds.end(), "sparse") == kinds.end()) {
      throw Error(where, "has no sparse kernel: sparse kernels exist for Conv, ConvTranspose, Gemm and MatMul with constant weights");
    }
    if (auto k = make_sparse_kernel(ctx)) return k;
    throw Error(where, "the sparse CPU kernel does not support this operator's configuration");
  }
  if (auto k = make_own_channel_kernel(ctx)) return k;
  // oneDNN 2.6's concat on plain layouts moved about 2 GB/s here (SqueezeNet's fire-module
  // concats); ours copies contiguous blocks with memcpy.
  if (op.type == "Concat" && !ctx.group.fused()) {
    if (auto k = make_own_kernel(ctx)) return k;
  }
  if (auto k = make_dnnl_kernel(ctx)) return k;
  if (ctx.group.fused()) {
    throw Error(where, "no CPU kernel runs the fusion group '" + ctx.group.name + "'");
  }
  if (auto k = make_own_kernel(ctx)) return k;
  throw Error(where, "no CPU kernel for this operator with inputs of type (" + dtypes_of(ctx) + ")");
}

}  // namespace sparoa::hw

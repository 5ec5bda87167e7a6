// Activations (eltwise), two-input arithmetic (binary) and PRelu on oneDNN. Everything here
// is also run by the own kernels, so a case oneDNN does not take returns nullptr.
#include <algorithm>
#include <map>

#include "hw/cpu/dnnl_common.hpp"

namespace sparoa::hw::onednn {
namespace {

bool all_f32(const KernelContext& ctx, std::size_t inputs) {
  for (std::size_t i = 0; i < inputs; ++i) {
    if (!input_is_f32(ctx, i)) return false;
  }
  return output_is_f32(ctx);
}

// A primitive of plain sources and one plain destination (eltwise, binary, prelu). Created
// empty so that the primitive descriptor uses the kernel's own engine, then initialised.
class SimpleKernel final : public DnnlKernel {
 public:
  const dnnl::engine& engine() const { return rt_.engine; }

  // `sources`: (oneDNN argument, run() input index) pairs.
  void init(const dnnl::primitive_desc_base& pd, dnnl::primitive prim, std::vector<std::pair<int, std::size_t>> sources,
            const std::string& name) {
    prim_ = std::move(prim);
    sources_ = std::move(sources);
    for (const auto& [arg, input] : sources_) {
      args_[arg] = dnnl::memory(pd.query_md(dnnl::query::exec_arg_md, arg), rt_.engine, DNNL_MEMORY_NONE);
    }
    args_[DNNL_ARG_DST] = dnnl::memory(pd.dst_desc(), rt_.engine, DNNL_MEMORY_NONE);
    add_scratchpad(pd);
    implementation_ = "onednn:" + name + " (" + pd.impl_info_str() + ")";
  }

  void run(std::span<const TensorView> inputs, std::span<const TensorView> outputs) override {
    for (const auto& [arg, input] : sources_) args_[arg].set_data_handle(inputs[input].data);
    args_[DNNL_ARG_DST].set_data_handle(outputs[0].data);
    prim_.execute(rt_.stream, args_);
    rt_.stream.wait();
  }

 private:
  dnnl::primitive prim_;
  std::vector<std::pair<int, std::size_t>> sources_;
};

std::unique_ptr<CpuKernel> make_eltwise(const KernelContext& ctx) {
  const graph::Operator& op = ctx.root();
  if (op.type == "Clip") {
    // eltwise_of wants constant bounds; run-time ones are the own kernels' case.
    for (std::size_t i = 1; i < std::min<std::size_t>(3, op.inputs.size()); ++i) {
      if (!op.inputs[i].empty() && !ctx.input_is_weight(i)) return nullptr;
      if (!op.inputs[i].empty() && ctx.input_tensor(i).elements() != 1) return nullptr;
    }
  }
  if (!all_f32(ctx, 1)) return nullptr;
  const auto params = eltwise_of(*ctx.graph, op);
  if (!params) return nullptr;
  const auto steps = eltwise_steps(*params);
  // Hard-sigmoid needs two steps and erf has none: the own kernels run them alone.
  if (steps.size() != 1) return nullptr;
  const dnnl::memory::desc data = plain_desc(to_dims(ctx.input_tensor(0).shape));
  auto k = std::make_unique<SimpleKernel>();
  dnnl::eltwise_forward::primitive_desc pd(
      dnnl::eltwise_forward::desc(dnnl::prop_kind::forward_inference, steps[0].alg, data, steps[0].alpha, steps[0].beta),
      scratchpad_attr(), k->engine());
  k->init(pd, dnnl::eltwise_forward(pd), {{DNNL_ARG_SRC, 0}}, "eltwise");
  return k;
}

std::unique_ptr<CpuKernel> make_binary(const KernelContext& ctx) {
  const graph::Operator& op = ctx.root();
  static const std::map<std::string, dnnl::algorithm> algs = {
      {"Add", dnnl::algorithm::binary_add}, {"Sub", dnnl::algorithm::binary_sub}, {"Mul", dnnl::algorithm::binary_mul},
      {"Div", dnnl::algorithm::binary_div}, {"Max", dnnl::algorithm::binary_max}, {"Min", dnnl::algorithm::binary_min}};
  auto it = algs.find(op.type);
  if (it == algs.end() || op.inputs.size() != 2 || !all_f32(ctx, 2)) return nullptr;
  const graph::Shape& y = root_output_shape(ctx);
  const dims_t out = to_dims(y);
  const std::size_t rank = out.size();
  if (rank > DNNL_MAX_NDIMS) return nullptr;
  dims_t a = right_aligned(ctx.input_tensor(0).shape, rank), b = right_aligned(ctx.input_tensor(1).shape, rank);
  std::size_t first = 0, second = 1;
  bool negate = false;
  // oneDNN broadcasts only its second source: a broadcast first operand swaps places when the
  // operation commutes (Sub becomes a negated Sub); otherwise the own kernels take it.
  if (a != out) {
    if (b != out) return nullptr;
    if (op.type == "Div") return nullptr;
    negate = op.type == "Sub";
    std::swap(a, b);
    std::swap(first, second);
  }
  if (!broadcasts_to(b, out)) return nullptr;
  auto k = std::make_unique<SimpleKernel>();
  dnnl::primitive_attr attr = scratchpad_attr();
  if (negate) {
    dnnl::post_ops po;
    po.append_eltwise(1.0f, dnnl::algorithm::eltwise_linear, -1.0f, 0.0f);
    attr.set_post_ops(po);
  }
  try {
    dnnl::binary::primitive_desc pd(dnnl::binary::desc(it->second, plain_desc(a), plain_desc(b), plain_desc(out)), attr,
                                    k->engine());
    k->init(pd, dnnl::binary(pd), {{DNNL_ARG_SRC_0, first}, {DNNL_ARG_SRC_1, second}}, "binary");
    return k;
  } catch (const dnnl::error&) {
    return nullptr;
  }
}

std::unique_ptr<CpuKernel> make_prelu(const KernelContext& ctx) {
  if (ctx.root().inputs.size() != 2 || !all_f32(ctx, 2)) return nullptr;
  const dims_t x = to_dims(ctx.input_tensor(0).shape);
  const dims_t slope = right_aligned(ctx.input_tensor(1).shape, x.size());
  if (ctx.input_tensor(1).shape.size() > x.size() || !broadcasts_to(slope, x)) return nullptr;
  auto k = std::make_unique<SimpleKernel>();
  try {
    dnnl::prelu_forward::primitive_desc pd(
        dnnl::prelu_forward::desc(dnnl::prop_kind::forward_inference, plain_desc(x), plain_desc(slope)), scratchpad_attr(),
        k->engine());
    k->init(pd, dnnl::prelu_forward(pd), {{DNNL_ARG_SRC, 0}, {DNNL_ARG_WEIGHTS, 1}}, "prelu");
    return k;
  } catch (const dnnl::error&) {
    return nullptr;
  }
}

}  // namespace

std::unique_ptr<CpuKernel> make_elementwise_kernel(const KernelContext& ctx) {
  const std::string& t = ctx.root().type;
  try {
    if (t == "PRelu") return make_prelu(ctx);
    if (t == "Add" || t == "Sub" || t == "Mul" || t == "Div" || t == "Max" || t == "Min") return make_binary(ctx);
    return make_eltwise(ctx);
  } catch (const dnnl::error&) {
    return nullptr;  // the own kernels run what oneDNN refuses
  }
}

}  // namespace sparoa::hw::onednn

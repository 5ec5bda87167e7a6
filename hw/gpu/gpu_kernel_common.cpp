#include "hw/gpu/gpu_kernel_common.hpp"

#include "support/error.hpp"

namespace sparoa::hw::gpu {

KernelBase::KernelBase(const KernelContext& ctx, Stream& stream, std::string implementation)
    : where_(own::op_where(ctx.root())), ctx_(&ctx), implementation_(std::move(implementation)), op_(&ctx.root()),
      h_(&stream.handles()) {
  for (const auto& name : ctx.group.inputs) {
    const graph::Tensor* t = name.empty() ? nullptr : &ctx.graph->tensor(name);
    in_types_.push_back(t ? t->dtype : DType::undefined);
    in_shapes_.push_back(t ? t->shape : Shape{});
  }
  for (const auto& name : ctx.group.outputs) {
    const graph::Tensor* t = name.empty() ? nullptr : &ctx.graph->tensor(name);
    out_types_.push_back(t ? t->dtype : DType::undefined);
    out_shapes_.push_back(t ? t->shape : Shape{});
  }
}

void KernelBase::check_views(std::span<const TensorView> in, std::span<const TensorView> out) const {
  if (in.size() != in_types_.size() || out.size() != out_types_.size()) {
    throw Error(where_, "the engine passed " + std::to_string(in.size()) + " inputs and " + std::to_string(out.size()) +
                            " outputs, the group has " + std::to_string(in_types_.size()) + " and " +
                            std::to_string(out_types_.size()));
  }
  for (std::size_t i = 0; i < in.size(); ++i) {
    if (in_types_[i] == DType::undefined) continue;
    if (in[i].dtype != in_types_[i] || in[i].shape != in_shapes_[i]) throw Error(where_, "input " + std::to_string(i) + " does not match the graph");
  }
  for (std::size_t o = 0; o < out.size(); ++o) {
    if (out_types_[o] == DType::undefined) continue;
    if (out[o].dtype != out_types_[o] || out[o].shape != out_shapes_[o]) throw Error(where_, "output " + std::to_string(o) + " does not match the graph");
  }
}

std::optional<TensorView> KernelBase::constant(std::size_t i) const {
  if (ctx_ == nullptr) throw Error(where_, "constant inputs are read at construction only");
  return own::constant_input(*ctx_, i);
}

Elem KernelBase::elem(DType t) const {
  auto e = elem_of(t);
  if (!e) throw Error(where_, "element type " + std::string(graph::dtype_name(t)) + " is not supported on the GPU");
  return *e;
}

Walk to_gpu_walk(const own::Walk& w, const std::string& where) {
  if (w.dims.size() > std::size_t(kMaxDims)) {
    throw Error(where, "more than " + std::to_string(kMaxDims) + " dimensions remain after merging contiguous ones; the GPU kernels stop there");
  }
  Walk g;
  g.rank = int(w.dims.size());
  g.operands = w.operands + 1;
  std::int64_t s = 1;
  for (int d = g.rank - 1; d >= 0; --d) {
    g.dims[d] = w.dims[std::size_t(d)];
    g.strides[0][d] = s;
    s *= g.dims[d];
    for (int k = 0; k < w.operands; ++k) g.strides[k + 1][d] = w.strides[std::size_t(d)][std::size_t(k)];
  }
  for (int k = 0; k < w.operands; ++k) g.offset[k + 1] = w.offset[std::size_t(k)];
  return g;
}

Walk broadcast(const Shape& out, const std::vector<Shape>& operands, const std::string& where) {
  return to_gpu_walk(own::broadcast_walk(out, operands, where), where);
}

UnaryParams unary_of(const EltwiseParams& p) {
  UnaryParams u;
  u.alpha = p.alpha;
  u.beta = p.beta;
  switch (p.alg) {
    case EltwiseAlg::relu: u.op = Unary::relu; break;
    case EltwiseAlg::leaky_relu: u.op = Unary::leaky_relu; break;
    case EltwiseAlg::clip: u.op = Unary::clip; break;
    case EltwiseAlg::sigmoid: u.op = Unary::sigmoid; break;
    case EltwiseAlg::tanh: u.op = Unary::tanh; break;
    case EltwiseAlg::hard_sigmoid: u.op = Unary::hard_sigmoid; break;
    case EltwiseAlg::hard_swish: u.op = Unary::hard_swish; break;
    case EltwiseAlg::exp: u.op = Unary::exp; break;
    case EltwiseAlg::abs: u.op = Unary::abs; break;
    case EltwiseAlg::sqrt: u.op = Unary::sqrt; break;
    case EltwiseAlg::log: u.op = Unary::log; break;
    case EltwiseAlg::neg: u.op = Unary::neg; break;
    case EltwiseAlg::reciprocal: u.op = Unary::reciprocal; break;
    case EltwiseAlg::erf: u.op = Unary::erf; break;
  }
  return u;
}

EpiloguePlan plan_epilogue(const KernelContext& ctx, const Shape& out, std::int64_t channel_axis, const float* bias,
                           const std::string& where) {
  EpiloguePlan p;
  p.e.bias = bias;
  const std::int64_t rank = std::int64_t(out.size());
  // A 0-D output (MatMul of two vectors) has no channel axis.
  p.e.channels = channel_axis >= 0 && channel_axis < rank ? out[std::size_t(channel_axis)] : 1;
  p.e.inner = 1;
  for (std::int64_t d = channel_axis + 1; d < rank; ++d) p.e.inner *= out[std::size_t(d)];
  const std::int64_t total = graph::element_count(out);
  if (ctx.group.post_ops.size() > std::size_t(kMaxPostOps)) {
    throw Error(where, "more than " + std::to_string(kMaxPostOps) + " fused operations after the root");
  }
  for (const auto& po : ctx.group.post_ops) {
    PostOp& q = p.e.op[p.e.ops++];
    if (po.kind == hw::PostOp::Kind::eltwise) {
      q.unary = unary_of(po.eltwise);
      continue;
    }
    if (p.addend_inputs.size() == 2) throw Error(where, "more than two fused Adds after the root");
    const graph::Tensor& t = ctx.input_tensor(po.add_input);
    if (t.dtype != DType::f32) throw Error(where, "a fused Add of " + std::string(graph::dtype_name(t.dtype)) + " on the GPU");
    // By shape, right-aligned against the output: the output's own shape (leading 1s aside),
    // or 1 everywhere but the channel axis. Anything else is refused, not guessed from counts.
    const std::size_t k = p.addend_inputs.size();
    const Shape& s = t.shape;
    bool same = graph::element_count(s) == total && s.size() <= out.size(), per_channel = s.size() <= out.size();
    for (std::size_t i = 0; i < s.size(); ++i) {
      const std::size_t d = out.size() - s.size() + i;
      same = same && s[i] == out[d];
      per_channel = per_channel && (s[i] == 1 || (std::int64_t(d) == channel_axis && s[i] == out[d]));
    }
    for (std::size_t d = 0; d + s.size() < out.size() && same; ++d) same = out[d] == 1;
    if (same) {
      p.e.addend_per_channel[k] = false;
    } else if (per_channel) {
      p.e.addend_per_channel[k] = true;
    } else {
      throw Error(where, "the fused Add's operand '" + t.name + "' (" + graph::shape_string(s) +
                             ") is neither the output's shape nor one value per channel; run the Add unfused");
    }
    q.add = true;
    q.addend = int(k);
    p.addend_inputs.push_back(po.add_input);
  }
  return p;
}

void EpiloguePlan::apply(float* y, std::int64_t n, std::span<const TensorView> in, cudaStream_t s) const {
  if (empty()) return;
  Epilogue run = e;
  for (std::size_t k = 0; k < addend_inputs.size(); ++k) run.addends[k] = static_cast<const float*>(in[addend_inputs[k]].data);
  epilogue(y, n, run, s);
}

}  // namespace sparoa::hw::gpu

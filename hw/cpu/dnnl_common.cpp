#include "hw/cpu/dnnl_common.hpp"

#include <algorithm>
#include <cstring>

namespace sparoa::hw::onednn {

std::string op_where(const graph::Operator& op) { return "operator '" + op.name + "' (" + op.type + ")"; }

std::optional<dt> dnnl_type(graph::DType t) {
  switch (t) {
    case graph::DType::f32: return dt::f32;
    case graph::DType::i32: return dt::s32;
    case graph::DType::i8: return dt::s8;
    case graph::DType::u8: return dt::u8;
    default: return std::nullopt;
  }
}

dims_t to_dims(const graph::Shape& shape) {
  if (shape.empty()) return {1};
  return dims_t(shape.begin(), shape.end());
}

dims_t plain_strides(const dims_t& dims) {
  dims_t strides(dims.size(), 1);
  for (std::size_t i = dims.size(); i-- > 1;) strides[i - 1] = strides[i] * std::max<dnnl::memory::dim>(dims[i], 1);
  return strides;
}

dnnl::memory::desc plain_desc(const dims_t& dims, dt type) { return dnnl::memory::desc(dims, type, plain_strides(dims)); }

dims_t right_aligned(const graph::Shape& shape, std::size_t rank) {
  dims_t out(rank, 1);
  const std::size_t n = std::min(rank, shape.size());
  for (std::size_t i = 0; i < n; ++i) out[rank - 1 - i] = shape[shape.size() - 1 - i];
  return out;
}

bool broadcasts_to(const dims_t& small, const dims_t& full) {
  if (small.size() != full.size()) return false;
  for (std::size_t i = 0; i < small.size(); ++i) {
    if (small[i] != 1 && small[i] != full[i]) return false;
  }
  return true;
}

dims_t spatial_dims(const graph::Shape& shape) { return dims_t(shape.begin() + 2, shape.end()); }

const graph::Tensor* input_tensor_or_null(const KernelContext& ctx, std::size_t i) {
  // Post-op inputs follow the root's own in group.inputs: never mistake one for an omitted
  // optional input of the root (a Conv without bias fused with an Add).
  if (i >= ctx.root().inputs.size() || ctx.group.inputs[i].empty()) return nullptr;
  return &ctx.input_tensor(i);
}

bool input_is_f32(const KernelContext& ctx, std::size_t i) {
  const graph::Tensor* t = input_tensor_or_null(ctx, i);
  return t != nullptr && t->dtype == graph::DType::f32;
}

bool output_is_f32(const KernelContext& ctx, std::size_t o) {
  const auto& outs = ctx.root().outputs;
  return o < outs.size() && !outs[o].empty() && ctx.graph->tensor(outs[o]).dtype == graph::DType::f32;
}

const graph::Shape& root_output_shape(const KernelContext& ctx) { return ctx.graph->tensor(ctx.root().outputs.at(0)).shape; }

void rethrow_dnnl(const KernelContext& ctx, const std::string& what, const dnnl::error& e) {
  throw Error(op_where(ctx.root()), what + " (oneDNN: " + e.what() + ")");
}

Operand::Operand(const Runtime& rt, const dnnl::memory::desc& user, const dnnl::memory::desc& want, bool is_output)
    : is_output_(is_output) {
  user_ = dnnl::memory(user, rt.engine, DNNL_MEMORY_NONE);
  if (want != user) {
    inner_ = dnnl::memory(want, rt.engine);
    reorder_ = is_output ? dnnl::reorder(dnnl::reorder::primitive_desc(rt.engine, want, rt.engine, user))
                         : dnnl::reorder(dnnl::reorder::primitive_desc(rt.engine, user, rt.engine, want));
  }
}

Operand Operand::constant(const Runtime& rt, const dnnl::memory::desc& user, const dnnl::memory::desc& want,
                          const void* data) {
  Operand op;
  op.constant_ = true;
  // oneDNN takes non-const handles; a reorder source and a weight argument are only read.
  op.user_ = dnnl::memory(user, rt.engine, const_cast<void*>(data));
  if (want != user) {
    op.inner_ = dnnl::memory(want, rt.engine);
    dnnl::stream stream(rt.engine);
    dnnl::reorder(op.user_, op.inner_).execute(stream, op.user_, op.inner_);
    stream.wait();
    op.user_ = dnnl::memory();
  }
  return op;
}

void Operand::bind(void* data, dnnl::stream& stream) {
  if (constant_) return;
  user_.set_data_handle(data);
  if (reorder_ && !is_output_) reorder_->execute(stream, user_, inner_);
}

void Operand::finish(dnnl::stream& stream) {
  if (reorder_ && is_output_) reorder_->execute(stream, inner_, user_);
}

void Operand::enable_prefill(const Runtime& rt) {
  if (!inner_) return;
  prefill_source_ = dnnl::memory(user_.get_desc(), rt.engine, DNNL_MEMORY_NONE);
  prefill_reorder_ = dnnl::reorder(dnnl::reorder::primitive_desc(rt.engine, user_.get_desc(), rt.engine, inner_.get_desc()));
}

void Operand::prefill(const void* data, void* out, dnnl::stream& stream) {
  if (prefill_reorder_) {
    prefill_source_.set_data_handle(const_cast<void*>(data));
    prefill_reorder_->execute(stream, prefill_source_, inner_);
  } else if (data != out) {
    std::memcpy(out, data, user_.get_desc().get_size());
  }
}

dnnl::primitive_attr scratchpad_attr() {
  dnnl::primitive_attr attr;
  attr.set_scratchpad_mode(dnnl::scratchpad_mode::user);
  return attr;
}

void DnnlKernel::add_scratchpad(const dnnl::primitive_desc_base& pd) {
  scratchpad_ = dnnl::memory(pd.scratchpad_desc(), rt_.engine);
  args_[DNNL_ARG_SCRATCHPAD] = scratchpad_;
}

std::vector<EltwiseStep> eltwise_steps(const EltwiseParams& p) {
  using A = dnnl::algorithm;
  switch (p.alg) {
    case EltwiseAlg::relu: return {{A::eltwise_relu, 0, 0}};
    case EltwiseAlg::leaky_relu: return {{A::eltwise_relu, p.alpha, 0}};
    case EltwiseAlg::clip: return {{A::eltwise_clip_v2, p.alpha, p.beta}};
    case EltwiseAlg::sigmoid: return {{A::eltwise_logistic, 0, 0}};
    case EltwiseAlg::tanh: return {{A::eltwise_tanh, 0, 0}};
    case EltwiseAlg::hard_sigmoid: return {{A::eltwise_linear, p.alpha, p.beta}, {A::eltwise_clip_v2, 0.0f, 1.0f}};
    case EltwiseAlg::hard_swish: return {{A::eltwise_hardswish, 0, 0}};
    case EltwiseAlg::exp: return {{A::eltwise_exp, 0, 0}};
    case EltwiseAlg::abs: return {{A::eltwise_abs, 0, 0}};
    case EltwiseAlg::sqrt: return {{A::eltwise_sqrt, 0, 0}};
    case EltwiseAlg::log: return {{A::eltwise_log, 0, 0}};
    case EltwiseAlg::neg: return {{A::eltwise_linear, -1.0f, 0.0f}};
    case EltwiseAlg::reciprocal: return {{A::eltwise_pow, 1.0f, -1.0f}};
    case EltwiseAlg::erf: return {};
  }
  return {};
}

Epilogue::Epilogue(const KernelContext& ctx, std::size_t first, const graph::Shape& out_shape) : out_shape_(out_shape) {
  const auto& ops = ctx.group.post_ops;
  for (std::size_t i = first; i < ops.size(); ++i) ops_.push_back(ops[i]);
}

void Epilogue::run(float* out, std::span<const TensorView> inputs) const {
  const std::int64_t n = graph::element_count(out_shape_);
  for (const PostOp& p : ops_) {
    if (p.kind == PostOp::Kind::eltwise) {
      const EltwiseParams e = p.eltwise;
#pragma omp parallel for schedule(static)
      for (std::int64_t i = 0; i < n; ++i) out[i] = apply_eltwise(e, out[i]);
      continue;
    }
    const TensorView& addend = inputs[p.add_input];
    const float* a = addend.as<float>();
    if (addend.elements() == n) {
#pragma omp parallel for schedule(static)
      for (std::int64_t i = 0; i < n; ++i) out[i] += a[i];
      continue;
    }
    // Broadcast addend: its stride along each output dimension, 0 where it has size 1.
    const std::size_t rank = out_shape_.size();
    const dims_t adims = right_aligned(addend.shape, rank);
    const dims_t astrides = plain_strides(adims);
    std::vector<std::int64_t> bstride(rank);
    for (std::size_t d = 0; d < rank; ++d) bstride[d] = adims[d] == 1 ? 0 : astrides[d];
    const graph::Shape shape = out_shape_;
#pragma omp parallel for schedule(static)
    for (std::int64_t i = 0; i < n; ++i) {
      std::int64_t rest = i, offset = 0;
      for (std::size_t d = rank; d-- > 0;) {
        offset += (rest % shape[d]) * bstride[d];
        rest /= shape[d];
      }
      out[i] += a[offset];
    }
  }
}

std::string epilogue_suffix(const KernelContext& ctx, std::size_t in_primitive) {
  const std::size_t rest = ctx.group.post_ops.size() - in_primitive;
  if (rest == 0) return "";
  return " + epilogue (" + std::to_string(rest) + (rest == 1 ? " post-op)" : " post-ops)");
}

void PostOpPlan::bind(std::span<const TensorView> inputs, std::unordered_map<int, dnnl::memory>& args) {
  for (auto& b : binaries) {
    b.memory.set_data_handle(inputs[b.input].data);
    args[b.arg] = b.memory;
  }
}

std::size_t fusable_prefix(const KernelContext& ctx) {
  const auto& ops = ctx.group.post_ops;
  std::size_t n = 0;
  while (n < ops.size() && (ops[n].kind == PostOp::Kind::add || !eltwise_steps(ops[n].eltwise).empty())) ++n;
  return n;
}

dnnl::primitive_attr post_op_attr(const KernelContext& ctx, const dims_t& dst_dims,
                                  const std::function<void(dnnl::primitive_attr&)>& configure,
                                  const std::vector<dnnl::memory::desc>& leading, std::size_t count, bool use_sum,
                                  PostOpPlan& plan) {
  dnnl::primitive_attr attr = scratchpad_attr();
  if (configure) configure(attr);
  dnnl::post_ops po;
  int index = 0;
  for (const auto& md : leading) {
    po.append_binary(dnnl::algorithm::binary_add, md);
    ++index;
  }
  const auto& ops = ctx.group.post_ops;
  for (std::size_t i = 0; i < count; ++i) {
    const PostOp& p = ops[i];
    if (p.kind == PostOp::Kind::eltwise) {
      for (const EltwiseStep& s : eltwise_steps(p.eltwise)) {
        po.append_eltwise(1.0f, s.alg, s.alpha, s.beta);
        ++index;
      }
      continue;
    }
    const graph::Tensor& addend = ctx.input_tensor(p.add_input);
    const dims_t addend_dims = right_aligned(addend.shape, dst_dims.size());
    if (use_sum && !plan.sum_input && addend_dims == dst_dims) {
      po.append_sum(1.0f);
      plan.sum_input = p.add_input;
      ++index;
      continue;
    }
    const dnnl::memory::desc md = plain_desc(addend_dims);
    po.append_binary(dnnl::algorithm::binary_add, md);
    plan.binaries.push_back({DNNL_ARG_ATTR_MULTIPLE_POST_OP(index) | DNNL_ARG_SRC_1, p.add_input, md, {}});
    ++index;
  }
  plan.in_primitive = count;
  if (index > 0) attr.set_post_ops(po);
  return attr;
}

void create_binary_memory(const Runtime& rt, PostOpPlan& plan) {
  for (auto& b : plan.binaries) b.memory = dnnl::memory(b.desc, rt.engine, DNNL_MEMORY_NONE);
}

}  // namespace sparoa::hw::onednn

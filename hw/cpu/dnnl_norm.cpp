// BatchNormalization, LayerNormalization and Softmax on oneDNN's normalisation and softmax
// primitives.
#include <algorithm>
#include <cmath>

#include "hw/cpu/dnnl_common.hpp"

namespace sparoa::hw::onednn {
namespace {

void require_f32(const KernelContext& ctx, std::size_t inputs) {
  for (std::size_t i = 0; i < inputs; ++i) {
    if (input_tensor_or_null(ctx, i) && !input_is_f32(ctx, i)) {
      throw Error(op_where(ctx.root()), "only float32 tensors are supported");
    }
  }
  if (!output_is_f32(ctx)) throw Error(op_where(ctx.root()), "only float32 tensors are supported");
}

std::int64_t normalized_axis(const graph::Operator& op, std::int64_t axis, std::size_t rank) {
  const auto r = std::int64_t(rank);
  if (axis < -r || axis >= std::max<std::int64_t>(r, 1)) throw Error(op_where(op), "axis " + std::to_string(axis) + " is out of range");
  return axis < 0 ? axis + r : axis;
}

// Inference uses the given statistics; training mode (opset 14+, or opset 9-13 asked for its
// running statistics) normalises by the batch's and updates the running ones.
class BatchNormKernel final : public DnnlKernel {
 public:
  explicit BatchNormKernel(const KernelContext& ctx) {
    const graph::Operator& op = ctx.root();
    require_f32(ctx, 5);
    for (std::size_t i = 1; i < 5; ++i) {
      if (!input_tensor_or_null(ctx, i)) throw Error(op_where(op), "needs 5 inputs");
    }
    const graph::Shape& x = ctx.input_tensor(0).shape;
    if (x.size() < 2) throw Error(op_where(op), "the input needs a channel dimension");
    channels_ = x[1];
    for (std::size_t i = 1; i < 5; ++i) {
      if (ctx.input_tensor(i).elements() != channels_) {
        throw Error(op_where(op), "scale, bias, mean and var must have one value per channel");
      }
    }
    std::int64_t rest = 1;
    for (std::size_t d = 2; d < x.size(); ++d) rest *= x[d];
    const auto& outs = op.outputs;
    auto has_output = [&](std::size_t i) { return i < outs.size() && !outs[i].empty(); };
    training_ = op.attr_int("training_mode", 0) != 0 || (ctx.graph->opset < 14 && has_output(1));
    if (ctx.graph->opset < 14 && (has_output(3) || has_output(4))) {
      throw Error(op_where(op), "the saved mean and variance outputs of opset 9 training are not supported");
    }
    momentum_ = float(op.attr_float("momentum", 0.9));
    const float eps = float(op.attr_float("epsilon", 1e-5));
    // oneDNN's optimised batch normalisation wants the tensor's own rank (2-D to 5-D; a
    // [N, C, rest] view of a 4-D tensor gets the reference implementation, 10x slower).
    const dnnl::memory::desc data = x.size() <= 5 ? plain_desc(to_dims(x)) : plain_desc({x[0], x[1], rest});
    auto flags = dnnl::normalization_flags::use_scale | dnnl::normalization_flags::use_shift;
    if (!training_) flags = flags | dnnl::normalization_flags::use_global_stats;
    const auto prop = training_ ? dnnl::prop_kind::forward_training : dnnl::prop_kind::forward_inference;
    dnnl::batch_normalization_forward::primitive_desc pd;
    try {
      pd = dnnl::batch_normalization_forward::primitive_desc(dnnl::batch_normalization_forward::desc(prop, data, eps, flags),
                                                             scratchpad_attr(), rt_.engine);
    } catch (const dnnl::error& e) {
      rethrow_dnnl(ctx, "oneDNN cannot run this batch normalization", e);
    }
    const dnnl::memory::desc vec = plain_desc({channels_});
    for (int arg : {DNNL_ARG_SRC, DNNL_ARG_DST}) args_[arg] = dnnl::memory(data, rt_.engine, DNNL_MEMORY_NONE);
    for (int arg : {DNNL_ARG_SCALE, DNNL_ARG_SHIFT}) args_[arg] = dnnl::memory(vec, rt_.engine, DNNL_MEMORY_NONE);
    if (training_) {
      args_[DNNL_ARG_MEAN] = dnnl::memory(vec, rt_.engine);
      args_[DNNL_ARG_VARIANCE] = dnnl::memory(vec, rt_.engine);
    } else {
      for (int arg : {DNNL_ARG_MEAN, DNNL_ARG_VARIANCE}) args_[arg] = dnnl::memory(vec, rt_.engine, DNNL_MEMORY_NONE);
    }
    if (pd.workspace_desc().get_size() > 0) args_[DNNL_ARG_WORKSPACE] = dnnl::memory(pd.workspace_desc(), rt_.engine);
    add_scratchpad(pd);
    prim_ = dnnl::batch_normalization_forward(pd);
    implementation_ = "onednn:batch_normalization (" + std::string(pd.impl_info_str()) + ")";
  }

  void run(std::span<const TensorView> inputs, std::span<const TensorView> outputs) override {
    args_[DNNL_ARG_SRC].set_data_handle(inputs[0].data);
    args_[DNNL_ARG_DST].set_data_handle(outputs[0].data);
    args_[DNNL_ARG_SCALE].set_data_handle(inputs[1].data);
    args_[DNNL_ARG_SHIFT].set_data_handle(inputs[2].data);
    if (!training_) {
      args_[DNNL_ARG_MEAN].set_data_handle(inputs[3].data);
      args_[DNNL_ARG_VARIANCE].set_data_handle(inputs[4].data);
    }
    prim_.execute(rt_.stream, args_);
    rt_.stream.wait();
    if (!training_) return;
    const float* batch_mean = static_cast<const float*>(args_[DNNL_ARG_MEAN].get_data_handle());
    const float* batch_var = static_cast<const float*>(args_[DNNL_ARG_VARIANCE].get_data_handle());
    const float* mean = inputs[3].as<float>();
    const float* var = inputs[4].as<float>();
    if (outputs.size() > 1 && outputs[1].present()) {
      float* out = outputs[1].as<float>();
      for (std::int64_t c = 0; c < channels_; ++c) out[c] = mean[c] * momentum_ + batch_mean[c] * (1.0f - momentum_);
    }
    if (outputs.size() > 2 && outputs[2].present()) {
      float* out = outputs[2].as<float>();
      for (std::int64_t c = 0; c < channels_; ++c) out[c] = var[c] * momentum_ + batch_var[c] * (1.0f - momentum_);
    }
  }

 private:
  dnnl::primitive prim_;
  std::int64_t channels_ = 0;
  bool training_ = false;
  float momentum_ = 0.9f;
};

// Broadcasts a LayerNormalization parameter (numpy rules) to the normalised shape.
void expand_param(const float* p, const graph::Shape& p_shape, const graph::Shape& norm_shape, float* out) {
  const std::size_t rank = norm_shape.size();
  const dims_t pd = right_aligned(p_shape, rank);
  const dims_t ps = plain_strides(pd);
  const std::int64_t n = graph::element_count(norm_shape);
  for (std::int64_t i = 0; i < n; ++i) {
    std::int64_t rest = i, offset = 0;
    for (std::size_t d = rank; d-- > 0;) {
      if (pd[d] != 1) offset += (rest % norm_shape[d]) * ps[d];
      rest /= norm_shape[d];
    }
    out[i] = p[offset];
  }
}

// LayerNormalization over the dimensions from `axis` on, as [outer, inner]; the optional Mean
// and InvStdDev outputs come from oneDNN's training statistics.
class LayerNormKernel final : public DnnlKernel {
 public:
  explicit LayerNormKernel(const KernelContext& ctx) {
    const graph::Operator& op = ctx.root();
    require_f32(ctx, 3);
    if (!input_tensor_or_null(ctx, 1)) throw Error(op_where(op), "needs a Scale input");
    const graph::Shape& x = ctx.input_tensor(0).shape;
    if (x.empty()) throw Error(op_where(op), "cannot normalise a scalar");
    const std::int64_t axis = normalized_axis(op, op.attr_int("axis", -1), x.size());
    outer_ = inner_ = 1;
    for (std::int64_t d = 0; d < std::int64_t(x.size()); ++d) (d < axis ? outer_ : inner_) *= x[std::size_t(d)];
    norm_shape_ = graph::Shape(x.begin() + axis, x.end());
    eps_ = float(op.attr_float("epsilon", 1e-5));
    const auto& outs = op.outputs;
    stats_ = (outs.size() > 1 && !outs[1].empty()) || (outs.size() > 2 && !outs[2].empty());
    with_shift_ = input_tensor_or_null(ctx, 2) != nullptr;
    for (std::size_t i = 1; i < (with_shift_ ? 3u : 2u); ++i) {
      const graph::Tensor& t = ctx.input_tensor(i);
      if (t.elements() == inner_) continue;
      if (!broadcasts_to(right_aligned(t.shape, norm_shape_.size()), dims_t(norm_shape_.begin(), norm_shape_.end())) ||
          t.shape.size() > norm_shape_.size()) {
        throw Error(op_where(op), "input '" + t.name + "' does not broadcast to the normalised shape");
      }
      expanded_[i - 1].resize(std::size_t(inner_));
      param_shape_[i - 1] = t.shape;
      if (ctx.input_is_weight(i)) {
        expand_param(weight_view(t).as<float>(), t.shape, norm_shape_, expanded_[i - 1].data());
        expanded_const_[i - 1] = true;
      }
    }
    const dnnl::memory::desc data = plain_desc({outer_, inner_});
    auto flags = dnnl::normalization_flags::use_scale;
    if (with_shift_) flags = flags | dnnl::normalization_flags::use_shift;
    const auto prop = stats_ ? dnnl::prop_kind::forward_training : dnnl::prop_kind::forward_inference;
    dnnl::layer_normalization_forward::primitive_desc pd;
    try {
      pd = dnnl::layer_normalization_forward::primitive_desc(
          dnnl::layer_normalization_forward::desc(prop, data, plain_desc({outer_}), eps_, flags), scratchpad_attr(), rt_.engine);
    } catch (const dnnl::error& e) {
      rethrow_dnnl(ctx, "oneDNN cannot run this layer normalization", e);
    }
    const dnnl::memory::desc vec = plain_desc({inner_});
    for (int arg : {DNNL_ARG_SRC, DNNL_ARG_DST}) args_[arg] = dnnl::memory(data, rt_.engine, DNNL_MEMORY_NONE);
    args_[DNNL_ARG_SCALE] = dnnl::memory(vec, rt_.engine, DNNL_MEMORY_NONE);
    if (with_shift_) args_[DNNL_ARG_SHIFT] = dnnl::memory(vec, rt_.engine, DNNL_MEMORY_NONE);
    if (stats_) {
      args_[DNNL_ARG_MEAN] = dnnl::memory(plain_desc({outer_}), rt_.engine);
      args_[DNNL_ARG_VARIANCE] = dnnl::memory(plain_desc({outer_}), rt_.engine);
    }
    add_scratchpad(pd);
    prim_ = dnnl::layer_normalization_forward(pd);
    implementation_ = "onednn:layer_normalization (" + std::string(pd.impl_info_str()) + ")";
  }

  void run(std::span<const TensorView> inputs, std::span<const TensorView> outputs) override {
    args_[DNNL_ARG_SRC].set_data_handle(inputs[0].data);
    args_[DNNL_ARG_DST].set_data_handle(outputs[0].data);
    const int param_args[2] = {DNNL_ARG_SCALE, DNNL_ARG_SHIFT};
    for (std::size_t i = 0; i < (with_shift_ ? 2u : 1u); ++i) {
      if (expanded_[i].empty()) {
        args_[param_args[i]].set_data_handle(inputs[i + 1].data);
        continue;
      }
      if (!expanded_const_[i]) expand_param(inputs[i + 1].as<float>(), param_shape_[i], norm_shape_, expanded_[i].data());
      args_[param_args[i]].set_data_handle(expanded_[i].data());
    }
    prim_.execute(rt_.stream, args_);
    rt_.stream.wait();
    if (!stats_) return;
    const float* mean = static_cast<const float*>(args_[DNNL_ARG_MEAN].get_data_handle());
    const float* var = static_cast<const float*>(args_[DNNL_ARG_VARIANCE].get_data_handle());
    if (outputs.size() > 1 && outputs[1].present()) std::copy(mean, mean + outer_, outputs[1].as<float>());
    if (outputs.size() > 2 && outputs[2].present()) {
      float* inv = outputs[2].as<float>();
      for (std::int64_t i = 0; i < outer_; ++i) inv[i] = 1.0f / std::sqrt(var[i] + eps_);
    }
  }

 private:
  dnnl::primitive prim_;
  std::int64_t outer_ = 1, inner_ = 1;
  graph::Shape norm_shape_;
  float eps_ = 1e-5f;
  bool stats_ = false, with_shift_ = false;
  std::vector<float> expanded_[2];
  bool expanded_const_[2] = {false, false};
  graph::Shape param_shape_[2];
};

// Softmax: opset 13 normalises along `axis`; opsets 11 and 12 over the flattened
// [outer, inner] coercion at `axis` (default 1).
class SoftmaxKernel final : public DnnlKernel {
 public:
  explicit SoftmaxKernel(const KernelContext& ctx) {
    const graph::Operator& op = ctx.root();
    require_f32(ctx, 1);
    const graph::Shape& x = ctx.input_tensor(0).shape;
    dims_t dims;
    int axis = 0;
    if (x.empty()) {
      dims = {1};
    } else if (ctx.graph->opset >= 13) {
      axis = int(normalized_axis(op, op.attr_int("axis", -1), x.size()));
      dims = to_dims(x);
    } else {
      const std::int64_t a = normalized_axis(op, op.attr_int("axis", 1), x.size());
      std::int64_t outer = 1, inner = 1;
      for (std::int64_t d = 0; d < std::int64_t(x.size()); ++d) (d < a ? outer : inner) *= x[std::size_t(d)];
      dims = {outer, inner};
      axis = 1;
    }
    const dnnl::memory::desc data = plain_desc(dims);
    dnnl::softmax_forward::primitive_desc pd;
    try {
      pd = dnnl::softmax_forward::primitive_desc(dnnl::softmax_forward::desc(dnnl::prop_kind::forward_inference, data, axis),
                                                 scratchpad_attr(), rt_.engine);
    } catch (const dnnl::error& e) {
      rethrow_dnnl(ctx, "oneDNN cannot run this softmax", e);
    }
    for (int arg : {DNNL_ARG_SRC, DNNL_ARG_DST}) args_[arg] = dnnl::memory(data, rt_.engine, DNNL_MEMORY_NONE);
    add_scratchpad(pd);
    prim_ = dnnl::softmax_forward(pd);
    implementation_ = "onednn:softmax (" + std::string(pd.impl_info_str()) + ")";
  }

  void run(std::span<const TensorView> inputs, std::span<const TensorView> outputs) override {
    args_[DNNL_ARG_SRC].set_data_handle(inputs[0].data);
    args_[DNNL_ARG_DST].set_data_handle(outputs[0].data);
    prim_.execute(rt_.stream, args_);
    rt_.stream.wait();
  }

 private:
  dnnl::primitive prim_;
};

}  // namespace

std::unique_ptr<CpuKernel> make_norm_kernel(const KernelContext& ctx) {
  const std::string& t = ctx.root().type;
  if (t == "BatchNormalization") return std::make_unique<BatchNormKernel>(ctx);
  if (t == "LayerNormalization") return std::make_unique<LayerNormKernel>(ctx);
  if (t == "Softmax") return std::make_unique<SoftmaxKernel>(ctx);
  return nullptr;
}

}  // namespace sparoa::hw::onednn

// Conv and ConvTranspose on oneDNN's convolution and deconvolution primitives, with folded
// BatchNormalization and fused post-ops.
#include <algorithm>
#include <cstring>

#include "hw/conv_geometry.hpp"
#include "hw/cpu/dnnl_common.hpp"

namespace sparoa::hw::onednn {
namespace {

struct Geometry {
  dims_t strides, dilates, pad_l, pad_r;  // dilates in oneDNN's convention (0 = none)
};

Geometry to_onednn(const ConvGeometry& c) {
  Geometry g;
  g.strides = c.strides;
  for (auto d : c.dilations) g.dilates.push_back(d - 1);
  g.pad_l = c.pad_begin;
  g.pad_r = c.pad_end;
  return g;
}

// Which activations the primitive may take in a blocked layout (reordered from and to ONNX's
// plain one in run()). Measured on resnet18 and mobilenetv2 shapes (2 threads, AVX-512,
// oneDNN 2.6): it runs plain NCHW through im2col + GEMM, its blocked kernels (brgconv,
// brdgmm_dw) are 1.5-4x faster even after both reorders (3x3 64->64 at 56x56: 1170 vs
// 650 us; depthwise 3x3 x32 at 112x112: 780 vs 200 us). A 1x1 stride-1 convolution is a
// plain GEMM on NCHW and stays plain (1x1 144->24 at 56x56: 90 vs 205 us), unless it has
// activation post-ops, which the GEMM-based kernel applies in a slow pass (1x1 16->96 at
// 112x112 with clip: 2.8 ms plain, 0.4 ms blocked with reorders). A first layer with few
// input channels reads plain NCHW directly into a blocked output (7x7 3->64: 700 vs 850 us
// with a source reorder).
struct Layouts {
  bool blocked_src = true;
  bool blocked_dst = true;
};

Layouts choose_layouts(const KernelContext& ctx, bool transposed, std::int64_t groups, std::int64_t cin, const dims_t& kernel,
                       const Geometry& geo) {
  Layouts l;
  if (transposed) return l;
  auto all_equal = [](const dims_t& v, std::int64_t x) { return std::all_of(v.begin(), v.end(), [x](auto e) { return e == x; }); };
  const bool pointwise = all_equal(kernel, 1) && all_equal(geo.strides, 1) && all_equal(geo.pad_l, 0) && all_equal(geo.pad_r, 0);
  const bool activations = std::any_of(ctx.group.post_ops.begin(), ctx.group.post_ops.end(),
                                       [](const PostOp& p) { return p.kind == PostOp::Kind::eltwise; });
  if (pointwise && groups == 1 && !activations) return {false, false};
  if (groups == 1 && cin < 16) l.blocked_src = false;
  return l;
}

class ConvKernel final : public DnnlKernel {
 public:
  ConvKernel(const KernelContext& ctx, bool transposed) {
    const graph::Operator& op = ctx.root();
    const std::string kind = transposed ? "deconvolution" : "convolution";
    for (std::size_t i = 0; i < std::min<std::size_t>(3, op.inputs.size()); ++i) {
      if (i < 2 || input_tensor_or_null(ctx, i)) {
        if (!input_is_f32(ctx, i)) throw Error(op_where(op), "only float32 tensors are supported");
      }
    }
    if (!output_is_f32(ctx)) throw Error(op_where(op), "only float32 tensors are supported");
    const graph::Shape& x = ctx.input_tensor(0).shape;
    const graph::Shape& w = ctx.input_tensor(1).shape;
    const graph::Shape& y = root_output_shape(ctx);
    out_shape_ = y;
    if (x.size() < 3 || x.size() > 5) {
      throw Error(op_where(op), "only 1-D, 2-D and 3-D convolutions are supported (input rank " + std::to_string(x.size()) + ")");
    }
    if (w.size() != x.size() || y.size() != x.size()) throw Error(op_where(op), "input, weight and output ranks differ");
    const std::int64_t groups = op.attr_int("group", 1);
    const std::int64_t cin = x[1], cout = y[1];
    if (groups < 1 || cin % groups != 0 || cout % groups != 0) throw Error(op_where(op), "channels are not divisible by group");
    const dims_t kdims = spatial_dims(w);
    std::int64_t kvol = 1;
    for (auto k : kdims) kvol *= k;

    // Weights as oneDNN sees them: [g,] oc, ic, k... over ONNX's layout.
    dims_t wdims, wstrides;
    if (!transposed) {
      // ONNX [M, C/g, k...] is oneDNN's (g)oi(k) in row-major order.
      wdims = groups > 1 ? dims_t{groups, cout / groups, cin / groups} : dims_t{cout, cin};
      wdims.insert(wdims.end(), kdims.begin(), kdims.end());
      wstrides = plain_strides(wdims);
    } else {
      // ONNX [C, M/g, k...] is (g)io(k): oc strides by the kernel volume, ic by (M/g) * it.
      const std::int64_t ocg = cout / groups, icg = cin / groups;
      wdims = groups > 1 ? dims_t{groups, ocg, icg} : dims_t{cout, cin};
      wstrides = groups > 1 ? dims_t{icg * ocg * kvol, kvol, ocg * kvol} : dims_t{kvol, ocg * kvol};
      const dims_t ks = plain_strides(kdims);
      wdims.insert(wdims.end(), kdims.begin(), kdims.end());
      wstrides.insert(wstrides.end(), ks.begin(), ks.end());
    }
    if (w[0] != (transposed ? cin : cout)) throw Error(op_where(op), "weight shape does not match the channels");
    const dnnl::memory::desc w_user(wdims, dt::f32, wstrides);
    const Geometry geo = to_onednn(transposed ? deconv_geometry(op, x, w, y) : conv_geometry(op, x, w, y));

    const bool weights_const = ctx.input_is_weight(1);
    const graph::Tensor* bias_t = input_tensor_or_null(ctx, 2);
    const bool bias_const = bias_t && ctx.input_is_weight(2);
    if (ctx.group.batch_norm) {
      if (!weights_const || (bias_t && !bias_const)) {
        throw Error(op_where(op), "a BatchNormalization can only be folded into constant weights and bias");
      }
      fold_batch_norm(ctx, cout);
    }
    const bool with_bias = bias_t != nullptr || ctx.group.batch_norm.has_value();

    // A ConvTranspose whose output reaches past oneDNN's (output_padding beyond the end
    // padding): oneDNN computes the part it can reach into a smaller buffer, we copy it into
    // place and do bias and post-ops here.
    widened_ = transposed && std::any_of(geo.pad_r.begin(), geo.pad_r.end(), [](auto p) { return p < 0; });
    Geometry used = geo;
    dims_t dst_dims = to_dims(y);
    if (widened_) {
      for (std::size_t d = 0; d < used.pad_r.size(); ++d) {
        if (used.pad_r[d] < 0) {
          dst_dims[2 + d] += used.pad_r[d];
          used.pad_r[d] = 0;
        }
      }
      inner_dims_ = dst_dims;
      inner_out_ = HostTensor(graph::DType::f32, graph::Shape(dst_dims.begin(), dst_dims.end()));
    }

    const dnnl::memory::desc src_user = plain_desc(to_dims(x));
    const dnnl::memory::desc dst_user = plain_desc(dst_dims);
    const Layouts layouts = choose_layouts(ctx, transposed, groups, cin, kdims, used);
    const dnnl::memory::desc src_prim = layouts.blocked_src ? dnnl::memory::desc(to_dims(x), dt::f32, dnnl::memory::format_tag::any) : src_user;
    const dnnl::memory::desc dst_prim = layouts.blocked_dst ? dnnl::memory::desc(dst_dims, dt::f32, dnnl::memory::format_tag::any) : dst_user;
    const dnnl::memory::desc bias_md = with_bias ? plain_desc({cout}) : dnnl::memory::desc();
    const dnnl::memory::desc w_any(wdims, dt::f32, dnnl::memory::format_tag::any);
    const auto prop = dnnl::prop_kind::forward_inference;
    const bool use_bias_in_primitive = with_bias && !widened_;
    const dnnl::memory::desc prim_bias = use_bias_in_primitive ? bias_md : dnnl::memory::desc();

    try {
      if (!transposed) {
        auto make = [&](const dnnl::primitive_attr& attr) {
          dnnl::convolution_forward::desc d(prop, dnnl::algorithm::convolution_direct, src_prim, w_any, prim_bias, dst_prim,
                                            used.strides, used.dilates, used.pad_l, used.pad_r);
          return dnnl::convolution_forward::primitive_desc(d, attr, rt_.engine);
        };
        auto pd = create_fused<dnnl::convolution_forward::primitive_desc>(ctx, rt_, dst_dims, {}, {}, make, plan_);
        setup(ctx, pd, pd.src_desc(), pd.weights_desc(), pd.dst_desc(), src_user, w_user, dst_user, use_bias_in_primitive);
        prim_ = dnnl::convolution_forward(pd);
        implementation_ = "onednn:convolution (" + std::string(pd.impl_info_str()) + ")";
      } else {
        auto make = [&](const dnnl::primitive_attr& attr) {
          dnnl::deconvolution_forward::desc d(prop, dnnl::algorithm::deconvolution_direct, src_prim, w_any, prim_bias,
                                              dst_prim, used.strides, used.dilates, used.pad_l, used.pad_r);
          return dnnl::deconvolution_forward::primitive_desc(d, attr, rt_.engine);
        };
        dnnl::deconvolution_forward::primitive_desc pd;
        if (widened_) {
          pd = make(scratchpad_attr());  // post-ops all run in the epilogue
        } else {
          pd = create_fused<dnnl::deconvolution_forward::primitive_desc>(ctx, rt_, dst_dims, {}, {}, make, plan_);
        }
        setup(ctx, pd, pd.src_desc(), pd.weights_desc(), pd.dst_desc(), src_user, w_user, dst_user, use_bias_in_primitive);
        prim_ = dnnl::deconvolution_forward(pd);
        implementation_ = "onednn:deconvolution (" + std::string(pd.impl_info_str()) + ")";
      }
    } catch (const dnnl::error& e) {
      rethrow_dnnl(ctx, "oneDNN cannot run this " + kind, e);
    }
    if (widened_) {
      if (with_bias) {
        bias_values_.resize(std::size_t(cout));
        if (ctx.group.batch_norm) {
          bias_values_ = folded_b_;
        } else if (bias_const) {
          const float* b = weight_view(*bias_t).as<float>();
          std::copy(b, b + cout, bias_values_.begin());
        } else {
          bias_input_ = true;
        }
      }
      epilogue_ = Epilogue(ctx, 0, y);
    } else {
      epilogue_ = Epilogue(ctx, plan_.in_primitive, y);
    }
    implementation_ += epilogue_suffix(ctx, widened_ ? 0 : plan_.in_primitive);
  }

  void run(std::span<const TensorView> inputs, std::span<const TensorView> outputs) override {
    src_.bind(inputs[0].data, rt_.stream);
    weights_.bind(inputs[1].data, rt_.stream);
    if (bias_runtime_) bias_.bind(inputs[2].data, rt_.stream);
    float* out = outputs[0].as<float>();
    dst_.bind(widened_ ? inner_out_.view().data : out, rt_.stream);
    if (plan_.sum_input) dst_.prefill(inputs[*plan_.sum_input].data, out, rt_.stream);
    plan_.bind(inputs, args_);
    prim_.execute(rt_.stream, args_);
    dst_.finish(rt_.stream);
    rt_.stream.wait();
    if (widened_) scatter_widened(out, inputs);
    if (!epilogue_.empty()) epilogue_.run(out, inputs);
  }

 private:
  void fold_batch_norm(const KernelContext& ctx, std::int64_t cout) {
    const FoldedBatchNorm& bn = *ctx.group.batch_norm;
    const TensorView wv = weight_view(ctx.input_tensor(1));
    const float* w = wv.as<float>();
    folded_w_.assign(w, w + wv.elements());
    // Conv weights are [M, C/g, k...]: output channel m owns a contiguous block.
    const std::size_t per_oc = folded_w_.size() / std::size_t(cout);
    for (std::size_t m = 0; m < std::size_t(cout); ++m) {
      for (std::size_t i = 0; i < per_oc; ++i) folded_w_[m * per_oc + i] *= bn.scale[m];
    }
    folded_b_.assign(std::size_t(cout), 0.0f);
    if (const graph::Tensor* b = input_tensor_or_null(ctx, 2)) {
      const float* bv = weight_view(*b).as<float>();
      std::copy(bv, bv + cout, folded_b_.begin());
    }
    for (std::size_t m = 0; m < std::size_t(cout); ++m) folded_b_[m] = folded_b_[m] * bn.scale[m] + bn.shift[m];
  }

  void setup(const KernelContext& ctx, const dnnl::primitive_desc& pd, const dnnl::memory::desc& src_want,
             const dnnl::memory::desc& w_want, const dnnl::memory::desc& dst_want, const dnnl::memory::desc& src_user,
             const dnnl::memory::desc& w_user, const dnnl::memory::desc& dst_user, bool bias_in_primitive) {
    src_ = Operand(rt_, src_user, src_want, false);
    if (!folded_w_.empty()) {
      weights_ = Operand::constant(rt_, w_user, w_want, folded_w_.data());
    } else if (ctx.input_is_weight(1)) {
      weights_ = Operand::constant(rt_, w_user, w_want, weight_view(ctx.input_tensor(1)).data);
    } else {
      weights_ = Operand(rt_, w_user, w_want, false);
    }
    dst_ = Operand(rt_, dst_user, dst_want, true);
    if (plan_.sum_input) dst_.enable_prefill(rt_);
    args_[DNNL_ARG_SRC] = src_.memory();
    args_[DNNL_ARG_WEIGHTS] = weights_.memory();
    args_[DNNL_ARG_DST] = dst_.memory();
    if (bias_in_primitive) {
      const dnnl::memory::desc b_md = pd.query_md(dnnl::query::exec_arg_md, DNNL_ARG_BIAS);
      const dnnl::memory::desc b_user = plain_desc({b_md.dims()[0]});
      if (ctx.group.batch_norm) {
        bias_ = Operand::constant(rt_, b_user, b_md, folded_b_.data());
      } else if (ctx.input_is_weight(2)) {
        bias_ = Operand::constant(rt_, b_user, b_md, weight_view(ctx.input_tensor(2)).data);
      } else {
        bias_ = Operand(rt_, b_user, b_md, false);
        bias_runtime_ = true;
      }
      args_[DNNL_ARG_BIAS] = bias_.memory();
    }
    add_scratchpad(pd);
  }

  // Copies the oneDNN result into the larger output; positions it did not reach get 0, then
  // every position gets the bias.
  void scatter_widened(float* out, std::span<const TensorView> inputs) const {
    const float* in = inner_out_.as<float>();
    const std::size_t rank = out_shape_.size();
    const std::int64_t outer = out_shape_[0] * out_shape_[1];
    const dims_t& idims = inner_dims_;
    std::int64_t ivol = 1, ovol = 1;
    for (std::size_t d = 2; d < rank; ++d) {
      ivol *= idims[d];
      ovol *= out_shape_[d];
    }
    const std::int64_t channels = out_shape_[1];
    const float* bias = bias_input_ ? inputs[2].as<float>() : (bias_values_.empty() ? nullptr : bias_values_.data());
    const dims_t ostrides = plain_strides(to_dims(out_shape_));
#pragma omp parallel for schedule(static)
    for (std::int64_t nc = 0; nc < outer; ++nc) {
      float* o = out + nc * ovol;
      const float b = bias ? bias[nc % channels] : 0.0f;
      std::fill(o, o + ovol, b);
      const float* src = in + nc * ivol;
      for (std::int64_t i = 0; i < ivol; ++i) {
        std::int64_t rest = i, offset = 0;
        for (std::size_t d = rank; d-- > 2;) {
          offset += (rest % idims[d]) * ostrides[d];
          rest /= idims[d];
        }
        o[offset] += src[i];
      }
    }
  }

  dnnl::primitive prim_;
  Operand src_, weights_, bias_, dst_;
  bool bias_runtime_ = false;
  PostOpPlan plan_;
  Epilogue epilogue_;
  graph::Shape out_shape_;
  std::vector<float> folded_w_, folded_b_;
  bool widened_ = false;
  bool bias_input_ = false;
  dims_t inner_dims_;
  HostTensor inner_out_;
  std::vector<float> bias_values_;
};

}  // namespace

std::unique_ptr<CpuKernel> make_conv_kernel(const KernelContext& ctx) {
  const std::string& t = ctx.root().type;
  if (t != "Conv" && t != "ConvTranspose") return nullptr;
  return std::make_unique<ConvKernel>(ctx, t == "ConvTranspose");
}

}  // namespace sparoa::hw::onednn

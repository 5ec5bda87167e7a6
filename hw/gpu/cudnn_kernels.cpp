// Operators on cuDNN's legacy (descriptor) API, which cuDNN 8.9 and 9 both have: Conv
// (grouped and depthwise too, with a folded BatchNormalization and the fused epilogue),
// ConvTranspose (backward data into the full output, then cropped), BatchNormalization,
// Softmax, pooling, and the Relu/Sigmoid/Tanh activations on float32. cuDNN 9 marks this API
// deprecated but keeps it; the warnings are silenced for this file only (CMakeLists.txt).
//
// FP32 stays FP32 unless TF32 was allowed: convolutions run with CUDNN_FMA_MATH, since
// CUDNN_DEFAULT_MATH permits TF32 Tensor Core kernels on Ampere and newer.
#include <algorithm>
#include <climits>

#include "hw/conv_geometry.hpp"
#include "hw/gpu/gpu_kernel_common.hpp"
#include "support/error.hpp"

namespace sparoa::hw::gpu {

std::unique_ptr<GpuKernel> make_own_pool_kernel(const KernelContext& ctx, Stream& stream);
std::unique_ptr<GpuKernel> make_own_softmax_kernel(const KernelContext& ctx, Stream& stream, std::int64_t outer,
                                                   std::int64_t axis, std::int64_t inner);

namespace {

// cuDNN takes int dimensions.
int to_int(std::int64_t v, const std::string& where) {
  if (v > INT_MAX || v < 0) throw Error(where, "a size of " + std::to_string(v) + " elements exceeds the int range cuDNN takes");
  return int(v);
}

// Shapes of rank 1 to 3 padded to cuDNN's minimum of 4 dimensions with trailing 1s.
std::vector<int> dims4(const Shape& s, const std::string& where) {
  std::vector<int> d;
  for (auto v : s) d.push_back(to_int(v, where));
  while (d.size() < 4) d.push_back(1);
  return d;
}
// Row-major strides; cuDNN takes them as int, so a tensor of 2^31 elements or more is refused.
std::vector<int> packed_strides(const std::vector<int>& d, const std::string& where) {
  std::vector<int> s(d.size(), 1);
  std::int64_t stride = 1;
  for (std::size_t i = d.size(); i-- > 1;) {
    stride *= d[i];
    s[i - 1] = to_int(stride, where);
  }
  to_int(stride * d[0], where);
  return s;
}

class TensorDesc {
 public:
  TensorDesc(const std::vector<int>& dims, const std::string& where) {
    const auto strides = packed_strides(dims, where);
    check(cudnnCreateTensorDescriptor(&d_), where);
    check(cudnnSetTensorNdDescriptor(d_, CUDNN_DATA_FLOAT, int(dims.size()), dims.data(), strides.data()), where);
  }
  ~TensorDesc() { cudnnDestroyTensorDescriptor(d_); }
  TensorDesc(const TensorDesc&) = delete;
  TensorDesc& operator=(const TensorDesc&) = delete;
  cudnnTensorDescriptor_t get() const { return d_; }

 private:
  cudnnTensorDescriptor_t d_ = nullptr;
};

class FilterDesc {
 public:
  FilterDesc(const std::vector<int>& dims, const std::string& where) {
    check(cudnnCreateFilterDescriptor(&d_), where);
    check(cudnnSetFilterNdDescriptor(d_, CUDNN_DATA_FLOAT, CUDNN_TENSOR_NCHW, int(dims.size()), dims.data()), where);
  }
  ~FilterDesc() { cudnnDestroyFilterDescriptor(d_); }
  FilterDesc(const FilterDesc&) = delete;
  FilterDesc& operator=(const FilterDesc&) = delete;
  cudnnFilterDescriptor_t get() const { return d_; }

 private:
  cudnnFilterDescriptor_t d_ = nullptr;
};

class ConvDesc {
 public:
  ConvDesc(const std::vector<int>& pads, const std::vector<int>& strides, const std::vector<int>& dilations, int groups,
           const std::string& where) {
    check(cudnnCreateConvolutionDescriptor(&d_), where);
    check(cudnnSetConvolutionNdDescriptor(d_, int(pads.size()), pads.data(), strides.data(), dilations.data(),
                                          CUDNN_CROSS_CORRELATION, CUDNN_DATA_FLOAT),
          where);
    check(cudnnSetConvolutionGroupCount(d_, groups), where);
  }
  ~ConvDesc() { cudnnDestroyConvolutionDescriptor(d_); }
  ConvDesc(const ConvDesc&) = delete;
  ConvDesc& operator=(const ConvDesc&) = delete;
  cudnnConvolutionDescriptor_t get() const { return d_; }

 private:
  cudnnConvolutionDescriptor_t d_ = nullptr;
};

constexpr std::size_t kMaxWorkspace = std::size_t(512) << 20;  // per lane: cuDNN may ask for more; faster algorithms are skipped then

const char* fwd_algo_name(cudnnConvolutionFwdAlgo_t a) {
  switch (a) {
    case CUDNN_CONVOLUTION_FWD_ALGO_IMPLICIT_GEMM: return "implicit_gemm";
    case CUDNN_CONVOLUTION_FWD_ALGO_IMPLICIT_PRECOMP_GEMM: return "implicit_precomp_gemm";
    case CUDNN_CONVOLUTION_FWD_ALGO_GEMM: return "gemm";
    case CUDNN_CONVOLUTION_FWD_ALGO_DIRECT: return "direct";
    case CUDNN_CONVOLUTION_FWD_ALGO_FFT: return "fft";
    case CUDNN_CONVOLUTION_FWD_ALGO_FFT_TILING: return "fft_tiling";
    case CUDNN_CONVOLUTION_FWD_ALGO_WINOGRAD: return "winograd";
    case CUDNN_CONVOLUTION_FWD_ALGO_WINOGRAD_NONFUSED: return "winograd_nonfused";
    default: return "?";
  }
}

// Conv and ConvTranspose. Convolution: cuDNN pads symmetrically, so an asymmetric padding is
// applied by our pad kernel into a scratch input first. ConvTranspose: backward data with no
// padding gives the full output; our pad kernel crops it to the inferred output (negative
// begin padding), which also covers output_padding and asymmetric pads.
class ConvKernel final : public KernelBase {
 public:
  ConvKernel(const KernelContext& ctx, Stream& s, bool transposed) : KernelBase(ctx, s, ""), transposed_(transposed) {
    const graph::Operator& op = ctx.root();
    for (std::size_t i = 0; i < 3 && i < in_types_.size(); ++i) {
      if (present(i) && in_types_[i] != DType::f32) throw Error(where_, "convolutions on the GPU run float32 only");
    }
    const Shape& x = in_shapes_.at(0);
    const Shape& w = in_shapes_.at(1);
    const Shape& y = ctx.graph->tensor(op.outputs.at(0)).shape;
    if (x.size() < 3 || x.size() > 5) throw Error(where_, "convolutions of 1 to 3 spatial dimensions only");
    const std::size_t sd = x.size() - 2;
    const int groups = to_int(op.attr_int("group", 1), where_);
    const ConvGeometry geo = transposed ? deconv_geometry(op, x, w, y) : conv_geometry(op, x, w, y);
    // cuDNN's convolution descriptors have at least 2 spatial dimensions: a 1-D one gets W = 1.
    auto spatial = [&](const std::vector<std::int64_t>& v, int fill) {
      std::vector<int> out;
      for (auto e : v) out.push_back(to_int(e, where_));
      if (sd == 1) out.push_back(fill);
      return out;
    };
    const auto strides = spatial(geo.strides, 1), dilations = spatial(geo.dilations, 1);
    n_out_ = graph::element_count(y);
    y_dims_ = dims4(y, where_);
    filter_ = std::make_unique<FilterDesc>(dims4(w, where_), where_);
    const cudnnFilterDescriptor_t filter = filter_->get();
    if (!transposed) {
      bool symmetric = true;
      for (std::size_t d = 0; d < sd; ++d) symmetric = symmetric && geo.pad_begin[d] == geo.pad_end[d];
      Shape xin = x;
      std::vector<int> pads;
      if (symmetric) {
        pads = spatial(geo.pad_begin, 0);
      } else {
        // Pad explicitly (zeros) and convolve without padding.
        pre_pad_.rank = int(x.size());
        for (std::size_t d = 0; d < x.size(); ++d) {
          pre_pad_.in_dims[d] = x[d];
          pre_pad_.begin[d] = d >= 2 ? geo.pad_begin[d - 2] : 0;
          xin[d] = x[d] + (d >= 2 ? geo.pad_begin[d - 2] + geo.pad_end[d - 2] : 0);
          pre_pad_.out_dims[d] = xin[d];
        }
        pads.assign(sd == 1 ? 2 : sd, 0);
        padded_ = Buffer(MemoryKind::device, std::size_t(graph::element_count(xin)) * sizeof(float));
      }
      x_desc_ = std::make_unique<TensorDesc>(dims4(xin, where_), where_);
      y_desc_ = std::make_unique<TensorDesc>(y_dims_, where_);
      conv_ = std::make_unique<ConvDesc>(pads, strides, dilations, groups, where_);
      check(cudnnSetConvolutionMathType(conv_->get(), handles().tf32 ? CUDNN_TENSOR_OP_MATH : CUDNN_FMA_MATH), where_);
      std::vector<int> out_dims(y_dims_.size());
      check(cudnnGetConvolutionNdForwardOutputDim(conv_->get(), x_desc_->get(), filter, int(out_dims.size()), out_dims.data()),
            where_);
      if (out_dims != y_dims_) throw Error(where_, "cuDNN's output shape differs from the graph's " + graph::shape_string(y));
      choose_forward(filter);
    } else {
      // The full output: (in - 1) * stride + dilation * (k - 1) + 1 per spatial dimension.
      Shape full = y;
      crop_.rank = int(y.size());
      for (std::size_t d = 0; d < y.size(); ++d) {
        if (d >= 2) full[d] = (x[d] - 1) * geo.strides[d - 2] + geo.dilations[d - 2] * (w[d] - 1) + 1;
        crop_.in_dims[d] = full[d];
        crop_.out_dims[d] = y[d];
        crop_.begin[d] = d >= 2 ? -geo.pad_begin[d - 2] : 0;
      }
      full_ = Buffer(MemoryKind::device, std::size_t(graph::element_count(full)) * sizeof(float));
      x_desc_ = std::make_unique<TensorDesc>(dims4(x, where_), where_);
      y_desc_ = std::make_unique<TensorDesc>(dims4(full, where_), where_);
      conv_ = std::make_unique<ConvDesc>(std::vector<int>(sd == 1 ? 2 : sd, 0), strides, dilations, groups, where_);
      check(cudnnSetConvolutionMathType(conv_->get(), handles().tf32 ? CUDNN_TENSOR_OP_MATH : CUDNN_FMA_MATH), where_);
      choose_backward_data(filter);
    }

    // Weights: a folded BatchNormalization needs our own scaled copy; otherwise the engine's.
    const std::int64_t m = y[1];
    std::vector<float> bias;
    const bool has_bias = present(2);
    if (has_bias && !ctx.input_is_weight(2)) bias_input_ = 2;
    if (has_bias && ctx.input_is_weight(2)) {
      const TensorView b = weight_view(ctx.input_tensor(2));
      bias.assign(b.as<float>(), b.as<float>() + b.elements());
    }
    if (ctx.group.batch_norm) {
      if (!ctx.input_is_weight(1)) throw Error(where_, "a BatchNormalization folds only into constant weights");
      if (bias_input_) throw Error(where_, "a BatchNormalization folds only into a constant bias");
      const auto& bn = *ctx.group.batch_norm;
      const TensorView wv = weight_view(ctx.input_tensor(1));
      std::vector<float> folded(wv.as<float>(), wv.as<float>() + wv.elements());
      const std::size_t per = folded.size() / std::size_t(m);
      for (std::size_t o = 0; o < std::size_t(m); ++o) {
        for (std::size_t k = 0; k < per; ++k) folded[o * per + k] *= bn.scale[o];
      }
      if (bias.empty()) bias.assign(std::size_t(m), 0.0f);
      for (std::size_t o = 0; o < std::size_t(m); ++o) bias[o] = bias[o] * bn.scale[o] + bn.shift[o];
      folded_ = upload(folded);
    }
    if (!bias.empty()) bias_ = upload(bias);
    epi_ = plan_epilogue(ctx, y, 1, bias.empty() ? nullptr : static_cast<const float*>(bias_.device()), where_);
    if (!epi_.empty() || bias_input_) implementation_ += " + own:epilogue";
  }

  void run(std::span<const TensorView> in, std::span<const TensorView> out) override {
    check_views(in, out);
    const float one = 1.0f, zero = 0.0f;
    const void* w = folded_.device() ? folded_.device() : in[1].data;
    float* y = static_cast<float*>(out[0].data);
    if (!transposed_) {
      const void* x = in[0].data;
      if (padded_.device()) {
        pad(pre_pad_, x, padded_.device(), 4, stream());
        x = padded_.device();
      }
      check(cudnnConvolutionForward(handles().cudnn, &one, x_desc_->get(), x, filter_->get(), w, conv_->get(), fwd_, handles().workspace(),
                                    workspace_, &zero, y_desc_->get(), y),
            where_);
    } else {
      check(cudnnConvolutionBackwardData(handles().cudnn, &one, filter_->get(), w, x_desc_->get(), in[0].data, conv_->get(), bwd_,
                                         handles().workspace(), workspace_, &zero, y_desc_->get(), full_.device()),
            where_);
      pad(crop_, full_.device(), y, 4, stream());
    }
    if (bias_input_) {
      EpiloguePlan p = epi_;
      p.e.bias = static_cast<const float*>(in[*bias_input_].data);
      p.apply(y, n_out_, in, stream());
    } else {
      epi_.apply(y, n_out_, in, stream());
    }
    check_launch(where_.c_str());
  }

 private:
  // Without TF32 only FMA kernels qualify: the descriptor says CUDNN_FMA_MATH, and results
  // that would use Tensor Cores are skipped.
  bool math_allowed(cudnnMathType_t m) const {
    return handles().tf32 || (m != CUDNN_TENSOR_OP_MATH && m != CUDNN_TENSOR_OP_MATH_ALLOW_CONVERSION);
  }

  void choose_forward(cudnnFilterDescriptor_t filter) {
    int count = 0;
    cudnnConvolutionFwdAlgoPerf_t perf[CUDNN_CONVOLUTION_FWD_ALGO_COUNT];
    check(cudnnGetConvolutionForwardAlgorithm_v7(handles().cudnn, x_desc_->get(), filter, conv_->get(), y_desc_->get(),
                                                 CUDNN_CONVOLUTION_FWD_ALGO_COUNT, &count, perf),
          where_);
    for (int i = 0; i < count; ++i) {
      if (perf[i].status != CUDNN_STATUS_SUCCESS || perf[i].memory > kMaxWorkspace) continue;
      if (!math_allowed(perf[i].mathType)) continue;
      if (handles().tf32) check(cudnnSetConvolutionMathType(conv_->get(), perf[i].mathType), where_);
      fwd_ = perf[i].algo;
      std::size_t bytes = 0;
      check(cudnnGetConvolutionForwardWorkspaceSize(handles().cudnn, x_desc_->get(), filter, conv_->get(), y_desc_->get(), fwd_, &bytes),
            where_);
      workspace_ = bytes;
      handles().reserve(bytes);
      implementation_ = std::string("cudnn:convolution (") + fwd_algo_name(fwd_) + ")";
      return;
    }
    throw Error(where_, "cuDNN offers no forward algorithm for this convolution within " + std::to_string(kMaxWorkspace >> 20) +
                            " MiB of workspace");
  }
  void choose_backward_data(cudnnFilterDescriptor_t filter) {
    int count = 0;
    cudnnConvolutionBwdDataAlgoPerf_t perf[CUDNN_CONVOLUTION_BWD_DATA_ALGO_COUNT];
    check(cudnnGetConvolutionBackwardDataAlgorithm_v7(handles().cudnn, filter, x_desc_->get(), conv_->get(), y_desc_->get(),
                                                      CUDNN_CONVOLUTION_BWD_DATA_ALGO_COUNT, &count, perf),
          where_);
    for (int i = 0; i < count; ++i) {
      if (perf[i].status != CUDNN_STATUS_SUCCESS || perf[i].memory > kMaxWorkspace) continue;
      if (!math_allowed(perf[i].mathType)) continue;
      if (handles().tf32) check(cudnnSetConvolutionMathType(conv_->get(), perf[i].mathType), where_);
      bwd_ = perf[i].algo;
      std::size_t bytes = 0;
      check(cudnnGetConvolutionBackwardDataWorkspaceSize(handles().cudnn, filter, x_desc_->get(), conv_->get(), y_desc_->get(), bwd_,
                                                         &bytes),
            where_);
      workspace_ = bytes;
      handles().reserve(bytes);
      implementation_ = "cudnn:convolution-backward-data (algo " + std::to_string(int(bwd_)) + ") + own:crop";
      return;
    }
    throw Error(where_, "cuDNN offers no backward-data algorithm for this transposed convolution");
  }

  bool transposed_;
  std::unique_ptr<TensorDesc> x_desc_, y_desc_;
  std::unique_ptr<FilterDesc> filter_;
  std::unique_ptr<ConvDesc> conv_;
  cudnnConvolutionFwdAlgo_t fwd_ = CUDNN_CONVOLUTION_FWD_ALGO_IMPLICIT_GEMM;
  cudnnConvolutionBwdDataAlgo_t bwd_ = CUDNN_CONVOLUTION_BWD_DATA_ALGO_0;
  std::size_t workspace_ = 0;
  PadGeometry pre_pad_, crop_;
  Buffer padded_, full_, folded_, bias_;
  std::optional<std::size_t> bias_input_;
  EpiloguePlan epi_;
  std::vector<int> y_dims_;
  std::int64_t n_out_ = 0;
};

class PoolKernel final : public KernelBase {
 public:
  PoolKernel(const KernelContext& ctx, Stream& s, cudnnPoolingMode_t mode, const std::vector<int>& window,
             const std::vector<int>& pads, const std::vector<int>& strides)
      : KernelBase(ctx, s, ctx.root().type == "MaxPool" ? "cudnn:pooling-max" : "cudnn:pooling-avg") {
    check(cudnnCreatePoolingDescriptor(&pool_), where_);
    check(cudnnSetPoolingNdDescriptor(pool_, mode, CUDNN_PROPAGATE_NAN, int(window.size()), window.data(), pads.data(), strides.data()),
          where_);
    x_ = std::make_unique<TensorDesc>(dims4(in_shapes_[0], where_), where_);
    y_ = std::make_unique<TensorDesc>(dims4(out_shapes_[0], where_), where_);
    std::vector<int> out(in_shapes_[0].size() < 4 ? 4 : in_shapes_[0].size());
    check(cudnnGetPoolingNdForwardOutputDim(pool_, x_->get(), int(out.size()), out.data()), where_);
    if (out != dims4(out_shapes_[0], where_)) throw Error(where_, "cuDNN's pooled shape differs from the graph's");
  }
  ~PoolKernel() override { cudnnDestroyPoolingDescriptor(pool_); }
  void run(std::span<const TensorView> in, std::span<const TensorView> out) override {
    check_views(in, out);
    const float one = 1.0f, zero = 0.0f;
    check(cudnnPoolingForward(handles().cudnn, pool_, &one, x_->get(), in[0].data, &zero, y_->get(), out[0].data), where_);
  }

 private:
  cudnnPoolingDescriptor_t pool_ = nullptr;
  std::unique_ptr<TensorDesc> x_, y_;
};

// cuDNN's pooling when the case is what it computes (2-D or 3-D, no dilation, symmetric
// padding, no Indices output, the same output size); our kernel otherwise.
std::unique_ptr<GpuKernel> make_pool(const KernelContext& ctx, Stream& s) {
  const graph::Operator& op = ctx.root();
  const graph::Tensor& x = ctx.input_tensor(0);
  const std::size_t rank = x.shape.size();
  const bool indices = op.outputs.size() > 1 && !op.outputs[1].empty();
  if (x.dtype != DType::f32 || (rank != 4 && rank != 5) || indices || op.attr_string("auto_pad", "NOTSET") != "NOTSET") {
    return make_own_pool_kernel(ctx, s);
  }
  const std::size_t sd = rank - 2;
  const auto kernel = attr_per_dim(op, "kernel_shape", sd, 1);
  const auto strides = attr_per_dim(op, "strides", sd, 1);
  const auto dil = attr_per_dim(op, "dilations", sd, 1);
  const auto pads = attr_per_dim(op, "pads", 2 * sd, 0);
  std::vector<int> w, p, st;
  for (std::size_t d = 0; d < sd; ++d) {
    if (dil[d] != 1 || pads[d] != pads[d + sd] || pads[d] >= kernel[d]) return make_own_pool_kernel(ctx, s);
    w.push_back(int(kernel[d]));
    p.push_back(int(pads[d]));
    st.push_back(int(strides[d]));
  }
  // With ceil_mode the output may have a window that starts past the end, which cuDNN's
  // floor-based size does not produce: the size check in the constructor sends it to ours.
  cudnnPoolingMode_t mode = CUDNN_POOLING_MAX;
  if (op.type == "AveragePool") {
    mode = op.attr_int("count_include_pad", 0) ? CUDNN_POOLING_AVERAGE_COUNT_INCLUDE_PADDING : CUDNN_POOLING_AVERAGE_COUNT_EXCLUDE_PADDING;
  }
  try {
    return std::make_unique<PoolKernel>(ctx, s, mode, w, p, st);
  } catch (const Error&) {
    return make_own_pool_kernel(ctx, s);
  }
}

class SoftmaxKernel final : public KernelBase {
 public:
  SoftmaxKernel(const KernelContext& ctx, Stream& s, std::int64_t outer, std::int64_t axis, std::int64_t inner)
      : KernelBase(ctx, s, "cudnn:softmax") {
    desc_ = std::make_unique<TensorDesc>(std::vector<int>{to_int(outer, where_), to_int(axis, where_), to_int(inner, where_), 1}, where_);
  }
  void run(std::span<const TensorView> in, std::span<const TensorView> out) override {
    check_views(in, out);
    const float one = 1.0f, zero = 0.0f;
    check(cudnnSoftmaxForward(handles().cudnn, CUDNN_SOFTMAX_ACCURATE, CUDNN_SOFTMAX_MODE_CHANNEL, &one, desc_->get(), in[0].data, &zero,
                              desc_->get(), out[0].data),
          where_);
  }

 private:
  std::unique_ptr<TensorDesc> desc_;
};

std::unique_ptr<GpuKernel> make_softmax(const KernelContext& ctx, Stream& s) {
  const graph::Operator& op = ctx.root();
  const graph::Tensor& x = ctx.input_tensor(0);
  if (x.dtype != DType::f32) throw Error(own::op_where(op), "Softmax on the GPU runs float32 only");
  const auto rank = std::int64_t(x.shape.size());
  const bool opset13 = ctx.graph->opset >= 13;
  const std::int64_t axis = own::normalize_axis(op.attr_int("axis", opset13 ? -1 : 1), std::max<std::int64_t>(rank, 1), own::op_where(op));
  std::int64_t outer = 1, len = 1, inner = 1;
  for (std::int64_t d = 0; d < rank; ++d) {
    const std::int64_t v = x.shape[std::size_t(d)];
    if (d < axis) {
      outer *= v;
    } else if (d == axis || !opset13) {
      len *= v;  // opsets 11 and 12: softmax over the flattened [axis, rank) block
    } else {
      inner *= v;
    }
  }
  if (outer * len * inner > INT_MAX) return make_own_softmax_kernel(ctx, s, outer, len, inner);
  return std::make_unique<SoftmaxKernel>(ctx, s, outer, len, inner);
}

class BatchNormKernel final : public KernelBase {
 public:
  BatchNormKernel(const KernelContext& ctx, Stream& s) : KernelBase(ctx, s, "cudnn:batchnorm-inference") {
    for (std::size_t i = 0; i < 5; ++i) {
      if (in_types_.at(i) != DType::f32) throw Error(where_, "BatchNormalization on the GPU runs float32 only");
    }
    if (op().attr_int("training_mode", 0) != 0 || (out_types_.size() > 1 && out_types_[1] != DType::undefined)) {
      throw Error(where_, "training-mode BatchNormalization has no GPU kernel");
    }
    eps_ = op().attr_float("epsilon", 1e-5);
    const Shape& x = in_shapes_[0];
    if (x.size() < 2) throw Error(where_, "needs at least [N, C]");
    x_ = std::make_unique<TensorDesc>(dims4(x, where_), where_);
    std::vector<int> p(x.size() < 4 ? 4 : x.size(), 1);
    p[1] = to_int(x[1], where_);
    param_ = std::make_unique<TensorDesc>(p, where_);
  }
  void run(std::span<const TensorView> in, std::span<const TensorView> out) override {
    check_views(in, out);
    const float one = 1.0f, zero = 0.0f;
    check(cudnnBatchNormalizationForwardInference(handles().cudnn, CUDNN_BATCHNORM_SPATIAL, &one, &zero, x_->get(), in[0].data,
                                                  x_->get(), out[0].data, param_->get(), in[1].data, in[2].data, in[3].data,
                                                  in[4].data, eps_),
          where_);
  }

 private:
  double eps_ = 1e-5;
  std::unique_ptr<TensorDesc> x_, param_;
};

class ActivationKernel final : public KernelBase {
 public:
  ActivationKernel(const KernelContext& ctx, Stream& s, cudnnActivationMode_t mode, const char* name)
      : KernelBase(ctx, s, std::string("cudnn:activation-") + name) {
    check(cudnnCreateActivationDescriptor(&act_), where_);
    check(cudnnSetActivationDescriptor(act_, mode, CUDNN_PROPAGATE_NAN, 0.0), where_);
    const std::int64_t n = graph::element_count(in_shapes_.at(0));
    desc_ = std::make_unique<TensorDesc>(std::vector<int>{1, 1, 1, to_int(n, where_)}, where_);
  }
  ~ActivationKernel() override { cudnnDestroyActivationDescriptor(act_); }
  void run(std::span<const TensorView> in, std::span<const TensorView> out) override {
    check_views(in, out);
    if (out[0].elements() == 0) return;
    const float one = 1.0f, zero = 0.0f;
    check(cudnnActivationForward(handles().cudnn, act_, &one, desc_->get(), in[0].data, &zero, desc_->get(), out[0].data), where_);
  }

 private:
  cudnnActivationDescriptor_t act_ = nullptr;
  std::unique_ptr<TensorDesc> desc_;
};

}  // namespace

std::unique_ptr<GpuKernel> make_cudnn_kernel(const KernelContext& ctx, Stream& s) {
  const std::string& t = ctx.root().type;
  if (t == "Conv" || t == "ConvTranspose") return std::make_unique<ConvKernel>(ctx, s, t == "ConvTranspose");
  if (ctx.group.fused()) return nullptr;
  if (t == "MaxPool" || t == "AveragePool") return make_pool(ctx, s);
  if (t == "Softmax") return make_softmax(ctx, s);
  if (t == "BatchNormalization") return std::make_unique<BatchNormKernel>(ctx, s);
  const graph::Tensor& x = ctx.input_tensor(0);
  if (x.dtype == DType::f32 && x.elements() > 0 && x.elements() <= INT_MAX) {
    if (t == "Relu") return std::make_unique<ActivationKernel>(ctx, s, CUDNN_ACTIVATION_RELU, "relu");
    if (t == "Sigmoid") return std::make_unique<ActivationKernel>(ctx, s, CUDNN_ACTIVATION_SIGMOID, "sigmoid");
    if (t == "Tanh") return std::make_unique<ActivationKernel>(ctx, s, CUDNN_ACTIVATION_TANH, "tanh");
  }
  return nullptr;
}

}  // namespace sparoa::hw::gpu

// Own per-channel kernels for plain (NC...) float32 activations: inference
// BatchNormalization and the global poolings. oneDNN 2.6 runs both on plain layouts with
// implementations that pay a large cost per channel (`ncsp_bnorm`, the reduction primitive):
// on MobileNetV3-Small's 7x7 planes a BatchNormalization took about 100 us where moving its
// bytes takes a few. These are chosen before oneDNN for unfused operators (a BatchNormalization
// fused into a convolution is folded into its weights by oneDNN, as before).
#include <cmath>
#include <limits>

#include "hw/cpu/own_common.hpp"

namespace sparoa::hw::own {

namespace {

// Calls fn(plane, begin, end) for every (n, c) plane of `planes` spread over the team; the
// planes are contiguous runs of `plane_size` elements.
template <class Fn> void for_planes(std::int64_t planes, std::int64_t plane_size, Fn&& fn) {
  // Small tensors stay on one thread: waking the team costs more than the work.
  parallel_ranges(planes, planes * plane_size >= 32768, [&](std::int64_t begin, std::int64_t end) {
    for (std::int64_t p = begin; p < end; ++p) fn(p);
  });
}

// y = x * a[c] + b[c] with a = scale / sqrt(var + epsilon), b = bias - mean * a.
class BatchNormKernel final : public OwnKernel {
 public:
  explicit BatchNormKernel(const KernelContext& ctx) : OwnKernel(ctx, "own:batch_normalization") {
    epsilon_ = float(op().attr_float("epsilon", 1e-5));
    const Shape& x = in_shapes_.at(0);
    channels_ = x.size() > 1 ? x[1] : 1;
    planes_ = graph::element_count(x) / std::max<std::int64_t>(channels_, 1);
    plane_size_ = 1;
    for (std::size_t i = 2; i < x.size(); ++i) plane_size_ *= x[i];
    planes_ = (x.empty() ? 1 : x[0]) * channels_;
    bool constant = true;
    for (std::size_t i = 1; i < 5; ++i) constant = constant && constant_input(ctx, i).has_value();
    if (constant) {
      std::array<TensorView, 5> params{};
      for (std::size_t i = 1; i < 5; ++i) params[i] = *constant_input(ctx, i);
      fold(params);
    }
  }
  void run(std::span<const TensorView> in, std::span<const TensorView> out) override {
    check_views(in, out);
    if (a_.empty()) fold({in[0], in[1], in[2], in[3], in[4]});
    const float* x = in[0].as<float>();
    float* y = out[0].as<float>();
    for_planes(planes_, plane_size_, [&](std::int64_t p) {
      const std::int64_t c = p % channels_;
      const float a = a_[std::size_t(c)], b = b_[std::size_t(c)];
      const float* xs = x + p * plane_size_;
      float* ys = y + p * plane_size_;
#pragma omp simd
      for (std::int64_t i = 0; i < plane_size_; ++i) ys[i] = xs[i] * a + b;
    });
  }

 private:
  void fold(const std::array<TensorView, 5>& v) {
    const float *scale = v[1].as<float>(), *bias = v[2].as<float>(), *mean = v[3].as<float>(), *var = v[4].as<float>();
    a_.resize(std::size_t(channels_));
    b_.resize(std::size_t(channels_));
    for (std::int64_t c = 0; c < channels_; ++c) {
      // In double, then rounded once, as the reference computes it.
      const double a = double(scale[c]) / std::sqrt(double(var[c]) + double(epsilon_));
      a_[std::size_t(c)] = float(a);
      b_[std::size_t(c)] = float(double(bias[c]) - double(mean[c]) * a);
    }
  }

  float epsilon_ = 1e-5f;
  std::int64_t channels_ = 1, planes_ = 0, plane_size_ = 1;
  std::vector<float> a_, b_;
};

class GlobalPoolKernel final : public OwnKernel {
 public:
  GlobalPoolKernel(const KernelContext& ctx, bool max)
      : OwnKernel(ctx, max ? "own:global_max_pool" : "own:global_average_pool"), max_(max) {
    const Shape& x = in_shapes_.at(0);
    planes_ = x[0] * x[1];
    plane_size_ = 1;
    for (std::size_t i = 2; i < x.size(); ++i) plane_size_ *= x[i];
  }
  void run(std::span<const TensorView> in, std::span<const TensorView> out) override {
    check_views(in, out);
    const float* x = in[0].as<float>();
    float* y = out[0].as<float>();
    for_planes(planes_, plane_size_, [&](std::int64_t p) {
      const float* xs = x + p * plane_size_;
      if (max_) {
        float m = -std::numeric_limits<float>::infinity();
        for (std::int64_t i = 0; i < plane_size_; ++i) m = std::isnan(xs[i]) || xs[i] > m ? xs[i] : m;
        y[p] = m;
      } else {
        double s = 0;  // the reference sums in double
#pragma omp simd reduction(+ : s)
        for (std::int64_t i = 0; i < plane_size_; ++i) s += xs[i];
        y[p] = float(s / double(plane_size_));
      }
    });
  }

 private:
  bool max_;
  std::int64_t planes_ = 0, plane_size_ = 1;
};

bool all_f32(const KernelContext& ctx, std::size_t inputs) {
  for (std::size_t i = 0; i < inputs; ++i) {
    if (i >= ctx.group.inputs.size() || ctx.group.inputs[i].empty()) return false;
    if (ctx.input_tensor(i).dtype != DType::f32) return false;
  }
  return true;
}

}  // namespace
}  // namespace sparoa::hw::own

namespace sparoa::hw {

std::unique_ptr<CpuKernel> make_own_channel_kernel(const KernelContext& ctx) {
  using namespace own;
  if (ctx.group.fused()) return nullptr;
  const graph::Operator& op = ctx.root();
  if (op.type == "BatchNormalization") {
    // Inference only: training mode (or its extra outputs) stays with the general kernels.
    if (op.attr_int("training_mode", 0) != 0) return nullptr;
    if (ctx.group.outputs.size() != 1) return nullptr;
    if (!all_f32(ctx, 5) || ctx.input_tensor(0).shape.size() < 2) return nullptr;
    return std::make_unique<BatchNormKernel>(ctx);
  }
  if (op.type == "GlobalAveragePool" || op.type == "GlobalMaxPool") {
    if (!all_f32(ctx, 1) || ctx.input_tensor(0).shape.size() < 3) return nullptr;
    return std::make_unique<GlobalPoolKernel>(ctx, op.type == "GlobalMaxPool");
  }
  return nullptr;
}

}  // namespace sparoa::hw

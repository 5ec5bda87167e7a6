// Resize, nearest and (N-)linear, with ONNX's coordinate transformations. Each output
// coordinate of each axis maps to one or two input coordinates and weights; these tables are
// computed once (scales and sizes are constants after import; when they arrive at run time,
// whenever they change), so run() only gathers and blends. Nearest moves elements by size (any type); linear blends float types.
#include <algorithm>
#include <cmath>

#include "hw/cpu/own_common.hpp"

namespace sparoa::hw::own {
namespace {

using AxisTaps = ResizeAxisTaps;

class ResizeKernel final : public OwnKernel {
 public:
  explicit ResizeKernel(const KernelContext& ctx) : OwnKernel(ctx, "own:resize") {
    const Shape& in = in_shapes_.at(0);
    const Shape& out = out_shapes_.at(0);
    if (out_types_[0] != in_types_[0]) throw Error(where_, "the output's element type differs from the input's");
    if (in.size() != out.size()) throw Error(where_, "the output rank differs from the input's");
    if (in.empty()) throw Error(where_, "cannot resize a scalar");
    const std::string mode = op().attr_string("mode", "nearest");
    if (mode != "nearest" && mode != "linear") throw Error(where_, "mode '" + mode + "' is not supported (nearest, linear)");
    linear_ = mode == "linear";
    transform_ = op().attr_string("coordinate_transformation_mode", "half_pixel");
    static const char* const transforms[] = {"half_pixel", "pytorch_half_pixel", "align_corners", "asymmetric",
                                             "tf_half_pixel_for_nn", "tf_crop_and_resize"};
    if (std::find_if(std::begin(transforms), std::end(transforms), [&](const char* t) { return transform_ == t; }) ==
        std::end(transforms)) {
      throw Error(where_, "coordinate_transformation_mode '" + transform_ + "' is not supported");
    }
    nearest_mode_ = op().attr_string("nearest_mode", "round_prefer_floor");
    if (nearest_mode_ != "round_prefer_floor" && nearest_mode_ != "round_prefer_ceil" && nearest_mode_ != "floor" &&
        nearest_mode_ != "ceil") {
      throw Error(where_, "nearest_mode '" + nearest_mode_ + "' is not supported");
    }
    extrapolation_ = op().attr_float("extrapolation_value", 0.0);
    if (linear_ && !dispatch(in_types_[0], FloatTypes{}, [](auto) {})) {
      throw Error(where_, "linear resize needs a floating-point input, not " + std::string(graph::dtype_name(in_types_[0])));
    }

    // roi, scales and sizes are constants after import in exported models; the ONNX suite
    // feeds them as graph inputs, so they may also arrive at run time (planned on change).
    constant_ = true;
    for (std::size_t i = 1; i < 4 && i < in_types_.size(); ++i) {
      if (has_input(ctx, i) && !ctx.input_is_weight(i)) constant_ = false;
    }
    if (constant_) {
      plan([&](std::size_t i) -> std::optional<TensorView> {
        if (i >= in_types_.size() || !has_input(ctx, i)) return std::nullopt;
        return weight_view(ctx.input_tensor(i));
      });
    }
  }

  ResizePlan resize_plan() const {
    if (!constant_) throw Error(where_, "roi, scales or sizes are computed at run time; only constants can be planned ahead");
    return {linear_, extrapolation_, axes_};
  }

  void run(std::span<const TensorView> in, std::span<const TensorView> out) override {
    check_views(in, out);
    if (!constant_) {
      // Re-plan only when the parameters changed since the last run.
      std::vector<double>& key = key_scratch_;
      key.clear();
      for (std::size_t i = 1; i < 4 && i < in.size(); ++i) {
        key.push_back(-double(i));  // separates the inputs
        if (in[i].present()) {
          const auto v = read_doubles(in[i], where_, "parameter");
          key.insert(key.end(), v.begin(), v.end());
        }
      }
      if (key != planned_key_ || axes_.empty()) {
        plan([&](std::size_t i) -> std::optional<TensorView> {
          if (i >= in.size() || !in[i].present()) return std::nullopt;
          return in[i];
        });
        planned_key_ = key;
      }
    }
    if (linear_) {
      dispatch(in[0].dtype, FloatTypes{}, [&](auto tag) {
        using T = typename decltype(tag)::type;
        blend(static_cast<const T*>(in[0].data), static_cast<T*>(out[0].data));
      });
      return;
    }
    dispatch_size(graph::dtype_size(in[0].dtype), [&](auto tag) {
      using U = typename decltype(tag)::type;
      gather(static_cast<const U*>(in[0].data), static_cast<U*>(out[0].data));
    });
  }

 private:
  static constexpr int kMaxBlendedAxes = 6;

  // Scales: the given ones when there are (they, not out/in, drive the coordinates),
  // otherwise output size / input size.
  template <class ViewOf> void plan(ViewOf view_of) {
    const Shape& in = in_shapes_[0];
    const Shape& out = out_shapes_[0];
    const std::size_t r = in.size();
    auto given = [&](std::size_t i) -> std::optional<TensorView> {
      auto v = view_of(i);
      if (!v || v->elements() == 0) return std::nullopt;
      return v;
    };
    std::vector<double> scales(r);
    for (std::size_t d = 0; d < r; ++d) scales[d] = in[d] == 0 ? 1.0 : double(out[d]) / double(in[d]);
    if (auto s = given(2)) {
      scales = read_doubles(*s, where_, "scales");
      if (scales.size() != r) throw Error(where_, "scales has " + std::to_string(scales.size()) + " values for rank " + std::to_string(r));
      for (std::size_t d = 0; d < r; ++d) {
        if (!(scales[d] > 0)) throw Error(where_, "scales must be positive");
      }
    } else if (auto z = given(3)) {
      const auto sizes = read_ints(*z, where_, "sizes");
      if (sizes.size() != r || Shape(sizes.begin(), sizes.end()) != out) {
        throw Error(where_, "sizes do not match the graph's output shape " + graph::shape_string(out));
      }
    }
    std::vector<double> roi;
    if (transform_ == "tf_crop_and_resize") {
      auto v = given(1);
      if (!v) throw Error(where_, "tf_crop_and_resize needs roi");
      roi = read_doubles(*v, where_, "roi");
      if (roi.size() != 2 * r) throw Error(where_, "roi has " + std::to_string(roi.size()) + " values for rank " + std::to_string(r));
    }
    const auto strides = row_major_strides(in);
    axes_.clear();
    int blended = 0;
    for (std::size_t d = 0; d < r; ++d) {
      axes_.push_back(make_taps(in[d], out[d], scales[d], strides[d], roi.empty() ? 0.0 : roi[d], roi.empty() ? 1.0 : roi[d + r]));
      if (d + 1 < r && axes_.back().two_taps) ++blended;
    }
    if (blended > kMaxBlendedAxes) {
      axes_.clear();
      throw Error(where_, "linear resize of more than 7 axes is not supported");
    }
  }

  // The input coordinate of output coordinate x (onnx's reference resize, 1.12).
  double original(double x, std::int64_t in_len, double scale, double roi_start, double roi_end) const {
    const double out_len = scale * double(in_len);  // as the reference: scale x length, not the rounded size
    if (transform_ == "align_corners") return out_len == 1 ? 0.0 : x * double(in_len - 1) / (out_len - 1);
    if (transform_ == "asymmetric") return x / scale;
    if (transform_ == "tf_crop_and_resize") {
      const double span = (roi_end - roi_start) * double(in_len - 1);
      return (out_len == 1 ? span / 2 : x * span / (out_len - 1)) + roi_start * double(in_len - 1);
    }
    if (transform_ == "pytorch_half_pixel") return out_len == 1 ? -0.5 : (x + 0.5) / scale - 0.5;
    if (transform_ == "tf_half_pixel_for_nn") return (x + 0.5) / scale;
    return (x + 0.5) / scale - 0.5;  // half_pixel
  }

  AxisTaps make_taps(std::int64_t in_len, std::int64_t out_len, double scale, std::int64_t stride,
                     double roi_start, double roi_end) const {
    AxisTaps t;
    const auto n = std::size_t(out_len);
    t.off0.resize(n);
    t.off1.resize(n);
    t.w0.resize(n);
    t.w1.resize(n);
    t.outside.resize(n);
    auto clamp = [&](std::int64_t i) { return std::clamp<std::int64_t>(i, 0, std::max<std::int64_t>(in_len - 1, 0)); };
    for (std::size_t x = 0; x < n; ++x) {
      const double xo = original(double(x), in_len, scale, roi_start, roi_end);
      if (transform_ == "tf_crop_and_resize" && (xo < 0 || xo > double(in_len - 1))) {
        t.outside[x] = 1;
        t.any_outside = true;
        continue;
      }
      const double fl = std::floor(xo);
      const auto lower = std::int64_t(fl);
      const double ratio = xo - fl;
      std::int64_t i0, i1;
      double w1;
      if (ratio == 0.0) {
        i0 = i1 = lower;
        w1 = 1.0;
      } else if (linear_) {
        i0 = lower;
        i1 = lower + 1;
        w1 = ratio;
      } else {
        bool up = false;
        if (nearest_mode_ == "round_prefer_floor") up = ratio > 0.5;
        else if (nearest_mode_ == "round_prefer_ceil") up = ratio >= 0.5;
        else if (nearest_mode_ == "ceil") up = true;
        i0 = i1 = up ? lower + 1 : lower;
        w1 = 1.0;
      }
      i0 = clamp(i0);
      i1 = clamp(i1);
      if (i0 == i1) w1 = 1.0;
      t.off0[x] = i0 * stride;
      t.off1[x] = i1 * stride;
      t.w1[x] = w1;
      t.w0[x] = 1.0 - w1;
      if (w1 != 1.0) t.two_taps = true;
    }
    return t;
  }

  // Offset of output row `row` (all axes but the last) through tap 0 of every axis; false
  // when a coordinate lies outside the crop.
  bool row_base(std::int64_t row, std::int64_t& base) const {
    const Shape& out = out_shapes_[0];
    base = 0;
    for (std::size_t d = out.size() - 1, rest = std::size_t(row); d-- > 0;) {
      const std::size_t x = rest % std::size_t(out[d]);
      rest /= std::size_t(out[d]);
      if (axes_[d].outside[x]) return false;
      base += axes_[d].off0[x];
    }
    return true;
  }

  template <class U> void gather(const U* src, U* dst) const {
    const Shape& out = out_shapes_[0];
    const std::int64_t len = out.back();
    const std::int64_t total = graph::element_count(out);
    const std::int64_t rows = len == 0 ? 0 : total / len;
    U fill{};
    dispatch(in_types_[0], NumericTypes{}, [&](auto tag) {
      using T = typename decltype(tag)::type;
      if constexpr (sizeof(T) == sizeof(U)) {
        const T v = convert_from_double<T>(extrapolation_);
        std::memcpy(&fill, &v, sizeof fill);
      }
    });
    const AxisTaps& last = axes_.back();
    parallel_ranges(rows, total >= kParallelElements, [&](std::int64_t r0, std::int64_t r1) {
      for (std::int64_t row = r0; row < r1; ++row) {
        U* to = dst + row * len;
        std::int64_t base;
        if (!row_base(row, base)) {
          std::fill(to, to + len, fill);
          continue;
        }
        const U* from = src + base;
        const std::int64_t* off = last.off0.data();
        if (!last.any_outside) {
          for (std::int64_t x = 0; x < len; ++x) to[x] = from[off[x]];
        } else {
          for (std::int64_t x = 0; x < len; ++x) to[x] = last.outside[std::size_t(x)] ? fill : from[off[x]];
        }
      }
    });
  }

  template <class T> void blend(const T* src, T* dst) const {
    const Shape& out = out_shapes_[0];
    const std::size_t r = out.size();
    const std::int64_t len = out.back();
    const std::int64_t total = graph::element_count(out);
    const std::int64_t rows = len == 0 ? 0 : total / len;
    const T fill = convert_from_double<T>(extrapolation_);
    const AxisTaps& last = axes_.back();
    parallel_ranges(rows, total >= kParallelElements, [&](std::int64_t r0, std::int64_t r1) {
      // The corners of the blended outer axes: input offsets and weights.
      std::array<std::int64_t, 1 << kMaxBlendedAxes> corner_off{};
      std::array<double, 1 << kMaxBlendedAxes> corner_w{};
      for (std::int64_t row = r0; row < r1; ++row) {
        T* to = dst + row * len;
        std::size_t corners = 1;
        corner_off[0] = 0;
        corner_w[0] = 1.0;
        bool inside = true;
        for (std::size_t d = r - 1, rest = std::size_t(row); d-- > 0;) {
          const AxisTaps& a = axes_[d];
          const std::size_t x = rest % std::size_t(out[d]);
          rest /= std::size_t(out[d]);
          if (a.outside[x]) {
            inside = false;
            break;
          }
          if (a.two_taps) {
            for (std::size_t c = 0; c < corners; ++c) {
              corner_off[c + corners] = corner_off[c] + a.off1[x];
              corner_w[c + corners] = corner_w[c] * a.w1[x];
              corner_off[c] += a.off0[x];
              corner_w[c] *= a.w0[x];
            }
            corners *= 2;
          } else {
            for (std::size_t c = 0; c < corners; ++c) corner_off[c] += a.off0[x];
          }
        }
        if (!inside) {
          std::fill(to, to + len, fill);
          continue;
        }
        for (std::int64_t x = 0; x < len; ++x) {
          const auto i = std::size_t(x);
          if (last.outside[i]) {
            to[x] = fill;
            continue;
          }
          double acc = 0;
          for (std::size_t c = 0; c < corners; ++c) {
            const T* p = src + corner_off[c];
            acc += corner_w[c] * (last.w0[i] * double(Num<T>::load(p[last.off0[i]])) + last.w1[i] * double(Num<T>::load(p[last.off1[i]])));
          }
          to[x] = convert_from_double<T>(acc);
        }
      }
    });
  }

  bool linear_ = false;
  std::string transform_, nearest_mode_;
  double extrapolation_ = 0;
  std::vector<AxisTaps> axes_;
  bool constant_ = true;
  std::vector<double> planned_key_, key_scratch_;
};

}  // namespace

ResizePlan plan_resize(const KernelContext& ctx) {
  if (!has_input(ctx, 0) || ctx.group.outputs.empty()) throw Error(op_where(ctx.root()), "needs an input and an output");
  return ResizeKernel(ctx).resize_plan();
}

std::unique_ptr<CpuKernel> make_resize_kernel(const KernelContext& ctx) {
  if (!has_input(ctx, 0) || ctx.group.outputs.empty()) throw Error(op_where(ctx.root()), "needs an input and an output");
  return std::make_unique<ResizeKernel>(ctx);
}

}  // namespace sparoa::hw::own

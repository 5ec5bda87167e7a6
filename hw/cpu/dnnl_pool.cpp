// MaxPool and AveragePool on oneDNN's pooling_v2 primitive; GlobalAveragePool and
// GlobalMaxPool on its reduction primitive.
#include <algorithm>
#include <cmath>

#include "hw/cpu/dnnl_common.hpp"

namespace sparoa::hw::onednn {
namespace {

class PoolKernel final : public DnnlKernel {
 public:
  explicit PoolKernel(const KernelContext& ctx) {
    const graph::Operator& op = ctx.root();
    const bool is_max = op.type == "MaxPool";
    const graph::Tensor& xt = ctx.input_tensor(0);
    const graph::Shape& x = xt.shape;
    const graph::Shape& y = root_output_shape(ctx);
    const auto type = dnnl_type(xt.dtype);
    const bool type_ok = xt.dtype == graph::DType::f32 ||
                         (is_max && (xt.dtype == graph::DType::u8 || xt.dtype == graph::DType::i8));
    if (!type || !type_ok) {
      throw Error(op_where(op), std::string("element type ") + std::string(graph::dtype_name(xt.dtype)) +
                                    " is not supported (float32" + (is_max ? ", uint8, int8" : "") + ")");
    }
    if (x.size() < 3 || x.size() > 5) {
      throw Error(op_where(op), "only 1-D, 2-D and 3-D pooling is supported (input rank " + std::to_string(x.size()) + ")");
    }
    const std::size_t sd = x.size() - 2;
    const auto kernel = op.attr_ints("kernel_shape", {});
    if (kernel.size() != sd) throw Error(op_where(op), "kernel_shape must have one value per spatial dimension");
    const auto strides = op.attr_ints("strides", std::vector<std::int64_t>(sd, 1));
    const auto dil = is_max ? op.attr_ints("dilations", std::vector<std::int64_t>(sd, 1)) : std::vector<std::int64_t>(sd, 1);
    const auto pads = op.attr_ints("pads", std::vector<std::int64_t>(2 * sd, 0));
    if (strides.size() != sd || dil.size() != sd || pads.size() != 2 * sd) {
      throw Error(op_where(op), "strides, dilations and pads must have one value per spatial dimension");
    }
    if (!is_max && op.has_attr("dilations")) {
      for (auto d : op.attr_ints("dilations", {})) {
        if (d != 1) throw Error(op_where(op), "dilated AveragePool is not supported");
      }
    }
    const std::string auto_pad = op.attr_string("auto_pad", "NOTSET");
    const bool include_pad = !is_max && op.attr_int("count_include_pad", 0) != 0;
    dims_t pl(sd), pr(sd), onnx_pr(sd), dilates(sd);
    bool overhang = false;  // the output reaches past ONNX's padding (ceil_mode)
    for (std::size_t d = 0; d < sd; ++d) {
      const std::int64_t in = x[2 + d], out = y[2 + d], s = strides[d];
      const std::int64_t kr = (kernel[d] - 1) * dil[d] + 1;
      if (auto_pad == "NOTSET") {
        pl[d] = pads[d];
        onnx_pr[d] = pads[d + sd];
      } else if (auto_pad == "SAME_UPPER" || auto_pad == "SAME_LOWER") {
        const std::int64_t total = std::max<std::int64_t>(0, (out - 1) * s + kr - in);
        pl[d] = auto_pad == "SAME_UPPER" ? total / 2 : total - total / 2;
        onnx_pr[d] = total - pl[d];
      } else if (auto_pad == "VALID") {
        pl[d] = onnx_pr[d] = 0;
      } else {
        throw Error(op_where(op), "unknown auto_pad '" + auto_pad + "'");
      }
      // oneDNN wants out == (in + pl + pr - kr) / s + 1 exactly: ceil_mode's last window
      // becomes extra end padding.
      const bool floor_fits = in + pl[d] + onnx_pr[d] - kr >= 0 && (in + pl[d] + onnx_pr[d] - kr) / s + 1 == out;
      pr[d] = floor_fits ? onnx_pr[d] : (out - 1) * s + kr - in - pl[d];
      overhang = overhang || pr[d] > onnx_pr[d];
      dilates[d] = dil[d] - 1;
    }
    const dnnl::algorithm alg = is_max        ? dnnl::algorithm::pooling_max
                                : include_pad ? dnnl::algorithm::pooling_avg_include_padding
                                              : dnnl::algorithm::pooling_avg_exclude_padding;
    const dnnl::memory::desc src_md = plain_desc(to_dims(x), *type);
    const dnnl::memory::desc dst_md = plain_desc(to_dims(y), *type);
    dnnl::pooling_v2_forward::primitive_desc pd;
    try {
      dnnl::pooling_v2_forward::desc desc(dnnl::prop_kind::forward_inference, alg, src_md, dst_md, dims_t(strides.begin(), strides.end()),
                                          dims_t(kernel.begin(), kernel.end()), dilates, pl, pr);
      pd = dnnl::pooling_v2_forward::primitive_desc(desc, scratchpad_attr(), rt_.engine);
    } catch (const dnnl::error& e) {
      rethrow_dnnl(ctx, "oneDNN cannot run this pooling", e);
    }
    src_ = Operand(rt_, src_md, pd.src_desc(), false);
    dst_ = Operand(rt_, dst_md, pd.dst_desc(), true);
    args_[DNNL_ARG_SRC] = src_.memory();
    args_[DNNL_ARG_DST] = dst_.memory();
    add_scratchpad(pd);
    prim_ = dnnl::pooling_v2_forward(pd);
    implementation_ = "onednn:pooling (" + std::string(pd.impl_info_str()) + ")";

    if (include_pad && overhang) {
      // oneDNN divides by the whole window; ONNX by the part inside input + explicit pads.
      const dims_t out_sp = spatial_dims(y);
      std::int64_t positions = 1, window = 1;
      for (auto v : out_sp) positions *= v;
      for (auto k : kernel) window *= k;
      rescale_.resize(std::size_t(positions));
      for (std::int64_t p = 0; p < positions; ++p) {
        std::int64_t rest = p, count = 1;
        for (std::size_t d = sd; d-- > 0;) {
          const std::int64_t o = rest % out_sp[d];
          rest /= out_sp[d];
          const std::int64_t start = o * strides[d] - pl[d];
          const std::int64_t lo = std::max(start, -pl[d]);
          const std::int64_t hi = std::min(start + kernel[d], x[2 + d] + onnx_pr[d]);
          count *= std::max<std::int64_t>(hi - lo, 1);
        }
        rescale_[std::size_t(p)] = float(double(window) / double(count));
      }
    }
    const auto& outs = ctx.root().outputs;
    if (outs.size() > 1 && !outs[1].empty()) {
      if (!is_max) throw Error(op_where(op), "has more than one output");
      indices_ = true;
      column_major_ = op.attr_int("storage_order", 0) != 0;
      x_shape_ = x;
      y_shape_ = y;
      kernel_ = kernel;
      strides_ = strides;
      dil_ = dil;
      pl_ = dims_t(pl.begin(), pl.end());
      if (xt.dtype != graph::DType::f32) throw Error(op_where(op), "Indices are supported for float32 input only");
    }
  }

  void run(std::span<const TensorView> inputs, std::span<const TensorView> outputs) override {
    src_.bind(inputs[0].data, rt_.stream);
    dst_.bind(outputs[0].data, rt_.stream);
    prim_.execute(rt_.stream, args_);
    dst_.finish(rt_.stream);
    rt_.stream.wait();
    if (!rescale_.empty()) {
      float* out = outputs[0].as<float>();
      const std::int64_t positions = std::int64_t(rescale_.size());
      const std::int64_t planes = outputs[0].elements() / positions;
#pragma omp parallel for schedule(static)
      for (std::int64_t pl = 0; pl < planes; ++pl) {
        for (std::int64_t p = 0; p < positions; ++p) out[pl * positions + p] *= rescale_[std::size_t(p)];
      }
    }
    if (indices_ && outputs.size() > 1 && outputs[1].present()) write_indices(inputs[0].as<float>(), outputs[1].as<std::int64_t>());
  }

 private:
  // ONNX's Indices: the flat position of each window's first maximum, batch and channel
  // included; with storage_order 1 the position within a plane counts column-major (as
  // onnxruntime does). oneDNN's workspace has its own format, so we scan the windows.
  void write_indices(const float* x, std::int64_t* idx) const {
    const std::size_t sd = x_shape_.size() - 2;
    std::int64_t in_vol = 1, out_vol = 1;
    for (std::size_t d = 0; d < sd; ++d) {
      in_vol *= x_shape_[2 + d];
      out_vol *= y_shape_[2 + d];
    }
    const std::int64_t planes = x_shape_[0] * x_shape_[1];
    const dims_t in_strides = plain_strides(spatial_dims(x_shape_));
    dims_t index_strides = in_strides;
    if (column_major_) {
      std::int64_t stride = 1;
      for (std::size_t d = 0; d < sd; ++d) {
        index_strides[d] = stride;
        stride *= x_shape_[2 + d];
      }
    }
    std::int64_t window = 1;
    for (auto k : kernel_) window *= k;
#pragma omp parallel for schedule(static)
    for (std::int64_t plane = 0; plane < planes; ++plane) {
      const float* xp = x + plane * in_vol;
      for (std::int64_t p = 0; p < out_vol; ++p) {
        std::vector<std::int64_t> start(sd);
        std::int64_t rest = p;
        for (std::size_t d = sd; d-- > 0;) {
          start[d] = (rest % y_shape_[2 + d]) * strides_[d] - pl_[d];
          rest /= y_shape_[2 + d];
        }
        float best = -INFINITY;
        std::int64_t best_at = -1;
        for (std::int64_t w = 0; w < window; ++w) {
          std::int64_t wr = w, offset = 0, index = 0;
          bool inside = true;
          for (std::size_t d = sd; d-- > 0;) {
            const std::int64_t pos = start[d] + (wr % kernel_[d]) * dil_[d];
            wr /= kernel_[d];
            if (pos < 0 || pos >= x_shape_[2 + d]) inside = false;
            offset += pos * in_strides[d];
            index += pos * index_strides[d];
          }
          if (inside && (best_at < 0 || xp[offset] > best)) {
            best = xp[offset];
            best_at = index;
          }
        }
        idx[plane * out_vol + p] = plane * in_vol + std::max<std::int64_t>(best_at, 0);
      }
    }
  }

  dnnl::primitive prim_;
  Operand src_, dst_;
  std::vector<float> rescale_;
  bool indices_ = false, column_major_ = false;
  graph::Shape x_shape_, y_shape_;
  std::vector<std::int64_t> kernel_, strides_, dil_;
  dims_t pl_;
};

// GlobalAveragePool / GlobalMaxPool: a reduction of [N*C, spatial] to [N*C, 1].
class GlobalPoolKernel final : public DnnlKernel {
 public:
  explicit GlobalPoolKernel(const KernelContext& ctx) {
    const graph::Operator& op = ctx.root();
    const graph::Shape& x = ctx.input_tensor(0).shape;
    if (!input_is_f32(ctx, 0)) throw Error(op_where(op), "only float32 tensors are supported");
    if (x.size() < 3) throw Error(op_where(op), "the input needs spatial dimensions");
    std::int64_t spatial = 1;
    for (std::size_t d = 2; d < x.size(); ++d) spatial *= x[d];
    const dims_t src_dims{x[0] * x[1], spatial}, dst_dims{x[0] * x[1], 1};
    const auto alg = op.type == "GlobalMaxPool" ? dnnl::algorithm::reduction_max : dnnl::algorithm::reduction_mean;
    dnnl::reduction::primitive_desc pd;
    try {
      if (spatial == 1) {
        copy_ = true;  // oneDNN refuses a reduction that reduces nothing
      } else {
        pd = dnnl::reduction::primitive_desc(dnnl::reduction::desc(alg, plain_desc(src_dims), plain_desc(dst_dims), 0.0f, 0.0f),
                                             scratchpad_attr(), rt_.engine);
      }
    } catch (const dnnl::error& e) {
      rethrow_dnnl(ctx, "oneDNN cannot run this reduction", e);
    }
    if (copy_) {
      src_ = Operand(rt_, plain_desc(src_dims), plain_desc(src_dims), false);
      dst_ = Operand(rt_, plain_desc(dst_dims), plain_desc(dst_dims), true);
      prim_ = dnnl::reorder(src_.memory(), dst_.memory());
      implementation_ = "onednn:reorder";
    } else {
      src_ = Operand(rt_, plain_desc(src_dims), pd.src_desc(), false);
      dst_ = Operand(rt_, plain_desc(dst_dims), pd.dst_desc(), true);
      add_scratchpad(pd);
      prim_ = dnnl::reduction(pd);
      implementation_ = "onednn:reduction (" + std::string(pd.impl_info_str()) + ")";
    }
    args_[DNNL_ARG_SRC] = src_.memory();
    args_[DNNL_ARG_DST] = dst_.memory();
  }

  void run(std::span<const TensorView> inputs, std::span<const TensorView> outputs) override {
    src_.bind(inputs[0].data, rt_.stream);
    dst_.bind(outputs[0].data, rt_.stream);
    prim_.execute(rt_.stream, args_);
    dst_.finish(rt_.stream);
    rt_.stream.wait();
  }

 private:
  dnnl::primitive prim_;
  Operand src_, dst_;
  bool copy_ = false;
};

}  // namespace

std::unique_ptr<CpuKernel> make_pool_kernel(const KernelContext& ctx) {
  const std::string& t = ctx.root().type;
  if (t == "MaxPool" || t == "AveragePool") return std::make_unique<PoolKernel>(ctx);
  if (t == "GlobalAveragePool" || t == "GlobalMaxPool") return std::make_unique<GlobalPoolKernel>(ctx);
  return nullptr;
}

}  // namespace sparoa::hw::onednn

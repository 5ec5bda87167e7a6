// The oneDNN kernel family against straightforward loops written here, and fused groups
// against the unfused run.
#include <gtest/gtest.h>
#include <omp.h>

#include <algorithm>
#include <cmath>
#include <functional>
#include <map>
#include <numeric>
#include <random>
#include <thread>

#include "graph/onnx_import.hpp"
#include "hw/cpu/cpu_kernel.hpp"
#include "hw/reference_run.hpp"
#include "hw/tensor.hpp"
#include "support/error.hpp"
#include "tests/graph/onnx_test_models.hpp"

namespace {

using namespace sparoa;
using graph::Shape;
using hw::HostTensor;
using hw::TensorView;
using test::ModelBuilder;
using Vec = std::vector<float>;
using Ints = std::vector<std::int64_t>;

constexpr double kRtol = 1e-4;
constexpr double kAtol = 1e-5;

Vec random_values(std::int64_t n, unsigned seed, float lo = -1.0f, float hi = 1.0f) {
  std::mt19937 gen(seed);
  std::uniform_real_distribution<float> dist(lo, hi);
  Vec v(static_cast<std::size_t>(n));
  for (auto& x : v) x = dist(gen);
  return v;
}

HostTensor tensor_of(const Shape& shape, const Vec& values) {
  HostTensor t(graph::DType::f32, shape);
  EXPECT_EQ(t.elements(), std::int64_t(values.size()));
  std::copy(values.begin(), values.end(), t.as<float>());
  return t;
}

Vec values_of(const HostTensor& t) { return Vec(t.as<float>(), t.as<float>() + t.elements()); }

// Decodes a flat row-major index into coordinates.
Ints unravel(std::int64_t i, const Shape& shape) {
  Ints c(shape.size());
  for (std::size_t d = shape.size(); d-- > 0;) {
    c[d] = i % shape[d];
    i /= shape[d];
  }
  return c;
}

std::int64_t ravel(const Ints& c, const Shape& shape) {
  std::int64_t i = 0;
  for (std::size_t d = 0; d < shape.size(); ++d) i = i * shape[d] + c[d];
  return i;
}

// Index into a tensor broadcast (numpy rules) to `out` at output coordinates c.
std::int64_t broadcast_index(const Ints& c, const Shape& shape, const Shape& out) {
  std::int64_t i = 0;
  const std::size_t off = out.size() - shape.size();
  for (std::size_t d = 0; d < shape.size(); ++d) i = i * shape[d] + (shape[d] == 1 ? 0 : c[d + off]);
  return i;
}

struct Kernel {
  std::vector<HostTensor> outputs;
  std::string implementation;
};

// Runs the oneDNN kernel of the named operators (one operator, or a fused group) on `values`
// (run-time tensors by name); weights come from the graph.
Kernel run_dnnl(const graph::Graph& g, const std::vector<std::string>& ops, const std::map<std::string, HostTensor>& values,
                int threads = 2) {
  hw::KernelContext ctx;
  ctx.graph = &g;
  std::vector<graph::OpId> ids;
  for (const auto& name : ops) ids.push_back(*g.find_op(name));
  ctx.group = ids.size() == 1 ? hw::single_op_group(g, ids[0]) : hw::make_fused_group(g, ids);
  ctx.threads = threads;
  omp_set_num_threads(threads);
  auto kernel = hw::make_dnnl_kernel(ctx);
  if (!kernel) throw std::runtime_error("oneDNN family declined " + ops[0]);
  std::vector<TensorView> in, out;
  for (const auto& name : ctx.group.inputs) {
    if (name.empty()) {
      in.emplace_back();
    } else if (g.tensor(name).data) {
      in.push_back(hw::weight_view(g.tensor(name)));
    } else {
      in.push_back(values.at(name).view());
    }
  }
  Kernel k;
  k.implementation = kernel->implementation();
  for (const auto& name : ctx.group.outputs) {
    k.outputs.push_back(name.empty() ? HostTensor() : HostTensor(g.tensor(name).dtype, g.tensor(name).shape));
  }
  for (auto& t : k.outputs) out.push_back(t.view());
  kernel->run(in, out);
  return k;
}

bool declined(const graph::Graph& g, const std::string& op) {
  hw::KernelContext ctx;
  ctx.graph = &g;
  ctx.group = hw::single_op_group(g, *g.find_op(op));
  return hw::make_dnnl_kernel(ctx) == nullptr;
}

void expect_close(const HostTensor& actual, const Shape& shape, const Vec& expected, const std::string& what) {
  const HostTensor e = tensor_of(shape, expected);
  EXPECT_EQ(actual.shape(), shape) << what;
  EXPECT_EQ(hw::compare_tensors(actual.view(), e.view(), kRtol, kAtol), "") << what;
}

// ---------------------------------------------------------------------------------------
// Straightforward loops.

struct ConvAttrs {
  std::int64_t group = 1;
  Ints strides, dilations, pads_begin;
};

Vec naive_conv(const Vec& x, const Shape& xs, const Vec& w, const Shape& ws, const Vec& b, const Shape& ys, const ConvAttrs& a) {
  const std::size_t sd = xs.size() - 2;
  const std::int64_t cg = xs[1] / a.group, mg = ys[1] / a.group;
  const Shape in_sp(xs.begin() + 2, xs.end()), k_sp(ws.begin() + 2, ws.end());
  Vec y(std::size_t(graph::element_count(ys)));
  for (std::int64_t i = 0; i < std::int64_t(y.size()); ++i) {
    const Ints c = unravel(i, ys);
    const std::int64_t n = c[0], m = c[1], grp = m / mg;
    double acc = b.empty() ? 0.0 : b[std::size_t(m)];
    for (std::int64_t ci = 0; ci < cg; ++ci) {
      for (std::int64_t k = 0; k < graph::element_count(k_sp); ++k) {
        const Ints kc = unravel(k, k_sp);
        Ints xc{n, grp * cg + ci};
        bool inside = true;
        for (std::size_t d = 0; d < sd; ++d) {
          const std::int64_t p = c[2 + d] * a.strides[d] - a.pads_begin[d] + kc[d] * a.dilations[d];
          inside = inside && p >= 0 && p < in_sp[d];
          xc.push_back(p);
        }
        if (!inside) continue;
        Ints wc{m, ci};
        wc.insert(wc.end(), kc.begin(), kc.end());
        acc += double(x[std::size_t(ravel(xc, xs))]) * w[std::size_t(ravel(wc, ws))];
      }
    }
    y[std::size_t(i)] = float(acc);
  }
  return y;
}

Vec naive_conv_transpose(const Vec& x, const Shape& xs, const Vec& w, const Shape& ws, const Vec& b, const Shape& ys,
                         const ConvAttrs& a) {
  const std::size_t sd = xs.size() - 2;
  const std::int64_t cg = xs[1] / a.group, mg = ys[1] / a.group;
  const Shape k_sp(ws.begin() + 2, ws.end());
  std::vector<double> y(std::size_t(graph::element_count(ys)));
  for (std::int64_t i = 0; i < std::int64_t(y.size()); ++i) y[std::size_t(i)] = b.empty() ? 0.0 : b[std::size_t(unravel(i, ys)[1])];
  for (std::int64_t i = 0; i < graph::element_count(xs); ++i) {
    const Ints c = unravel(i, xs);
    const std::int64_t n = c[0], ch = c[1], grp = ch / cg;
    for (std::int64_t m = 0; m < mg; ++m) {
      for (std::int64_t k = 0; k < graph::element_count(k_sp); ++k) {
        const Ints kc = unravel(k, k_sp);
        Ints yc{n, grp * mg + m};
        bool inside = true;
        for (std::size_t d = 0; d < sd; ++d) {
          const std::int64_t p = c[2 + d] * a.strides[d] - a.pads_begin[d] + kc[d] * a.dilations[d];
          inside = inside && p >= 0 && p < ys[2 + d];
          yc.push_back(p);
        }
        if (!inside) continue;
        Ints wc{ch, m};
        wc.insert(wc.end(), kc.begin(), kc.end());
        y[std::size_t(ravel(yc, ys))] += double(x[std::size_t(i)]) * w[std::size_t(ravel(wc, ws))];
      }
    }
  }
  return Vec(y.begin(), y.end());
}

// Batched matrix product with numpy broadcasting; a and b already at least 2-D.
Vec naive_matmul(const Vec& a, const Shape& as, const Vec& b, const Shape& bs, const Shape& ys) {
  const std::size_t r = ys.size();
  const std::int64_t k_dim = as.back();
  Vec y(std::size_t(graph::element_count(ys)));
  for (std::int64_t i = 0; i < std::int64_t(y.size()); ++i) {
    const Ints c = unravel(i, ys);
    double acc = 0;
    for (std::int64_t k = 0; k < k_dim; ++k) {
      Ints ac = c, bc = c;
      ac[r - 1] = k;
      bc[r - 2] = k;
      acc += double(a[std::size_t(broadcast_index(ac, as, ys))]) * b[std::size_t(broadcast_index(bc, bs, ys))];
    }
    y[std::size_t(i)] = float(acc);
  }
  return y;
}

Vec transpose2d(const Vec& v, std::int64_t rows, std::int64_t cols) {
  Vec t(v.size());
  for (std::int64_t r = 0; r < rows; ++r)
    for (std::int64_t c = 0; c < cols; ++c) t[std::size_t(c * rows + r)] = v[std::size_t(r * cols + c)];
  return t;
}

struct PoolAttrs {
  bool max = true;
  bool include_pad = false;
  Ints kernel, strides, dilations, pads_begin, pads_end;
};

Vec naive_pool(const Vec& x, const Shape& xs, const Shape& ys, const PoolAttrs& a) {
  const std::size_t sd = xs.size() - 2;
  Vec y(std::size_t(graph::element_count(ys)));
  for (std::int64_t i = 0; i < std::int64_t(y.size()); ++i) {
    const Ints c = unravel(i, ys);
    double acc = a.max ? -INFINITY : 0.0;
    std::int64_t count = 0;
    const Shape k_sp(a.kernel.begin(), a.kernel.end());
    for (std::int64_t k = 0; k < graph::element_count(k_sp); ++k) {
      const Ints kc = unravel(k, k_sp);
      Ints xc{c[0], c[1]};
      bool inside = true, in_padded = true;
      for (std::size_t d = 0; d < sd; ++d) {
        const std::int64_t p = c[2 + d] * a.strides[d] - a.pads_begin[d] + kc[d] * a.dilations[d];
        inside = inside && p >= 0 && p < xs[2 + d];
        in_padded = in_padded && p >= -a.pads_begin[d] && p < xs[2 + d] + a.pads_end[d];
        xc.push_back(p);
      }
      if (a.include_pad && in_padded) ++count;
      if (!inside) continue;
      const float v = x[std::size_t(ravel(xc, xs))];
      if (a.max) {
        acc = std::max(acc, double(v));
      } else {
        acc += v;
        if (!a.include_pad) ++count;
      }
    }
    y[std::size_t(i)] = float(a.max ? acc : acc / double(count));
  }
  return y;
}

// Softmax along `axis` of `shape`.
Vec naive_softmax(const Vec& x, const Shape& shape, std::size_t axis) {
  Vec y(x.size());
  std::int64_t outer = 1, inner = 1;
  for (std::size_t d = 0; d < axis; ++d) outer *= shape[d];
  for (std::size_t d = axis + 1; d < shape.size(); ++d) inner *= shape[d];
  const std::int64_t n = shape[axis];
  for (std::int64_t o = 0; o < outer; ++o) {
    for (std::int64_t in = 0; in < inner; ++in) {
      auto at = [&](std::int64_t j) { return std::size_t((o * n + j) * inner + in); };
      double mx = -INFINITY, sum = 0;
      for (std::int64_t j = 0; j < n; ++j) mx = std::max(mx, double(x[at(j)]));
      for (std::int64_t j = 0; j < n; ++j) sum += std::exp(double(x[at(j)]) - mx);
      for (std::int64_t j = 0; j < n; ++j) y[at(j)] = float(std::exp(double(x[at(j)]) - mx) / sum);
    }
  }
  return y;
}

graph::Graph import(const ModelBuilder& b, const std::string& name) { return graph::import_onnx_bytes(b.bytes(), name); }

// ---------------------------------------------------------------------------------------
// Conv

struct ConvCase {
  std::string name;
  Shape x, w;
  ConvAttrs attrs;
  Ints pads;  // ONNX pads (begin..., end...); empty: omitted
  std::string auto_pad;
  bool bias = true;
  bool weights_const = true;
};

void check_conv(const ConvCase& c) {
  SCOPED_TRACE(c.name);
  ModelBuilder b;
  b.input("x", c.x);
  const Vec w = random_values(graph::element_count(c.w), 2);
  const std::int64_t m = c.w[0];
  const Vec bias = c.bias ? random_values(m, 3) : Vec{};
  std::vector<std::string> inputs{"x", "w"};
  if (c.weights_const) {
    b.weight("w", c.w, w);
    if (c.bias) b.weight("b", {m}, bias);
  } else {
    b.input("w", c.w);
    if (c.bias) b.input("b", {m});
  }
  if (c.bias) inputs.push_back("b");
  auto& n = b.node("Conv", inputs, {"y"}, "conv");
  const std::size_t sd = c.x.size() - 2;
  ModelBuilder::attr(n, "group", c.attrs.group);
  ModelBuilder::attr(n, "strides", c.attrs.strides);
  ModelBuilder::attr(n, "dilations", c.attrs.dilations);
  if (!c.pads.empty()) ModelBuilder::attr(n, "pads", c.pads);
  if (!c.auto_pad.empty()) ModelBuilder::attr(n, "auto_pad", c.auto_pad);
  b.output("y", int(c.x.size()));
  const graph::Graph g = import(b, c.name);
  const Shape ys = g.tensor("y").shape;
  ConvAttrs a = c.attrs;
  if (c.auto_pad.rfind("SAME", 0) == 0) {
    a.pads_begin.clear();
    for (std::size_t d = 0; d < sd; ++d) {
      const std::int64_t kr = (c.w[2 + d] - 1) * a.dilations[d] + 1;
      const std::int64_t total = std::max<std::int64_t>(0, (ys[2 + d] - 1) * a.strides[d] + kr - c.x[2 + d]);
      a.pads_begin.push_back(c.auto_pad == "SAME_UPPER" ? total / 2 : total - total / 2);
    }
  } else {
    a.pads_begin = c.pads.empty() ? Ints(sd, 0) : Ints(c.pads.begin(), c.pads.begin() + std::ptrdiff_t(sd));
  }
  const Vec x = random_values(graph::element_count(c.x), 1);
  std::map<std::string, HostTensor> values;
  values.emplace("x", tensor_of(c.x, x));
  if (!c.weights_const) {
    values.emplace("w", tensor_of(c.w, w));
    if (c.bias) values.emplace("b", tensor_of({m}, bias));
  }
  const Kernel k = run_dnnl(g, {"conv"}, values);
  EXPECT_EQ(k.implementation.rfind("onednn:convolution", 0), 0u) << k.implementation;
  expect_close(k.outputs[0], ys, naive_conv(x, c.x, w, c.w, bias, ys, a), c.name);
}

TEST(DnnlConv, MatchesLoops) {
  check_conv({"basic", {2, 3, 7, 6}, {4, 3, 3, 3}, {1, {1, 1}, {1, 1}, {}}, {1, 1, 1, 1}, "", true, true});
  check_conv({"no_bias_unpadded", {1, 3, 6, 6}, {5, 3, 3, 3}, {1, {1, 1}, {1, 1}, {}}, {}, "", false, true});
  check_conv({"grouped_strided_asymmetric", {1, 4, 9, 8}, {6, 2, 3, 3}, {2, {2, 2}, {1, 1}, {}}, {1, 0, 2, 1}, "", true, true});
  check_conv({"depthwise", {1, 8, 9, 9}, {8, 1, 3, 3}, {8, {2, 2}, {1, 1}, {}}, {1, 1, 1, 1}, "", true, true});
  check_conv({"dilated", {1, 2, 10, 11}, {3, 2, 3, 3}, {1, {1, 1}, {2, 3}, {}}, {2, 3, 2, 3}, "", true, true});
  check_conv({"same_upper", {1, 2, 7, 7}, {3, 2, 3, 3}, {1, {2, 2}, {1, 1}, {}}, {}, "SAME_UPPER", true, true});
  check_conv({"same_lower_even_kernel", {1, 2, 7, 8}, {3, 2, 4, 4}, {1, {1, 2}, {1, 1}, {}}, {}, "SAME_LOWER", true, true});
  check_conv({"valid", {1, 2, 8, 7}, {3, 2, 3, 2}, {1, {2, 2}, {1, 1}, {}}, {}, "VALID", false, true});
  check_conv({"conv1d", {2, 3, 17}, {4, 3, 5}, {1, {2}, {1}, {}}, {2, 1}, "", true, true});
  check_conv({"conv3d", {1, 2, 5, 6, 4}, {3, 2, 3, 3, 2}, {1, {1, 2, 1}, {1, 1, 1}, {}}, {1, 1, 0, 1, 1, 1}, "", true, true});
  check_conv({"runtime_weights", {1, 4, 6, 6}, {4, 2, 3, 3}, {2, {1, 1}, {1, 1}, {}}, {1, 1, 1, 1}, "", true, false});
  check_conv({"strided_floor", {1, 1, 8, 8}, {2, 1, 3, 3}, {1, {3, 3}, {1, 1}, {}}, {0, 0, 0, 0}, "", false, true});
}

// ---------------------------------------------------------------------------------------
// ConvTranspose

struct DeconvCase {
  std::string name;
  Shape x, w;  // w: [C, M/g, k...]
  ConvAttrs attrs;
  Ints pads, output_padding, output_shape;
  std::string auto_pad;
  bool weights_const = true;
};

void check_deconv(const DeconvCase& c) {
  SCOPED_TRACE(c.name);
  ModelBuilder b;
  b.input("x", c.x);
  const Vec w = random_values(graph::element_count(c.w), 5);
  const std::int64_t m = c.w[1] * c.attrs.group;
  const Vec bias = random_values(m, 6);
  if (c.weights_const) {
    b.weight("w", c.w, w);
    b.weight("b", {m}, bias);
  } else {
    b.input("w", c.w);
    b.input("b", {m});
  }
  auto& n = b.node("ConvTranspose", {"x", "w", "b"}, {"y"}, "deconv");
  const std::size_t sd = c.x.size() - 2;
  ModelBuilder::attr(n, "group", c.attrs.group);
  ModelBuilder::attr(n, "strides", c.attrs.strides);
  ModelBuilder::attr(n, "dilations", c.attrs.dilations);
  if (!c.pads.empty()) ModelBuilder::attr(n, "pads", c.pads);
  if (!c.output_padding.empty()) ModelBuilder::attr(n, "output_padding", c.output_padding);
  if (!c.output_shape.empty()) ModelBuilder::attr(n, "output_shape", c.output_shape);
  if (!c.auto_pad.empty()) ModelBuilder::attr(n, "auto_pad", c.auto_pad);
  b.output("y", int(c.x.size()));
  const graph::Graph g = import(b, c.name);
  const Shape ys = g.tensor("y").shape;
  ConvAttrs a = c.attrs;
  a.pads_begin = c.pads.empty() ? Ints(sd, 0) : Ints(c.pads.begin(), c.pads.begin() + std::ptrdiff_t(sd));
  if (!c.auto_pad.empty() && c.auto_pad != "VALID") {
    a.pads_begin.clear();
    for (std::size_t d = 0; d < sd; ++d) {
      const std::int64_t kr = (c.w[2 + d] - 1) * a.dilations[d] + 1;
      const std::int64_t op = c.output_padding.empty() ? 0 : c.output_padding[d];
      const std::int64_t total = a.strides[d] * (c.x[2 + d] - 1) + op + kr - ys[2 + d];
      a.pads_begin.push_back(c.auto_pad == "SAME_UPPER" ? total / 2 : total - total / 2);
    }
  }
  const Vec x = random_values(graph::element_count(c.x), 4);
  std::map<std::string, HostTensor> values;
  values.emplace("x", tensor_of(c.x, x));
  if (!c.weights_const) {
    values.emplace("w", tensor_of(c.w, w));
    values.emplace("b", tensor_of({m}, bias));
  }
  const Kernel k = run_dnnl(g, {"deconv"}, values);
  EXPECT_EQ(k.implementation.rfind("onednn:deconvolution", 0), 0u) << k.implementation;
  expect_close(k.outputs[0], ys, naive_conv_transpose(x, c.x, w, c.w, bias, ys, a), c.name);
}

TEST(DnnlConvTranspose, MatchesLoops) {
  check_deconv({"basic", {2, 3, 4, 5}, {3, 2, 3, 3}, {1, {1, 1}, {1, 1}, {}}, {}, {}, {}, "", true});
  check_deconv({"strided_padded_output_padding", {1, 2, 4, 4}, {2, 3, 3, 3}, {1, {2, 2}, {1, 1}, {}}, {1, 1, 1, 1}, {1, 1}, {}, "", true});
  check_deconv({"grouped_dilated", {1, 4, 3, 4}, {4, 2, 3, 2}, {2, {2, 1}, {2, 2}, {}}, {0, 1, 1, 0}, {}, {}, "", true});
  // output_padding beyond the end padding: the output reaches past what oneDNN computes.
  check_deconv({"output_padding_past_pads", {1, 2, 3, 3}, {2, 2, 3, 3}, {1, {3, 2}, {1, 1}, {}}, {}, {1, 1}, {}, "", false});
  check_deconv({"output_shape", {1, 1, 3, 3}, {1, 2, 3, 3}, {1, {3, 2}, {1, 1}, {}}, {}, {}, {10, 8}, "", true});
  check_deconv({"same_upper", {1, 1, 3, 3}, {1, 2, 3, 3}, {1, {2, 2}, {1, 1}, {}}, {}, {}, {}, "SAME_UPPER", true});
  check_deconv({"deconv1d", {1, 2, 5}, {2, 3, 3}, {1, {2}, {1}, {}}, {1, 0}, {}, {}, "", true});
  check_deconv({"deconv3d", {1, 2, 3, 3, 2}, {2, 2, 2, 3, 2}, {1, {2, 1, 2}, {1, 1, 1}, {}}, {}, {}, {}, "", true});
}

// ---------------------------------------------------------------------------------------
// Gemm and MatMul

TEST(DnnlGemm, AllTransposesScalesAndBiasShapes) {
  const std::int64_t M = 3, K = 5, N = 4;
  const std::vector<Shape> c_shapes = {{}, {N}, {M, 1}, {M, N}, {1}};
  for (int ta = 0; ta < 2; ++ta) {
    for (int tb = 0; tb < 2; ++tb) {
      for (int scales = 0; scales < 3; ++scales) {
        for (std::size_t ci = 0; ci <= c_shapes.size(); ++ci) {
          for (int consts = 0; consts < 4; ++consts) {
            const bool b_const = consts & 1, c_const = consts & 2;
            const bool with_c = ci < c_shapes.size();
            const Shape cs = with_c ? c_shapes[ci] : Shape{};
            const float alpha = scales == 1 ? 0.5f : (scales == 2 ? -1.5f : 1.0f);
            const float beta = scales == 1 ? 2.0f : (scales == 2 ? 0.0f : 1.0f);
            const std::string name = "gemm_ta" + std::to_string(ta) + "_tb" + std::to_string(tb) + "_s" + std::to_string(scales) +
                                     "_c" + std::to_string(ci) + "_consts" + std::to_string(consts);
            SCOPED_TRACE(name);
            const Shape as = ta ? Shape{K, M} : Shape{M, K};
            const Shape bs = tb ? Shape{N, K} : Shape{K, N};
            const Vec a = random_values(M * K, 10), bv = random_values(K * N, 11);
            const Vec c = with_c ? random_values(graph::element_count(cs), 12) : Vec{};
            ModelBuilder b;
            b.input("a", as);
            if (b_const) {
              b.weight("b", bs, bv);
            } else {
              b.input("b", bs);
            }
            std::vector<std::string> inputs{"a", "b"};
            if (with_c) {
              if (c_const) {
                b.weight("c", cs, c);
              } else {
                b.input("c", cs);
              }
              inputs.push_back("c");
            }
            auto& n = b.node("Gemm", inputs, {"y"}, "gemm");
            ModelBuilder::attr(n, "transA", std::int64_t(ta));
            ModelBuilder::attr(n, "transB", std::int64_t(tb));
            ModelBuilder::attr(n, "alpha", alpha);
            ModelBuilder::attr(n, "beta", beta);
            b.output("y", 2);
            const graph::Graph g = import(b, name);
            std::map<std::string, HostTensor> values;
            values.emplace("a", tensor_of(as, a));
            if (!b_const) values.emplace("b", tensor_of(bs, bv));
            if (with_c && !c_const) values.emplace("c", tensor_of(cs, c));
            const Kernel k = run_dnnl(g, {"gemm"}, values);
            EXPECT_EQ(k.implementation.rfind("onednn:matmul", 0), 0u);
            const Vec a2 = ta ? transpose2d(a, K, M) : a;
            const Vec b2 = tb ? transpose2d(bv, N, K) : bv;
            Vec expected = naive_matmul(a2, {M, K}, b2, {K, N}, {M, N});
            for (std::int64_t i = 0; i < M * N; ++i) {
              expected[std::size_t(i)] *= alpha;
              if (with_c) {
                const Shape c2 = cs.empty() ? Shape{1} : cs;
                expected[std::size_t(i)] += beta * c[std::size_t(broadcast_index(unravel(i, {M, N}), c2, {M, N}))];
              }
            }
            expect_close(k.outputs[0], {M, N}, expected, name);
          }
        }
      }
    }
  }
}

void check_matmul(const std::string& name, const Shape& as, const Shape& bs, bool b_const) {
  SCOPED_TRACE(name);
  const Vec a = random_values(graph::element_count(as), 20), bv = random_values(graph::element_count(bs), 21);
  ModelBuilder b;
  b.input("a", as);
  if (b_const) {
    b.weight("b", bs, bv);
  } else {
    b.input("b", bs);
  }
  b.node("MatMul", {"a", "b"}, {"y"}, "matmul");
  const std::size_t promoted = std::max<std::size_t>({as.size(), bs.size(), 2});
  b.output("y", int(promoted) - int(as.size() == 1) - int(bs.size() == 1));
  const graph::Graph g = import(b, name);
  const Shape ys = g.tensor("y").shape;
  std::map<std::string, HostTensor> values;
  values.emplace("a", tensor_of(as, a));
  if (!b_const) values.emplace("b", tensor_of(bs, bv));
  const Kernel k = run_dnnl(g, {"matmul"}, values);
  // The loop works on the numpy-promoted shapes.
  const Shape a2 = as.size() == 1 ? Shape{1, as[0]} : as;
  const Shape b2 = bs.size() == 1 ? Shape{bs[0], 1} : bs;
  const std::size_t r = std::max(a2.size(), b2.size());
  Shape y2(r);
  for (std::size_t d = 0; d + 2 < r; ++d) {
    const std::int64_t ad = d + a2.size() >= r ? a2[d + a2.size() - r] : 1;
    const std::int64_t bd = d + b2.size() >= r ? b2[d + b2.size() - r] : 1;
    y2[d] = std::max(ad, bd);
  }
  y2[r - 2] = a2[a2.size() - 2];
  y2[r - 1] = b2.back();
  expect_close(k.outputs[0], ys, naive_matmul(a, a2, bv, b2, y2), name);
}

TEST(DnnlMatMul, BroadcastsBatchesAndPromotesVectors) {
  check_matmul("2d", {3, 4}, {4, 5}, false);
  check_matmul("3d_const_weights", {2, 3, 4}, {4, 5}, true);
  check_matmul("batch_broadcast", {2, 1, 3, 4}, {5, 4, 6}, false);
  check_matmul("batch_broadcast_left", {3, 4}, {2, 4, 6}, false);
  check_matmul("vector_matrix", {4}, {2, 4, 3}, false);
  check_matmul("matrix_vector", {2, 3, 4}, {4}, true);
  check_matmul("vector_vector", {4}, {4}, false);
}

// ---------------------------------------------------------------------------------------
// Pools

struct PoolCase {
  std::string name;
  std::string type;
  Shape x;
  Ints kernel, strides, pads, dilations;
  bool ceil = false;
  bool include_pad = false;
  std::string auto_pad;
};

void check_pool(const PoolCase& c) {
  SCOPED_TRACE(c.name);
  const std::size_t sd = c.x.size() - 2;
  ModelBuilder b(12);
  b.input("x", c.x);
  auto& n = b.node(c.type, {"x"}, {"y"}, "pool");
  ModelBuilder::attr(n, "kernel_shape", c.kernel);
  if (!c.strides.empty()) ModelBuilder::attr(n, "strides", c.strides);
  if (!c.pads.empty()) ModelBuilder::attr(n, "pads", c.pads);
  if (!c.dilations.empty()) ModelBuilder::attr(n, "dilations", c.dilations);
  if (c.ceil) ModelBuilder::attr(n, "ceil_mode", std::int64_t{1});
  if (c.type == "AveragePool") ModelBuilder::attr(n, "count_include_pad", std::int64_t(c.include_pad));
  if (!c.auto_pad.empty()) ModelBuilder::attr(n, "auto_pad", c.auto_pad);
  b.output("y", int(c.x.size()));
  const graph::Graph g = import(b, c.name);
  const Shape ys = g.tensor("y").shape;
  PoolAttrs a;
  a.max = c.type == "MaxPool";
  a.include_pad = c.include_pad;
  a.kernel = c.kernel;
  a.strides = c.strides.empty() ? Ints(sd, 1) : c.strides;
  a.dilations = c.dilations.empty() ? Ints(sd, 1) : c.dilations;
  a.pads_begin = c.pads.empty() ? Ints(sd, 0) : Ints(c.pads.begin(), c.pads.begin() + std::ptrdiff_t(sd));
  a.pads_end = c.pads.empty() ? Ints(sd, 0) : Ints(c.pads.begin() + std::ptrdiff_t(sd), c.pads.end());
  if (c.auto_pad == "SAME_UPPER") {
    for (std::size_t d = 0; d < sd; ++d) {
      const std::int64_t kr = (a.kernel[d] - 1) * a.dilations[d] + 1;
      const std::int64_t total = std::max<std::int64_t>(0, (ys[2 + d] - 1) * a.strides[d] + kr - c.x[2 + d]);
      a.pads_begin[d] = total / 2;
      a.pads_end[d] = total - total / 2;
    }
  }
  const Vec x = random_values(graph::element_count(c.x), 30);
  std::map<std::string, HostTensor> values;
  values.emplace("x", tensor_of(c.x, x));
  const Kernel k = run_dnnl(g, {"pool"}, values);
  EXPECT_EQ(k.implementation.rfind("onednn:pooling", 0), 0u) << k.implementation;
  expect_close(k.outputs[0], ys, naive_pool(x, c.x, ys, a), c.name);
}

TEST(DnnlPool, MatchesLoops) {
  check_pool({"max_basic", "MaxPool", {2, 3, 8, 8}, {2, 2}, {2, 2}, {}, {}, false, false, ""});
  check_pool({"max_padded_strided", "MaxPool", {1, 2, 9, 7}, {3, 3}, {2, 2}, {1, 1, 1, 1}, {}, false, false, ""});
  check_pool({"max_ceil", "MaxPool", {1, 2, 8, 8}, {3, 3}, {2, 2}, {}, {}, true, false, ""});
  check_pool({"max_dilated", "MaxPool", {1, 2, 9, 9}, {2, 2}, {1, 1}, {}, {2, 2}, false, false, ""});
  check_pool({"max_same_upper", "MaxPool", {1, 1, 7, 6}, {3, 2}, {2, 2}, {}, {}, false, false, "SAME_UPPER"});
  check_pool({"max_1d", "MaxPool", {1, 3, 10}, {3}, {2}, {1, 1}, {}, false, false, ""});
  check_pool({"avg_exclude_pad", "AveragePool", {1, 2, 7, 7}, {3, 3}, {2, 2}, {1, 1, 1, 1}, {}, false, false, ""});
  check_pool({"avg_include_pad", "AveragePool", {1, 2, 7, 7}, {3, 3}, {2, 2}, {1, 1, 1, 1}, {}, false, true, ""});
  check_pool({"avg_ceil_exclude", "AveragePool", {1, 2, 8, 8}, {3, 3}, {2, 2}, {}, {}, true, false, ""});
  check_pool({"avg_ceil_include_pad", "AveragePool", {1, 2, 8, 8}, {3, 3}, {2, 2}, {1, 1, 0, 0}, {}, true, true, ""});
  check_pool({"avg_3d", "AveragePool", {1, 2, 4, 5, 6}, {2, 2, 3}, {2, 1, 2}, {}, {}, false, false, ""});
}

TEST(DnnlPool, MaxPoolIndicesInBothStorageOrders) {
  for (std::int64_t order : {0, 1}) {
    SCOPED_TRACE("storage_order " + std::to_string(order));
    ModelBuilder b(12);
    b.input("x", {2, 2, 5, 5});
    auto& n = b.node("MaxPool", {"x"}, {"y", "i"}, "pool");
    ModelBuilder::attr(n, "kernel_shape", Ints{3, 3});
    ModelBuilder::attr(n, "strides", Ints{2, 2});
    ModelBuilder::attr(n, "pads", Ints{1, 1, 1, 1});
    ModelBuilder::attr(n, "storage_order", order);
    b.output("y", 4);
    b.output("i", 4, onnx::TensorProto::INT64);
    const graph::Graph g = import(b, "maxpool_indices");
    const Shape xs{2, 2, 5, 5};
    const Vec x = random_values(graph::element_count(xs), 31);
    std::map<std::string, HostTensor> values;
    values.emplace("x", tensor_of(xs, x));
    const Kernel k = run_dnnl(g, {"pool"}, values);
    const Shape ys = g.tensor("y").shape;
    ASSERT_EQ(k.outputs.size(), 2u);
    const std::int64_t* idx = k.outputs[1].as<std::int64_t>();
    const float* y = k.outputs[0].as<float>();
    for (std::int64_t i = 0; i < graph::element_count(ys); ++i) {
      const Ints c = unravel(i, ys);
      ASSERT_GE(idx[i], 0);
      ASSERT_LT(idx[i], graph::element_count(xs));
      // The index lies in the output's plane; column-major positions count rows fastest.
      const std::int64_t plane = idx[i] / 25, in_plane = idx[i] % 25;
      EXPECT_EQ(plane, c[0] * 2 + c[1]);
      const std::int64_t row_major = order == 0 ? in_plane : (in_plane % 5) * 5 + in_plane / 5;
      EXPECT_EQ(x[std::size_t(plane * 25 + row_major)], y[i]);
    }
  }
}

TEST(DnnlPool, GlobalPools) {
  for (const std::string type : {"GlobalAveragePool", "GlobalMaxPool"}) {
    ModelBuilder b;
    const Shape xs{2, 3, 4, 5};
    b.input("x", xs);
    b.node(type, {"x"}, {"y"}, "pool");
    b.output("y", 4);
    const graph::Graph g = import(b, type);
    const Vec x = random_values(graph::element_count(xs), 32);
    std::map<std::string, HostTensor> values;
    values.emplace("x", tensor_of(xs, x));
    const Kernel k = run_dnnl(g, {"pool"}, values);
    Vec expected;
    for (std::int64_t p = 0; p < 6; ++p) {
      const auto begin = x.begin() + p * 20, end = begin + 20;
      expected.push_back(type == "GlobalMaxPool" ? *std::max_element(begin, end) : std::accumulate(begin, end, 0.0f) / 20.0f);
    }
    expect_close(k.outputs[0], {2, 3, 1, 1}, expected, type);
  }
}

// ---------------------------------------------------------------------------------------
// Normalisations and Softmax

TEST(DnnlBatchNorm, InferenceWithConstantAndRunTimeParameters) {
  const Shape xs{2, 3, 4, 5};
  const Vec x = random_values(120, 40), scale = random_values(3, 41), bias = random_values(3, 42), mean = random_values(3, 43);
  const Vec var = random_values(3, 44, 0.1f, 2.0f);
  for (int constant = 0; constant < 2; ++constant) {
    ModelBuilder b;
    b.input("x", xs);
    const std::vector<std::pair<std::string, Vec>> params = {{"s", scale}, {"b", bias}, {"m", mean}, {"v", var}};
    for (const auto& [name, v] : params) {
      if (constant) {
        b.weight(name, {3}, v);
      } else {
        b.input(name, {3});
      }
    }
    auto& n = b.node("BatchNormalization", {"x", "s", "b", "m", "v"}, {"y"}, "bn");
    ModelBuilder::attr(n, "epsilon", 1e-3f);
    b.output("y", 4);
    const graph::Graph g = import(b, "bn");
    std::map<std::string, HostTensor> values;
    values.emplace("x", tensor_of(xs, x));
    if (!constant) {
      for (const auto& [name, v] : params) values.emplace(name, tensor_of({3}, v));
    }
    const Kernel k = run_dnnl(g, {"bn"}, values);
    Vec expected(x.size());
    for (std::size_t i = 0; i < x.size(); ++i) {
      const std::size_t c = (i / 20) % 3;
      expected[i] = float(scale[c] * (x[i] - mean[c]) / std::sqrt(double(var[c]) + 1e-3) + bias[c]);
    }
    expect_close(k.outputs[0], xs, expected, "bn");
  }
}

TEST(DnnlBatchNorm, TrainingModeUpdatesRunningStatistics) {
  const Shape xs{3, 2, 4};
  const Vec x = random_values(24, 45), scale = random_values(2, 46), bias = random_values(2, 47), mean = random_values(2, 48);
  const Vec var = random_values(2, 49, 0.5f, 1.5f);
  ModelBuilder b(15);
  b.input("x", xs);
  for (const char* name : {"s", "b", "m", "v"}) b.input(name, {2});
  auto& n = b.node("BatchNormalization", {"x", "s", "b", "m", "v"}, {"y", "rm", "rv"}, "bn");
  ModelBuilder::attr(n, "training_mode", std::int64_t{1});
  ModelBuilder::attr(n, "momentum", 0.8f);
  b.output("y", 3);
  b.output("rm", 1);
  b.output("rv", 1);
  const graph::Graph g = import(b, "bn_training");
  std::map<std::string, HostTensor> values;
  values.emplace("x", tensor_of(xs, x));
  values.emplace("s", tensor_of({2}, scale));
  values.emplace("b", tensor_of({2}, bias));
  values.emplace("m", tensor_of({2}, mean));
  values.emplace("v", tensor_of({2}, var));
  const Kernel k = run_dnnl(g, {"bn"}, values);
  Vec y(24), rm(2), rv(2);
  for (std::size_t c = 0; c < 2; ++c) {
    double s = 0, s2 = 0;
    for (std::size_t n_ = 0; n_ < 3; ++n_)
      for (std::size_t i = 0; i < 4; ++i) s += x[n_ * 8 + c * 4 + i];
    const double mu = s / 12;
    for (std::size_t n_ = 0; n_ < 3; ++n_)
      for (std::size_t i = 0; i < 4; ++i) s2 += (x[n_ * 8 + c * 4 + i] - mu) * (x[n_ * 8 + c * 4 + i] - mu);
    const double v = s2 / 12;
    for (std::size_t n_ = 0; n_ < 3; ++n_)
      for (std::size_t i = 0; i < 4; ++i) {
        const std::size_t at = n_ * 8 + c * 4 + i;
        y[at] = float(scale[c] * (x[at] - mu) / std::sqrt(v + 1e-5) + bias[c]);
      }
    rm[c] = float(mean[c] * 0.8 + mu * 0.2);
    rv[c] = float(var[c] * 0.8 + v * 0.2);
  }
  expect_close(k.outputs[0], xs, y, "y");
  expect_close(k.outputs[1], {2}, rm, "running mean");
  expect_close(k.outputs[2], {2}, rv, "running var");
}

void check_layer_norm(const std::string& name, const Shape& xs, std::int64_t axis, const Shape& scale_shape, bool with_bias,
                      bool stats, bool const_params) {
  SCOPED_TRACE(name);
  const std::size_t ax = std::size_t(axis < 0 ? axis + std::int64_t(xs.size()) : axis);
  std::int64_t outer = 1, inner = 1;
  for (std::size_t d = 0; d < xs.size(); ++d) (d < ax ? outer : inner) *= xs[d];
  const Vec x = random_values(graph::element_count(xs), 50, -2, 3);
  const Vec scale = random_values(graph::element_count(scale_shape), 51), bias = random_values(graph::element_count(scale_shape), 52);
  ModelBuilder b(17);
  b.input("x", xs);
  std::vector<std::string> inputs{"x", "s"};
  if (const_params) {
    b.weight("s", scale_shape, scale);
    if (with_bias) b.weight("b", scale_shape, bias);
  } else {
    b.input("s", scale_shape);
    if (with_bias) b.input("b", scale_shape);
  }
  if (with_bias) inputs.push_back("b");
  std::vector<std::string> outputs{"y"};
  if (stats) outputs.insert(outputs.end(), {"mean", "inv"});
  auto& n = b.node("LayerNormalization", inputs, outputs, "ln");
  ModelBuilder::attr(n, "axis", axis);
  ModelBuilder::attr(n, "epsilon", 1e-4f);
  b.output("y", int(xs.size()));
  if (stats) {
    b.output("mean", int(xs.size()));
    b.output("inv", int(xs.size()));
  }
  const graph::Graph g = import(b, name);
  std::map<std::string, HostTensor> values;
  values.emplace("x", tensor_of(xs, x));
  if (!const_params) {
    values.emplace("s", tensor_of(scale_shape, scale));
    if (with_bias) values.emplace("b", tensor_of(scale_shape, bias));
  }
  const Kernel k = run_dnnl(g, {"ln"}, values);
  EXPECT_EQ(k.implementation.rfind("onednn:layer_normalization", 0), 0u);
  const Shape norm_shape(xs.begin() + std::ptrdiff_t(ax), xs.end());
  Vec y(x.size()), mean(static_cast<std::size_t>(outer)), inv(static_cast<std::size_t>(outer));
  for (std::int64_t o = 0; o < outer; ++o) {
    double s = 0, s2 = 0;
    for (std::int64_t i = 0; i < inner; ++i) s += x[std::size_t(o * inner + i)];
    const double mu = s / double(inner);
    for (std::int64_t i = 0; i < inner; ++i) s2 += std::pow(x[std::size_t(o * inner + i)] - mu, 2);
    const double r = 1.0 / std::sqrt(s2 / double(inner) + 1e-4);
    mean[std::size_t(o)] = float(mu);
    inv[std::size_t(o)] = float(r);
    for (std::int64_t i = 0; i < inner; ++i) {
      const std::int64_t p = broadcast_index(unravel(i, norm_shape), scale_shape, norm_shape);
      y[std::size_t(o * inner + i)] = float((x[std::size_t(o * inner + i)] - mu) * r * scale[std::size_t(p)] +
                                            (with_bias ? bias[std::size_t(p)] : 0.0f));
    }
  }
  expect_close(k.outputs[0], xs, y, name);
  if (stats) {
    EXPECT_EQ(k.outputs[1].elements(), outer);
    expect_close(k.outputs[1], k.outputs[1].shape(), mean, name + " mean");
    expect_close(k.outputs[2], k.outputs[2].shape(), inv, name + " inv std dev");
  }
}

TEST(DnnlLayerNorm, AxesBiasStatisticsAndBroadcastScale) {
  check_layer_norm("last_axis", {2, 3, 8}, -1, {8}, true, false, true);
  check_layer_norm("axis1_runtime_params", {2, 3, 4}, 1, {3, 4}, true, false, false);
  check_layer_norm("no_bias_with_stats", {3, 5}, 0, {3, 5}, false, true, true);
  check_layer_norm("broadcast_scale", {2, 3, 4}, 1, {4}, true, true, false);
}

TEST(DnnlSoftmax, Opset13AxisAndOpset11Coercion) {
  const Shape xs{2, 3, 4};
  const Vec x = random_values(24, 60, -5, 5);
  for (std::int64_t opset : {11, 13}) {
    for (std::int64_t axis : {0, 1, -1}) {
      const std::string name = "softmax_opset" + std::to_string(opset) + "_axis" + std::to_string(axis);
      SCOPED_TRACE(name);
      ModelBuilder b(opset);
      b.input("x", xs);
      auto& n = b.node("Softmax", {"x"}, {"y"}, "softmax");
      ModelBuilder::attr(n, "axis", axis);
      b.output("y", 3);
      const graph::Graph g = import(b, name);
      std::map<std::string, HostTensor> values;
      values.emplace("x", tensor_of(xs, x));
      const Kernel k = run_dnnl(g, {"softmax"}, values);
      const std::size_t a = std::size_t(axis < 0 ? axis + 3 : axis);
      Vec expected;
      if (opset >= 13) {
        expected = naive_softmax(x, xs, a);
      } else {
        std::int64_t outer = 1;
        for (std::size_t d = 0; d < a; ++d) outer *= xs[d];
        expected = naive_softmax(x, {outer, 24 / outer}, 1);
      }
      expect_close(k.outputs[0], xs, expected, name);
    }
  }
}

// ---------------------------------------------------------------------------------------
// Reductions, Concat, binary, eltwise, PRelu

Vec naive_reduce(const std::string& type, const Vec& x, const Shape& xs, const std::vector<bool>& reduced, Shape* out_shape) {
  Shape ks;
  for (std::size_t d = 0; d < xs.size(); ++d) ks.push_back(reduced[d] ? 1 : xs[d]);
  *out_shape = ks;
  const std::int64_t n = graph::element_count(ks);
  std::vector<double> acc(std::size_t(n), type == "ReduceMax" ? -INFINITY : (type == "ReduceMin" ? INFINITY : 0.0));
  std::vector<std::int64_t> count(static_cast<std::size_t>(n));
  for (std::int64_t i = 0; i < std::int64_t(x.size()); ++i) {
    Ints c = unravel(i, xs);
    for (std::size_t d = 0; d < xs.size(); ++d)
      if (reduced[d]) c[d] = 0;
    const std::size_t o = std::size_t(ravel(c, ks));
    const double v = x[std::size_t(i)];
    if (type == "ReduceMax") acc[o] = std::max(acc[o], v);
    else if (type == "ReduceMin") acc[o] = std::min(acc[o], v);
    else acc[o] += v;
    ++count[o];
  }
  Vec y(acc.size());
  for (std::size_t i = 0; i < y.size(); ++i) y[i] = float(type == "ReduceMean" ? acc[i] / double(count[i]) : acc[i]);
  return y;
}

TEST(DnnlReduce, AxesKeepdimsAndNoop) {
  const Shape xs{2, 3, 4, 5};
  const Vec x = random_values(120, 70);
  struct Case {
    std::string type;
    std::int64_t opset;
    Ints axes;  // empty: none given
    bool keepdims;
    bool noop;
    bool axes_as_input;
  };
  const std::vector<Case> cases = {
      {"ReduceMean", 13, {1}, true, false, false},      {"ReduceMean", 13, {2, 3}, false, false, false},
      {"ReduceSum", 13, {0, 2}, false, false, true},    {"ReduceSum", 13, {-1}, true, false, true},
      {"ReduceMax", 13, {}, true, false, false},        {"ReduceMin", 13, {0, 3}, true, false, false},
      {"ReduceSum", 13, {}, true, true, true},          {"ReduceMax", 11, {1, 3}, false, false, false},
  };
  for (const Case& c : cases) {
    std::string name = c.type + "_opset" + std::to_string(c.opset);
    for (auto a : c.axes) {
      name += '_';
      name += std::to_string(a);
    }
    name += c.keepdims ? "_keep" : "_drop";
    if (c.noop) name += "_noop";
    SCOPED_TRACE(name);
    ModelBuilder b(c.opset);
    b.input("x", xs);
    std::vector<std::string> inputs{"x"};
    if (c.axes_as_input) {
      b.ints("axes", {std::int64_t(c.axes.size())}, c.axes);
      inputs.push_back("axes");
    }
    auto& n = b.node(c.type, inputs, {"y"}, "reduce");
    if (!c.axes_as_input && !c.axes.empty()) ModelBuilder::attr(n, "axes", c.axes);
    ModelBuilder::attr(n, "keepdims", std::int64_t(c.keepdims));
    if (c.noop) ModelBuilder::attr(n, "noop_with_empty_axes", std::int64_t{1});
    b.output("y", c.keepdims || c.noop ? 4 : int(4 - (c.axes.empty() ? 4 : c.axes.size())));
    const graph::Graph g = import(b, name);
    std::map<std::string, HostTensor> values;
    values.emplace("x", tensor_of(xs, x));
    const Kernel k = run_dnnl(g, {"reduce"}, values);
    std::vector<bool> reduced(4, c.axes.empty() && !c.noop);
    for (auto a : c.axes) reduced[std::size_t(a < 0 ? a + 4 : a)] = true;
    Shape kept;
    const Vec expected = naive_reduce(c.type, x, xs, reduced, &kept);
    expect_close(k.outputs[0], g.tensor("y").shape, expected, name);
  }
}

TEST(DnnlConcat, JoinsAlongAxis) {
  ModelBuilder b;
  b.input("a", {2, 1, 3});
  b.input("b", {2, 4, 3});
  b.weight("c", {2, 2, 3}, random_values(12, 80));
  auto& n = b.node("Concat", {"a", "b", "c"}, {"y"}, "concat");
  ModelBuilder::attr(n, "axis", std::int64_t{-2});
  b.output("y", 3);
  const graph::Graph g = import(b, "concat");
  const Vec a = random_values(6, 81), bv = random_values(24, 82), c = random_values(12, 80);
  std::map<std::string, HostTensor> values;
  values.emplace("a", tensor_of({2, 1, 3}, a));
  values.emplace("b", tensor_of({2, 4, 3}, bv));
  const Kernel k = run_dnnl(g, {"concat"}, values);
  Vec expected;
  for (std::size_t n_ = 0; n_ < 2; ++n_) {
    expected.insert(expected.end(), a.begin() + std::ptrdiff_t(n_ * 3), a.begin() + std::ptrdiff_t(n_ * 3 + 3));
    expected.insert(expected.end(), bv.begin() + std::ptrdiff_t(n_ * 12), bv.begin() + std::ptrdiff_t(n_ * 12 + 12));
    expected.insert(expected.end(), c.begin() + std::ptrdiff_t(n_ * 6), c.begin() + std::ptrdiff_t(n_ * 6 + 6));
  }
  expect_close(k.outputs[0], {2, 7, 3}, expected, "concat");
}

TEST(DnnlBinary, BroadcastsTheSecondOperandAndSwapsWhenItCan) {
  struct Case {
    std::string type;
    Shape a, b;
    bool taken;
  };
  const std::vector<Case> cases = {
      {"Add", {2, 3, 4}, {4}, true},       {"Add", {3, 1}, {2, 3, 4}, true},  {"Sub", {2, 3, 4}, {3, 1}, true},
      {"Sub", {4}, {2, 3, 4}, true},       {"Mul", {1, 4}, {3, 4}, true},     {"Div", {2, 3}, {3}, true},
      {"Div", {3}, {2, 3}, false},         {"Max", {}, {2, 3}, true},         {"Min", {2, 3}, {2, 3}, true},
      {"Add", {3, 1}, {1, 4}, false},
  };
  for (const Case& c : cases) {
    const std::string name = c.type + "_" + graph::shape_string(c.a) + "_" + graph::shape_string(c.b);
    SCOPED_TRACE(name);
    ModelBuilder b;
    b.input("a", c.a);
    b.input("b", c.b);
    b.node(c.type, {"a", "b"}, {"y"}, "binary");
    b.output("y", int(std::max(c.a.size(), c.b.size())));
    const graph::Graph g = import(b, name);
    if (!c.taken) {
      EXPECT_TRUE(declined(g, "binary"));
      continue;
    }
    const Vec a = random_values(graph::element_count(c.a), 90, 0.5f, 2.0f), bv = random_values(graph::element_count(c.b), 91, 0.5f, 2.0f);
    std::map<std::string, HostTensor> values;
    values.emplace("a", tensor_of(c.a, a));
    values.emplace("b", tensor_of(c.b, bv));
    const Kernel k = run_dnnl(g, {"binary"}, values);
    const Shape ys = g.tensor("y").shape;
    Vec expected(std::size_t(graph::element_count(ys)));
    for (std::int64_t i = 0; i < std::int64_t(expected.size()); ++i) {
      const Ints co = unravel(i, ys);
      const float x = a[std::size_t(broadcast_index(co, c.a, ys))], y = bv[std::size_t(broadcast_index(co, c.b, ys))];
      float r = 0;
      if (c.type == "Add") r = x + y;
      if (c.type == "Sub") r = x - y;
      if (c.type == "Mul") r = x * y;
      if (c.type == "Div") r = x / y;
      if (c.type == "Max") r = std::max(x, y);
      if (c.type == "Min") r = std::min(x, y);
      expected[std::size_t(i)] = r;
    }
    expect_close(k.outputs[0], ys, expected, name);
  }
}

TEST(DnnlEltwise, EveryActivationMatchesApplyEltwise) {
  const Shape xs{2, 3, 5};
  struct Case {
    std::string type;
    float lo, hi;
    std::function<void(onnx::NodeProto&)> attrs;
  };
  const std::vector<Case> cases = {
      {"Relu", -2, 2, {}},
      {"LeakyRelu", -2, 2, [](onnx::NodeProto& n) { ModelBuilder::attr(n, "alpha", 0.3f); }},
      {"Clip", -2, 2, {}},
      {"ClipMinOnly", -2, 2, {}},
      {"Sigmoid", -4, 4, {}},
      {"Tanh", -3, 3, {}},
      {"Exp", -3, 3, {}},
      {"Log", 0.1f, 5, {}},
      {"Sqrt", 0, 5, {}},
      {"Abs", -2, 2, {}},
      {"HardSwish", -5, 5, {}},
      {"Neg", -2, 2, {}},
      {"Reciprocal", 0.2f, 3, {}},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.type);
    ModelBuilder b;
    b.input("x", xs);
    std::vector<std::string> inputs{"x"};
    std::string type = c.type;
    if (c.type == "Clip") {
      b.weight("lo", {}, {-0.5f});
      b.weight("hi", {}, {0.75f});
      inputs = {"x", "lo", "hi"};
    } else if (c.type == "ClipMinOnly") {
      b.weight("lo", {}, {-0.5f});
      inputs = {"x", "lo"};
      type = "Clip";
    }
    auto& n = b.node(type, inputs, {"y"}, "act");
    if (c.attrs) c.attrs(n);
    b.output("y", 3);
    const graph::Graph g = import(b, c.type);
    const Vec x = random_values(30, 100, c.lo, c.hi);
    std::map<std::string, HostTensor> values;
    values.emplace("x", tensor_of(xs, x));
    const Kernel k = run_dnnl(g, {"act"}, values);
    EXPECT_EQ(k.implementation.rfind("onednn:eltwise", 0), 0u);
    const auto params = hw::eltwise_of(g, g.op(*g.find_op("act")));
    ASSERT_TRUE(params.has_value());
    Vec expected;
    for (float v : x) expected.push_back(hw::apply_eltwise(*params, v));
    expect_close(k.outputs[0], xs, expected, c.type);
  }
  for (const std::string type : {"HardSigmoid", "Erf"}) {
    ModelBuilder b;
    b.input("x", xs);
    b.node(type, {"x"}, {"y"}, "act");
    b.output("y", 3);
    EXPECT_TRUE(declined(import(b, type), "act")) << type << " has no oneDNN algorithm in 2.6: the own kernels run it";
  }
}

TEST(DnnlPRelu, BroadcastsTheSlope) {
  const Shape xs{2, 3, 4, 5};
  ModelBuilder b;
  b.input("x", xs);
  const Vec slope = random_values(3, 110);
  b.weight("slope", {3, 1, 1}, slope);
  b.node("PRelu", {"x", "slope"}, {"y"}, "prelu");
  b.output("y", 4);
  const graph::Graph g = import(b, "prelu");
  const Vec x = random_values(120, 111);
  std::map<std::string, HostTensor> values;
  values.emplace("x", tensor_of(xs, x));
  const Kernel k = run_dnnl(g, {"prelu"}, values);
  Vec expected(x.size());
  for (std::size_t i = 0; i < x.size(); ++i) expected[i] = x[i] >= 0 ? x[i] : x[i] * slope[(i / 20) % 3];
  expect_close(k.outputs[0], xs, expected, "prelu");
}

// ---------------------------------------------------------------------------------------
// Fusion: the fused kernel against the unfused graph.

void expect_fused_matches_reference(const ModelBuilder& b, const std::string& name, const std::vector<std::string>& ops,
                                    const std::map<std::string, Shape>& inputs, const std::string& expect_impl) {
  SCOPED_TRACE(name);
  const graph::Graph g = import(b, name);
  std::map<std::string, HostTensor> values;
  std::map<std::string, TensorView> views;
  unsigned seed = 200;
  for (const auto& [input, shape] : inputs) {
    values.emplace(input, tensor_of(shape, random_values(graph::element_count(shape), seed++)));
  }
  for (const auto& [input, t] : values) views[input] = t.view();
  const auto reference = hw::run_reference(g, views, {.threads = 2});
  const Kernel k = run_dnnl(g, ops, values);
  EXPECT_EQ(k.implementation.rfind(expect_impl, 0), 0u) << k.implementation;
  const std::string out = g.output_names().at(0);
  EXPECT_EQ(hw::compare_tensors(k.outputs[0].view(), reference.at(out).view(), kRtol, kAtol), "");
}

ModelBuilder conv_model(const Shape& xs, std::int64_t m, bool bias) {
  ModelBuilder b;
  b.input("x", xs);
  b.weight("w", {m, xs[1], 3, 3}, random_values(m * xs[1] * 9, 300));
  std::vector<std::string> inputs{"x", "w"};
  if (bias) {
    b.weight("b", {m}, random_values(m, 301));
    inputs.push_back("b");
  }
  auto& n = b.node("Conv", inputs, {"c"}, "conv");
  ModelBuilder::attr(n, "pads", Ints{1, 1, 1, 1});
  return b;
}

TEST(DnnlFusion, ConvBatchNormRelu) {
  ModelBuilder b = conv_model({1, 3, 8, 8}, 4, true);
  b.weight("s", {4}, random_values(4, 310));
  b.weight("sh", {4}, random_values(4, 311));
  b.weight("m", {4}, random_values(4, 312));
  b.weight("v", {4}, random_values(4, 313, 0.5f, 2.0f));
  b.node("BatchNormalization", {"c", "s", "sh", "m", "v"}, {"n"}, "bn");
  b.node("Relu", {"n"}, {"y"}, "relu");
  b.output("y", 4);
  expect_fused_matches_reference(b, "conv_bn_relu", {"conv", "bn", "relu"}, {{"x", {1, 3, 8, 8}}}, "onednn:convolution");
}

TEST(DnnlFusion, ConvWithoutBiasBatchNorm) {
  ModelBuilder b = conv_model({2, 3, 6, 6}, 5, false);
  b.weight("s", {5}, random_values(5, 320));
  b.weight("sh", {5}, random_values(5, 321));
  b.weight("m", {5}, random_values(5, 322));
  b.weight("v", {5}, random_values(5, 323, 0.5f, 2.0f));
  b.node("BatchNormalization", {"c", "s", "sh", "m", "v"}, {"y"}, "bn");
  b.output("y", 4);
  expect_fused_matches_reference(b, "conv_bn", {"conv", "bn"}, {{"x", {2, 3, 6, 6}}}, "onednn:convolution");
}

TEST(DnnlFusion, ConvResidualAddRelu) {
  // Without a bias the Add's input directly follows the Conv's two inputs in the group.
  for (bool bias : {true, false}) {
    ModelBuilder b = conv_model({1, 4, 7, 7}, 4, bias);
    b.input("r", {1, 4, 7, 7});
    b.node("Add", {"r", "c"}, {"s"}, "add");
    b.node("Relu", {"s"}, {"y"}, "relu");
    b.output("y", 4);
    expect_fused_matches_reference(b, bias ? "conv_add_relu" : "conv_nobias_add_relu", {"conv", "add", "relu"},
                                   {{"x", {1, 4, 7, 7}}, {"r", {1, 4, 7, 7}}}, "onednn:convolution");
  }
}

TEST(DnnlFusion, ConvClipAddChannelBroadcast) {
  ModelBuilder b = conv_model({1, 3, 6, 6}, 4, true);
  b.weight("lo", {}, {0.0f});
  b.weight("hi", {}, {6.0f});
  b.node("Clip", {"c", "lo", "hi"}, {"k"}, "clip");
  b.weight("cb", {1, 4, 1, 1}, random_values(4, 330));
  b.node("Add", {"k", "cb"}, {"y"}, "add");
  b.output("y", 4);
  expect_fused_matches_reference(b, "conv_clip_add", {"conv", "clip", "add"}, {{"x", {1, 3, 6, 6}}}, "onednn:convolution");
}

TEST(DnnlFusion, ConvActivationChain) {
  ModelBuilder b = conv_model({1, 3, 6, 6}, 4, true);
  b.node("Sigmoid", {"c"}, {"s"}, "sigmoid");
  b.node("Neg", {"s"}, {"n"}, "neg");
  b.node("Exp", {"n"}, {"e"}, "exp");
  b.node("Reciprocal", {"e"}, {"y"}, "reciprocal");
  b.output("y", 4);
  expect_fused_matches_reference(b, "conv_chain", {"conv", "sigmoid", "neg", "exp", "reciprocal"}, {{"x", {1, 3, 6, 6}}},
                                 "onednn:convolution");
}

TEST(DnnlFusion, GemmSigmoidAndMatMulAddTanh) {
  {
    ModelBuilder b;
    b.input("a", {3, 8});
    b.weight("w", {5, 8}, random_values(40, 340));
    b.weight("c", {5}, random_values(5, 341));
    auto& n = b.node("Gemm", {"a", "w", "c"}, {"g"}, "gemm");
    ModelBuilder::attr(n, "transB", std::int64_t{1});
    ModelBuilder::attr(n, "alpha", 0.5f);
    b.node("Sigmoid", {"g"}, {"y"}, "sigmoid");
    b.output("y", 2);
    expect_fused_matches_reference(b, "gemm_sigmoid", {"gemm", "sigmoid"}, {{"a", {3, 8}}}, "onednn:matmul");
  }
  {
    ModelBuilder b;
    b.input("a", {2, 3, 8});
    b.weight("w", {8, 6}, random_values(48, 342));
    b.node("MatMul", {"a", "w"}, {"m"}, "matmul");
    b.weight("bias", {6}, random_values(6, 343));
    b.node("Add", {"m", "bias"}, {"s"}, "add");
    b.node("Tanh", {"s"}, {"y"}, "tanh");
    b.output("y", 3);
    expect_fused_matches_reference(b, "matmul_add_tanh", {"matmul", "add", "tanh"}, {{"a", {2, 3, 8}}}, "onednn:matmul");
  }
  {
    // Gemm without C: the fused Add's input must not be taken for C.
    ModelBuilder b;
    b.input("a", {3, 4});
    b.weight("w", {4, 5}, random_values(20, 344));
    b.input("r", {3, 5});
    b.node("Gemm", {"a", "w"}, {"g"}, "gemm");
    b.node("Add", {"g", "r"}, {"y"}, "add");
    b.output("y", 2);
    expect_fused_matches_reference(b, "gemm_no_c_add", {"gemm", "add"}, {{"a", {3, 4}}, {"r", {3, 5}}}, "onednn:matmul");
  }
  {
    // Gemm with a run-time B and alpha != 1 adds C by a post-op before the fused Add.
    ModelBuilder b;
    b.input("a", {3, 4});
    b.input("w", {4, 5});
    b.input("c", {3, 5});
    b.input("r", {3, 5});
    auto& n = b.node("Gemm", {"a", "w", "c"}, {"g"}, "gemm");
    ModelBuilder::attr(n, "alpha", 2.0f);
    ModelBuilder::attr(n, "beta", 0.5f);
    b.node("Add", {"g", "r"}, {"s"}, "add");
    b.node("LeakyRelu", {"s"}, {"y"}, "leaky");
    b.output("y", 2);
    expect_fused_matches_reference(b, "gemm_runtime_add", {"gemm", "add", "leaky"},
                                   {{"a", {3, 4}}, {"w", {4, 5}}, {"c", {3, 5}}, {"r", {3, 5}}}, "onednn:matmul");
  }
}

TEST(DnnlFusion, ConvTransposeLeakyReluAndWidenedOutput) {
  for (const Ints& output_padding : {Ints{1, 1}, Ints{2, 2}}) {
    ModelBuilder b;
    b.input("x", {1, 2, 4, 4});
    b.weight("w", {2, 3, 3, 3}, random_values(54, 350));
    b.weight("b", {3}, random_values(3, 351));
    auto& n = b.node("ConvTranspose", {"x", "w", "b"}, {"d"}, "deconv");
    ModelBuilder::attr(n, "strides", Ints{3, 3});
    ModelBuilder::attr(n, "pads", Ints{1, 1, 1, 1});
    ModelBuilder::attr(n, "output_padding", output_padding);
    b.node("LeakyRelu", {"d"}, {"y"}, "leaky");
    b.output("y", 4);
    expect_fused_matches_reference(b, "deconv_leaky_op" + std::to_string(output_padding[0]), {"deconv", "leaky"},
                                   {{"x", {1, 2, 4, 4}}}, "onednn:deconvolution");
  }
}

// Hard-sigmoid takes two oneDNN post-ops (linear, clip); erf has no oneDNN algorithm, so it
// and what follows it run in the epilogue. Checked against the root alone plus the
// activations applied here.
TEST(DnnlFusion, HardSigmoidPostOpsAndErfEpilogue) {
  ModelBuilder b = conv_model({1, 3, 6, 6}, 4, true);
  b.node("Relu", {"c"}, {"r"}, "relu");
  auto& hs = b.node("HardSigmoid", {"r"}, {"h"}, "hsig");
  ModelBuilder::attr(hs, "alpha", 0.4f);
  ModelBuilder::attr(hs, "beta", 0.3f);
  b.node("Erf", {"h"}, {"e"}, "erf");
  b.input("r2", {1, 4, 6, 6});
  b.node("Add", {"e", "r2"}, {"y"}, "add");
  b.output("y", 4);
  const graph::Graph g = import(b, "conv_erf");
  std::map<std::string, HostTensor> values;
  const Vec x = random_values(108, 360), r2 = random_values(144, 361);
  values.emplace("x", tensor_of({1, 3, 6, 6}, x));
  values.emplace("r2", tensor_of({1, 4, 6, 6}, r2));
  const Kernel fused = run_dnnl(g, {"conv", "relu", "hsig", "erf", "add"}, values);
  EXPECT_NE(fused.implementation.find("epilogue (2 post-ops)"), std::string::npos) << fused.implementation;
  const Kernel conv = run_dnnl(g, {"conv"}, values);
  Vec expected = values_of(conv.outputs[0]);
  for (std::size_t i = 0; i < expected.size(); ++i) {
    const float h = std::max(0.0f, std::min(1.0f, 0.4f * std::max(expected[i], 0.0f) + 0.3f));
    expected[i] = std::erf(h) + r2[i];
  }
  expect_close(fused.outputs[0], {1, 4, 6, 6}, expected, "conv+relu+hardsigmoid+erf+add");
}

TEST(DnnlFusion, BatchNormNeedsConstantWeights) {
  ModelBuilder b;
  b.input("x", {1, 2, 4, 4});
  b.input("w", {2, 2, 1, 1});
  b.node("Conv", {"x", "w"}, {"c"}, "conv_rt");
  for (const char* p : {"s", "sh", "m", "v"}) b.weight(p, {2}, {1.0f, 1.0f});
  b.node("BatchNormalization", {"c", "s", "sh", "m", "v"}, {"y"}, "bn");
  b.output("y", 4);
  const graph::Graph g = import(b, "bn_runtime_weights");
  std::map<std::string, HostTensor> values;
  try {
    run_dnnl(g, {"conv_rt", "bn"}, values);
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("conv_rt"), std::string::npos) << e.what();
  }
}

// ---------------------------------------------------------------------------------------
// Threads and errors

TEST(DnnlThreads, OneAndTwoThreadKernelsAgree) {
  ModelBuilder b = conv_model({2, 16, 14, 14}, 32, true);
  b.node("Relu", {"c"}, {"y"}, "relu");
  b.output("y", 4);
  const graph::Graph g = import(b, "threads");
  std::map<std::string, HostTensor> values;
  values.emplace("x", tensor_of({2, 16, 14, 14}, random_values(2 * 16 * 196, 400)));
  Kernel one, two;
  std::thread([&] { one = run_dnnl(g, {"conv", "relu"}, values, 1); }).join();
  std::thread([&] { two = run_dnnl(g, {"conv", "relu"}, values, 2); }).join();
  EXPECT_EQ(hw::compare_tensors(one.outputs[0].view(), two.outputs[0].view(), kRtol, kAtol), "");
}

TEST(DnnlThreads, KernelRunsManyTimes) {
  ModelBuilder b = conv_model({1, 3, 5, 5}, 2, true);
  b.output("c", 4);
  const graph::Graph g = import(b, "repeat");
  hw::KernelContext ctx;
  ctx.graph = &g;
  ctx.group = hw::single_op_group(g, *g.find_op("conv"));
  auto kernel = hw::make_dnnl_kernel(ctx);
  ASSERT_TRUE(kernel);
  HostTensor x1 = tensor_of({1, 3, 5, 5}, random_values(75, 410)), x2 = tensor_of({1, 3, 5, 5}, random_values(75, 411));
  HostTensor y1(graph::DType::f32, {1, 2, 5, 5}), y2(graph::DType::f32, {1, 2, 5, 5}), y3(graph::DType::f32, {1, 2, 5, 5});
  const TensorView w = hw::weight_view(g.tensor("w")), bias = hw::weight_view(g.tensor("b"));
  const std::vector<TensorView> in1{x1.view(), w, bias}, in2{x2.view(), w, bias};
  kernel->run(in1, std::vector<TensorView>{y1.view()});
  kernel->run(in2, std::vector<TensorView>{y2.view()});
  kernel->run(in1, std::vector<TensorView>{y3.view()});
  EXPECT_EQ(hw::compare_tensors(y1.view(), y3.view(), 0, 0), "");
  EXPECT_NE(hw::compare_tensors(y1.view(), y2.view(), 0, 0), "");
}

TEST(DnnlErrors, UnsupportedConfigurationsNameTheOperator) {
  {
    ModelBuilder b;
    b.input("x", {1, 2, 4, 4}, onnx::TensorProto::DOUBLE);
    b.input("w", {2, 2, 1, 1}, onnx::TensorProto::DOUBLE);
    b.node("Conv", {"x", "w"}, {"y"}, "double_conv");
    b.output("y", 4, onnx::TensorProto::DOUBLE);
    const graph::Graph g = import(b, "double_conv");
    try {
      declined(g, "double_conv");
      FAIL() << "expected an error";
    } catch (const Error& e) {
      EXPECT_NE(std::string(e.what()).find("double_conv"), std::string::npos) << e.what();
    }
  }
  {
    ModelBuilder b(12);
    b.input("x", {1, 1, 4, 4}, onnx::TensorProto::DOUBLE);
    auto& n = b.node("MaxPool", {"x"}, {"y"}, "double_pool");
    ModelBuilder::attr(n, "kernel_shape", Ints{2, 2});
    b.output("y", 4, onnx::TensorProto::DOUBLE);
    const graph::Graph g = import(b, "double_pool");
    try {
      declined(g, "double_pool");
      FAIL() << "expected an error";
    } catch (const Error& e) {
      EXPECT_NE(std::string(e.what()).find("double_pool"), std::string::npos) << e.what();
    }
  }
}

}  // namespace

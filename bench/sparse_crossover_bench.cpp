// Where does the sparse CPU kernel overtake the dense one? For layer shapes of the zoo, the
// sparse kernel (hw/cpu sparse family, run through the kernel factory like the engine runs
// it) against oneDNN's dense primitive on the same shape, over unstructured weight sparsity
// 0, 10, ..., 90, 95% (random positions, fixed seed; the zeros of a lower sparsity stay zero
// at the higher ones). Prints the median time of each and the crossover sparsity.
//
// Dense baselines, both measured in this run:
//   plain:   oneDNN on plain layouts (NCHW activations, row-major matrices) as our tensors
//            are, weights in the layout oneDNN picks (reordered once, not timed);
//   blocked: convolutions with activations in oneDNN's preferred blocked layout too (the
//            reorders into and out of it not timed): the best oneDNN can do.
//
//   build/bin/sparse_crossover_bench [--threads N] [--shapes name,name] [--budget SECONDS]
//                                    [--stat median|min]  (min: for a machine shared with others)
#include <malloc.h>
#include <omp.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <functional>
#include <iostream>
#include <memory>
#include <oneapi/dnnl/dnnl.hpp>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include "graph/graph.hpp"
#include "hw/cpu/cpu_kernel.hpp"
#include "hw/tensor.hpp"

namespace {

using sparoa::graph::DType;
using sparoa::graph::Shape;
using Clock = std::chrono::steady_clock;

struct LayerShape {
  std::string name;
  std::string kind;  // "conv" or "matmul" (x [M, K] * W [K, N]) or "gemm" (transB: W [N, K])
  // conv: batch, c, h, w, m, k, stride, pad; matmul/gemm: m, k, n
  std::vector<std::int64_t> dims;
};

const std::vector<LayerShape> kShapes = {
    {"resnet18 conv3x3 64->64 56x56", "conv", {1, 64, 56, 56, 64, 3, 1, 1}},
    {"resnet18 conv3x3 256->256 14x14", "conv", {1, 256, 14, 14, 256, 3, 1, 1}},
    {"mobilenetv2 conv1x1 96->24 56x56", "conv", {1, 96, 56, 56, 24, 1, 1, 0}},
    {"mobilenetv2 conv1x1 576->160 7x7", "conv", {1, 576, 7, 7, 160, 1, 1, 0}},
    {"vit_tiny mlp 192->768 x197", "matmul", {197, 192, 768}},
    {"bert_small ffn 512->2048 x128", "matmul", {128, 512, 2048}},
    {"vgg16 fc 25088->4096 batch 1", "gemm", {1, 25088, 4096}},
};

const std::vector<double> kSparsities = {0.0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 0.95};

bool g_use_min = false;

// Median (or with --stat min, minimum) wall time of fn in milliseconds: a warm-up call, then
// repetitions until `budget` seconds or 50 runs (at least 3).
double median_ms(const std::function<void()>& fn, double budget) {
  fn();
  std::vector<double> t;
  const auto start = Clock::now();
  while (t.size() < 3 || (t.size() < 50 && std::chrono::duration<double>(Clock::now() - start).count() < budget)) {
    const auto a = Clock::now();
    fn();
    t.push_back(std::chrono::duration<double, std::milli>(Clock::now() - a).count());
  }
  if (g_use_min) return *std::min_element(t.begin(), t.end());
  std::nth_element(t.begin(), t.begin() + std::ptrdiff_t(t.size() / 2), t.end());
  return t[t.size() / 2];
}

std::vector<float> random_floats(std::size_t n, std::uint32_t seed) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> d(-1.0f, 1.0f);
  std::vector<float> v(n);
  for (auto& x : v) x = d(rng);
  return v;
}

// ---------------------------------------------------------------------------------------
// Dense: oneDNN directly.

struct DenseRun {
  std::function<void()> run;
  std::string impl;
};

DenseRun dense_conv(dnnl::engine& eng, dnnl::stream& strm, const LayerShape& s, const std::vector<float>& x, const std::vector<float>& w,
                    bool blocked, std::vector<std::shared_ptr<void>>& keep) {
  using tag = dnnl::memory::format_tag;
  using dt = dnnl::memory::data_type;
  const auto& d = s.dims;
  const std::int64_t n = d[0], c = d[1], h = d[2], wd = d[3], m = d[4], k = d[5], st = d[6], p = d[7];
  const std::int64_t oh = (h + 2 * p - k) / st + 1, ow = (wd + 2 * p - k) / st + 1;
  const dnnl::memory::desc src_md({n, c, h, wd}, dt::f32, blocked ? tag::any : tag::nchw);
  const dnnl::memory::desc dst_md({n, m, oh, ow}, dt::f32, blocked ? tag::any : tag::nchw);
  const dnnl::memory::desc wei_md({m, c, k, k}, dt::f32, tag::any);
  dnnl::convolution_forward::desc desc(dnnl::prop_kind::forward_inference, dnnl::algorithm::convolution_direct, src_md, wei_md,
                                       dst_md, {st, st}, {p, p}, {p, p});
  dnnl::convolution_forward::primitive_desc pd(desc, eng);
  auto src = std::make_shared<dnnl::memory>(pd.src_desc(), eng);
  auto wei = std::make_shared<dnnl::memory>(pd.weights_desc(), eng);
  auto dst = std::make_shared<dnnl::memory>(pd.dst_desc(), eng);
  dnnl::memory x_plain({{n, c, h, wd}, dt::f32, tag::nchw}, eng, const_cast<float*>(x.data()));
  dnnl::memory w_plain({{m, c, k, k}, dt::f32, tag::oihw}, eng, const_cast<float*>(w.data()));
  dnnl::reorder(x_plain, *src).execute(strm, x_plain, *src);
  dnnl::reorder(w_plain, *wei).execute(strm, w_plain, *wei);
  strm.wait();
  auto prim = std::make_shared<dnnl::convolution_forward>(pd);
  keep.insert(keep.end(), {src, wei, dst, prim});
  return {[prim, src, wei, dst, &strm] {
            prim->execute(strm, {{DNNL_ARG_SRC, *src}, {DNNL_ARG_WEIGHTS, *wei}, {DNNL_ARG_DST, *dst}});
            strm.wait();
          },
          pd.impl_info_str()};
}

DenseRun dense_matmul(dnnl::engine& eng, dnnl::stream& strm, const LayerShape& s, const std::vector<float>& x, const std::vector<float>& w,
                      std::vector<std::shared_ptr<void>>& keep) {
  using tag = dnnl::memory::format_tag;
  using dt = dnnl::memory::data_type;
  const std::int64_t m = s.dims[0], k = s.dims[1], n = s.dims[2];
  const dnnl::memory::desc src_md({m, k}, dt::f32, tag::ab);
  const dnnl::memory::desc wei_md({k, n}, dt::f32, tag::any);
  const dnnl::memory::desc dst_md({m, n}, dt::f32, tag::ab);
  dnnl::matmul::desc desc(src_md, wei_md, dst_md);
  dnnl::matmul::primitive_desc pd(desc, eng);
  auto src = std::make_shared<dnnl::memory>(pd.src_desc(), eng, const_cast<float*>(x.data()));
  auto wei = std::make_shared<dnnl::memory>(pd.weights_desc(), eng);
  auto dst = std::make_shared<dnnl::memory>(pd.dst_desc(), eng);
  // gemm keeps W as [N, K] (transB), matmul as [K, N].
  dnnl::memory w_plain({{k, n}, dt::f32, s.kind == "gemm" ? tag::ba : tag::ab}, eng, const_cast<float*>(w.data()));
  dnnl::reorder(w_plain, *wei).execute(strm, w_plain, *wei);
  strm.wait();
  auto prim = std::make_shared<dnnl::matmul>(pd);
  keep.insert(keep.end(), {src, wei, dst, prim});
  return {[prim, src, wei, dst, &strm] {
            prim->execute(strm, {{DNNL_ARG_SRC, *src}, {DNNL_ARG_WEIGHTS, *wei}, {DNNL_ARG_DST, *dst}});
            strm.wait();
          },
          pd.impl_info_str()};
}

// ---------------------------------------------------------------------------------------
// Sparse: a one-operator graph through the kernel factory.

struct SparseLayer {
  sparoa::graph::Graph graph;
  std::unique_ptr<sparoa::hw::CpuKernel> kernel;
  sparoa::hw::HostTensor y;
  std::vector<sparoa::hw::TensorView> in, out;
};

std::unique_ptr<SparseLayer> sparse_layer(const LayerShape& s, const std::vector<float>& x, const std::vector<float>& w, int threads) {
  namespace g = sparoa::graph;
  auto layer = std::make_unique<SparseLayer>();
  g::Graph& graph = layer->graph;
  Shape xs, ws, ys;
  g::Operator op;
  op.name = "layer";
  if (s.kind == "conv") {
    const auto& d = s.dims;
    const std::int64_t oh = (d[2] + 2 * d[7] - d[5]) / d[6] + 1, ow = (d[3] + 2 * d[7] - d[5]) / d[6] + 1;
    xs = {d[0], d[1], d[2], d[3]};
    ws = {d[4], d[1], d[5], d[5]};
    ys = {d[0], d[4], oh, ow};
    op.type = "Conv";
    op.attributes["strides"] = std::vector<std::int64_t>{d[6], d[6]};
    op.attributes["pads"] = std::vector<std::int64_t>{d[7], d[7], d[7], d[7]};
  } else {
    const std::int64_t m = s.dims[0], k = s.dims[1], n = s.dims[2];
    xs = {m, k};
    ys = {m, n};
    if (s.kind == "gemm") {
      ws = {n, k};
      op.type = "Gemm";
      op.attributes["transB"] = std::int64_t(1);
    } else {
      ws = {k, n};
      op.type = "MatMul";
    }
  }
  g::Tensor xt{"x", DType::f32, xs, g::TensorRole::input, nullptr, false};
  g::Tensor wt{"w", DType::f32, ws, g::TensorRole::weight, nullptr, false};
  // A view of the caller's weight (no copy of vgg's 400 MB per sparsity).
  wt.data = std::make_shared<const g::TensorData>(std::shared_ptr<const void>(),
                                                  std::string_view(reinterpret_cast<const char*>(w.data()), w.size() * sizeof(float)));
  g::Tensor yt{"y", DType::f32, ys, g::TensorRole::activation, nullptr, false};
  graph.add_tensor(xt);
  graph.add_tensor(wt);
  graph.add_tensor(yt);
  op.inputs = {"x", "w"};
  op.outputs = {"y"};
  graph.add_operator(op);
  graph.set_outputs({"y"});
  graph.finalize();
  sparoa::hw::KernelContext ctx;
  ctx.graph = &graph;
  ctx.group = sparoa::hw::single_op_group(graph, 0);
  ctx.kernel = sparoa::hw::KernelChoice::sparse;
  ctx.threads = threads;
  layer->kernel = sparoa::hw::make_cpu_kernel(ctx);
  layer->y = sparoa::hw::HostTensor(DType::f32, ys);
  sparoa::hw::TensorView xv{DType::f32, xs, const_cast<float*>(x.data())};
  layer->in = {xv, sparoa::hw::weight_view(graph.tensor("w"))};
  layer->out = {layer->y.view()};
  return layer;
}

// The sparsity at which sparse becomes faster and stays faster, interpolated between the
// two sweep points around it; "never" when it is not faster at the highest sparsity.
std::string crossover(const std::vector<double>& sparse_ms, double dense_ms) {
  std::size_t i = sparse_ms.size();
  while (i > 0 && sparse_ms[i - 1] < dense_ms) --i;
  if (i == sparse_ms.size()) return "never";
  if (i == 0) return "0%";
  const double s0 = kSparsities[i - 1], s1 = kSparsities[i];
  const double t0 = sparse_ms[i - 1], t1 = sparse_ms[i];
  const double at = s0 + (s1 - s0) * (t0 - dense_ms) / std::max(1e-12, t0 - t1);
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.0f%%", 100.0 * at);
  return buf;
}

}  // namespace

int main(int argc, char** argv) {
  int threads = 2;
  double budget = 0.25;
  std::string only;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (a == "--threads" && i + 1 < argc) {
      threads = std::stoi(argv[++i]);
    } else if (a == "--shapes" && i + 1 < argc) {
      only = argv[++i];
    } else if (a == "--budget" && i + 1 < argc) {
      budget = std::stod(argv[++i]);
    } else if (a == "--stat" && i + 1 < argc) {
      g_use_min = std::string(argv[++i]) == "min";
    } else {
      std::cerr << "usage: sparse_crossover_bench [--threads N] [--shapes name,name] [--budget SECONDS_PER_POINT] [--stat median|min]\n";
      return 2;
    }
  }
  // Keep freed memory for reuse instead of returning it to the system: first-touch page
  // faults of fresh 400 MB buffers would otherwise dominate the set-up of the vgg points.
  mallopt(M_MMAP_THRESHOLD, 1 << 30);
  mallopt(M_TRIM_THRESHOLD, -1);
  omp_set_num_threads(threads);
  dnnl::engine eng(dnnl::engine::kind::cpu, 0);
  dnnl::stream strm(eng);
  const auto t_start = Clock::now();
  std::printf("threads %d, %s of up to 50 runs (%.2f s per point), times in ms\n", threads, g_use_min ? "minimum" : "median", budget);
  std::printf("%-34s %9s %9s", "shape", "dense", "blocked");
  for (double s : kSparsities) std::printf(" %7.0f%%", 100 * s);
  std::printf("  %9s %9s\n", "x-plain", "x-blocked");
  std::vector<std::string> notes;
  for (const LayerShape& s : kShapes) {
    if (!only.empty() && ("," + only + ",").find("," + s.name.substr(0, s.name.find(' ')) + ",") == std::string::npos) continue;
    std::int64_t x_elems = 1, w_elems = 1;
    if (s.kind == "conv") {
      x_elems = s.dims[0] * s.dims[1] * s.dims[2] * s.dims[3];
      w_elems = s.dims[4] * s.dims[1] * s.dims[5] * s.dims[5];
    } else {
      x_elems = s.dims[0] * s.dims[1];
      w_elems = s.dims[1] * s.dims[2];
    }
    const auto x = random_floats(std::size_t(x_elems), 1);
    const auto w_full = random_floats(std::size_t(w_elems), 2);
    std::vector<std::shared_ptr<void>> keep;
    DenseRun plain = s.kind == "conv" ? dense_conv(eng, strm, s, x, w_full, false, keep) : dense_matmul(eng, strm, s, x, w_full, keep);
    const double dense_ms = median_ms(plain.run, 2 * budget);
    double blocked_ms = dense_ms;
    std::string blocked_impl = plain.impl;
    if (s.kind == "conv") {
      DenseRun blocked = dense_conv(eng, strm, s, x, w_full, true, keep);
      blocked_ms = median_ms(blocked.run, 2 * budget);
      blocked_impl = blocked.impl;
    }
    keep.clear();
    std::printf("%-34s %9.3f %9.3f", s.name.c_str(), dense_ms, blocked_ms);
    std::fflush(stdout);
    // Zero the positions whose score is below the sparsity: nested masks.
    std::mt19937 rng(3);
    std::uniform_real_distribution<float> score_d(0.0f, 1.0f);
    std::vector<float> score(w_full.size());
    for (auto& v : score) v = score_d(rng);
    std::vector<double> sparse_ms;
    std::string impl;
    std::vector<float> w = w_full;
    for (double sp : kSparsities) {
      for (std::size_t i = 0; i < w.size(); ++i) {
        if (score[i] < sp) w[i] = 0.0f;
      }
      auto layer = sparse_layer(s, x, w, threads);
      impl = layer->kernel->implementation();
      sparse_ms.push_back(median_ms([&] { layer->kernel->run(layer->in, layer->out); }, budget));
      std::printf(" %8.3f", sparse_ms.back());
      std::fflush(stdout);
    }
    std::printf("  %9s %9s\n", crossover(sparse_ms, dense_ms).c_str(), crossover(sparse_ms, blocked_ms).c_str());
    notes.push_back(s.name + ": dense " + plain.impl + (s.kind == "conv" ? ", blocked " + blocked_impl : "") + "; sparse " + impl);
  }
  std::printf("\n");
  for (const auto& n : notes) std::printf("%s\n", n.c_str());
  std::printf("total %.1f s\n", std::chrono::duration<double>(Clock::now() - t_start).count());
  return 0;
}

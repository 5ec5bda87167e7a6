// The sparse kernel family: CSR construction, the SpMM core (every kernel set this CPU can
// run, sparsities 0..100%, sizes that are not multiples of the panel width), and each
// operator and fusion pattern against naive dense loops written here (double accumulation),
// with 1 and 2 threads giving the same bits.
#include <gtest/gtest.h>
#include <omp.h>

#include <cmath>
#include <map>
#include <random>

#include "graph/onnx_import.hpp"
#include "hw/cpu/cpu_kernel.hpp"
#include "hw/cpu/fusion.hpp"
#include "hw/cpu/sparse_spmm.hpp"
#include "hw/tensor.hpp"
#include "support/error.hpp"
#include "tests/graph/onnx_test_models.hpp"

namespace sparoa::hw {
namespace {

using test::ModelBuilder;

// Values in [-1, 1] with a fraction `zeros` of exact zeros at random positions.
std::vector<float> random_values(std::size_t n, double zeros, std::uint32_t seed) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> value(-1.0f, 1.0f);
  std::uniform_real_distribution<double> coin(0.0, 1.0);
  std::vector<float> v(n);
  for (auto& x : v) {
    x = value(rng);
    if (coin(rng) < zeros) x = 0.0f;
  }
  return v;
}

void expect_close(const std::vector<float>& actual, const std::vector<double>& expected, const std::string& what) {
  ASSERT_EQ(actual.size(), expected.size()) << what;
  std::size_t bad = 0;
  for (std::size_t i = 0; i < actual.size(); ++i) {
    const double tol = 1e-4 * std::abs(expected[i]) + 1e-4;
    if (!(std::abs(double(actual[i]) - expected[i]) <= tol)) {
      if (bad++ < 5) ADD_FAILURE() << what << ": element " << i << " is " << actual[i] << ", expected " << expected[i];
    }
  }
  EXPECT_EQ(bad, 0u) << what;
}

// ---------------------------------------------------------------------------------------
// CSR

TEST(SparseCsr, FromDenseDropsExactZeros) {
  // 3 x 4 with a -0 and an all-zero row.
  const std::vector<float> d = {1, 0, -0.0f, 2,  //
                                0, 0, 0, 0,      //
                                0, 3, 4, 0};
  const CsrMatrix a = CsrMatrix::from_dense(d.data(), 3, 4);
  EXPECT_EQ(a.rows(), 3);
  EXPECT_EQ(a.cols(), 4);
  EXPECT_EQ(a.nnz(), 4);
  EXPECT_DOUBLE_EQ(a.density(), 4.0 / 12.0);
  EXPECT_EQ(a.row_ptr(), (std::vector<std::int64_t>{0, 2, 2, 4}));
  EXPECT_EQ(a.col_index(), (std::vector<std::int32_t>{0, 3, 1, 2}));
  EXPECT_EQ(a.values(), (std::vector<float>{1, 2, 3, 4}));
  std::vector<float> back = a.to_dense();
  back[2] = -0.0f;  // to_dense writes +0
  EXPECT_EQ(back, d);
}

TEST(SparseCsr, LeadingDimensionAndTranspose) {
  // 2 x 3 inside rows of 5.
  const std::vector<float> d = {1, 0, 2, 9, 9,  //
                                0, 5, 6, 9, 9};
  const CsrMatrix a = CsrMatrix::from_dense(d.data(), 2, 3, 5);
  EXPECT_EQ(a.to_dense(), (std::vector<float>{1, 0, 2, 0, 5, 6}));
  const CsrMatrix t = CsrMatrix::from_dense_transposed(d.data(), 2, 3, 5);
  EXPECT_EQ(t.rows(), 3);
  EXPECT_EQ(t.cols(), 2);
  EXPECT_EQ(t.to_dense(), (std::vector<float>{1, 0, 0, 5, 2, 6}));
  EXPECT_EQ(t.row_ptr(), (std::vector<std::int64_t>{0, 1, 2, 4}));
}

TEST(SparseCsr, EmptyAndAllZero) {
  const std::vector<float> zeros(12, 0.0f);
  const CsrMatrix a = CsrMatrix::from_dense(zeros.data(), 3, 4);
  EXPECT_EQ(a.nnz(), 0);
  EXPECT_EQ(a.density(), 0.0);
  const CsrMatrix e = CsrMatrix::from_dense(nullptr, 0, 0);
  EXPECT_EQ(e.rows(), 0);
  EXPECT_EQ(e.density(), 0.0);
}

TEST(SparseCsr, ScaleRows) {
  const std::vector<float> d = {1, 2, 0, 3};
  CsrMatrix a = CsrMatrix::from_dense(d.data(), 2, 2);
  const std::vector<float> s = {2, -1};
  a.scale_rows(s);
  EXPECT_EQ(a.to_dense(), (std::vector<float>{2, 4, 0, -3}));
  a.scale(0.5f);
  EXPECT_EQ(a.to_dense(), (std::vector<float>{1, 2, 0, -1.5f}));
}

TEST(SparseCsr, RejectsInconsistentArrays) {
  auto bad = [](std::int64_t rows, std::int64_t cols, std::vector<std::int64_t> rp, std::vector<std::int32_t> ci, std::vector<float> v) {
    EXPECT_THROW(CsrMatrix(rows, cols, std::move(rp), std::move(ci), std::move(v)), Error);
  };
  bad(2, 3, {0, 1}, {0}, {1});             // row_ptr too short
  bad(1, 3, {0, 2}, {2, 1}, {1, 1});       // descending columns
  bad(1, 3, {0, 2}, {1, 1}, {1, 1});       // duplicate column
  bad(1, 3, {0, 1}, {3}, {1});             // column out of range
  bad(2, 3, {0, 2, 1}, {0, 1}, {1, 1});    // decreasing row_ptr
  bad(1, 3, {0, 1}, {0}, {1, 2});          // sizes differ
  EXPECT_NO_THROW(CsrMatrix(2, 3, {0, 1, 3}, {2, 0, 1}, {1, 2, 3}));
}

// ---------------------------------------------------------------------------------------
// SpMM core

std::vector<double> naive_product(const std::vector<float>& a, std::int64_t m, std::int64_t k, const std::vector<float>& b,
                                  std::int64_t n) {
  std::vector<double> c(std::size_t(m * n), 0.0);
  for (std::int64_t i = 0; i < m; ++i) {
    for (std::int64_t q = 0; q < k; ++q) {
      const double x = a[std::size_t(i * k + q)];
      for (std::int64_t j = 0; j < n; ++j) c[std::size_t(i * n + j)] += x * b[std::size_t(q * n + j)];
    }
  }
  return c;
}

// The plan and panel kernels of one kernel set, with B read in place (tails packed).
std::vector<float> product_with(const sparse::KernelSet& ks, const CsrMatrix& a, const std::vector<float>& b, std::int64_t n,
                                int threads) {
  std::vector<float> c(std::size_t(a.rows() * n), -7.0f);
  const sparse::Plan plan = sparse::make_plan(a, 1, n, threads, ks);
  SpmmScratch scratch;
  auto panel = [&](std::int64_t, const sparse::Panel& p, int t) -> sparse::PanelRef {
    if (p.valid == p.width) return {b.data() + p.j0, n};
    float* buf = scratch.get(t, 0, std::size_t(a.cols() * p.width) + 1);
    for (std::int64_t k = 0; k < a.cols(); ++k) {
      for (int j = 0; j < p.width; ++j) buf[k * p.width + j] = j < p.valid ? b[std::size_t(k * n + p.j0 + j)] : 0.0f;
    }
    return {buf, p.width};
  };
  auto write = [&](std::int64_t, const sparse::Panel& p, std::int64_t r0, std::int64_t r1, float* tile) {
    for (std::int64_t r = r0; r < r1; ++r) {
      for (int j = 0; j < p.valid; ++j) c[std::size_t(r * n + p.j0 + j)] = tile[(r - r0) * p.width + j];
    }
  };
  sparse::run_plan(a, plan, panel, write, scratch);
  return c;
}

TEST(SparseSpmm, EveryKernelSetMatchesNaiveProduct) {
  ASSERT_FALSE(sparse::kernel_sets().empty());
  EXPECT_EQ(sparse::kernel_sets().back().isa, "portable");
  std::uint32_t seed = 1;
  for (const auto& ks : sparse::kernel_sets()) {
    for (const double zeros : {0.0, 0.5, 0.9, 1.0}) {
      for (const auto& [m, k] : std::vector<std::pair<std::int64_t, std::int64_t>>{{1, 1}, {7, 19}, {33, 64}, {70, 5}}) {
        for (const std::int64_t n : {1, 2, 3, 8, 16, 17, 31, 50, 64, 65, 100, 197}) {
          const auto a_dense = random_values(std::size_t(m * k), zeros, seed++);
          const auto b = random_values(std::size_t(k * n), 0.0, seed++);
          const CsrMatrix a = CsrMatrix::from_dense(a_dense.data(), m, k);
          const auto got = product_with(ks, a, b, n, 2);
          expect_close(got, naive_product(a_dense, m, k, b, n),
                       ks.isa + " m=" + std::to_string(m) + " k=" + std::to_string(k) + " n=" + std::to_string(n) +
                           " zeros=" + std::to_string(zeros));
        }
      }
    }
  }
}

TEST(SparseSpmm, ColumnRangesGiveTheSameProduct) {
  // Rows run in column ranges (accumulating through the tile) must give the whole rows' sum.
  const std::int64_t m = 45, k = 700, n = 70;
  const auto a_dense = random_values(std::size_t(m * k), 0.5, 31);
  const auto b = random_values(std::size_t(k * n), 0.0, 32);
  const CsrMatrix a = CsrMatrix::from_dense(a_dense.data(), m, k);
  const auto want = naive_product(a_dense, m, k, b, n);
  for (const auto& ks : sparse::kernel_sets()) {
    sparse::Plan plan = sparse::make_plan(a, 1, n, 2, ks);
    const std::vector<std::int64_t> thresholds = {1, 100, 101, 350, 699};
    sparse::split_columns(plan, a, thresholds, 1.0);
    ASSERT_GE(plan.col_bounds.size(), 4u);
    std::vector<float> c(std::size_t(m * n));
    SpmmScratch scratch;
    auto panel = [&](std::int64_t, const sparse::Panel& p, int t) -> sparse::PanelRef {
      float* buf = scratch.get(t, 0, std::size_t(k * p.width));
      for (std::int64_t q = 0; q < k; ++q) {
        for (int j = 0; j < p.width; ++j) buf[q * p.width + j] = j < p.valid ? b[std::size_t(q * n + p.j0 + j)] : 0.0f;
      }
      return {buf, p.width};
    };
    auto write = [&](std::int64_t, const sparse::Panel& p, std::int64_t r0, std::int64_t r1, float* tile) {
      for (std::int64_t r = r0; r < r1; ++r) {
        for (int j = 0; j < p.valid; ++j) c[std::size_t(r * n + p.j0 + j)] = tile[(r - r0) * p.width + j];
      }
    };
    sparse::run_plan(a, plan, panel, write, scratch);
    expect_close(c, want, ks.isa + " in column ranges");
  }
  // spmm() splits a large packed panel by itself; a second run reuses its plan.
  for (int threads : {1, 2}) {
    SpmmScratch scratch;
    for (int run = 0; run < 2; ++run) {
      std::vector<float> c(std::size_t(m * n));
      spmm(a, 1, n, DenseOperand{b.data(), n, 1, 0}, DenseResult{c.data(), n, 1, 0}, {}, threads, scratch);
      expect_close(c, want, "spmm, threads " + std::to_string(threads) + ", run " + std::to_string(run));
    }
  }
}

TEST(SparseSpmm, PlanPanelsCoverTheColumns) {
  const auto& ks = sparse::best_kernel_set();
  const std::vector<float> d(64 * 8, 1.0f);
  const CsrMatrix a = CsrMatrix::from_dense(d.data(), 64, 8);
  for (const std::int64_t n : {1, 2, 5, 197, 3136}) {
    const sparse::Plan plan = sparse::make_plan(a, 3, n, 2, ks);
    std::int64_t j = 0;
    for (const auto& p : plan.panels) {
      EXPECT_EQ(p.j0, j);
      EXPECT_LE(p.valid, p.width);
      j += p.valid;
    }
    EXPECT_EQ(j, n);
    EXPECT_GE(plan.covered(), n);
    EXPECT_EQ(plan.row_bounds.front(), 0);
    EXPECT_EQ(plan.row_bounds.back(), 64);
    // A short tail is not padded to a whole wide panel.
    EXPECT_LT(plan.covered() - n, ks.narrow) << n;
  }
}

TEST(SparseSpmm, TransposedOperandsAndEpilogue) {
  // C^T = A * B^T-stored-as-B: B given transposed (row_stride 1), C written transposed,
  // with a row bias, a broadcast add (per column), relu and a scaled full add.
  const std::int64_t m = 37, k = 23, n = 45;
  const auto a_dense = random_values(std::size_t(m * k), 0.7, 11);
  const auto bt = random_values(std::size_t(n * k), 0.0, 12);  // [n, k]
  const auto bias = random_values(std::size_t(m), 0.0, 13);
  const auto colv = random_values(std::size_t(n), 0.0, 14);
  const auto full = random_values(std::size_t(n * m), 0.0, 15);  // [n, m] like C
  const CsrMatrix a = CsrMatrix::from_dense(a_dense.data(), m, k);
  std::vector<float> b(std::size_t(k * n));
  for (std::int64_t q = 0; q < k; ++q) {
    for (std::int64_t j = 0; j < n; ++j) b[std::size_t(q * n + j)] = bt[std::size_t(j * k + q)];
  }
  auto expected = naive_product(a_dense, m, k, b, n);
  std::vector<double> want(std::size_t(n * m));
  for (std::int64_t i = 0; i < m; ++i) {
    for (std::int64_t j = 0; j < n; ++j) {
      double v = expected[std::size_t(i * n + j)] + bias[std::size_t(i)] + colv[std::size_t(j)];
      v = std::max(v, 0.0);
      v += 0.5 * full[std::size_t(j * m + i)];
      want[std::size_t(j * m + i)] = v;
    }
  }
  SpmmEpilogue ep;
  ep.row_bias = bias.data();
  SpmmEpilogue::Step add_col;
  add_col.kind = SpmmEpilogue::Step::Kind::add;
  add_col.operand = DenseOperand{colv.data(), 0, 1, 0};
  ep.steps.push_back(add_col);
  SpmmEpilogue::Step relu;
  relu.eltwise.alg = EltwiseAlg::relu;
  ep.steps.push_back(relu);
  SpmmEpilogue::Step add_full;
  add_full.kind = SpmmEpilogue::Step::Kind::add;
  add_full.operand = DenseOperand{full.data(), 1, m, 0};
  add_full.scale = 0.5f;
  ep.steps.push_back(add_full);
  for (int threads : {1, 2}) {
    std::vector<float> c(std::size_t(n * m), -1.0f);
    SpmmScratch scratch;
    spmm(a, 1, n, DenseOperand{bt.data(), 1, k, 0}, DenseResult{c.data(), 1, m, 0}, ep, threads, scratch);
    expect_close(c, want, "threads " + std::to_string(threads));
  }
}

TEST(SparseSpmm, UnitsAndThreadsGiveIdenticalBits) {
  const std::int64_t m = 50, k = 40, n = 77, units = 3;
  const auto a_dense = random_values(std::size_t(m * k), 0.8, 21);
  const auto b = random_values(std::size_t(units * k * n), 0.0, 22);
  const CsrMatrix a = CsrMatrix::from_dense(a_dense.data(), m, k);
  std::vector<std::vector<float>> results;
  for (int threads : {1, 2}) {
    std::vector<float> c(std::size_t(units * m * n));
    SpmmScratch scratch;
    spmm(a, units, n, DenseOperand{b.data(), n, 1, k * n}, DenseResult{c.data(), n, 1, m * n}, {}, threads, scratch);
    results.push_back(c);
  }
  EXPECT_EQ(results[0], results[1]);
  for (std::int64_t u = 0; u < units; ++u) {
    std::vector<float> bu(b.begin() + u * k * n, b.begin() + (u + 1) * k * n);
    std::vector<float> cu(results[0].begin() + u * m * n, results[0].begin() + (u + 1) * m * n);
    expect_close(cu, naive_product(a_dense, m, k, bu, n), "unit " + std::to_string(u));
  }
  // The simple form.
  std::vector<float> c(std::size_t(m * n));
  spmm(a, b.data(), n, n, c.data(), n);
  EXPECT_EQ(c, std::vector<float>(results[0].begin(), results[0].begin() + m * n));
}

// ---------------------------------------------------------------------------------------
// Operators: small ONNX models, run through the kernel factory with kernel = sparse.

struct Tensors {
  std::map<std::string, std::vector<float>> values;
  std::map<std::string, graph::Shape> shapes;
  ModelBuilder b;

  void input(const std::string& name, graph::Shape shape, std::uint32_t seed) {
    b.input(name, shape);
    values[name] = random_values(std::size_t(graph::element_count(shape)), 0.0, seed);
    shapes[name] = std::move(shape);
  }
  void weight(const std::string& name, graph::Shape shape, double zeros, std::uint32_t seed) {
    values[name] = random_values(std::size_t(graph::element_count(shape)), zeros, seed);
    b.weight(name, shape, values[name]);
    shapes[name] = std::move(shape);
  }
  const std::vector<float>& operator[](const std::string& name) const { return values.at(name); }
};

struct GroupRun {
  std::vector<float> out;
  graph::Shape shape;
  std::string implementation;
};

// Runs the fused group of `ops` (by name) with the sparse kernel on `threads` threads.
GroupRun run_group(const graph::Graph& g, const std::vector<std::string>& ops, const Tensors& t, int threads) {
  std::vector<graph::OpId> ids;
  for (const auto& name : ops) ids.push_back(*g.find_op(name));
  omp_set_num_threads(threads);
  KernelContext ctx;
  ctx.graph = &g;
  ctx.group = make_fused_group(g, ids);
  ctx.kernel = KernelChoice::sparse;
  ctx.threads = threads;
  auto kernel = make_cpu_kernel(ctx);
  std::vector<TensorView> in;
  std::vector<HostTensor> owned;
  owned.reserve(ctx.group.inputs.size());
  for (const auto& name : ctx.group.inputs) {
    if (name.empty()) {
      in.emplace_back();
      continue;
    }
    const graph::Tensor& tensor = g.tensor(name);
    if (tensor.data) {
      in.push_back(weight_view(tensor));
      continue;
    }
    owned.emplace_back(graph::DType::f32, tensor.shape);
    const auto& v = t[name];
    std::copy(v.begin(), v.end(), owned.back().as<float>());
    in.push_back(owned.back().view());
  }
  const graph::Tensor& yt = g.tensor(ctx.group.outputs.at(0));
  HostTensor y(graph::DType::f32, yt.shape);
  std::vector<TensorView> out = {y.view()};
  kernel->run(in, out);
  GroupRun r;
  r.out.assign(y.as<float>(), y.as<float>() + y.elements());
  r.shape = yt.shape;
  r.implementation = kernel->implementation();
  return r;
}

// Runs with 1 and 2 threads, checks both against `want` and that they agree bit for bit.
GroupRun check_group(const graph::Graph& g, const std::vector<std::string>& ops, const Tensors& t, const std::vector<double>& want,
                     const std::string& what) {
  GroupRun one = run_group(g, ops, t, 1);
  GroupRun two = run_group(g, ops, t, 2);
  expect_close(one.out, want, what + " (1 thread)");
  EXPECT_EQ(one.out, two.out) << what << ": 1 and 2 threads differ";
  EXPECT_NE(one.implementation.find("sparse:csr-spmm"), std::string::npos) << one.implementation;
  EXPECT_NE(one.implementation.find("density"), std::string::npos) << one.implementation;
  return one;
}

// Naive Gemm: Y = alpha op(A) op(B) + beta C (C broadcast by numpy rules from cshape).
std::vector<double> naive_gemm(const std::vector<float>& a, const graph::Shape& as, bool ta, const std::vector<float>& b,
                               const graph::Shape& bs, bool tb, float alpha, float beta, const std::vector<float>* c,
                               const graph::Shape& cs) {
  const std::int64_t m = ta ? as[1] : as[0], k = ta ? as[0] : as[1], n = tb ? bs[0] : bs[1];
  std::vector<double> y(std::size_t(m * n), 0.0);
  for (std::int64_t i = 0; i < m; ++i) {
    for (std::int64_t j = 0; j < n; ++j) {
      double s = 0;
      for (std::int64_t q = 0; q < k; ++q) {
        const double x = ta ? a[std::size_t(q * m + i)] : a[std::size_t(i * k + q)];
        const double w = tb ? b[std::size_t(j * k + q)] : b[std::size_t(q * n + j)];
        s += x * w;
      }
      double v = alpha * s;
      if (c) {
        graph::Shape full = cs;
        while (full.size() < 2) full.insert(full.begin(), 1);
        const std::int64_t ci = full[0] == 1 ? 0 : i, cj = full[1] == 1 ? 0 : j;
        v += beta * (*c)[std::size_t(ci * full[1] + cj)];
      }
      y[std::size_t(i * n + j)] = v;
    }
  }
  return y;
}

struct GemmCase {
  bool weight_b;
  bool ta, tb;
  std::int64_t m, k, n;
  graph::Shape c_shape;  // empty: no C
  double zeros;
};

TEST(SparseKernels, Gemm) {
  const std::vector<GemmCase> cases = {
      {true, false, true, 5, 24, 19, {19}, 0.9},      // the usual Linear: W [N, K], bias [N]
      {true, false, false, 17, 12, 70, {17, 70}, 0.5},  // W [K, N], C full
      {true, true, true, 9, 16, 33, {9, 1}, 0.0},     // transA, C per row
      {true, false, true, 1, 300, 40, {1, 40}, 0.95},   // batch 1: the SpMV path
      {false, false, false, 21, 18, 35, {}, 0.8},     // weight A, no C
      {false, true, true, 6, 10, 66, {1}, 0.6},       // weight A transposed, scalar C
      {true, false, true, 8, 16, 12, {12}, 1.0},      // all-zero weight: bias only
  };
  std::uint32_t seed = 100;
  for (const GemmCase& c : cases) {
    Tensors t;
    const graph::Shape as = c.ta ? graph::Shape{c.k, c.m} : graph::Shape{c.m, c.k};
    const graph::Shape bs = c.tb ? graph::Shape{c.n, c.k} : graph::Shape{c.k, c.n};
    if (c.weight_b) {
      t.input("a", as, seed++);
      t.weight("b", bs, c.zeros, seed++);
    } else {
      t.weight("a", as, c.zeros, seed++);
      t.input("b", bs, seed++);
    }
    std::vector<std::string> ins = {"a", "b"};
    if (!c.c_shape.empty()) {
      t.weight("c", c.c_shape, 0.0, seed++);
      ins.push_back("c");
    }
    auto& node = t.b.node("Gemm", ins, {"y"}, "gemm");
    ModelBuilder::attr(node, "alpha", 0.75f);
    ModelBuilder::attr(node, "beta", 1.5f);
    ModelBuilder::attr(node, "transA", std::int64_t(c.ta));
    ModelBuilder::attr(node, "transB", std::int64_t(c.tb));
    t.b.output("y", 2);
    const graph::Graph g = graph::import_onnx_bytes(t.b.bytes(), "gemm.onnx");
    const auto want = naive_gemm(t["a"], as, c.ta, t["b"], bs, c.tb, 0.75f, 1.5f, c.c_shape.empty() ? nullptr : &t.values.at("c"),
                                 c.c_shape);
    check_group(g, {"gemm"}, t, want,
                "gemm m=" + std::to_string(c.m) + " k=" + std::to_string(c.k) + " n=" + std::to_string(c.n) +
                    (c.weight_b ? " weight B" : " weight A"));
  }
}

TEST(SparseKernels, GemmFusedWithReluAndAdd) {
  // Linear -> Relu -> Add(residual [M, N]) -> Add(per-feature [N]) -> Sigmoid.
  const std::int64_t m = 13, k = 30, n = 50;
  Tensors t;
  t.input("x", {m, k}, 1);
  t.weight("w", {n, k}, 0.85, 2);
  t.weight("bias", {n}, 0.0, 3);
  t.input("res", {m, n}, 4);
  t.weight("feat", {n}, 0.0, 5);
  auto& node = t.b.node("Gemm", {"x", "w", "bias"}, {"g"}, "gemm");
  ModelBuilder::attr(node, "transB", std::int64_t(1));
  t.b.node("Relu", {"g"}, {"r"}, "relu");
  t.b.node("Add", {"res", "r"}, {"s"}, "add");
  t.b.node("Add", {"s", "feat"}, {"s2"}, "add2");
  t.b.node("Sigmoid", {"s2"}, {"y"}, "sig");
  t.b.output("y", 2);
  const graph::Graph g = graph::import_onnx_bytes(t.b.bytes(), "gemm_fused.onnx");
  auto want = naive_gemm(t["x"], {m, k}, false, t["w"], {n, k}, true, 1.0f, 1.0f, &t.values.at("bias"), {n});
  for (std::int64_t i = 0; i < m; ++i) {
    for (std::int64_t j = 0; j < n; ++j) {
      double& v = want[std::size_t(i * n + j)];
      v = std::max(v, 0.0) + t["res"][std::size_t(i * n + j)] + t["feat"][std::size_t(j)];
      v = 1.0 / (1.0 + std::exp(-v));
    }
  }
  check_group(g, {"gemm", "relu", "add", "add2", "sig"}, t, want, "gemm+relu+add+add+sigmoid");
}

// Naive MatMul with numpy batch rules for the cases tested: X [..., M, K] x W [K, N] or
// W [M, K] x X [..., K, N].
TEST(SparseKernels, MatMulWeightSecond) {
  const std::int64_t b0 = 2, tok = 7, k = 24, n = 40;
  Tensors t;
  t.input("x", {b0, tok, k}, 31);
  t.weight("w", {k, n}, 0.75, 32);
  t.weight("bias", {n}, 0.0, 33);
  t.b.node("MatMul", {"x", "w"}, {"mm"}, "mm");
  t.b.node("Add", {"mm", "bias"}, {"a"}, "add");
  t.b.node("Relu", {"a"}, {"y"}, "relu");
  t.b.output("y", 3);
  const graph::Graph g = graph::import_onnx_bytes(t.b.bytes(), "matmul.onnx");
  std::vector<double> want(std::size_t(b0 * tok * n));
  for (std::int64_t r = 0; r < b0 * tok; ++r) {
    for (std::int64_t j = 0; j < n; ++j) {
      double s = 0;
      for (std::int64_t q = 0; q < k; ++q) s += double(t["x"][std::size_t(r * k + q)]) * t["w"][std::size_t(q * n + j)];
      want[std::size_t(r * n + j)] = std::max(0.0, s + t["bias"][std::size_t(j)]);
    }
  }
  check_group(g, {"mm", "add", "relu"}, t, want, "matmul x*W + bias, relu");
  // Unfused too, as run_reference would run it.
  std::vector<double> plain(want.size());
  for (std::int64_t r = 0; r < b0 * tok; ++r) {
    for (std::int64_t j = 0; j < n; ++j) {
      double s = 0;
      for (std::int64_t q = 0; q < k; ++q) s += double(t["x"][std::size_t(r * k + q)]) * t["w"][std::size_t(q * n + j)];
      plain[std::size_t(r * n + j)] = s;
    }
  }
  check_group(g, {"mm"}, t, plain, "matmul x*W");
}

TEST(SparseKernels, MatMulWeightFirst) {
  const std::int64_t b0 = 3, m = 20, k = 16, n = 33;
  Tensors t;
  t.weight("w", {m, k}, 0.6, 41);
  t.input("x", {b0, k, n}, 42);
  t.b.node("MatMul", {"w", "x"}, {"y"}, "mm");
  t.b.output("y", 3);
  const graph::Graph g = graph::import_onnx_bytes(t.b.bytes(), "matmul_first.onnx");
  std::vector<double> want(std::size_t(b0 * m * n), 0.0);
  for (std::int64_t u = 0; u < b0; ++u) {
    for (std::int64_t i = 0; i < m; ++i) {
      for (std::int64_t j = 0; j < n; ++j) {
        double s = 0;
        for (std::int64_t q = 0; q < k; ++q) s += double(t["w"][std::size_t(i * k + q)]) * t["x"][std::size_t((u * k + q) * n + j)];
        want[std::size_t((u * m + i) * n + j)] = s;
      }
    }
  }
  check_group(g, {"mm"}, t, want, "W*x");
}

// ---------------------------------------------------------------------------------------
// Convolutions

struct ConvCase {
  std::string name;
  std::int64_t batch, c, h, w, m, kh, kw;
  std::vector<std::int64_t> strides, pads, dilations;
  std::int64_t groups = 1;
  std::string auto_pad;  // "" = attribute absent
  bool bias = true;
  double zeros = 0.7;
};

// out[u, o, oh, ow] = b[o] + sum w[o, cl, kh, kw] x[u, g*cg + cl, oh*sh - pt + kh*dh, ow*sw - pl + kw*dw].
std::vector<double> naive_conv(const std::vector<float>& x, const graph::Shape& xs, const std::vector<float>& w, const graph::Shape& ws,
                               const std::vector<float>* bias, const graph::Shape& ys, std::int64_t sh, std::int64_t sw,
                               std::int64_t pt, std::int64_t pl, std::int64_t dh, std::int64_t dw, std::int64_t groups) {
  const bool one_d = xs.size() == 3;
  const std::int64_t n = xs[0], c = xs[1], h = one_d ? 1 : xs[2], wd = xs.back();
  const std::int64_t m = ws[0], cg = ws[1], kh = one_d ? 1 : ws[2], kw = ws.back();
  const std::int64_t oh = one_d ? 1 : ys[2], ow = ys.back(), mg = m / groups;
  std::vector<double> y(std::size_t(n * m * oh * ow), 0.0);
  for (std::int64_t u = 0; u < n; ++u) {
    for (std::int64_t o = 0; o < m; ++o) {
      const std::int64_t g = o / mg;
      for (std::int64_t a = 0; a < oh; ++a) {
        for (std::int64_t bq = 0; bq < ow; ++bq) {
          double s = bias ? (*bias)[std::size_t(o)] : 0.0;
          for (std::int64_t cl = 0; cl < cg; ++cl) {
            for (std::int64_t i = 0; i < kh; ++i) {
              for (std::int64_t j = 0; j < kw; ++j) {
                const std::int64_t ih = a * sh - pt + i * dh, iw = bq * sw - pl + j * dw;
                if (ih < 0 || ih >= h || iw < 0 || iw >= wd) continue;
                s += double(w[std::size_t(((o * cg + cl) * kh + i) * kw + j)]) * x[std::size_t(((u * c + g * cg + cl) * h + ih) * wd + iw)];
              }
            }
          }
          y[std::size_t(((u * m + o) * oh + a) * ow + bq)] = s;
        }
      }
    }
  }
  return y;
}

TEST(SparseKernels, ConvShapes) {
  const std::vector<ConvCase> cases = {
      {"pointwise", 2, 12, 7, 9, 10, 1, 1, {1, 1}, {0, 0, 0, 0}, {1, 1}, 1, "", true, 0.7},
      {"pointwise stride 2", 1, 8, 9, 9, 6, 1, 1, {2, 2}, {0, 0, 0, 0}, {1, 1}, 1, "", true, 0.7},
      {"3x3 pad 1", 2, 6, 11, 13, 9, 3, 3, {1, 1}, {1, 1, 1, 1}, {1, 1}, 1, "", true, 0.7},
      {"3x3 stride 2 pad 1", 1, 5, 12, 11, 7, 3, 3, {2, 2}, {1, 1, 1, 1}, {1, 1}, 1, "", true, 0.7},
      {"5x3 dilation 2 asymmetric pads", 1, 4, 14, 12, 5, 5, 3, {1, 1}, {2, 0, 1, 3}, {2, 2}, 1, "", true, 0.7},
      {"7x7 stride 2 pad 3 (resnet stem)", 1, 3, 20, 20, 8, 7, 7, {2, 2}, {3, 3, 3, 3}, {1, 1}, 1, "", true, 0.7},
      {"3x3 stride 3 dilation 2", 1, 3, 17, 16, 4, 3, 3, {3, 2}, {1, 2, 0, 1}, {2, 1}, 1, "", true, 0.7},
      {"2 groups", 1, 8, 9, 10, 6, 3, 3, {1, 1}, {1, 1, 1, 1}, {1, 1}, 2, "", true, 0.7},
      {"depthwise stride 2", 2, 6, 10, 10, 6, 3, 3, {2, 2}, {1, 1, 1, 1}, {1, 1}, 6, "", true, 0.7},
      {"SAME_UPPER stride 2", 1, 4, 9, 8, 5, 3, 3, {2, 2}, {}, {1, 1}, 1, "SAME_UPPER", true, 0.7},
      {"SAME_LOWER 4x4", 1, 4, 7, 7, 5, 4, 4, {1, 1}, {}, {1, 1}, 1, "SAME_LOWER", true, 0.7},
      {"VALID no bias", 1, 4, 8, 9, 5, 3, 2, {1, 1}, {}, {1, 1}, 1, "VALID", false, 0.7},
      {"dense weight", 1, 5, 8, 8, 7, 3, 3, {1, 1}, {1, 1, 1, 1}, {1, 1}, 1, "", true, 0.0},
      {"all-zero weight", 1, 5, 8, 8, 7, 3, 3, {1, 1}, {1, 1, 1, 1}, {1, 1}, 1, "", true, 1.0},
      {"wide rows (56 + pad)", 1, 16, 30, 56, 16, 3, 3, {1, 1}, {1, 1, 1, 1}, {1, 1}, 1, "", true, 0.9},
      {"200 channels (channel ranges)", 2, 200, 10, 10, 40, 3, 3, {1, 1}, {1, 1, 1, 1}, {1, 1}, 1, "", true, 0.3},
  };
  std::uint32_t seed = 500;
  for (const ConvCase& c : cases) {
    Tensors t;
    const graph::Shape xs = {c.batch, c.c, c.h, c.w};
    const graph::Shape ws = {c.m, c.c / c.groups, c.kh, c.kw};
    t.input("x", xs, seed++);
    t.weight("w", ws, c.zeros, seed++);
    std::vector<std::string> ins = {"x", "w"};
    if (c.bias) {
      t.weight("b", {c.m}, 0.0, seed++);
      ins.push_back("b");
    }
    auto& node = t.b.node("Conv", ins, {"y"}, "conv");
    ModelBuilder::attr(node, "strides", c.strides);
    ModelBuilder::attr(node, "dilations", c.dilations);
    if (!c.pads.empty()) ModelBuilder::attr(node, "pads", c.pads);
    if (!c.auto_pad.empty()) ModelBuilder::attr(node, "auto_pad", c.auto_pad);
    if (c.groups != 1) ModelBuilder::attr(node, "group", c.groups);
    t.b.output("y", 4);
    const graph::Graph g = graph::import_onnx_bytes(t.b.bytes(), "conv.onnx");
    const graph::Shape& ys = g.tensor("y").shape;
    // Begin pads as ONNX defines them (auto_pad from the shapes).
    std::int64_t pt = c.pads.empty() ? 0 : c.pads[0], pl = c.pads.empty() ? 0 : c.pads[1];
    if (c.auto_pad == "SAME_UPPER" || c.auto_pad == "SAME_LOWER") {
      const std::int64_t th = std::max<std::int64_t>(0, (ys[2] - 1) * c.strides[0] + (c.kh - 1) * c.dilations[0] + 1 - c.h);
      const std::int64_t tw = std::max<std::int64_t>(0, (ys[3] - 1) * c.strides[1] + (c.kw - 1) * c.dilations[1] + 1 - c.w);
      pt = c.auto_pad == "SAME_UPPER" ? th / 2 : th - th / 2;
      pl = c.auto_pad == "SAME_UPPER" ? tw / 2 : tw - tw / 2;
    }
    const auto want = naive_conv(t["x"], xs, t["w"], ws, c.bias ? &t.values.at("b") : nullptr, ys, c.strides[0], c.strides[1], pt, pl,
                                 c.dilations[0], c.dilations[1], c.groups);
    check_group(g, {"conv"}, t, want, "conv " + c.name);
  }
}

TEST(SparseKernels, Conv1d) {
  Tensors t;
  const graph::Shape xs = {2, 6, 40}, ws = {5, 6, 3};
  t.input("x", xs, 61);
  t.weight("w", ws, 0.5, 62);
  auto& node = t.b.node("Conv", {"x", "w"}, {"y"}, "conv");
  ModelBuilder::attr(node, "strides", std::vector<std::int64_t>{2});
  ModelBuilder::attr(node, "pads", std::vector<std::int64_t>{1, 2});
  ModelBuilder::attr(node, "dilations", std::vector<std::int64_t>{2});
  t.b.output("y", 3);
  const graph::Graph g = graph::import_onnx_bytes(t.b.bytes(), "conv1d.onnx");
  const auto want = naive_conv(t["x"], xs, t["w"], ws, nullptr, g.tensor("y").shape, 1, 2, 0, 1, 1, 2, 1);
  check_group(g, {"conv"}, t, want, "conv1d");
}

// conv -> bn -> relu -> add(skip) -> clip, like a ResNet block's tail, plus a per-channel add.
TEST(SparseKernels, ConvFusedBatchNormReluAddClip) {
  for (const bool pointwise : {false, true}) {
    Tensors t;
    const std::int64_t c = 8, m = 12, h = 10, w = 9;
    const std::int64_t k = pointwise ? 1 : 3, p = pointwise ? 0 : 1;
    const graph::Shape xs = {2, c, h, w}, ws = {m, c, k, k};
    t.input("x", xs, 71);
    t.weight("w", ws, 0.8, 72);
    t.weight("cb", {m}, 0.0, 73);
    t.weight("gamma", {m}, 0.0, 74);
    t.weight("beta", {m}, 0.0, 75);
    t.weight("mean", {m}, 0.0, 76);
    std::vector<float> var = random_values(std::size_t(m), 0.0, 77);
    for (auto& v : var) v = std::abs(v) + 0.1f;
    t.values["var"] = var;
    t.b.weight("var", {m}, var);
    t.input("skip", {2, m, h, w}, 78);
    t.weight("chan", {1, m, 1, 1}, 0.0, 79);
    t.b.weight("lo", {}, {-0.5f});
    t.b.weight("hi", {}, {1.5f});
    auto& node = t.b.node("Conv", {"x", "w", "cb"}, {"cv"}, "conv");
    ModelBuilder::attr(node, "pads", std::vector<std::int64_t>{p, p, p, p});
    t.b.node("BatchNormalization", {"cv", "gamma", "beta", "mean", "var"}, {"bn"}, "bn");
    t.b.node("Relu", {"bn"}, {"r"}, "relu");
    t.b.node("Add", {"r", "skip"}, {"s"}, "add");
    t.b.node("Add", {"chan", "s"}, {"s2"}, "add2");
    t.b.node("Clip", {"s2", "lo", "hi"}, {"y"}, "clip");
    t.b.output("y", 4);
    const graph::Graph g = graph::import_onnx_bytes(t.b.bytes(), "block.onnx");
    auto want = naive_conv(t["x"], xs, t["w"], ws, &t.values.at("cb"), g.tensor("cv").shape, 1, 1, p, p, 1, 1, 1);
    const std::int64_t hw = h * w;
    for (std::int64_t u = 0; u < 2; ++u) {
      for (std::int64_t o = 0; o < m; ++o) {
        const double s = t["gamma"][std::size_t(o)] / std::sqrt(double(var[std::size_t(o)]) + 1e-5);
        for (std::int64_t q = 0; q < hw; ++q) {
          const std::size_t i = std::size_t((u * m + o) * hw + q);
          double v = (want[i] - t["mean"][std::size_t(o)]) * s + t["beta"][std::size_t(o)];
          v = std::max(v, 0.0) + t["skip"][i] + t["chan"][std::size_t(o)];
          want[i] = std::min(std::max(v, -0.5), 1.5);
        }
      }
    }
    check_group(g, {"conv", "bn", "relu", "add", "add2", "clip"}, t, want, pointwise ? "pointwise block" : "3x3 block");
  }
}

// out[u, o, ih*s - p + kh*d, ...] += x[u, c, ih, iw] * w[c, o - group start, kh, kw].
std::vector<double> naive_conv_transpose(const std::vector<float>& x, const graph::Shape& xs, const std::vector<float>& w,
                                         const graph::Shape& ws, const std::vector<float>* bias, const graph::Shape& ys, std::int64_t s,
                                         std::int64_t p, std::int64_t d, std::int64_t groups) {
  const std::int64_t n = xs[0], c = xs[1], h = xs[2], wd = xs[3];
  const std::int64_t mg = ws[1], kh = ws[2], kw = ws[3], m = mg * groups, cg = c / groups;
  const std::int64_t oh = ys[2], ow = ys[3];
  std::vector<double> y(std::size_t(n * m * oh * ow), 0.0);
  for (std::int64_t u = 0; u < n; ++u) {
    for (std::int64_t o = 0; o < m; ++o) {
      for (std::int64_t q = 0; q < oh * ow; ++q) y[std::size_t((u * m + o) * oh * ow + q)] = bias ? (*bias)[std::size_t(o)] : 0.0;
    }
    for (std::int64_t ci = 0; ci < c; ++ci) {
      const std::int64_t g = ci / cg;
      for (std::int64_t ol = 0; ol < mg; ++ol) {
        const std::int64_t o = g * mg + ol;
        for (std::int64_t i = 0; i < kh; ++i) {
          for (std::int64_t j = 0; j < kw; ++j) {
            const double wv = w[std::size_t(((ci * mg + ol) * kh + i) * kw + j)];
            for (std::int64_t ih = 0; ih < h; ++ih) {
              for (std::int64_t iw = 0; iw < wd; ++iw) {
                const std::int64_t a = ih * s - p + i * d, b = iw * s - p + j * d;
                if (a < 0 || a >= oh || b < 0 || b >= ow) continue;
                y[std::size_t(((u * m + o) * oh + a) * ow + b)] += wv * x[std::size_t(((u * c + ci) * h + ih) * wd + iw)];
              }
            }
          }
        }
      }
    }
  }
  return y;
}

TEST(SparseKernels, ConvTranspose) {
  struct Case {
    std::int64_t c, m, k, s, p, d, out_pad, groups;
  };
  std::uint32_t seed = 900;
  for (const Case& c : std::vector<Case>{{6, 4, 4, 2, 1, 1, 0, 1}, {4, 6, 3, 2, 1, 1, 1, 2}, {5, 3, 3, 1, 0, 2, 0, 1}}) {
    Tensors t;
    const graph::Shape xs = {2, c.c, 5, 6}, ws = {c.c, c.m / c.groups, c.k, c.k};
    t.input("x", xs, seed++);
    t.weight("w", ws, 0.6, seed++);
    t.weight("b", {c.m}, 0.0, seed++);
    auto& node = t.b.node("ConvTranspose", {"x", "w", "b"}, {"ct"}, "ct");
    ModelBuilder::attr(node, "strides", std::vector<std::int64_t>{c.s, c.s});
    ModelBuilder::attr(node, "pads", std::vector<std::int64_t>{c.p, c.p, c.p, c.p});
    ModelBuilder::attr(node, "dilations", std::vector<std::int64_t>{c.d, c.d});
    if (c.out_pad) ModelBuilder::attr(node, "output_padding", std::vector<std::int64_t>{c.out_pad, c.out_pad});
    if (c.groups != 1) ModelBuilder::attr(node, "group", c.groups);
    t.b.node("LeakyRelu", {"ct"}, {"y"}, "lrelu");
    t.b.output("y", 4);
    const graph::Graph g = graph::import_onnx_bytes(t.b.bytes(), "convt.onnx");
    auto want = naive_conv_transpose(t["x"], xs, t["w"], ws, &t.values.at("b"), g.tensor("y").shape, c.s, c.p, c.d, c.groups);
    const auto plain = want;
    for (auto& v : want) v = v >= 0 ? v : 0.01 * v;
    const std::string what = "conv-transpose k" + std::to_string(c.k) + " s" + std::to_string(c.s) + " g" + std::to_string(c.groups);
    check_group(g, {"ct", "lrelu"}, t, want, what + " + leaky relu");
    check_group(g, {"ct"}, t, plain, what);
  }
}

// ---------------------------------------------------------------------------------------
// Refusals

void expect_error(const graph::Graph& g, const std::vector<std::string>& ops, const std::string& needle) {
  Tensors none;
  try {
    run_group(g, ops, none, 1);
    ADD_FAILURE() << "no error; expected one containing '" << needle << "'";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find(needle), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("'" + ops[0] + "'"), std::string::npos) << e.what();
  }
}

TEST(SparseKernels, RuntimeWeightsAreRefused) {
  {
    // Conv whose weight is a graph input: kernels_for offers no sparse kernel at all.
    ModelBuilder b;
    b.input("x", {1, 2, 5, 5});
    b.input("w", {3, 2, 3, 3});
    b.node("Conv", {"x", "w"}, {"y"}, "conv");
    b.output("y", 4);
    const graph::Graph g = graph::import_onnx_bytes(b.bytes(), "conv.onnx");
    expect_error(g, {"conv"}, "sparse");
  }
  {
    ModelBuilder b;
    b.input("x", {4, 6});
    b.input("w", {6, 3});
    b.node("MatMul", {"x", "w"}, {"y"}, "mm");
    b.output("y", 2);
    const graph::Graph g = graph::import_onnx_bytes(b.bytes(), "mm.onnx");
    expect_error(g, {"mm"}, "sparse");
  }
}

TEST(SparseKernels, Conv3dIsRefused) {
  ModelBuilder b;
  b.input("x", {1, 2, 4, 4, 4});
  b.weight("w", {3, 2, 1, 1, 1}, std::vector<float>(6, 1.0f));
  b.node("Conv", {"x", "w"}, {"y"}, "conv3d");
  b.output("y", 5);
  const graph::Graph g = graph::import_onnx_bytes(b.bytes(), "conv3d.onnx");
  expect_error(g, {"conv3d"}, "1-D and 2-D");
}

TEST(SparseKernels, MatMulWithHigherRankWeightIsRefused) {
  ModelBuilder b;
  b.input("x", {2, 3, 4});
  b.weight("w", {2, 4, 5}, std::vector<float>(40, 1.0f));
  b.node("MatMul", {"x", "w"}, {"y"}, "mm");
  b.output("y", 3);
  const graph::Graph g = graph::import_onnx_bytes(b.bytes(), "mm3.onnx");
  expect_error(g, {"mm"}, "2-D constant operand");
}

}  // namespace
}  // namespace sparoa::hw

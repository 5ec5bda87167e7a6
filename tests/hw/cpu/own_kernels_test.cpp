// The own CPU kernels, built directly with make_own_kernel (the factory would try oneDNN
// first for float32 binaries and activations) on one-operator models, against hand-worked
// values.
#include <gtest/gtest.h>
#include <omp.h>

#include <cmath>
#include <cstring>
#include <limits>
#include <map>
#include <random>

#include "graph/onnx_import.hpp"
#include "hw/cpu/cpu_kernel.hpp"
#include "hw/cpu/own_common.hpp"
#include "hw/reference_run.hpp"
#include "hw/tensor_io.hpp"
#include "support/error.hpp"
#include "tests/graph/onnx_test_models.hpp"

namespace {

using namespace sparoa;
using graph::DType;
using graph::Shape;
using hw::HostTensor;
using test::ModelBuilder;
using P = onnx::TensorProto;

template <class T> HostTensor tensor(Shape shape, const std::vector<T>& values) {
  HostTensor t(hw::dtype_of<T>(), std::move(shape));
  EXPECT_EQ(std::size_t(t.elements()), values.size());
  if constexpr (std::is_same_v<T, bool>) {
    for (std::size_t i = 0; i < values.size(); ++i) static_cast<std::uint8_t*>(t.view().data)[i] = values[i] ? 1 : 0;
  } else {
    std::memcpy(t.view().data, values.data(), values.size() * sizeof(T));
  }
  return t;
}

template <class T> std::vector<T> values(const HostTensor& t) {
  std::vector<T> out(std::size_t(t.elements()));
  if constexpr (std::is_same_v<T, bool>) {
    for (std::size_t i = 0; i < out.size(); ++i) out[i] = static_cast<const std::uint8_t*>(t.view().data)[i] != 0;
  } else {
    EXPECT_EQ(t.dtype(), hw::dtype_of<T>());
    std::memcpy(out.data(), t.view().data, out.size() * sizeof(T));
  }
  return out;
}

// A typed initializer (ModelBuilder has float and int64 ones only).
template <class T> void typed_weight(ModelBuilder& b, const std::string& name, int dtype, Shape dims, const std::vector<T>& v) {
  auto* t = b.model().mutable_graph()->add_initializer();
  t->set_name(name);
  t->set_data_type(dtype);
  for (auto d : dims) t->add_dims(d);
  t->set_raw_data(v.empty() ? std::string() : std::string(reinterpret_cast<const char*>(v.data()), v.size() * sizeof(T)));
}

// The model's last operator as an own kernel, run on the given graph inputs.
struct OwnRun {
  graph::Graph g;
  std::unique_ptr<hw::CpuKernel> kernel;
  hw::KernelContext ctx;

  explicit OwnRun(const ModelBuilder& b) : g(graph::import_onnx_bytes(b.bytes(), "own_test")) {
    ctx.graph = &g;
    ctx.group = hw::single_op_group(g, g.topological_order().back());
    ctx.threads = omp_get_max_threads();
    kernel = hw::make_own_kernel(ctx);
    if (!kernel) throw Error("test", "no own kernel for " + g.op(ctx.group.root).type);
  }

  std::vector<HostTensor> run(const std::map<std::string, const HostTensor*>& inputs) {
    std::vector<hw::TensorView> in, out;
    for (const auto& name : ctx.group.inputs) {
      if (name.empty()) {
        in.emplace_back();
      } else if (g.tensor(name).data) {
        in.push_back(hw::weight_view(g.tensor(name)));
      } else {
        in.push_back(inputs.at(name)->view());
      }
    }
    std::vector<HostTensor> results;
    for (const auto& name : ctx.group.outputs) results.emplace_back(g.tensor(name).dtype, g.tensor(name).shape);
    for (const auto& r : results) out.push_back(r.view());
    kernel->run(in, out);
    return results;
  }
};

// One binary operator on two run-time inputs.
ModelBuilder binary(const std::string& type, Shape a, Shape b, int dtype, int out_dtype = -1, int rank = -1) {
  ModelBuilder m;
  m.input("a", a, dtype).input("b", b, dtype);
  m.node(type, {"a", "b"}, {"y"});
  m.output("y", rank < 0 ? int(std::max(a.size(), b.size())) : rank, out_dtype < 0 ? dtype : out_dtype);
  return m;
}

TEST(OwnKernels, AddBroadcastsBothWays) {
  OwnRun k(binary("Add", {2, 1, 3}, {4, 1}, P::FLOAT));
  EXPECT_EQ(k.kernel->implementation(), "own:add");
  const auto a = tensor<float>({2, 1, 3}, {0, 1, 2, 10, 20, 30});
  const auto b = tensor<float>({4, 1}, {100, 200, 300, 400});
  const auto y = k.run({{"a", &a}, {"b", &b}});
  ASSERT_EQ(y[0].shape(), (Shape{2, 4, 3}));
  const auto v = values<float>(y[0]);
  // y[i][j][k] = a[i][0][k] + b[j][0]
  EXPECT_EQ(v[0], 100);
  EXPECT_EQ(v[2], 102);
  EXPECT_EQ(v[3 * 3 + 1], 401);
  EXPECT_EQ(v[12 + 3 + 2], 230);
  EXPECT_EQ(v[23], 430);
}

TEST(OwnKernels, LargeBroadcastMatchesNaiveLoopWithThreads) {
  omp_set_num_threads(2);
  OwnRun k(binary("Mul", {8, 1, 130}, {40, 1}, P::FLOAT));
  std::vector<float> av(8 * 130), bv(40);
  for (std::size_t i = 0; i < av.size(); ++i) av[i] = float(i % 17) - 8;
  for (std::size_t i = 0; i < bv.size(); ++i) bv[i] = float(i) * 0.5f;
  const auto a = tensor<float>({8, 1, 130}, av);
  const auto b = tensor<float>({40, 1}, bv);
  for (int repeat = 0; repeat < 2; ++repeat) {  // a kernel runs many times
    const auto v = values<float>(k.run({{"a", &a}, {"b", &b}})[0]);
    ASSERT_EQ(v.size(), 8u * 40 * 130);
    for (std::size_t i = 0; i < 8; ++i) {
      for (std::size_t j = 0; j < 40; ++j) {
        for (std::size_t c = 0; c < 130; ++c) ASSERT_EQ(v[(i * 40 + j) * 130 + c], av[i * 130 + c] * bv[j]);
      }
    }
  }
}

TEST(OwnKernels, IntegerDivisionTruncatesTowardZero) {
  OwnRun k(binary("Div", {4}, {4}, P::INT64));
  const auto a = tensor<std::int64_t>({4}, {7, -7, 7, -7});
  const auto b = tensor<std::int64_t>({4}, {2, 2, -2, -2});
  EXPECT_EQ(values<std::int64_t>(k.run({{"a", &a}, {"b", &b}})[0]), (std::vector<std::int64_t>{3, -3, -3, 3}));
  // Division by zero and MIN / -1 are undefined in ONNX; they must not trap.
  OwnRun k32(binary("Div", {3}, {3}, P::INT32));
  const auto c = tensor<std::int32_t>({3}, {5, std::numeric_limits<std::int32_t>::min(), 9});
  const auto d = tensor<std::int32_t>({3}, {0, -1, 4});
  const auto r = values<std::int32_t>(k32.run({{"a", &c}, {"b", &d}})[0]);
  EXPECT_EQ(r[0], 0);
  EXPECT_EQ(r[2], 2);
}

TEST(OwnKernels, UInt8AndInt32Arithmetic) {
  OwnRun k(binary("Sub", {3}, {1}, P::UINT8));
  const auto a = tensor<std::uint8_t>({3}, {10, 3, 255});
  const auto b = tensor<std::uint8_t>({1}, {5});
  EXPECT_EQ(values<std::uint8_t>(k.run({{"a", &a}, {"b", &b}})[0]), (std::vector<std::uint8_t>{5, 254, 250}));
  OwnRun m(binary("Mul", {2, 2}, {2}, P::INT32));
  const auto c = tensor<std::int32_t>({2, 2}, {1, -2, 3, 4});
  const auto d = tensor<std::int32_t>({2}, {10, -1});
  EXPECT_EQ(values<std::int32_t>(m.run({{"a", &c}, {"b", &d}})[0]), (std::vector<std::int32_t>{10, 2, 30, -4}));
}

TEST(OwnKernels, ComparisonsGiveBool) {
  OwnRun k(binary("Less", {2, 2}, {2}, P::FLOAT, P::BOOL));
  const auto a = tensor<float>({2, 2}, {1, 5, 3, 3});
  const auto b = tensor<float>({2}, {2, 3});
  const auto y = k.run({{"a", &a}, {"b", &b}});
  EXPECT_EQ(y[0].dtype(), DType::boolean);
  EXPECT_EQ(values<bool>(y[0]), (std::vector<bool>{true, false, false, false}));
  OwnRun e(binary("Equal", {3}, {3}, P::INT64, P::BOOL));
  const auto c = tensor<std::int64_t>({3}, {1, 2, 3});
  const auto d = tensor<std::int64_t>({3}, {1, 0, 3});
  EXPECT_EQ(values<bool>(e.run({{"a", &c}, {"b", &d}})[0]), (std::vector<bool>{true, false, true}));
  OwnRun g(binary("GreaterOrEqual", {3}, {}, P::INT32, P::BOOL, 1));
  const auto x = tensor<std::int32_t>({3}, {1, 2, 3});
  const auto s = tensor<std::int32_t>({}, {2});
  EXPECT_EQ(values<bool>(g.run({{"a", &x}, {"b", &s}})[0]), (std::vector<bool>{false, true, true}));
}

TEST(OwnKernels, WhereBroadcastsAllThree) {
  ModelBuilder m;
  m.input("c", {2, 1}, P::BOOL).input("x", {1, 3}, P::INT64).input("y", {}, P::INT64);
  m.node("Where", {"c", "x", "y"}, {"out"});
  m.output("out", 2, P::INT64);
  OwnRun k(m);
  const auto c = tensor<bool>({2, 1}, {true, false});
  const auto x = tensor<std::int64_t>({1, 3}, {1, 2, 3});
  const auto y = tensor<std::int64_t>({}, {-1});
  EXPECT_EQ(values<std::int64_t>(k.run({{"c", &c}, {"x", &x}, {"y", &y}})[0]),
            (std::vector<std::int64_t>{1, 2, 3, -1, -1, -1}));
}

TEST(OwnKernels, VariadicMaxAndMin) {
  ModelBuilder m;
  m.input("a", {3}).input("b", {2, 1}).input("c", {});
  m.node("Max", {"a", "b", "c"}, {"y"});
  m.output("y", 2);
  OwnRun k(m);
  const auto a = tensor<float>({3}, {1, 5, -2});
  const auto b = tensor<float>({2, 1}, {0, 4});
  const auto c = tensor<float>({}, {2});
  EXPECT_EQ(values<float>(k.run({{"a", &a}, {"b", &b}, {"c", &c}})[0]), (std::vector<float>{2, 5, 2, 4, 5, 4}));
  ModelBuilder one;
  one.input("a", {3}, P::INT32);
  one.node("Min", {"a"}, {"y"});
  one.output("y", 1, P::INT32);
  OwnRun k1(one);
  const auto x = tensor<std::int32_t>({3}, {3, -1, 2});
  EXPECT_EQ(values<std::int32_t>(k1.run({{"a", &x}})[0]), (std::vector<std::int32_t>{3, -1, 2}));
}

TEST(OwnKernels, PowWithMixedTypes) {
  ModelBuilder m;
  m.input("a", {3}, P::INT32).input("b", {3});
  m.node("Pow", {"a", "b"}, {"y"});
  m.output("y", 1, P::INT32);
  OwnRun k(m);
  const auto a = tensor<std::int32_t>({3}, {2, 3, 4});
  const auto b = tensor<float>({3}, {3, 0.5f, -1});
  EXPECT_EQ(values<std::int32_t>(k.run({{"a", &a}, {"b", &b}})[0]), (std::vector<std::int32_t>{8, 1, 0}));
  OwnRun i(binary("Pow", {3}, {3}, P::INT64));
  const auto c = tensor<std::int64_t>({3}, {2, -3, 10});
  const auto d = tensor<std::int64_t>({3}, {10, 3, 0});
  EXPECT_EQ(values<std::int64_t>(i.run({{"a", &c}, {"b", &d}})[0]), (std::vector<std::int64_t>{1024, -27, 1}));
  OwnRun f(binary("Pow", {2}, {}, P::FLOAT, -1, 1));
  const auto x = tensor<float>({2}, {-3, 1.5f});
  const auto two = tensor<float>({}, {2});
  EXPECT_EQ(values<float>(f.run({{"a", &x}, {"b", &two}})[0]), (std::vector<float>{9, 2.25f}));
}

TEST(OwnKernels, NotAndPRelu) {
  ModelBuilder m;
  m.input("a", {3}, P::BOOL);
  m.node("Not", {"a"}, {"y"});
  m.output("y", 1, P::BOOL);
  OwnRun k(m);
  const auto a = tensor<bool>({3}, {true, false, true});
  EXPECT_EQ(values<bool>(k.run({{"a", &a}})[0]), (std::vector<bool>{false, true, false}));

  ModelBuilder p;
  p.input("x", {1, 2, 2});
  p.weight("slope", {2, 1}, {0.5f, 2.0f});
  p.node("PRelu", {"x", "slope"}, {"y"});
  p.output("y", 3);
  OwnRun pk(p);
  const auto x = tensor<float>({1, 2, 2}, {-2, 3, -4, 5});
  EXPECT_EQ(values<float>(pk.run({{"x", &x}})[0]), (std::vector<float>{-1, 3, -8, 5}));
}

// Each activation as own kernel gives the same bits as apply_eltwise, the definition the
// fused epilogues use.
TEST(OwnKernels, ActivationsMatchApplyEltwise) {
  std::vector<float> xs;
  for (int i = -40; i <= 40; ++i) xs.push_back(float(i) * 0.37f);
  xs.push_back(0.0f);
  xs.push_back(-0.0f);
  const Shape shape{std::int64_t(xs.size())};
  const auto x = tensor<float>(shape, xs);
  struct Case {
    const char* type;
    std::vector<std::pair<const char*, float>> attrs;
  };
  const std::vector<Case> cases = {
      {"Relu", {}}, {"LeakyRelu", {{"alpha", 0.2f}}}, {"Sigmoid", {}}, {"Tanh", {}}, {"Exp", {}}, {"Log", {}},
      {"Sqrt", {}}, {"Abs", {}}, {"Neg", {}}, {"Reciprocal", {}}, {"Erf", {}},
      {"HardSigmoid", {{"alpha", 0.3f}, {"beta", 0.4f}}}, {"HardSwish", {}},
  };
  for (const auto& c : cases) {
    ModelBuilder m;
    m.input("x", shape);
    auto& n = m.node(c.type, {"x"}, {"y"});
    for (const auto& [key, v] : c.attrs) ModelBuilder::attr(n, key, v);
    m.output("y", 1);
    OwnRun k(m);
    const auto params = hw::eltwise_of(k.g, k.g.op(k.ctx.group.root));
    ASSERT_TRUE(params) << c.type;
    const auto y = values<float>(k.run({{"x", &x}})[0]);
    for (std::size_t i = 0; i < xs.size(); ++i) {
      const float e = hw::apply_eltwise(*params, xs[i]);
      if (std::isnan(e)) {
        EXPECT_TRUE(std::isnan(y[i])) << c.type << " at " << xs[i];
      } else {
        EXPECT_EQ(std::memcmp(&y[i], &e, sizeof e), 0) << c.type << " at " << xs[i] << ": " << y[i] << " vs " << e;
      }
    }
  }
}

TEST(OwnKernels, IntegerAbsNegAndClip) {
  ModelBuilder m;
  m.input("x", {3}, P::INT32);
  m.node("Abs", {"x"}, {"y"});
  m.output("y", 1, P::INT32);
  OwnRun k(m);
  const auto x = tensor<std::int32_t>({3}, {-5, 0, 7});
  EXPECT_EQ(values<std::int32_t>(k.run({{"x", &x}})[0]), (std::vector<std::int32_t>{5, 0, 7}));

  // Clip with a run-time min and no max, int8.
  ModelBuilder c;
  c.input("x", {4}, P::INT8).input("lo", {}, P::INT8);
  c.node("Clip", {"x", "lo"}, {"y"});
  c.output("y", 1, P::INT8);
  OwnRun ck(c);
  const auto xi = tensor<std::int8_t>({4}, {-100, -3, 0, 127});
  const auto lo = tensor<std::int8_t>({}, {-4});
  EXPECT_EQ(values<std::int8_t>(ck.run({{"x", &xi}, {"lo", &lo}})[0]), (std::vector<std::int8_t>{-4, -3, 0, 127}));

  // Clip with constant bounds, max only (min omitted).
  ModelBuilder f;
  f.input("x", {3});
  f.weight("hi", {}, {6.0f});
  f.node("Clip", {"x", "", "hi"}, {"y"});
  f.output("y", 1);
  OwnRun fk(f);
  const auto xf = tensor<float>({3}, {-10, 3, 10});
  EXPECT_EQ(values<float>(fk.run({{"x", &xf}})[0]), (std::vector<float>{-10, 3, 6}));
}

TEST(OwnKernels, CastTruncatesAndRoundsHalf) {
  auto cast = [](Shape s, int from, int to) {
    ModelBuilder m;
    m.input("x", s, from);
    auto& n = m.node("Cast", {"x"}, {"y"});
    ModelBuilder::attr(n, "to", std::int64_t(to));
    m.output("y", int(s.size()), to);
    return m;
  };
  OwnRun k(cast({6}, P::FLOAT, P::INT32));
  const auto x = tensor<float>({6}, {-1.7f, -0.5f, 0.5f, 1.7f, 2.5f, std::nanf("")});
  EXPECT_EQ(values<std::int32_t>(k.run({{"x", &x}})[0]), (std::vector<std::int32_t>{-1, 0, 0, 1, 2, 0}));
  OwnRun b(cast({3}, P::FLOAT, P::BOOL));
  const auto xb = tensor<float>({3}, {0, -0.1f, 2});
  EXPECT_EQ(values<bool>(b.run({{"x", &xb}})[0]), (std::vector<bool>{false, true, true}));
  OwnRun h(cast({4}, P::FLOAT, P::FLOAT16));
  const auto xh = tensor<float>({4}, {1.0f / 3, 65504, 70000, 1e-8f});
  const auto hv = std::move(h.run({{"x", &xh}}).at(0));
  std::vector<std::uint16_t> bits(4);
  std::memcpy(bits.data(), hv.view().data, 8);
  EXPECT_EQ(bits, (std::vector<std::uint16_t>{0x3555, 0x7BFF, 0x7C00, 0x0000}));
  OwnRun u(cast({2}, P::INT64, P::DOUBLE));
  const auto xu = tensor<std::int64_t>({2}, {-3, 1 << 20});
  EXPECT_EQ(values<double>(u.run({{"x", &xu}})[0]), (std::vector<double>{-3, 1 << 20}));
}

TEST(OwnKernels, HalfConversionsRoundToNearestEven) {
  using namespace hw::own;
  EXPECT_EQ(half_from_double(1.0), 0x3C00);
  EXPECT_EQ(half_from_double(-2.0), 0xC000);
  EXPECT_EQ(half_from_double(1.0 + 0x1p-11), 0x3C00);              // tie, stays even
  EXPECT_EQ(half_from_double(1.0 + 3 * 0x1p-11), 0x3C02);          // tie, rounds up to even
  EXPECT_EQ(half_from_double(0x1p-24), 0x0001);                    // smallest subnormal
  EXPECT_EQ(half_from_double(0x1p-25), 0x0000);                    // tie to even: zero
  EXPECT_EQ(half_from_double(65519.0), 0x7BFF);
  EXPECT_EQ(half_from_double(65520.0), 0x7C00);
  EXPECT_FLOAT_EQ(half_to_float(0x3555), 0.333251953125f);
  EXPECT_FLOAT_EQ(half_to_float(0x0001), 0x1p-24f);
  EXPECT_TRUE(std::isinf(half_to_float(0xFC00)));
  EXPECT_EQ(bfloat16_from_float(1.0f), 0x3F80);
  EXPECT_EQ(bfloat16_to_float(0x3F80), 1.0f);
}

TEST(OwnKernels, TransposeMatchesNaiveLoop) {
  omp_set_num_threads(2);
  for (const auto& perm : std::vector<std::vector<std::int64_t>>{{0, 2, 3, 1}, {0, 3, 1, 2}, {2, 0, 3, 1}, {0, 2, 1, 3}}) {
    const Shape in{2, 19, 23, 33};
    ModelBuilder m;
    m.input("x", in);
    auto& n = m.node("Transpose", {"x"}, {"y"});
    ModelBuilder::attr(n, "perm", perm);
    m.output("y", 4);
    OwnRun k(m);
    std::vector<float> xv(std::size_t(graph::element_count(in)));
    for (std::size_t i = 0; i < xv.size(); ++i) xv[i] = float(i);
    const auto x = tensor<float>(in, xv);
    const auto y = std::move(k.run({{"x", &x}}).at(0));
    const auto v = values<float>(y);
    const auto in_strides = hw::row_major_strides(in);
    const Shape out = y.shape();
    std::size_t o = 0;
    for (std::int64_t a = 0; a < out[0]; ++a)
      for (std::int64_t b = 0; b < out[1]; ++b)
        for (std::int64_t c = 0; c < out[2]; ++c)
          for (std::int64_t d = 0; d < out[3]; ++d, ++o) {
            const std::int64_t idx[4] = {a, b, c, d};
            std::int64_t src = 0;
            for (int j = 0; j < 4; ++j) src += idx[j] * in_strides[std::size_t(perm[std::size_t(j)])];
            ASSERT_EQ(v[o], xv[std::size_t(src)]);
          }
  }
}

TEST(OwnKernels, GatherNegativeIndicesAndRangeErrors) {
  ModelBuilder m;
  m.input("x", {2, 3}).input("i", {2}, P::INT64);
  auto& n = m.node("Gather", {"x", "i"}, {"y"});
  ModelBuilder::attr(n, "axis", std::int64_t(1));
  m.output("y", 2);
  OwnRun k(m);
  EXPECT_EQ(k.kernel->implementation(), "own:gather");
  const auto x = tensor<float>({2, 3}, {1, 2, 3, 4, 5, 6});
  const auto i = tensor<std::int64_t>({2}, {-1, 0});
  EXPECT_EQ(values<float>(k.run({{"x", &x}, {"i", &i}})[0]), (std::vector<float>{3, 1, 6, 4}));
  const auto bad = tensor<std::int64_t>({2}, {0, 3});
  try {
    k.run({{"x", &x}, {"i", &bad}});
    FAIL() << "an out-of-range index must throw";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("Gather"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("out of range"), std::string::npos) << e.what();
  }
  // Constant indices are checked once, when the kernel is built.
  ModelBuilder c;
  c.input("x", {3, 2});
  c.ints("i", {1}, {-4});
  c.node("Gather", {"x", "i"}, {"y"});
  c.output("y", 2);
  EXPECT_THROW(OwnRun{c}, Error);
}

TEST(OwnKernels, SliceNegativeStepsAndClamping) {
  ModelBuilder m;
  m.input("x", {10});
  m.ints("s", {1}, {-1}).ints("e", {1}, {std::numeric_limits<std::int64_t>::min()}).ints("st", {1}, {-3});
  m.node("Slice", {"x", "s", "e", "", "st"}, {"y"});
  m.output("y", 1);
  OwnRun k(m);
  std::vector<float> xv(10);
  for (int i = 0; i < 10; ++i) xv[std::size_t(i)] = float(i);
  const auto x = tensor<float>({10}, xv);
  EXPECT_EQ(values<float>(k.run({{"x", &x}})[0]), (std::vector<float>{9, 6, 3, 0}));

  ModelBuilder t;
  t.input("x", {2, 5}, P::INT64);
  t.ints("s", {2}, {1, -100}).ints("e", {2}, {1000, 2}).ints("a", {2}, {-1, 0});
  t.node("Slice", {"x", "s", "e", "a"}, {"y"});
  t.output("y", 2, P::INT64);
  OwnRun tk(t);
  const auto xi = tensor<std::int64_t>({2, 5}, {0, 1, 2, 3, 4, 5, 6, 7, 8, 9});
  const auto y = std::move(tk.run({{"x", &xi}}).at(0));
  EXPECT_EQ(y.shape(), (Shape{2, 4}));
  EXPECT_EQ(values<std::int64_t>(y), (std::vector<std::int64_t>{1, 2, 3, 4, 6, 7, 8, 9}));
}

TEST(OwnKernels, SplitConcatTileExpand) {
  ModelBuilder s;
  s.input("x", {2, 5}, P::INT32);
  s.ints("sizes", {2}, {2, 3});
  auto& n = s.node("Split", {"x", "sizes"}, {"a", "b"});
  ModelBuilder::attr(n, "axis", std::int64_t(1));
  s.output("a", 2, P::INT32).output("b", 2, P::INT32);
  OwnRun sk(s);
  const auto x = tensor<std::int32_t>({2, 5}, {0, 1, 2, 3, 4, 5, 6, 7, 8, 9});
  const auto parts = sk.run({{"x", &x}});
  EXPECT_EQ(values<std::int32_t>(parts[0]), (std::vector<std::int32_t>{0, 1, 5, 6}));
  EXPECT_EQ(values<std::int32_t>(parts[1]), (std::vector<std::int32_t>{2, 3, 4, 7, 8, 9}));

  ModelBuilder c;
  c.input("a", {2, 1}, P::INT64).input("b", {2, 2}, P::INT64);
  auto& cn = c.node("Concat", {"a", "b"}, {"y"});
  ModelBuilder::attr(cn, "axis", std::int64_t(-1));
  c.output("y", 2, P::INT64);
  OwnRun ck(c);
  const auto a = tensor<std::int64_t>({2, 1}, {1, 2});
  const auto b = tensor<std::int64_t>({2, 2}, {3, 4, 5, 6});
  EXPECT_EQ(values<std::int64_t>(ck.run({{"a", &a}, {"b", &b}})[0]), (std::vector<std::int64_t>{1, 3, 4, 2, 5, 6}));

  ModelBuilder t;
  t.input("x", {2, 2});
  t.ints("r", {2}, {2, 2});
  t.node("Tile", {"x", "r"}, {"y"});
  t.output("y", 2);
  OwnRun tk(t);
  const auto xt = tensor<float>({2, 2}, {1, 2, 3, 4});
  EXPECT_EQ(values<float>(tk.run({{"x", &xt}})[0]),
            (std::vector<float>{1, 2, 1, 2, 3, 4, 3, 4, 1, 2, 1, 2, 3, 4, 3, 4}));

  ModelBuilder e;
  e.input("x", {3, 1});
  e.ints("shape", {3}, {2, 1, 2});
  e.node("Expand", {"x", "shape"}, {"y"});
  e.output("y", 3);
  OwnRun ek(e);
  const auto xe = tensor<float>({3, 1}, {1, 2, 3});
  const auto ye = std::move(ek.run({{"x", &xe}}).at(0));
  EXPECT_EQ(ye.shape(), (Shape{2, 3, 2}));
  EXPECT_EQ(values<float>(ye), (std::vector<float>{1, 1, 2, 2, 3, 3, 1, 1, 2, 2, 3, 3}));
}

ModelBuilder pad_model(const std::string& mode, Shape in, std::vector<std::int64_t> pads, std::optional<float> value = {}) {
  ModelBuilder m;
  m.input("x", in);
  m.ints("pads", {std::int64_t(pads.size())}, pads);
  std::vector<std::string> inputs{"x", "pads"};
  if (value) {
    m.weight("v", {}, {*value});
    inputs.push_back("v");
  }
  auto& n = m.node("Pad", inputs, {"y"});
  ModelBuilder::attr(n, "mode", mode);
  m.output("y", int(in.size()));
  return m;
}

TEST(OwnKernels, PadConstantReflectEdge) {
  const auto x = tensor<float>({1, 3}, {1, 2, 3});
  OwnRun r(pad_model("reflect", {1, 3}, {0, 2, 0, 3}));
  EXPECT_EQ(values<float>(r.run({{"x", &x}})[0]), (std::vector<float>{3, 2, 1, 2, 3, 2, 1, 2}));
  OwnRun e(pad_model("edge", {1, 3}, {0, 2, 0, 1}));
  EXPECT_EQ(values<float>(e.run({{"x", &x}})[0]), (std::vector<float>{1, 1, 1, 2, 3, 3}));
  OwnRun c(pad_model("constant", {1, 3}, {1, 1, 0, -1}, 9.0f));
  EXPECT_EQ(values<float>(c.run({{"x", &x}})[0]), (std::vector<float>{9, 9, 9, 9, 1, 2}));
  // 2-D reflect: rows and columns both mirror without repeating the edge.
  const auto x2 = tensor<float>({2, 2}, {1, 2, 3, 4});
  OwnRun r2(pad_model("reflect", {2, 2}, {1, 1, 0, 0}));
  EXPECT_EQ(values<float>(r2.run({{"x", &x2}})[0]), (std::vector<float>{4, 3, 4, 2, 1, 2, 4, 3, 4}));
}

ModelBuilder resize_model(Shape in, std::vector<float> scales, std::vector<std::int64_t> sizes,
                          std::map<std::string, std::string> attrs, std::vector<float> roi = {}, float extrapolation = 0) {
  ModelBuilder m;
  m.input("x", in);
  if (!roi.empty()) m.weight("roi", {std::int64_t(roi.size())}, roi);
  std::vector<std::string> inputs{"x", roi.empty() ? "" : "roi"};
  if (!scales.empty()) {
    m.weight("scales", {std::int64_t(scales.size())}, scales);
    inputs.push_back("scales");
  } else {
    m.ints("sizes", {std::int64_t(sizes.size())}, sizes);
    inputs.push_back("");
    inputs.push_back("sizes");
  }
  auto& n = m.node("Resize", inputs, {"y"});
  for (const auto& [k, v] : attrs) ModelBuilder::attr(n, k, v);
  if (extrapolation != 0) ModelBuilder::attr(n, "extrapolation_value", extrapolation);
  m.output("y", int(in.size()));
  return m;
}

void expect_near(const std::vector<float>& a, const std::vector<float>& b) {
  ASSERT_EQ(a.size(), b.size());
  for (std::size_t i = 0; i < a.size(); ++i) EXPECT_NEAR(a[i], b[i], 1e-5) << "at " << i;
}

TEST(OwnKernels, ResizeLinearModes) {
  const auto x = tensor<float>({1, 1, 2, 2}, {1, 2, 3, 4});
  OwnRun half(resize_model({1, 1, 2, 2}, {1, 1, 2, 2}, {}, {{"mode", "linear"}}));
  expect_near(values<float>(half.run({{"x", &x}})[0]),
              {1, 1.25f, 1.75f, 2, 1.5f, 1.75f, 2.25f, 2.5f, 2.5f, 2.75f, 3.25f, 3.5f, 3, 3.25f, 3.75f, 4});
  // align_corners: x * (in - 1) / (out - 1), so the corners stay put.
  OwnRun corners(resize_model({1, 1, 1, 2}, {}, {1, 1, 1, 4}, {{"mode", "linear"}, {"coordinate_transformation_mode", "align_corners"}}));
  const auto row = tensor<float>({1, 1, 1, 2}, {1, 2});
  expect_near(values<float>(corners.run({{"x", &row}})[0]), {1, 4.0f / 3, 5.0f / 3, 2});
  // asymmetric: x / scale; the last output reads past the edge and clamps.
  OwnRun asym(resize_model({1, 1, 1, 2}, {1, 1, 1, 2}, {}, {{"mode", "linear"}, {"coordinate_transformation_mode", "asymmetric"}}));
  expect_near(values<float>(asym.run({{"x", &row}})[0]), {1, 1.5f, 2, 2});
  // tf_crop_and_resize: the crop [0.5, 1.5] of a 1x4 row (x_ori = 1.5 + x * 1.5), outside -> 10.
  OwnRun crop(resize_model({1, 1, 1, 4}, {}, {1, 1, 1, 3},
                           {{"mode", "linear"}, {"coordinate_transformation_mode", "tf_crop_and_resize"}},
                           {0, 0, 0, 0.5f, 1, 1, 1, 1.5f}, 10.0f));
  const auto row4 = tensor<float>({1, 1, 1, 4}, {0, 10, 20, 30});
  expect_near(values<float>(crop.run({{"x", &row4}})[0]), {15, 30, 10});
}

TEST(OwnKernels, ResizeNearestModes) {
  const auto row = tensor<float>({1, 1, 1, 4}, {0, 1, 2, 3});
  // Downsample 4 -> 3 by sizes with half_pixel: x_ori = (x + 0.5) * 4/3 - 0.5 = 0.1667, 1.5, 2.833.
  auto run = [&](const char* nearest_mode) {
    OwnRun k(resize_model({1, 1, 1, 4}, {}, {1, 1, 1, 3}, {{"mode", "nearest"}, {"nearest_mode", nearest_mode}}));
    return values<float>(k.run({{"x", &row}})[0]);
  };
  EXPECT_EQ(run("round_prefer_floor"), (std::vector<float>{0, 1, 3}));
  EXPECT_EQ(run("round_prefer_ceil"), (std::vector<float>{0, 2, 3}));
  EXPECT_EQ(run("floor"), (std::vector<float>{0, 1, 2}));
  EXPECT_EQ(run("ceil"), (std::vector<float>{1, 2, 3}));
  // Upsample 2x2 -> 4x6 by scales (default: half_pixel, round_prefer_floor).
  OwnRun up(resize_model({1, 1, 2, 2}, {1, 1, 2, 3}, {}, {{"mode", "nearest"}}));
  const auto x = tensor<float>({1, 1, 2, 2}, {1, 2, 3, 4});
  EXPECT_EQ(values<float>(up.run({{"x", &x}})[0]),
            (std::vector<float>{1, 1, 1, 2, 2, 2, 1, 1, 1, 2, 2, 2, 3, 3, 3, 4, 4, 4, 3, 3, 3, 4, 4, 4}));
}

ModelBuilder reduce_model(const std::string& type, Shape in, std::optional<std::vector<std::int64_t>> axes, int keepdims,
                          int dtype = P::FLOAT, bool axes_as_input = false, int noop = 0) {
  ModelBuilder m(axes_as_input ? 13 : 12);
  m.input("x", in, dtype);
  std::vector<std::string> inputs{"x"};
  if (axes && axes_as_input) {
    // As raw data: the importer copies an empty int64_data list with memcpy from a null pointer (UBSan).
    typed_weight<std::int64_t>(m, "axes", P::INT64, {std::int64_t(axes->size())}, *axes);
    inputs.push_back("axes");
  }
  auto& n = m.node(type, inputs, {"y"});
  if (axes && !axes_as_input) ModelBuilder::attr(n, "axes", *axes);
  ModelBuilder::attr(n, "keepdims", std::int64_t(keepdims));
  if (noop) ModelBuilder::attr(n, "noop_with_empty_axes", std::int64_t(noop));
  m.output("y", keepdims ? int(in.size()) : int(in.size() - (axes ? (axes->empty() && noop ? 0 : axes->size()) : in.size())), dtype);
  return m;
}

TEST(OwnKernels, Reductions) {
  std::vector<float> xv(12);
  for (std::size_t i = 0; i < 12; ++i) xv[i] = float(i);
  const auto x = tensor<float>({2, 3, 2}, xv);
  OwnRun mean(reduce_model("ReduceMean", {2, 3, 2}, std::vector<std::int64_t>{1}, 0));
  const auto m = std::move(mean.run({{"x", &x}}).at(0));
  EXPECT_EQ(m.shape(), (Shape{2, 2}));
  EXPECT_EQ(values<float>(m), (std::vector<float>{2, 3, 8, 9}));
  OwnRun mn(reduce_model("ReduceMin", {2, 3, 2}, std::vector<std::int64_t>{0, -1}, 1));
  const auto mv = std::move(mn.run({{"x", &x}}).at(0));
  EXPECT_EQ(mv.shape(), (Shape{1, 3, 1}));
  EXPECT_EQ(values<float>(mv), (std::vector<float>{0, 2, 4}));
  OwnRun all(reduce_model("ReduceSum", {2, 3, 2}, std::nullopt, 0, P::FLOAT, true));
  EXPECT_EQ(values<float>(all.run({{"x", &x}})[0]), (std::vector<float>{66}));
  OwnRun noop(reduce_model("ReduceSum", {2, 3, 2}, std::vector<std::int64_t>{}, 1, P::FLOAT, true, 1));
  EXPECT_EQ(values<float>(noop.run({{"x", &x}})[0]), xv);
  OwnRun sum13(reduce_model("ReduceSum", {2, 3, 2}, std::vector<std::int64_t>{2}, 1, P::FLOAT, true));
  EXPECT_EQ(values<float>(sum13.run({{"x", &x}})[0]), (std::vector<float>{1, 5, 9, 13, 17, 21}));
  const auto xi = tensor<std::int64_t>({2, 3}, {4, -2, 9, 1, 7, 3});
  OwnRun mx(reduce_model("ReduceMax", {2, 3}, std::vector<std::int64_t>{0}, 0, P::INT64));
  EXPECT_EQ(values<std::int64_t>(mx.run({{"x", &xi}})[0]), (std::vector<std::int64_t>{4, 7, 9}));
}

TEST(OwnKernels, LargeReductionsMatchNaiveLoops) {
  omp_set_num_threads(2);
  const Shape in{4, 70, 3, 61};
  std::vector<float> xv(std::size_t(graph::element_count(in)));
  std::mt19937 rng(7);
  std::uniform_real_distribution<float> u(-1, 1);
  for (auto& v : xv) v = u(rng);
  const auto x = tensor<float>(in, xv);
  OwnRun k(reduce_model("ReduceSum", in, std::vector<std::int64_t>{1, 3}, 1));
  const auto y = values<float>(k.run({{"x", &x}})[0]);
  ASSERT_EQ(y.size(), 12u);
  for (std::int64_t a = 0; a < 4; ++a) {
    for (std::int64_t c = 0; c < 3; ++c) {
      double s = 0;
      for (std::int64_t b = 0; b < 70; ++b)
        for (std::int64_t d = 0; d < 61; ++d) s += xv[std::size_t(((a * 70 + b) * 3 + c) * 61 + d)];
      EXPECT_NEAR(y[std::size_t(a * 3 + c)], s, 1e-3);
    }
  }
}

TEST(OwnKernels, DropoutAndCopies) {
  ModelBuilder m;
  m.input("x", {2, 2});
  m.node("Dropout", {"x"}, {"y", "mask"});
  m.output("y", 2).output("mask", 2, P::BOOL);
  OwnRun k(m);
  const auto x = tensor<float>({2, 2}, {1, 2, 3, 4});
  const auto out = k.run({{"x", &x}});
  EXPECT_EQ(values<float>(out[0]), (std::vector<float>{1, 2, 3, 4}));
  EXPECT_EQ(values<bool>(out[1]), (std::vector<bool>{true, true, true, true}));

  ModelBuilder t;
  t.input("x", {2});
  t.weight("ratio", {}, {0.5f});
  typed_weight<std::uint8_t>(t, "training", P::BOOL, {}, {1});
  t.node("Dropout", {"x", "ratio", "training"}, {"y"});
  t.output("y", 1);
  EXPECT_THROW(OwnRun{t}, Error);

  ModelBuilder r;
  r.input("x", {2, 3}, P::INT32);
  r.ints("shape", {2}, {3, -1});
  r.node("Reshape", {"x", "shape"}, {"y"});
  r.output("y", 2, P::INT32);
  OwnRun rk(r);
  const auto xi = tensor<std::int32_t>({2, 3}, {1, 2, 3, 4, 5, 6});
  const auto y = std::move(rk.run({{"x", &xi}}).at(0));
  EXPECT_EQ(y.shape(), (Shape{3, 2}));
  EXPECT_EQ(values<std::int32_t>(y), (std::vector<std::int32_t>{1, 2, 3, 4, 5, 6}));
}

TEST(OwnKernels, ViewsThatBreakTheGraphsPromiseAreErrors) {
  OwnRun k(binary("Add", {2, 3}, {3}, P::FLOAT));
  const auto a = tensor<float>({2, 3}, {1, 2, 3, 4, 5, 6});
  const auto b_wrong = tensor<float>({4}, {1, 2, 3, 4});
  EXPECT_THROW(k.run({{"a", &a}, {"b", &b_wrong}}), Error);
  const auto b_type = tensor<std::int64_t>({3}, {1, 2, 3});
  EXPECT_THROW(k.run({{"a", &a}, {"b", &b_type}}), Error);
}

// The parallel paths (tensors above the serial threshold) give the same bytes with one and
// with two threads.
TEST(OwnKernels, ParallelPathsMatchOneThread) {
  std::vector<std::pair<std::string, ModelBuilder>> models;
  auto unary = [](const std::string& type, Shape in, int out_rank, int dtype = P::FLOAT) {
    ModelBuilder m;
    m.input("x", in, dtype);
    m.node(type, {"x"}, {"y"});
    m.output("y", out_rank, dtype);
    return m;
  };
  models.emplace_back("pad reflect", pad_model("reflect", {2, 3, 80, 90}, {0, 0, 2, 3, 0, 0, 4, 1}));
  models.emplace_back("pad constant", pad_model("constant", {2, 3, 80, 90}, {0, 1, -2, 3, 0, 0, 4, -1}, 2.5f));
  models.emplace_back("resize linear", resize_model({1, 3, 60, 80}, {1, 1, 1.5f, 2}, {}, {{"mode", "linear"}}));
  models.emplace_back("resize nearest", resize_model({1, 3, 50, 60}, {}, {1, 3, 200, 66}, {{"mode", "nearest"}}));
  {
    ModelBuilder m;
    m.input("x", {8, 5000}).input("i", {30, 200}, P::INT64);
    auto& n = m.node("Gather", {"x", "i"}, {"y"});
    ModelBuilder::attr(n, "axis", std::int64_t(1));
    m.output("y", 3);
    models.emplace_back("gather scalars", std::move(m));
  }
  {
    ModelBuilder m;
    m.input("x", {1000, 64}).input("i", {600}, P::INT64);
    m.node("Gather", {"x", "i"}, {"y"});
    m.output("y", 2);
    models.emplace_back("gather rows", std::move(m));
  }
  {
    ModelBuilder m;
    m.input("a", {4, 300, 40}).input("b", {4, 100, 40});
    auto& n = m.node("Concat", {"a", "b"}, {"y"});
    ModelBuilder::attr(n, "axis", std::int64_t(1));
    m.output("y", 3);
    models.emplace_back("concat", std::move(m));
  }
  {
    ModelBuilder m;
    m.input("x", {4, 50, 300});
    m.ints("s", {2}, {100, 200});
    auto& n = m.node("Split", {"x", "s"}, {"a", "b"});
    ModelBuilder::attr(n, "axis", std::int64_t(2));
    m.output("a", 3).output("b", 3);
    models.emplace_back("split", std::move(m));
  }
  {
    ModelBuilder m;
    m.input("x", {200, 300});
    m.ints("s", {2}, {-1, 1}).ints("e", {2}, {-1000, 1000}).ints("a", {2}, {0, 1}).ints("st", {2}, {-1, 2});
    m.node("Slice", {"x", "s", "e", "a", "st"}, {"y"});
    m.output("y", 2);
    models.emplace_back("slice", std::move(m));
  }
  {
    ModelBuilder m;
    m.input("c", {1, 200, 1}, P::BOOL).input("x", {300, 200, 1}).input("y", {300, 1, 40});
    m.node("Where", {"c", "x", "y"}, {"out"});
    m.output("out", 3);
    models.emplace_back("where", std::move(m));
  }
  {
    ModelBuilder m;
    m.input("x", {300, 1});
    m.ints("shape", {3}, {4, 300, 100});
    m.node("Expand", {"x", "shape"}, {"y"});
    m.output("y", 3);
    models.emplace_back("expand", std::move(m));
  }
  {
    ModelBuilder m;
    m.input("x", {100, 100}, P::INT32);
    m.ints("r", {2}, {2, 3});
    m.node("Tile", {"x", "r"}, {"y"});
    m.output("y", 2, P::INT32);
    models.emplace_back("tile", std::move(m));
  }
  {
    ModelBuilder m;
    m.input("x", {8, 64, 100});
    auto& n = m.node("Transpose", {"x"}, {"y"});
    ModelBuilder::attr(n, "perm", std::vector<std::int64_t>{2, 0, 1});
    m.output("y", 3);
    models.emplace_back("transpose", std::move(m));
  }
  models.emplace_back("reduce mean", reduce_model("ReduceMean", {64, 300, 20}, std::vector<std::int64_t>{1}, 1));
  models.emplace_back("reduce max", reduce_model("ReduceMax", {64, 300, 20}, std::vector<std::int64_t>{2}, 0));
  models.emplace_back("sigmoid", unary("Sigmoid", {300, 300}, 2));
  models.emplace_back("neg int64", unary("Neg", {300, 300}, 2, P::INT64));
  models.emplace_back("add", binary("Add", {300, 1, 64}, {1, 200, 64}, P::FLOAT));
  for (auto& [what, model] : models) {
    OwnRun k(model);
    std::map<std::string, HostTensor> owned;
    std::map<std::string, const HostTensor*> inputs;
    std::uint64_t seed = 1;
    for (const auto& name : k.g.input_names()) {
      const auto& t = k.g.tensor(name);
      owned.emplace(name, hw::random_tensor(t.dtype, t.shape, seed++));
      inputs[name] = &owned.at(name);
    }
    omp_set_num_threads(1);
    const auto one = k.run(inputs);
    omp_set_num_threads(2);
    const auto two = k.run(inputs);
    ASSERT_EQ(one.size(), two.size());
    std::int64_t largest = 0;
    for (const auto& [name, t] : owned) largest = std::max(largest, t.elements());
    for (const auto& t : one) largest = std::max(largest, t.elements());
    EXPECT_GE(largest, 32768) << what << ": too small to take the parallel path";
    for (std::size_t i = 0; i < one.size(); ++i) {
      EXPECT_EQ(std::memcmp(one[i].view().data, two[i].view().data, one[i].size_bytes()), 0) << what;
    }
  }
}

TEST(OwnKernels, FactoryFallsBackToOwnKernelsThroughReferenceRun) {
  // Gather has no oneDNN primitive: the dispatch must end at the own kernel.
  ModelBuilder m;
  m.input("x", {3, 2}).input("i", {2}, P::INT64);
  m.node("Gather", {"x", "i"}, {"y"});
  m.output("y", 2);
  const auto g = graph::import_onnx_bytes(m.bytes(), "gather");
  const auto x = tensor<float>({3, 2}, {1, 2, 3, 4, 5, 6});
  const auto i = tensor<std::int64_t>({2}, {2, -3});
  const auto out = hw::run_reference(g, {{"x", x.view()}, {"i", i.view()}});
  EXPECT_EQ(values<float>(out.at("y")), (std::vector<float>{5, 6, 1, 2}));
}

}  // namespace

#include <gtest/gtest.h>

#include "graph/features.hpp"
#include "graph/onnx_import.hpp"
#include "onnx_test_models.hpp"

namespace sparoa::graph {
namespace {

using test::ModelBuilder;

const Operator& by_name(const Graph& g, const std::string& name) { return g.op(*g.find_op(name)); }

Graph cnn(std::int64_t b, float zeros = 0) {
  ImportOptions o;
  o.batch = b;
  return import_onnx_bytes(test::small_cnn(-1, zeros).bytes(), "cnn.onnx", o);
}

TEST(Features, ConvCountsHandComputed) {
  const Graph g = cnn(2);
  const Features& f = by_name(g, "conv").features;
  // out 2x8x8x8, each output sums 3 channels x 3x3 window.
  EXPECT_DOUBLE_EQ(f.macs, 2.0 * 8 * 8 * 8 * 3 * 3 * 3);
  EXPECT_DOUBLE_EQ(f.flops, 2 * f.macs);
  // bytes: x 2*3*8*8 + W 216 + b 8 + out 2*8*8*8, float32
  EXPECT_DOUBLE_EQ(f.bytes, 4.0 * (2 * 3 * 64 + 216 + 8 + 2 * 8 * 64));
  EXPECT_DOUBLE_EQ(f.intensity, f.flops / f.bytes);
  EXPECT_EQ(f.params, 216 + 8);
  EXPECT_EQ(f.weight_elements, 216);
}

TEST(Features, GemmAndBatchNormParameters) {
  const Graph g = cnn(1);
  const Features& fc = by_name(g, "fc").features;
  EXPECT_DOUBLE_EQ(fc.macs, 1.0 * 4 * 8);
  EXPECT_EQ(fc.params, 32 + 4);
  const Features& bn = by_name(g, "bn").features;
  EXPECT_EQ(bn.params, 16) << "running mean and variance are not parameters";
  EXPECT_DOUBLE_EQ(bn.macs, 0);
  EXPECT_DOUBLE_EQ(bn.flops, 2.0 * 8 * 8 * 8);
  EXPECT_FALSE(bn.has_weights());
  const auto t = totals(g);
  EXPECT_EQ(t.params, 216 + 8 + 16 + 36);
  EXPECT_DOUBLE_EQ(t.macs, 8.0 * 64 * 27 + 32);
}

TEST(Features, FeaturesScaleWithBatch) {
  const Graph g1 = cnn(1), g4 = cnn(4);
  EXPECT_DOUBLE_EQ(totals(g4).macs, 4 * totals(g1).macs);
  EXPECT_EQ(totals(g4).params, totals(g1).params);
}

TEST(Features, WeightSparsityCountsExactZeros) {
  const Graph g = cnn(1, 0.5f);
  const Features& f = by_name(g, "conv").features;
  EXPECT_EQ(f.weight_zeros, 108);
  EXPECT_DOUBLE_EQ(f.weight_sparsity, 0.5);
  EXPECT_DOUBLE_EQ(by_name(g, "fc").features.weight_sparsity, 0.0);
}

TEST(Features, MatMulWithBroadcastBatch) {
  ModelBuilder b;
  b.input("a", {2, 3, 5, 7});
  b.input("c", {7, 11});
  b.node("MatMul", {"a", "c"}, {"y"}, "mm");
  b.output("y", 4);
  const Graph g = import_onnx_bytes(b.bytes(), "mm.onnx");
  EXPECT_DOUBLE_EQ(by_name(g, "mm").features.macs, 2.0 * 3 * 5 * 11 * 7);
  EXPECT_EQ(by_name(g, "mm").features.params, 0) << "both operands are activations";
}

TEST(Features, ScalarConstantsAreNotParameters) {
  ModelBuilder b;
  b.input("x", {1, 4});
  b.weight("half", {}, {0.5f});
  b.weight("bias", {4}, {1, 2, 3, 4});
  b.node("Mul", {"x", "half"}, {"h"}, "scale");
  b.node("Add", {"h", "bias"}, {"y"}, "shift");
  b.output("y", 2);
  const Graph g = import_onnx_bytes(b.bytes(), "s.onnx");
  EXPECT_EQ(by_name(g, "scale").features.params, 0);
  EXPECT_EQ(by_name(g, "shift").features.params, 4);
}

TEST(Features, PoolingAndSoftmaxRules) {
  ModelBuilder b;
  b.input("x", {1, 2, 8, 8});
  auto& mp = b.node("MaxPool", {"x"}, {"p"}, "pool");
  ModelBuilder::attr(mp, "kernel_shape", std::vector<std::int64_t>{2, 2});
  ModelBuilder::attr(mp, "strides", std::vector<std::int64_t>{2, 2});
  b.node("Softmax", {"p"}, {"y"}, "sm");
  b.output("y", 4);
  const Graph g = import_onnx_bytes(b.bytes(), "p.onnx");
  EXPECT_DOUBLE_EQ(by_name(g, "pool").features.flops, 2.0 * 4 * 4 * 4);
  EXPECT_DOUBLE_EQ(by_name(g, "sm").features.flops, 5.0 * 2 * 16);
}

TEST(Features, QuadrantsFollowThresholds) {
  Features f;
  f.weight_elements = 10;
  f.weight_sparsity = 0.8;
  f.intensity = 3;
  EXPECT_EQ(quadrant(f, {0.5, 10}), Quadrant::sparse_low_intensity);
  EXPECT_EQ(quadrant(f, {0.9, 10}), Quadrant::dense_low_intensity);
  EXPECT_EQ(quadrant(f, {0.5, 2}), Quadrant::sparse_high_intensity);
  EXPECT_EQ(quadrant(f, {0.9, 2}), Quadrant::dense_high_intensity);
  // Without weights the default rule uses activation sparsity.
  Features act;
  act.activation_sparsity = 0.7;
  act.activation_provenance = SparsityProvenance::synthetic;
  EXPECT_DOUBLE_EQ(rho(act), 0.7);
  EXPECT_DOUBLE_EQ(rho(f, RhoSource::activation), 0.0);
  EXPECT_DOUBLE_EQ(rho(f, RhoSource::max), 0.8);
  EXPECT_EQ(quadrant_name(Quadrant::dense_high_intensity), "dense/high-I");
}

}  // namespace
}  // namespace sparoa::graph

namespace sparoa::graph {
namespace {

// y = Concat(Expand(cls, [N, 1, 4]), x): ViT's class token. The broadcast must stay an
// operator (its input is a parameter) and the parameters must not grow with the batch.
TEST(Features, BroadcastParameterIsNotFoldedNorCountedPerSample) {
  test::ModelBuilder b;
  b.input("x", {-1, 2, 4});
  b.weight("cls", {1, 1, 4}, {1, 2, 3, 4});
  b.ints("tail", {2}, {1, 4});
  auto& shape = b.node("Shape", {"x"}, {"n"}, "shape");
  test::ModelBuilder::attr(shape, "end", std::int64_t{1});
  auto& cat = b.node("Concat", {"n", "tail"}, {"target"}, "target_cat");
  test::ModelBuilder::attr(cat, "axis", std::int64_t{0});
  b.node("Expand", {"cls", "target"}, {"cls_b"}, "expand");
  auto& join = b.node("Concat", {"cls_b", "x"}, {"y"}, "join");
  test::ModelBuilder::attr(join, "axis", std::int64_t{1});
  b.output("y", 3);
  for (std::int64_t batch : {1, 3}) {
    ImportOptions o;
    o.batch = batch;
    const Graph g = import_onnx_bytes(b.bytes(), "cls.onnx", o);
    ASSERT_TRUE(g.find_op("expand").has_value()) << "Expand of a parameter must not fold";
    EXPECT_TRUE(g.tensor("target").derived);
    EXPECT_EQ(totals(g).params, 4) << "batch " << batch;
    EXPECT_EQ(g.tensor("y").shape, (Shape{batch, 3, 4}));
  }
}

}  // namespace
}  // namespace sparoa::graph

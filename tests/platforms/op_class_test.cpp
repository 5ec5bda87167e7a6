// Tests of platforms/op_class.cpp: every importable type has a class; operands decide the
// class of Conv and MatMul.
#include <gtest/gtest.h>

#include "graph/graph.hpp"
#include "graph/onnx_import.hpp"
#include "platforms/op_class.hpp"
#include "support/error.hpp"

namespace {

using namespace sparoa;
using platforms::OpClass;

graph::Operator make_op(const std::string& type, std::vector<std::string> inputs = {}) {
  graph::Operator op;
  op.name = "op_" + type;
  op.type = type;
  op.inputs = std::move(inputs);
  return op;
}

void add(graph::Graph& g, const std::string& name, graph::Shape shape, graph::TensorRole role) {
  graph::Tensor t;
  t.name = name;
  t.dtype = graph::DType::f32;
  t.shape = std::move(shape);
  t.role = role;
  g.add_tensor(std::move(t));
}

TEST(OpClass, EverySupportedTypeHasAClass) {
  const graph::Graph g;
  for (const auto& type : graph::supported_operator_types()) {
    EXPECT_NO_THROW(platforms::op_class(make_op(type), g)) << type;
  }
}

TEST(OpClass, ExamplesOfEachClass) {
  const graph::Graph g;
  const std::vector<std::pair<std::string, OpClass>> cases = {
      {"Conv", OpClass::conv},          {"ConvTranspose", OpClass::conv},
      {"Gemm", OpClass::gemm},          {"MatMul", OpClass::matmul},
      {"MaxPool", OpClass::pool},       {"GlobalAveragePool", OpClass::pool},
      {"BatchNormalization", OpClass::normalization}, {"LayerNormalization", OpClass::normalization},
      {"Softmax", OpClass::softmax},    {"Relu", OpClass::elementwise},
      {"HardSwish", OpClass::elementwise}, {"Add", OpClass::elementwise},
      {"ReduceMean", OpClass::reduce},  {"Reshape", OpClass::data_movement},
      {"Transpose", OpClass::data_movement}, {"Gather", OpClass::data_movement},
  };
  for (const auto& [type, expected] : cases) EXPECT_EQ(platforms::op_class(make_op(type), g), expected) << type;
}

TEST(OpClass, UnknownTypeNamesTheOperator) {
  const graph::Graph g;
  try {
    platforms::op_class(make_op("FancyAttention"), g);
    ADD_FAILURE() << "no error";
  } catch (const Error& e) {
    EXPECT_EQ(e.where(), "operator 'op_FancyAttention'");
    EXPECT_NE(std::string(e.what()).find("no cost-model class for type 'FancyAttention'"), std::string::npos);
  }
}

TEST(OpClass, DepthwiseConvolution) {
  graph::Graph g;
  add(g, "x", {1, 8, 4, 4}, graph::TensorRole::input);
  add(g, "w_dw", {8, 1, 3, 3}, graph::TensorRole::weight);
  add(g, "w_grouped", {8, 4, 3, 3}, graph::TensorRole::weight);
  add(g, "one", {1, 1, 4, 4}, graph::TensorRole::input);
  graph::Operator dw = make_op("Conv", {"x", "w_dw"});
  dw.attributes["group"] = std::int64_t{8};
  EXPECT_EQ(platforms::op_class(dw, g), OpClass::depthwise_conv);
  graph::Operator grouped = make_op("Conv", {"x", "w_grouped"});
  grouped.attributes["group"] = std::int64_t{2};
  EXPECT_EQ(platforms::op_class(grouped, g), OpClass::conv);
  graph::Operator plain = make_op("Conv", {"x", "w_grouped"});
  EXPECT_EQ(platforms::op_class(plain, g), OpClass::conv);
  // One input channel and group 1: a plain convolution, not a depthwise one.
  graph::Operator single = make_op("Conv", {"one", "w_dw"});
  single.attributes["group"] = std::int64_t{1};
  EXPECT_EQ(platforms::op_class(single, g), OpClass::conv);
}

TEST(OpClass, MatMulWithAWeightIsGemm) {
  graph::Graph g;
  add(g, "a", {1, 4, 8}, graph::TensorRole::input);
  add(g, "b", {1, 8, 4}, graph::TensorRole::input);
  add(g, "w", {8, 4}, graph::TensorRole::weight);
  add(g, "w0", {4, 1, 4}, graph::TensorRole::weight);
  EXPECT_EQ(platforms::op_class(make_op("MatMul", {"a", "w"}), g), OpClass::gemm);
  EXPECT_EQ(platforms::op_class(make_op("MatMul", {"w0", "a"}), g), OpClass::gemm);
  EXPECT_EQ(platforms::op_class(make_op("MatMul", {"a", "b"}), g), OpClass::matmul);
}

TEST(OpClass, NamesRoundTrip) {
  const auto names = platforms::op_class_names();
  ASSERT_EQ(names.size(), platforms::kOpClassCount);
  for (std::size_t i = 0; i < names.size(); ++i) {
    OpClass c{};
    ASSERT_TRUE(platforms::parse_op_class(names[i], c)) << names[i];
    EXPECT_EQ(static_cast<std::size_t>(c), i);
    EXPECT_EQ(platforms::to_string(c), names[i]);
  }
  OpClass c{};
  EXPECT_FALSE(platforms::parse_op_class("default", c));
  EXPECT_FALSE(platforms::parse_op_class("Conv", c));
}

}  // namespace

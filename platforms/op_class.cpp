#include "platforms/op_class.hpp"

#include <array>
#include <map>
#include <string>

#include "graph/graph.hpp"
#include "support/error.hpp"

namespace sparoa::platforms {
namespace {

constexpr std::array<std::string_view, kOpClassCount> kNames = {
    "conv", "depthwise_conv", "gemm", "matmul", "pool", "normalization", "softmax", "elementwise", "reduce",
    "data_movement"};

// Every type of graph::supported_operator_types() (a test checks the list). Conv, ConvTranspose
// and MatMul are decided by their operands in op_class() below.
const std::map<std::string, OpClass, std::less<>>& type_classes() {
  static const std::map<std::string, OpClass, std::less<>> kTypes = {
      {"Conv", OpClass::conv},
      {"ConvTranspose", OpClass::conv},
      {"Gemm", OpClass::gemm},
      {"MatMul", OpClass::matmul},
      {"AveragePool", OpClass::pool},
      {"MaxPool", OpClass::pool},
      {"GlobalAveragePool", OpClass::pool},
      {"GlobalMaxPool", OpClass::pool},
      {"BatchNormalization", OpClass::normalization},
      {"LayerNormalization", OpClass::normalization},
      {"Softmax", OpClass::softmax},
      // Activations, arithmetic, comparisons, casts: one pass over the elements.
      {"Abs", OpClass::elementwise},
      {"Add", OpClass::elementwise},
      {"Cast", OpClass::elementwise},
      {"Clip", OpClass::elementwise},
      {"Div", OpClass::elementwise},
      {"Equal", OpClass::elementwise},
      {"Erf", OpClass::elementwise},
      {"Exp", OpClass::elementwise},
      {"Greater", OpClass::elementwise},
      {"GreaterOrEqual", OpClass::elementwise},
      {"HardSigmoid", OpClass::elementwise},
      {"HardSwish", OpClass::elementwise},
      {"LeakyRelu", OpClass::elementwise},
      {"Less", OpClass::elementwise},
      {"LessOrEqual", OpClass::elementwise},
      {"Log", OpClass::elementwise},
      {"Max", OpClass::elementwise},
      {"Min", OpClass::elementwise},
      {"Mul", OpClass::elementwise},
      {"Neg", OpClass::elementwise},
      {"Not", OpClass::elementwise},
      {"PRelu", OpClass::elementwise},
      {"Pow", OpClass::elementwise},
      {"Reciprocal", OpClass::elementwise},
      {"Relu", OpClass::elementwise},
      {"Sigmoid", OpClass::elementwise},
      {"Sqrt", OpClass::elementwise},
      {"Sub", OpClass::elementwise},
      {"Tanh", OpClass::elementwise},
      {"Where", OpClass::elementwise},
      {"ReduceMax", OpClass::reduce},
      {"ReduceMean", OpClass::reduce},
      {"ReduceMin", OpClass::reduce},
      {"ReduceSum", OpClass::reduce},
      // Copies and index arithmetic: no FLOPs worth the name, only bytes.
      {"Concat", OpClass::data_movement},
      {"Dropout", OpClass::data_movement},  // inference: a copy
      {"Expand", OpClass::data_movement},
      {"Flatten", OpClass::data_movement},
      {"Gather", OpClass::data_movement},
      {"Identity", OpClass::data_movement},
      {"Pad", OpClass::data_movement},
      {"Reshape", OpClass::data_movement},
      {"Resize", OpClass::data_movement},
      {"Slice", OpClass::data_movement},
      {"Split", OpClass::data_movement},
      {"Squeeze", OpClass::data_movement},
      {"Tile", OpClass::data_movement},
      {"Transpose", OpClass::data_movement},
      {"Unsqueeze", OpClass::data_movement},
  };
  return kTypes;
}

bool is_weight(const graph::Operator& op, std::size_t input, const graph::Graph& g) {
  if (input >= op.inputs.size() || op.inputs[input].empty()) return false;
  const graph::Tensor* t = g.find_tensor(op.inputs[input]);
  return t != nullptr && t->role == graph::TensorRole::weight;
}

}  // namespace

std::string_view to_string(OpClass c) { return kNames.at(static_cast<std::size_t>(c)); }

bool parse_op_class(std::string_view text, OpClass& out) {
  for (std::size_t i = 0; i < kNames.size(); ++i) {
    if (kNames[i] == text) {
      out = static_cast<OpClass>(i);
      return true;
    }
  }
  return false;
}

std::vector<std::string_view> op_class_names() { return {kNames.begin(), kNames.end()}; }

OpClass op_class(const graph::Operator& op, const graph::Graph& g) {
  const auto& types = type_classes();
  const auto it = types.find(op.type);
  if (it == types.end()) {
    throw Error("operator '" + op.name + "'", "no cost-model class for type '" + op.type + "'");
  }
  if (op.type == "Conv" || op.type == "ConvTranspose") {
    // Depthwise: one group per input channel. Its arithmetic per byte is a fraction of a
    // dense convolution's and kernels reach a much lower share of the peak.
    const std::int64_t group = op.attr_int("group", 1);
    if (group > 1 && !op.inputs.empty()) {
      const graph::Tensor* x = g.find_tensor(op.inputs[0]);
      if (x != nullptr && x->shape.size() >= 2 && x->shape[1] == group) return OpClass::depthwise_conv;
    }
    return OpClass::conv;
  }
  if (op.type == "MatMul") {
    return is_weight(op, 0, g) || is_weight(op, 1, g) ? OpClass::gemm : OpClass::matmul;
  }
  return it->second;
}

}  // namespace sparoa::platforms

#pragma once
// Operator classes: the granularity of the cost model. Every ONNX type the importer accepts
// maps to exactly one class (a test checks the whole list).
#include <string_view>
#include <vector>

namespace sparoa::graph {
struct Operator;
class Graph;
}  // namespace sparoa::graph

namespace sparoa::platforms {

enum class OpClass {
  conv,            // Conv / ConvTranspose with group 1 (or few groups)
  depthwise_conv,  // Conv with group == input channels
  gemm,            // Gemm, MatMul with a constant (weight) operand
  matmul,          // MatMul of two activations (attention)
  pool,            // MaxPool, AveragePool, GlobalAveragePool, ...
  normalization,   // BatchNormalization, LayerNormalization, InstanceNormalization, ...
  softmax,         // Softmax, LogSoftmax
  elementwise,     // activations and binary arithmetic
  reduce,          // ReduceMean, ReduceSum, ...
  data_movement,   // Reshape, Transpose, Concat, Slice, Gather, Resize, Pad, ...
};
inline constexpr std::size_t kOpClassCount = 10;

std::string_view to_string(OpClass c);
bool parse_op_class(std::string_view text, OpClass& out);
std::vector<std::string_view> op_class_names();
// Throws sparoa::Error naming the operator when its type is unknown here.
OpClass op_class(const graph::Operator& op, const graph::Graph& g);

}  // namespace sparoa::platforms

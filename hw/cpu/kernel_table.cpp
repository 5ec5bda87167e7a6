// What runs each operator type on the CPU: hw/README.md shows this table, and a test checks
// that every type the importer supports has a row and that the README agrees.
#include "hw/cpu/cpu_kernel.hpp"

namespace sparoa::hw {

const std::vector<CpuKernelTableRow>& cpu_kernel_table() {
  static const std::string eltwise = "oneDNN eltwise (float32); own otherwise";
  static const std::string binary = "oneDNN binary (float32, when oneDNN can broadcast it); own otherwise";
  static const std::string own = "own";
  static const std::vector<CpuKernelTableRow> rows = {
      {"Abs", eltwise, ""},
      {"Add", binary, ""},
      {"AveragePool", "oneDNN pooling", ""},
      {"BatchNormalization", "own (float32, inference); oneDNN batch normalization otherwise and when fused", ""},
      {"Cast", own, ""},
      {"Clip", "oneDNN eltwise (float32, constant bounds); own otherwise", ""},
      {"Concat", "own (block copies)", ""},
      {"Conv", "oneDNN convolution (blocked layouts where they pay)", "CSR direct convolution (phase-split padded input, no im2col; groups and depthwise too)"},
      {"ConvTranspose", "oneDNN deconvolution", "CSR SpMM + col2im"},
      {"Div", binary, ""},
      {"Dropout", "own (inference: a copy)", ""},
      {"Equal", own, ""},
      {"Erf", own, ""},
      {"Exp", eltwise, ""},
      {"Expand", own, ""},
      {"Flatten", own, ""},
      {"Gather", own, ""},
      {"Gemm", "oneDNN matmul", "CSR SpMM (constant weight)"},
      {"GlobalAveragePool", "own (float32); oneDNN reduction otherwise", ""},
      {"GlobalMaxPool", "own (float32); oneDNN reduction otherwise", ""},
      {"Greater", own, ""},
      {"GreaterOrEqual", own, ""},
      {"HardSigmoid", own, ""},
      {"HardSwish", eltwise, ""},
      {"Identity", own, ""},
      {"LayerNormalization", "oneDNN layer normalization", ""},
      {"LeakyRelu", eltwise, ""},
      {"Less", own, ""},
      {"LessOrEqual", own, ""},
      {"Log", eltwise, ""},
      {"MatMul", "oneDNN matmul", "CSR SpMM (constant operand, either side)"},
      {"Max", binary, ""},
      {"MaxPool", "oneDNN pooling", ""},
      {"Min", binary, ""},
      {"Mul", binary, ""},
      {"Neg", eltwise, ""},
      {"Not", own, ""},
      {"PRelu", "oneDNN prelu (float32); own otherwise", ""},
      {"Pad", own, ""},
      {"Pow", own, ""},
      {"Reciprocal", eltwise, ""},
      {"ReduceMax", "oneDNN reduction (float32, constant axes); own otherwise", ""},
      {"ReduceMean", "oneDNN reduction (float32, constant axes); own otherwise", ""},
      {"ReduceMin", "oneDNN reduction (float32, constant axes); own otherwise", ""},
      {"ReduceSum", "oneDNN reduction (float32, constant axes); own otherwise", ""},
      {"Relu", eltwise, ""},
      {"Reshape", own, ""},
      {"Resize", own, ""},
      {"Sigmoid", eltwise, ""},
      {"Slice", own, ""},
      {"Softmax", "oneDNN softmax", ""},
      {"Split", own, ""},
      {"Sqrt", eltwise, ""},
      {"Squeeze", own, ""},
      {"Sub", binary, ""},
      {"Tanh", eltwise, ""},
      {"Tile", own, ""},
      {"Transpose", own, ""},
      {"Unsqueeze", own, ""},
      {"Where", own, ""},
  };
  return rows;
}

}  // namespace sparoa::hw

// What runs each supported operator on the GPU (hw/README.md shows this table; a test keeps
// the two equal and checks that every type the importer supports has a row). Compiled in
// every build, with or without CUDA.
#include "hw/gpu/gpu_kernel.hpp"

namespace sparoa::hw::gpu {

const std::vector<GpuKernelTableRow>& gpu_kernel_table() {
  static const std::vector<GpuKernelTableRow> rows = {
      {"Abs", "own", ""},
      {"Add", "own (broadcasting)", ""},
      {"AveragePool", "cuDNN pooling; own (dilations, asymmetric pads, ceil_mode, 1-D)", ""},
      {"BatchNormalization", "cuDNN batch normalization (inference, float32)", ""},
      {"Cast", "own", ""},
      {"Clip", "own", ""},
      {"Concat", "own (strided copies)", ""},
      {"Conv", "cuDNN convolution (grouped, depthwise, 1-D to 3-D; asymmetric pads through own pad)", "cuSPARSE SpMM (CSR) + own im2col (1-D, 2-D)"},
      {"ConvTranspose", "cuDNN backward data + own crop", ""},
      {"Div", "own (broadcasting)", ""},
      {"Dropout", "own (inference: a copy)", ""},
      {"Equal", "own (broadcasting)", ""},
      {"Erf", "own", ""},
      {"Exp", "own", ""},
      {"Expand", "own (strided copy)", ""},
      {"Flatten", "own (a copy)", ""},
      {"Gather", "own", ""},
      {"Gemm", "cuBLAS sgemm", "cuSPARSE SpMM (CSR, constant operand)"},
      {"GlobalAveragePool", "own (reduction)", ""},
      {"GlobalMaxPool", "own (reduction)", ""},
      {"Greater", "own (broadcasting)", ""},
      {"GreaterOrEqual", "own (broadcasting)", ""},
      {"HardSigmoid", "own", ""},
      {"HardSwish", "own", ""},
      {"Identity", "own (a copy)", ""},
      {"LayerNormalization", "own (float32)", ""},
      {"LeakyRelu", "own", ""},
      {"Less", "own (broadcasting)", ""},
      {"LessOrEqual", "own (broadcasting)", ""},
      {"Log", "own", ""},
      {"MatMul", "cuBLAS sgemm (strided batched where batches step evenly)", "cuSPARSE SpMM (CSR, constant 2-D operand)"},
      {"Max", "own (broadcasting)", ""},
      {"MaxPool", "cuDNN pooling; own (Indices, dilations, asymmetric pads, ceil_mode, 1-D)", ""},
      {"Min", "own (broadcasting)", ""},
      {"Mul", "own (broadcasting)", ""},
      {"Neg", "own", ""},
      {"Not", "own", ""},
      {"PRelu", "own (broadcasting)", ""},
      {"Pad", "own (constant, edge, reflect)", ""},
      {"Pow", "own (broadcasting)", ""},
      {"Reciprocal", "own", ""},
      {"ReduceMax", "own", ""},
      {"ReduceMean", "own", ""},
      {"ReduceMin", "own", ""},
      {"ReduceSum", "own", ""},
      {"Relu", "cuDNN activation (float32); own otherwise", ""},
      {"Reshape", "own (a copy)", ""},
      {"Resize", "own (nearest, linear; the CPU kernel's tables)", ""},
      {"Sigmoid", "cuDNN activation (float32); own otherwise", ""},
      {"Slice", "own (strided copy)", ""},
      {"Softmax", "cuDNN softmax (float32)", ""},
      {"Split", "own (strided copies)", ""},
      {"Sqrt", "own", ""},
      {"Squeeze", "own (a copy)", ""},
      {"Sub", "own (broadcasting)", ""},
      {"Tanh", "cuDNN activation (float32); own otherwise", ""},
      {"Tile", "own (strided copy)", ""},
      {"Transpose", "own (strided copy)", ""},
      {"Unsqueeze", "own (a copy)", ""},
      {"Where", "own (broadcasting)", ""},
  };
  return rows;
}

}  // namespace sparoa::hw::gpu

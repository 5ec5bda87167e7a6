// Entry point of the own kernel family: portable C++ kernels for what oneDNN lacks (Gather,
// Slice, Where, ...) and for the cases its primitives refuse (other element types than
// float32, broadcasts it cannot express). Each operator type belongs to one file:
//   own_elementwise.cpp  arithmetic, comparisons, Where, Not, activations, Clip, PRelu, Max/Min
//   own_data_movement.cpp  Reshape & co (copies), Transpose, Gather, Slice, Split, Concat,
//                        Tile, Expand, Pad, Dropout
//   own_cast.cpp         Cast
//   own_reduce.cpp       ReduceMean/Sum/Max/Min
//   own_resize.cpp       Resize (nearest, linear)
#include <unordered_map>

#include "hw/cpu/own_common.hpp"

namespace sparoa::hw {

std::unique_ptr<CpuKernel> make_own_kernel(const KernelContext& ctx) {
  // Own kernels have no fused epilogues: a fusion group is oneDNN's or the sparse kernels'.
  if (ctx.group.fused()) return nullptr;
  using Factory = std::unique_ptr<CpuKernel> (*)(const KernelContext&);
  static const std::unordered_map<std::string, Factory> families = [] {
    std::unordered_map<std::string, Factory> m;
    for (const char* t : {"Add", "Sub", "Mul", "Div", "Pow", "Max", "Min", "Equal", "Greater", "GreaterOrEqual", "Less",
                          "LessOrEqual", "Where", "Not", "Relu", "LeakyRelu", "Clip", "Sigmoid", "Tanh", "Exp", "Log",
                          "Sqrt", "Abs", "Neg", "Reciprocal", "Erf", "HardSigmoid", "HardSwish", "PRelu"}) {
      m[t] = own::make_elementwise_kernel;
    }
    for (const char* t : {"Reshape", "Flatten", "Squeeze", "Unsqueeze", "Identity", "Dropout", "Transpose", "Gather",
                          "Slice", "Split", "Concat", "Tile", "Expand", "Pad"}) {
      m[t] = own::make_data_movement_kernel;
    }
    m["Cast"] = own::make_cast_kernel;
    for (const char* t : {"ReduceMean", "ReduceSum", "ReduceMax", "ReduceMin"}) m[t] = own::make_reduce_kernel;
    m["Resize"] = own::make_resize_kernel;
    return m;
  }();
  const auto it = families.find(ctx.root().type);
  if (it == families.end()) return nullptr;
  return it->second(ctx);
}

}  // namespace sparoa::hw

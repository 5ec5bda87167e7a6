#pragma once
// Building blocks shared by the CNNs: convolution, batch normalisation, the activations of
// the torchvision models, squeeze-excitation and the classifier head.
#include <cstdint>
#include <string>

#include "graph/zoo/onnx_builder.hpp"

namespace sparoa::graph::zoo::detail {

enum class Act { none, relu, relu6, hardswish, hardsigmoid, silu, sigmoid };

// Applies `act` to `x`; ReLU6 is Clip(0, 6) with shared scalar bounds, SiLU is x * Sigmoid(x),
// HardSigmoid/HardSwish use PyTorch's slope 1/6. Returns `x` itself for Act::none.
std::string activation(OnnxBuilder& b, const std::string& name, const std::string& x, Act act);

struct ConvSpec {
  std::int64_t in = 0, out = 0, kernel = 1, stride = 1, groups = 1;
  std::int64_t pad = -1;  // -1: (kernel - 1) / 2, "same" for odd kernels at stride 1
  bool bias = false;
};
// Conv node "<name>" with weight "<name>.weight" (and "<name>.bias").
std::string conv(OnnxBuilder& b, const std::string& name, const std::string& x, const ConvSpec& spec);

// BatchNormalization node "<name>": scale, shift and running statistics as initializers.
std::string batch_norm(OnnxBuilder& b, const std::string& name, const std::string& x,
                       std::int64_t channels, float epsilon);

// Conv (no bias) -> BatchNormalization -> activation, named "<prefix>.conv", "<prefix>.bn", ...
std::string conv_bn_act(OnnxBuilder& b, const std::string& prefix, const std::string& x,
                        const ConvSpec& spec, Act act, float bn_epsilon = 1e-5f);

// GlobalAveragePool -> Conv 1x1 -> act -> Conv 1x1 -> gate -> Mul with x.
std::string squeeze_excitation(OnnxBuilder& b, const std::string& prefix, const std::string& x,
                               std::int64_t channels, std::int64_t squeeze, Act act, Act gate);

// Gemm (transB = 1) with bias: x [N, in] -> [N, out]; the output tensor is `output` when given.
std::string linear(OnnxBuilder& b, const std::string& name, const std::string& x,
                   std::int64_t in, std::int64_t out, const std::string& output = {});

// GlobalAveragePool -> Flatten (axis 1): [N, C, H, W] -> [N, C].
std::string global_pool_flatten(OnnxBuilder& b, const std::string& prefix, const std::string& x);

// torchvision's _make_divisible: round to the nearest multiple of `divisor`, never below
// 90% of `value`.
std::int64_t make_divisible(double value, std::int64_t divisor = 8);

}  // namespace sparoa::graph::zoo::detail

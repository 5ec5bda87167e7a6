#include "graph/zoo/cnn_layers.hpp"

#include <algorithm>

namespace sparoa::graph::zoo::detail {

std::string activation(OnnxBuilder& b, const std::string& name, const std::string& x, Act act) {
  switch (act) {
    case Act::none:
      return x;
    case Act::relu:
      return b.node("Relu", name, {x});
    case Act::relu6:
      return b.node("Clip", name, {x, b.scalar("const.clip_min_0", 0.0f), b.scalar("const.clip_max_6", 6.0f)});
    case Act::hardswish:
      return b.node("HardSwish", name, {x});
    case Act::hardsigmoid:
      // ONNX's default slope is 0.2; PyTorch's Hardsigmoid is relu6(x + 3) / 6.
      return b.node("HardSigmoid", name, {x}, {{"alpha", 1.0f / 6.0f}, {"beta", 0.5f}});
    case Act::sigmoid:
      return b.node("Sigmoid", name, {x});
    case Act::silu:
      return b.node("Mul", name, {x, b.node("Sigmoid", name + ".sigmoid", {x})});
  }
  return x;
}

std::string conv(OnnxBuilder& b, const std::string& name, const std::string& x, const ConvSpec& s) {
  const std::int64_t in_per_group = s.in / s.groups;
  const std::int64_t pad = s.pad >= 0 ? s.pad : (s.kernel - 1) / 2;
  std::vector<std::string> inputs{
      x, b.weight(name + ".weight", {s.out, in_per_group, s.kernel, s.kernel},
                  in_per_group * s.kernel * s.kernel, {s.out, in_per_group, s.kernel * s.kernel})};
  if (s.bias) inputs.push_back(b.bias(name + ".bias", s.out, in_per_group * s.kernel * s.kernel));
  std::vector<Attribute> attrs{{"kernel_shape", Ints{s.kernel, s.kernel}},
                               {"strides", Ints{s.stride, s.stride}},
                               {"pads", Ints{pad, pad, pad, pad}}};
  if (s.groups != 1) attrs.push_back({"group", s.groups});
  return b.node("Conv", name, inputs, attrs);
}

std::string batch_norm(OnnxBuilder& b, const std::string& name, const std::string& x,
                       std::int64_t channels, float epsilon) {
  // Plausible trained-looking statistics: scale near 1, small shifts and means, variances
  // strictly positive.
  return b.node("BatchNormalization", name,
                {x, b.uniform(name + ".weight", {channels}, 0.5f, 1.5f),
                 b.uniform(name + ".bias", {channels}, -0.1f, 0.1f),
                 b.uniform(name + ".running_mean", {channels}, -0.1f, 0.1f),
                 b.uniform(name + ".running_var", {channels}, 0.5f, 1.5f)},
                {{"epsilon", epsilon}});
}

std::string conv_bn_act(OnnxBuilder& b, const std::string& prefix, const std::string& x,
                        const ConvSpec& spec, Act act, float bn_epsilon) {
  auto y = conv(b, prefix + ".conv", x, spec);
  y = batch_norm(b, prefix + ".bn", y, spec.out, bn_epsilon);
  return activation(b, prefix + ".act", y, act);
}

std::string squeeze_excitation(OnnxBuilder& b, const std::string& prefix, const std::string& x,
                               std::int64_t channels, std::int64_t squeeze, Act act, Act gate) {
  auto s = b.node("GlobalAveragePool", prefix + ".avgpool", {x});
  s = conv(b, prefix + ".fc1", s, {.in = channels, .out = squeeze, .bias = true});
  s = activation(b, prefix + ".act", s, act);
  s = conv(b, prefix + ".fc2", s, {.in = squeeze, .out = channels, .bias = true});
  s = activation(b, prefix + ".gate", s, gate);
  return b.node("Mul", prefix + ".scale", {x, s});
}

std::string linear(OnnxBuilder& b, const std::string& name, const std::string& x,
                   std::int64_t in, std::int64_t out, const std::string& output) {
  return b.node("Gemm", name,
                {x, b.weight(name + ".weight", {out, in}, in, {out, in, 1}), b.bias(name + ".bias", out, in)},
                {{"transB", std::int64_t{1}}}, output);
}

std::string global_pool_flatten(OnnxBuilder& b, const std::string& prefix, const std::string& x) {
  auto y = b.node("GlobalAveragePool", prefix + ".avgpool", {x});
  return b.node("Flatten", prefix + ".flatten", {y}, {{"axis", std::int64_t{1}}});
}

std::int64_t make_divisible(double value, std::int64_t divisor) {
  auto rounded = std::max<std::int64_t>(
      divisor, static_cast<std::int64_t>(value + static_cast<double>(divisor) / 2) / divisor * divisor);
  if (static_cast<double>(rounded) < 0.9 * value) rounded += divisor;
  return rounded;
}

}  // namespace sparoa::graph::zoo::detail

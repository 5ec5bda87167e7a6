// EfficientNet-B0 as in torchvision 0.14 (width and depth 1.0; stochastic depth and dropout
// are identities at inference and omitted).
#include <algorithm>
#include <cmath>
#include <string>

#include "graph/zoo/cnn_layers.hpp"
#include "graph/zoo/model_builders.hpp"

namespace sparoa::graph::zoo::detail {

void build_efficientnet_b0(OnnxBuilder& b, const Variant& v) {
  const std::int64_t r = image_size(v);
  auto x = b.input("input", onnx::TensorProto_DataType_FLOAT, {3, r, r});
  x = conv_bn_act(b, "features.0", x, {.in = 3, .out = scaled(32, v), .kernel = 3, .stride = 2}, Act::silu);
  struct Stage {
    std::int64_t expand, kernel, stride, in, out, repeats;
  };
  constexpr Stage stages[] = {{1, 3, 1, 32, 16, 1},  {6, 3, 2, 16, 24, 2},  {6, 5, 2, 24, 40, 2},
                              {6, 3, 2, 40, 80, 3},  {6, 5, 1, 80, 112, 3}, {6, 5, 2, 112, 192, 4},
                              {6, 3, 1, 192, 320, 1}};
  int stage_index = 1;
  for (auto stage : stages) {
    stage.in = scaled(stage.in, v);
    stage.out = scaled(stage.out, v);
    // EfficientNet rounds scaled depths up (B1-B7 are built this way).
    if (v.depth != 1) stage.repeats = std::int64_t(std::ceil(double(stage.repeats) * v.depth));
    for (std::int64_t i = 0; i < stage.repeats; ++i) {
      const std::string prefix = "features." + std::to_string(stage_index) + "." + std::to_string(i);
      const std::int64_t in = i == 0 ? stage.in : stage.out;
      const std::int64_t stride = i == 0 ? stage.stride : 1;
      const std::int64_t expanded = make_divisible(double(in * stage.expand));
      auto y = x;
      if (expanded != in) y = conv_bn_act(b, prefix + ".expand", y, {.in = in, .out = expanded}, Act::silu);
      y = conv_bn_act(b, prefix + ".dw", y,
                      {.in = expanded, .out = expanded, .kernel = stage.kernel, .stride = stride,
                       .groups = expanded},
                      Act::silu);
      // The squeeze width follows the block's input channels, not the expanded ones.
      y = squeeze_excitation(b, prefix + ".se", y, expanded, std::max<std::int64_t>(1, in / 4), Act::silu,
                             Act::sigmoid);
      y = conv_bn_act(b, prefix + ".project", y, {.in = expanded, .out = stage.out}, Act::none);
      if (stride == 1 && in == stage.out) y = b.node("Add", prefix + ".add", {x, y});
      x = y;
    }
    ++stage_index;
  }
  x = conv_bn_act(b, "features.8", x, {.in = scaled(320, v), .out = scaled(1280, v)}, Act::silu);
  x = global_pool_flatten(b, "pool", x);
  x = linear(b, "classifier.1", x, scaled(1280, v), 1000, "logits");
  b.output(x, onnx::TensorProto_DataType_FLOAT, {1000});
}

}  // namespace sparoa::graph::zoo::detail

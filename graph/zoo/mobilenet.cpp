// MobileNetV2 and MobileNetV3-Small as in torchvision 0.14 (width 1.0, 1000 classes).
#include <string>

#include "graph/zoo/cnn_layers.hpp"
#include "graph/zoo/model_builders.hpp"

namespace sparoa::graph::zoo::detail {

void build_mobilenetv2(OnnxBuilder& b) {
  auto x = b.input("input", onnx::TensorProto_DataType_FLOAT, {3, 224, 224});
  x = conv_bn_act(b, "features.0", x, {.in = 3, .out = 32, .kernel = 3, .stride = 2}, Act::relu6);
  struct Stage {
    std::int64_t expand, channels, repeats, stride;
  };
  constexpr Stage stages[] = {{1, 16, 1, 1},  {6, 24, 2, 2},  {6, 32, 3, 2}, {6, 64, 4, 2},
                              {6, 96, 3, 1},  {6, 160, 3, 2}, {6, 320, 1, 1}};
  std::int64_t in = 32;
  int index = 1;
  for (const auto& stage : stages) {
    for (std::int64_t i = 0; i < stage.repeats; ++i, ++index) {
      const std::string prefix = "features." + std::to_string(index);
      const std::int64_t stride = i == 0 ? stage.stride : 1;
      const std::int64_t hidden = in * stage.expand;
      auto y = x;
      if (stage.expand != 1) {
        y = conv_bn_act(b, prefix + ".expand", y, {.in = in, .out = hidden}, Act::relu6);
      }
      y = conv_bn_act(b, prefix + ".dw", y,
                      {.in = hidden, .out = hidden, .kernel = 3, .stride = stride, .groups = hidden},
                      Act::relu6);
      y = conv_bn_act(b, prefix + ".project", y, {.in = hidden, .out = stage.channels}, Act::none);
      if (stride == 1 && in == stage.channels) y = b.node("Add", prefix + ".add", {x, y});
      x = y;
      in = stage.channels;
    }
  }
  x = conv_bn_act(b, "features.18", x, {.in = 320, .out = 1280}, Act::relu6);
  x = global_pool_flatten(b, "pool", x);
  x = linear(b, "classifier.1", x, 1280, 1000, "logits");
  b.output(x, onnx::TensorProto_DataType_FLOAT, {1000});
}

void build_mobilenetv3_small(OnnxBuilder& b) {
  constexpr float eps = 1e-3f;  // torchvision's MobileNetV3 BatchNorm epsilon
  auto x = b.input("input", onnx::TensorProto_DataType_FLOAT, {3, 224, 224});
  x = conv_bn_act(b, "features.0", x, {.in = 3, .out = 16, .kernel = 3, .stride = 2}, Act::hardswish, eps);
  struct Block {
    std::int64_t in, kernel, expanded, out;
    bool se;
    Act act;
    std::int64_t stride;
  };
  constexpr Block blocks[] = {
      {16, 3, 16, 16, true, Act::relu, 2},       {16, 3, 72, 24, false, Act::relu, 2},
      {24, 3, 88, 24, false, Act::relu, 1},      {24, 5, 96, 40, true, Act::hardswish, 2},
      {40, 5, 240, 40, true, Act::hardswish, 1}, {40, 5, 240, 40, true, Act::hardswish, 1},
      {40, 5, 120, 48, true, Act::hardswish, 1}, {48, 5, 144, 48, true, Act::hardswish, 1},
      {48, 5, 288, 96, true, Act::hardswish, 2}, {96, 5, 576, 96, true, Act::hardswish, 1},
      {96, 5, 576, 96, true, Act::hardswish, 1},
  };
  int index = 1;
  for (const auto& blk : blocks) {
    const std::string prefix = "features." + std::to_string(index++);
    auto y = x;
    if (blk.expanded != blk.in) {
      y = conv_bn_act(b, prefix + ".expand", y, {.in = blk.in, .out = blk.expanded}, blk.act, eps);
    }
    y = conv_bn_act(b, prefix + ".dw", y,
                    {.in = blk.expanded, .out = blk.expanded, .kernel = blk.kernel, .stride = blk.stride,
                     .groups = blk.expanded},
                    blk.act, eps);
    if (blk.se) {
      y = squeeze_excitation(b, prefix + ".se", y, blk.expanded, make_divisible(double(blk.expanded / 4)),
                             Act::relu, Act::hardsigmoid);
    }
    y = conv_bn_act(b, prefix + ".project", y, {.in = blk.expanded, .out = blk.out}, Act::none, eps);
    if (blk.stride == 1 && blk.in == blk.out) y = b.node("Add", prefix + ".add", {x, y});
    x = y;
  }
  x = conv_bn_act(b, "features.12", x, {.in = 96, .out = 576}, Act::hardswish, eps);
  x = global_pool_flatten(b, "pool", x);
  x = linear(b, "classifier.0", x, 576, 1024);
  x = activation(b, "classifier.1", x, Act::hardswish);
  x = linear(b, "classifier.3", x, 1024, 1000, "logits");
  b.output(x, onnx::TensorProto_DataType_FLOAT, {1000});
}

}  // namespace sparoa::graph::zoo::detail

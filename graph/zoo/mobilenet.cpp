// MobileNetV2 and MobileNetV3-Small as in torchvision 0.14 (width 1.0, 1000 classes).
#include <string>

#include "graph/zoo/cnn_layers.hpp"
#include "graph/zoo/model_builders.hpp"

namespace sparoa::graph::zoo::detail {

void build_mobilenetv2(OnnxBuilder& b, const Variant& v) {
  const std::int64_t r = image_size(v);
  auto x = b.input("input", onnx::TensorProto_DataType_FLOAT, {3, r, r});
  x = conv_bn_act(b, "features.0", x, {.in = 3, .out = scaled(32, v), .kernel = 3, .stride = 2}, Act::relu6);
  struct Stage {
    std::int64_t expand, channels, repeats, stride;
  };
  constexpr Stage stages[] = {{1, 16, 1, 1},  {6, 24, 2, 2},  {6, 32, 3, 2}, {6, 64, 4, 2},
                              {6, 96, 3, 1},  {6, 160, 3, 2}, {6, 320, 1, 1}};
  std::int64_t in = scaled(32, v);
  int index = 1;
  for (const auto& stage : stages) {
    const std::int64_t channels = scaled(stage.channels, v);
    for (std::int64_t i = 0; i < repeats(stage.repeats, v); ++i, ++index) {
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
      y = conv_bn_act(b, prefix + ".project", y, {.in = hidden, .out = channels}, Act::none);
      if (stride == 1 && in == channels) y = b.node("Add", prefix + ".add", {x, y});
      x = y;
      in = channels;
    }
  }
  // torchvision keeps the last layer at 1280 channels for widths below 1.
  const std::int64_t last = v.width > 1 ? scaled(1280, v) : 1280;
  x = conv_bn_act(b, "features." + std::to_string(index), x, {.in = in, .out = last}, Act::relu6);
  x = global_pool_flatten(b, "pool", x);
  x = linear(b, "classifier.1", x, last, 1000, "logits");
  b.output(x, onnx::TensorProto_DataType_FLOAT, {1000});
}

void build_mobilenetv3_small(OnnxBuilder& b, const Variant& v) {
  constexpr float eps = 1e-3f;  // torchvision's MobileNetV3 BatchNorm epsilon
  const std::int64_t r = image_size(v);
  auto x = b.input("input", onnx::TensorProto_DataType_FLOAT, {3, r, r});
  x = conv_bn_act(b, "features.0", x, {.in = 3, .out = scaled(16, v), .kernel = 3, .stride = 2}, Act::hardswish, eps);
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
  for (auto blk : blocks) {
    blk.in = scaled(blk.in, v);
    blk.expanded = scaled(blk.expanded, v);
    blk.out = scaled(blk.out, v);
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
  x = conv_bn_act(b, "features.12", x, {.in = scaled(96, v), .out = scaled(576, v)}, Act::hardswish, eps);
  x = global_pool_flatten(b, "pool", x);
  x = linear(b, "classifier.0", x, scaled(576, v), scaled(1024, v));
  x = activation(b, "classifier.1", x, Act::hardswish);
  x = linear(b, "classifier.3", x, scaled(1024, v), 1000, "logits");
  b.output(x, onnx::TensorProto_DataType_FLOAT, {1000});
}

}  // namespace sparoa::graph::zoo::detail

// ResNet-18 (BasicBlock [2, 2, 2, 2]) and ResNet-50 (Bottleneck [3, 4, 6, 3], stride on the
// 3x3 convolution, "v1.5") as in torchvision 0.14.
#include <string>

#include "graph/zoo/cnn_layers.hpp"
#include "graph/zoo/model_builders.hpp"

namespace sparoa::graph::zoo::detail {
namespace {

std::string stem(OnnxBuilder& b, const Variant& v) {
  const std::int64_t r = image_size(v);
  auto x = b.input("input", onnx::TensorProto_DataType_FLOAT, {3, r, r});
  x = conv_bn_act(b, "stem", x, {.in = 3, .out = scaled(64, v), .kernel = 7, .stride = 2}, Act::relu);
  return b.node("MaxPool", "stem.maxpool", {x},
                {{"kernel_shape", Ints{3, 3}}, {"strides", Ints{2, 2}}, {"pads", Ints{1, 1, 1, 1}}});
}

std::string shortcut(OnnxBuilder& b, const std::string& prefix, const std::string& x, std::int64_t in,
                     std::int64_t out, std::int64_t stride) {
  if (stride == 1 && in == out) return x;
  return conv_bn_act(b, prefix + ".downsample", x, {.in = in, .out = out, .kernel = 1, .stride = stride},
                     Act::none);
}

std::string basic_block(OnnxBuilder& b, const std::string& prefix, const std::string& x, std::int64_t in,
                        std::int64_t planes, std::int64_t stride) {
  auto y = conv_bn_act(b, prefix + ".1", x, {.in = in, .out = planes, .kernel = 3, .stride = stride}, Act::relu);
  y = conv_bn_act(b, prefix + ".2", y, {.in = planes, .out = planes, .kernel = 3}, Act::none);
  y = b.node("Add", prefix + ".add", {y, shortcut(b, prefix, x, in, planes, stride)});
  return b.node("Relu", prefix + ".relu", {y});
}

std::string bottleneck(OnnxBuilder& b, const std::string& prefix, const std::string& x, std::int64_t in,
                       std::int64_t planes, std::int64_t stride) {
  const std::int64_t out = planes * 4;
  auto y = conv_bn_act(b, prefix + ".1", x, {.in = in, .out = planes}, Act::relu);
  y = conv_bn_act(b, prefix + ".2", y, {.in = planes, .out = planes, .kernel = 3, .stride = stride}, Act::relu);
  y = conv_bn_act(b, prefix + ".3", y, {.in = planes, .out = out}, Act::none);
  y = b.node("Add", prefix + ".add", {y, shortcut(b, prefix, x, in, out, stride)});
  return b.node("Relu", prefix + ".relu", {y});
}

void build_resnet(OnnxBuilder& b, const int (&blocks)[4], bool use_bottleneck, const Variant& v) {
  auto x = stem(b, v);
  const std::int64_t expansion = use_bottleneck ? 4 : 1;
  std::int64_t in = scaled(64, v);
  for (int layer = 0; layer < 4; ++layer) {
    const std::int64_t planes = scaled(std::int64_t{64} << layer, v);
    for (int i = 0; i < repeats(blocks[layer], v); ++i) {
      const std::string prefix = "layer" + std::to_string(layer + 1) + "." + std::to_string(i);
      const std::int64_t stride = (i == 0 && layer > 0) ? 2 : 1;
      x = use_bottleneck ? bottleneck(b, prefix, x, in, planes, stride) : basic_block(b, prefix, x, in, planes, stride);
      in = planes * expansion;
    }
  }
  x = global_pool_flatten(b, "pool", x);
  x = linear(b, "fc", x, scaled(512, v) * expansion, 1000, "logits");
  b.output(x, onnx::TensorProto_DataType_FLOAT, {1000});
}

}  // namespace

void build_resnet18(OnnxBuilder& b, const Variant& v) { build_resnet(b, {2, 2, 2, 2}, false, v); }
void build_resnet50(OnnxBuilder& b, const Variant& v) { build_resnet(b, {3, 4, 6, 3}, true, v); }

}  // namespace sparoa::graph::zoo::detail

// SqueezeNet 1.1 as in torchvision 0.14.
#include <string>

#include "graph/zoo/cnn_layers.hpp"
#include "graph/zoo/model_builders.hpp"

namespace sparoa::graph::zoo::detail {
namespace {

std::string fire(OnnxBuilder& b, const std::string& prefix, const std::string& x, std::int64_t in,
                 std::int64_t squeeze, std::int64_t expand1x1, std::int64_t expand3x3) {
  auto s = conv(b, prefix + ".squeeze", x, {.in = in, .out = squeeze, .bias = true});
  s = b.node("Relu", prefix + ".squeeze_activation", {s});
  auto e1 = conv(b, prefix + ".expand1x1", s, {.in = squeeze, .out = expand1x1, .bias = true});
  e1 = b.node("Relu", prefix + ".expand1x1_activation", {e1});
  auto e3 = conv(b, prefix + ".expand3x3", s, {.in = squeeze, .out = expand3x3, .kernel = 3, .bias = true});
  e3 = b.node("Relu", prefix + ".expand3x3_activation", {e3});
  return b.node("Concat", prefix + ".concat", {e1, e3}, {{"axis", std::int64_t{1}}});
}

std::string max_pool(OnnxBuilder& b, const std::string& name, const std::string& x) {
  return b.node("MaxPool", name, {x},
                {{"kernel_shape", Ints{3, 3}}, {"strides", Ints{2, 2}}, {"ceil_mode", std::int64_t{1}}});
}

}  // namespace

void build_squeezenet1_1(OnnxBuilder& b, const Variant& v) {
  const std::int64_t r = image_size(v);
  auto x = b.input("input", onnx::TensorProto_DataType_FLOAT, {3, r, r});
  x = conv(b, "features.0", x, {.in = 3, .out = 64, .kernel = 3, .stride = 2, .pad = 0, .bias = true});
  x = b.node("Relu", "features.1", {x});
  x = max_pool(b, "features.2", x);
  x = fire(b, "features.3", x, 64, 16, 64, 64);
  x = fire(b, "features.4", x, 128, 16, 64, 64);
  x = max_pool(b, "features.5", x);
  x = fire(b, "features.6", x, 128, 32, 128, 128);
  x = fire(b, "features.7", x, 256, 32, 128, 128);
  x = max_pool(b, "features.8", x);
  x = fire(b, "features.9", x, 256, 48, 192, 192);
  x = fire(b, "features.10", x, 384, 48, 192, 192);
  x = fire(b, "features.11", x, 384, 64, 256, 256);
  x = fire(b, "features.12", x, 512, 64, 256, 256);
  // The classifier is a 1x1 convolution to the classes, ReLU, then a global average.
  x = conv(b, "classifier.1", x, {.in = 512, .out = 1000, .bias = true});
  x = b.node("Relu", "classifier.2", {x});
  x = b.node("GlobalAveragePool", "classifier.3", {x});
  x = b.node("Flatten", "flatten", {x}, {{"axis", std::int64_t{1}}}, "logits");
  b.output(x, onnx::TensorProto_DataType_FLOAT, {1000});
}

}  // namespace sparoa::graph::zoo::detail

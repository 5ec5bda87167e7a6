// VGG-16 (configuration "D", no batch norm) as in torchvision 0.14.
#include <string>

#include "graph/zoo/cnn_layers.hpp"
#include "graph/zoo/model_builders.hpp"

namespace sparoa::graph::zoo::detail {

void build_vgg16(OnnxBuilder& b, const Variant&) {
  constexpr std::int64_t kPool = 0;
  constexpr std::int64_t config[] = {64,  64,  kPool, 128, 128, kPool, 256, 256, 256, kPool,
                                     512, 512, 512,   kPool, 512, 512, 512, kPool};
  auto x = b.input("input", onnx::TensorProto_DataType_FLOAT, {3, 224, 224});
  std::int64_t in = 3;
  int index = 0;  // torchvision's index into `features`
  for (auto channels : config) {
    const std::string prefix = "features." + std::to_string(index);
    if (channels == kPool) {
      x = b.node("MaxPool", prefix, {x}, {{"kernel_shape", Ints{2, 2}}, {"strides", Ints{2, 2}}});
      index += 1;
    } else {
      x = conv(b, prefix, x, {.in = in, .out = channels, .kernel = 3, .bias = true});
      x = b.node("Relu", "features." + std::to_string(index + 1), {x});
      in = channels;
      index += 2;
    }
  }
  // torchvision's AdaptiveAvgPool2d((7, 7)) is the identity on the 7x7 maps of a 224x224
  // input (the only input size these files declare), so it is left out.
  x = b.node("Flatten", "flatten", {x}, {{"axis", std::int64_t{1}}});
  x = linear(b, "classifier.0", x, 512 * 7 * 7, 4096);
  x = b.node("Relu", "classifier.1", {x});
  x = linear(b, "classifier.3", x, 4096, 4096);
  x = b.node("Relu", "classifier.4", {x});
  x = linear(b, "classifier.6", x, 4096, 1000, "logits");
  b.output(x, onnx::TensorProto_DataType_FLOAT, {1000});
}

}  // namespace sparoa::graph::zoo::detail

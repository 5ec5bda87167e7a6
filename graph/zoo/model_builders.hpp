#pragma once
// One function per architecture: each writes its whole graph into the builder. The CNNs read
// [N, 3, 224, 224] "input" and write [N, 1000] "logits".
#include <algorithm>
#include <cmath>

#include "graph/zoo/cnn_layers.hpp"
#include "graph/zoo/onnx_builder.hpp"
#include "graph/zoo/zoo.hpp"

namespace sparoa::graph::zoo::detail {

// Channels scaled by the width multiplier, rounded as torchvision does (multiples of 8).
inline std::int64_t scaled(std::int64_t channels, const Variant& v) {
  return v.width == 1 ? channels : make_divisible(double(channels) * v.width);
}
// Blocks of a stage scaled by the depth multiplier, at least one.
inline std::int64_t repeats(std::int64_t blocks, const Variant& v) {
  return v.depth == 1 ? blocks : std::max<std::int64_t>(1, std::int64_t(std::llround(double(blocks) * v.depth)));
}
inline std::int64_t image_size(const Variant& v) { return v.resolution > 0 ? v.resolution : 224; }

void build_mobilenetv3_small(OnnxBuilder& b, const Variant& v);  // mobilenet.cpp
void build_mobilenetv2(OnnxBuilder& b, const Variant& v);        // mobilenet.cpp
void build_resnet18(OnnxBuilder& b, const Variant& v);           // resnet.cpp
void build_resnet50(OnnxBuilder& b, const Variant& v);           // resnet.cpp
void build_vgg16(OnnxBuilder& b, const Variant& v);              // vgg.cpp
void build_squeezenet1_1(OnnxBuilder& b, const Variant& v);      // squeezenet.cpp
void build_efficientnet_b0(OnnxBuilder& b, const Variant& v);    // efficientnet.cpp
void build_vit_tiny_16(OnnxBuilder& b, const Variant& v);        // vit.cpp
void build_bert_small(OnnxBuilder& b, const Variant& v);         // bert.cpp

}  // namespace sparoa::graph::zoo::detail

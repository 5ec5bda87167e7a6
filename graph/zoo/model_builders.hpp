#pragma once
// One function per architecture: each writes its whole graph into the builder. The CNNs read
// [N, 3, 224, 224] "input" and write [N, 1000] "logits".
#include "graph/zoo/onnx_builder.hpp"

namespace sparoa::graph::zoo::detail {

void build_mobilenetv3_small(OnnxBuilder& b);  // mobilenet.cpp
void build_mobilenetv2(OnnxBuilder& b);        // mobilenet.cpp
void build_resnet18(OnnxBuilder& b);           // resnet.cpp
void build_resnet50(OnnxBuilder& b);           // resnet.cpp
void build_vgg16(OnnxBuilder& b);              // vgg.cpp
void build_squeezenet1_1(OnnxBuilder& b);      // squeezenet.cpp
void build_efficientnet_b0(OnnxBuilder& b);    // efficientnet.cpp
void build_vit_tiny_16(OnnxBuilder& b);        // vit.cpp
void build_bert_small(OnnxBuilder& b);         // bert.cpp

}  // namespace sparoa::graph::zoo::detail

#pragma once
// Internal to the ONNX importer: checks that run just before ONNX 1.12's own shape inference
// of an operator, on the types inference has reached by then, and refuse what would make
// that inference crash. Debian's libonnx is uninstrumented and not ours to fix; fuzz/ found
// that its Conv and ConvTranspose inference index the dilations by the weight's rank (a
// weight of higher rank than the input dereferences null), and that Conv and pooling divide
// by each stride (a stride of 0 is SIGFPE). The importer refuses such a model with ONNX's own
// "[ShapeInferenceError] (op_type:Conv, node name: ...)" line.

namespace sparoa::graph::detail {

// Wraps the inference function of every guarded operator, at every opset, in ONNX's schema
// registry; idempotent and thread-safe (the first call does the work). Call it before
// running ONNX's shape inference.
void install_onnx_inference_guards();

}  // namespace sparoa::graph::detail

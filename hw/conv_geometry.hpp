#pragma once
// ONNX's padding rules for Conv and ConvTranspose, resolved against the output size the
// importer inferred, shared by the CPU (oneDNN, sparse) and GPU (cuDNN, cuSPARSE) kernels so
// that every backend pads the same way.
#include <cstdint>
#include <vector>

#include "graph/graph.hpp"

namespace sparoa::hw {

struct ConvGeometry {
  std::vector<std::int64_t> strides, dilations;  // per spatial dimension; dilation 1 = none
  std::vector<std::int64_t> pad_begin, pad_end;
  // ConvTranspose only: pad_end is what makes the output size the inferred one (output_padding
  // and output_shape end up there), so it may be negative.
};

// x: input shape [N, C, spatial...], w: weight shape, y: the inferred output shape. Throws
// sparoa::Error naming the operator for an unknown auto_pad or attributes of the wrong length.
ConvGeometry conv_geometry(const graph::Operator& op, const graph::Shape& x, const graph::Shape& w, const graph::Shape& y);
// Also throws when the resolved begin padding is negative.
ConvGeometry deconv_geometry(const graph::Operator& op, const graph::Shape& x, const graph::Shape& w, const graph::Shape& y);

// The values of an attribute given per spatial dimension (strides, dilations, kernel_shape),
// `n` of them; throws naming the operator when it has another length.
std::vector<std::int64_t> attr_per_dim(const graph::Operator& op, const std::string& key, std::size_t n,
                                       std::int64_t fallback);

}  // namespace sparoa::hw

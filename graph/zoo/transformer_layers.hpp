#pragma once
// Building blocks shared by ViT and BERT: token-wise linear layers, layer normalisation,
// GELU (the exact Erf form: ONNX's Gelu operator needs opset 20), multi-head attention.
#include <cstdint>
#include <string>

#include "graph/zoo/onnx_builder.hpp"

namespace sparoa::graph::zoo::detail {

// MatMul with a weight [in, out] (pruned along `in`), then Add of the bias: [..., in] -> [..., out].
std::string token_linear(OnnxBuilder& b, const std::string& name, const std::string& x, std::int64_t in,
                         std::int64_t out, const std::string& output = {});

// LayerNormalization over the last axis with scale and shift of size `dim`.
std::string layer_norm(OnnxBuilder& b, const std::string& name, const std::string& x, std::int64_t dim,
                        float epsilon, const std::string& output = {});

// x * 0.5 * (1 + Erf(x / sqrt(2))), as PyTorch exports nn.GELU() at opset <= 19.
std::string gelu_erf(OnnxBuilder& b, const std::string& name, const std::string& x);

// Scaled dot-product attention over heads: q, k, v are [N, heads, tokens, head_dim];
// k_transposed says that k already is [N, heads, head_dim, tokens]. `scale_by_division`
// selects BERT's Div by sqrt(head_dim) instead of timm's Mul by 1/sqrt(head_dim).
// Returns [N, tokens, heads * head_dim].
std::string attention(OnnxBuilder& b, const std::string& prefix, const std::string& q, const std::string& k,
                      const std::string& v, std::int64_t heads, std::int64_t head_dim, bool k_transposed,
                      bool scale_by_division);

}  // namespace sparoa::graph::zoo::detail

#include "graph/zoo/transformer_layers.hpp"

#include <cmath>

namespace sparoa::graph::zoo::detail {

std::string token_linear(OnnxBuilder& b, const std::string& name, const std::string& x, std::int64_t in,
                         std::int64_t out, const std::string& output) {
  auto y = b.node("MatMul", name + ".matmul", {x, b.weight(name + ".weight", {in, out}, in, {1, in, out})});
  return b.node("Add", name, {y, b.bias(name + ".bias", out, in)}, {}, output);
}

std::string layer_norm(OnnxBuilder& b, const std::string& name, const std::string& x, std::int64_t dim,
                       float epsilon, const std::string& output) {
  return b.node("LayerNormalization", name,
                {x, b.uniform(name + ".weight", {dim}, 0.8f, 1.2f), b.uniform(name + ".bias", {dim}, -0.1f, 0.1f)},
                {{"axis", std::int64_t{-1}}, {"epsilon", epsilon}}, output);
}

std::string gelu_erf(OnnxBuilder& b, const std::string& name, const std::string& x) {
  auto y = b.node("Div", name + ".div", {x, b.scalar("const.sqrt2", 1.41421356f)});
  y = b.node("Erf", name + ".erf", {y});
  y = b.node("Add", name + ".add", {y, b.scalar("const.one", 1.0f)});
  y = b.node("Mul", name + ".mul", {x, y});
  return b.node("Mul", name, {y, b.scalar("const.half", 0.5f)});
}

std::string attention(OnnxBuilder& b, const std::string& prefix, const std::string& q, const std::string& k,
                      const std::string& v, std::int64_t heads, std::int64_t head_dim, bool k_transposed,
                      bool scale_by_division) {
  std::string kt = k;
  if (!k_transposed) kt = b.node("Transpose", prefix + ".k_transpose", {k}, {{"perm", Ints{0, 1, 3, 2}}});
  auto s = b.node("MatMul", prefix + ".scores", {q, kt});
  const double root = std::sqrt(static_cast<double>(head_dim));
  if (scale_by_division) {
    s = b.node("Div", prefix + ".scale", {s, b.scalar("const.sqrt_head_dim", static_cast<float>(root))});
  } else {
    s = b.node("Mul", prefix + ".scale", {s, b.scalar("const.inv_sqrt_head_dim", static_cast<float>(1.0 / root))});
  }
  auto p = b.node("Softmax", prefix + ".softmax", {s}, {{"axis", std::int64_t{-1}}});
  auto o = b.node("MatMul", prefix + ".context", {p, v});
  o = b.node("Transpose", prefix + ".context_transpose", {o}, {{"perm", Ints{0, 2, 1, 3}}});
  return b.node("Reshape", prefix + ".context_merge",
                {o, b.ints("const.shape_merge_" + std::to_string(heads * head_dim), {0, 0, heads * head_dim})});
}

}  // namespace sparoa::graph::zoo::detail

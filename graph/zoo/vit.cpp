// ViT-Tiny/16 at 224x224 as timm's vit_tiny_patch16_224: patch 16, embed 192, depth 12,
// 3 heads, MLP 768, qkv bias, pre-norm blocks, class token, head on the class token.
#include <string>

#include "graph/zoo/model_builders.hpp"
#include "graph/zoo/transformer_layers.hpp"

namespace sparoa::graph::zoo::detail {

void build_vit_tiny_16(OnnxBuilder& b, const Variant& v) {
  constexpr std::int64_t dim = 192, heads = 3, head_dim = dim / heads, mlp = 768;
  const std::int64_t depth = repeats(12, v), r = image_size(v);
  const std::int64_t patches = (r / 16) * (r / 16), tokens = patches + 1;
  constexpr float eps = 1e-6f;
  auto x = b.input("input", onnx::TensorProto_DataType_FLOAT, {3, r, r});

  // Patch embedding: a 16x16/16 convolution, then [N, 192, 14, 14] -> [N, 196, 192].
  auto p = b.node("Conv", "patch_embed.proj",
                  {x, b.weight("patch_embed.proj.weight", {dim, 3, 16, 16}, 3 * 16 * 16, {dim, 3, 16 * 16}),
                   b.bias("patch_embed.proj.bias", dim, 3 * 16 * 16)},
                  {{"kernel_shape", Ints{16, 16}}, {"strides", Ints{16, 16}}});
  p = b.node("Reshape", "patch_embed.flatten", {p, b.ints("const.shape_flatten_spatial", {0, 0, -1})});
  p = b.node("Transpose", "patch_embed.transpose", {p}, {{"perm", Ints{0, 2, 1}}});

  // The class token broadcast to the batch: Expand to [N, 1, 1] taken from the data's shape
  // (the batch is symbolic, so the target shape is computed, as exporters do).
  auto batch = b.node("Shape", "cls_token.batch", {p}, {{"start", std::int64_t{0}}, {"end", std::int64_t{1}}});
  auto shape = b.node("Concat", "cls_token.shape", {batch, b.ints("const.ones_2", {1, 1})}, {{"axis", std::int64_t{0}}});
  auto cls = b.node("Expand", "cls_token.expand", {b.uniform("cls_token", {1, 1, dim}, -0.02f, 0.02f), shape});
  x = b.node("Concat", "tokens", {cls, p}, {{"axis", std::int64_t{1}}});
  x = b.node("Add", "pos_embed.add", {x, b.uniform("pos_embed", {1, tokens, dim}, -0.02f, 0.02f)});

  for (std::int64_t i = 0; i < depth; ++i) {
    const std::string prefix = "blocks." + std::to_string(i);
    auto h = layer_norm(b, prefix + ".norm1", x, dim, eps);
    auto qkv = token_linear(b, prefix + ".attn.qkv", h, dim, 3 * dim);
    qkv = b.node("Reshape", prefix + ".attn.qkv_split", {qkv, b.ints("const.shape_qkv", {0, 0, 3, heads, head_dim})});
    qkv = b.node("Transpose", prefix + ".attn.qkv_transpose", {qkv}, {{"perm", Ints{2, 0, 3, 1, 4}}});
    std::string qkv_parts[3];
    const char* part_names[3] = {"q", "k", "v"};
    for (int j = 0; j < 3; ++j) {
      qkv_parts[j] = b.node("Gather", prefix + ".attn." + part_names[j],
                            {qkv, b.scalar_i64("const.index_" + std::to_string(j), j)}, {{"axis", std::int64_t{0}}});
    }
    auto a = attention(b, prefix + ".attn", qkv_parts[0], qkv_parts[1], qkv_parts[2], heads, head_dim, false, false);
    a = token_linear(b, prefix + ".attn.proj", a, dim, dim);
    x = b.node("Add", prefix + ".add1", {x, a});
    h = layer_norm(b, prefix + ".norm2", x, dim, eps);
    h = token_linear(b, prefix + ".mlp.fc1", h, dim, mlp);
    h = gelu_erf(b, prefix + ".mlp.gelu", h);
    h = token_linear(b, prefix + ".mlp.fc2", h, mlp, dim);
    x = b.node("Add", prefix + ".add2", {x, h});
  }
  x = layer_norm(b, "norm", x, dim, eps);
  x = b.node("Gather", "cls_pool", {x, b.scalar_i64("const.index_0", 0)}, {{"axis", std::int64_t{1}}});
  x = b.node("Gemm", "head",
             {x, b.weight("head.weight", {1000, dim}, dim, {1000, dim, 1}), b.bias("head.bias", 1000, dim)},
             {{"transB", std::int64_t{1}}}, "logits");
  b.output(x, onnx::TensorProto_DataType_FLOAT, {1000});
}

}  // namespace sparoa::graph::zoo::detail

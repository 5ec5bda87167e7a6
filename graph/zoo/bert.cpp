// BERT-Small (Turc et al. "Well-Read Students", google/bert_uncased_L-4_H-512_A-8): 4 layers,
// hidden 512, 8 heads, FFN 2048, vocabulary 30522, 512 positions, 2 token types, pooler;
// sequence length 128, no attention mask (every token attends to every token).
#include <string>

#include "graph/zoo/model_builders.hpp"
#include "graph/zoo/transformer_layers.hpp"

namespace sparoa::graph::zoo::detail {

void build_bert_small(OnnxBuilder& b, const Variant& v) {
  constexpr std::int64_t seq = 128, hidden = 512, heads = 8, head_dim = hidden / heads, ffn = 2048;
  const std::int64_t layers = repeats(4, v);
  constexpr std::int64_t vocab = 30522, positions = 512, token_types = 2;
  constexpr float eps = 1e-12f;
  auto ids = b.input("input_ids", onnx::TensorProto_DataType_INT64, {seq});
  auto types = b.input("token_type_ids", onnx::TensorProto_DataType_INT64, {seq});

  Ints position_ids(seq);
  for (std::int64_t i = 0; i < seq; ++i) position_ids[static_cast<std::size_t>(i)] = i;
  auto words = b.node("Gather", "embeddings.word",
                      {b.uniform("embeddings.word_embeddings.weight", {vocab, hidden}, -0.05f, 0.05f), ids});
  auto pos = b.node("Gather", "embeddings.position",
                    {b.uniform("embeddings.position_embeddings.weight", {positions, hidden}, -0.05f, 0.05f),
                     b.ints("embeddings.position_ids", position_ids)});
  auto tt = b.node("Gather", "embeddings.token_type",
                   {b.uniform("embeddings.token_type_embeddings.weight", {token_types, hidden}, -0.05f, 0.05f), types});
  auto x = b.node("Add", "embeddings.add_token_type", {words, tt});
  x = b.node("Add", "embeddings.add_position", {x, pos});
  x = layer_norm(b, "embeddings.LayerNorm", x, hidden, eps);

  const auto split_heads = b.ints("const.shape_heads", {0, 0, heads, head_dim});
  for (std::int64_t l = 0; l < layers; ++l) {
    const std::string prefix = "encoder.layer." + std::to_string(l);
    const std::string self = prefix + ".attention.self";
    auto heads_of = [&](const std::string& which, const Ints& perm) {
      auto t = token_linear(b, self + "." + which, x, hidden, hidden);
      t = b.node("Reshape", self + "." + which + "_heads", {t, split_heads});
      return b.node("Transpose", self + "." + which + "_transpose", {t}, {{"perm", perm}});
    };
    auto q = heads_of("query", {0, 2, 1, 3});
    auto k = heads_of("key", {0, 2, 3, 1});  // straight to [N, heads, head_dim, tokens]
    auto v = heads_of("value", {0, 2, 1, 3});
    auto a = attention(b, self, q, k, v, heads, head_dim, true, true);
    a = token_linear(b, prefix + ".attention.output.dense", a, hidden, hidden);
    a = b.node("Add", prefix + ".attention.output.residual", {a, x});
    x = layer_norm(b, prefix + ".attention.output.LayerNorm", a, hidden, eps);
    auto h = token_linear(b, prefix + ".intermediate.dense", x, hidden, ffn);
    h = gelu_erf(b, prefix + ".intermediate.gelu", h);
    h = token_linear(b, prefix + ".output.dense", h, ffn, hidden);
    h = b.node("Add", prefix + ".output.residual", {h, x});
    x = layer_norm(b, prefix + ".output.LayerNorm", h, hidden, eps,
                   l + 1 == layers ? std::string("last_hidden_state") : std::string());
  }
  b.output(x, onnx::TensorProto_DataType_FLOAT, {seq, hidden});

  auto first = b.node("Gather", "pooler.first_token", {x, b.scalar_i64("const.index_0", 0)}, {{"axis", std::int64_t{1}}});
  auto pooled = b.node("Gemm", "pooler.dense",
                       {first, b.weight("pooler.dense.weight", {hidden, hidden}, hidden, {hidden, hidden, 1}),
                        b.bias("pooler.dense.bias", hidden, hidden)},
                       {{"transB", std::int64_t{1}}});
  pooled = b.node("Tanh", "pooler.activation", {pooled}, {}, "pooler_output");
  b.output(pooled, onnx::TensorProto_DataType_FLOAT, {hidden});
}

}  // namespace sparoa::graph::zoo::detail

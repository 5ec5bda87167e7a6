// Fused groups: which patterns are accepted, what a refused one says, BatchNormalization
// folding, and fuse_schedule's groups and lane orders.
#include <gtest/gtest.h>

#include <cmath>

#include "graph/onnx_import.hpp"
#include "graph/schedule.hpp"
#include "hw/cpu/fusion.hpp"
#include "hw/reference_run.hpp"
#include "hw/tensor_io.hpp"
#include "support/error.hpp"
#include "tests/graph/onnx_test_models.hpp"

namespace sparoa::hw {
namespace {

using test::ModelBuilder;

// x -> conv -> bn -> relu -> add(+ skip) -> clip; skip = conv2(x); plus a Relu on the side
// reading the conv output (so conv's output has two readers in `shared`).
graph::Graph resnet_block(bool shared_conv_output) {
  ModelBuilder b;
  b.input("x", {1, 2, 4, 4});
  b.weight("w", {2, 2, 1, 1}, {0.5f, -0.25f, 1.0f, 0.75f});
  b.weight("w2", {2, 2, 1, 1}, {-1.0f, 0.5f, 0.25f, 2.0f});
  b.weight("gamma", {2}, {1.5f, 0.5f});
  b.weight("beta", {2}, {0.1f, -0.2f});
  b.weight("mean", {2}, {0.05f, -0.1f});
  b.weight("var", {2}, {0.9f, 1.2f});
  b.weight("lo", {}, {0.0f});
  b.weight("hi", {}, {6.0f});
  b.node("Conv", {"x", "w"}, {"c"}, "conv");
  b.node("BatchNormalization", {"c", "gamma", "beta", "mean", "var"}, {"n"}, "bn");
  b.node("Relu", {"n"}, {"r"}, "relu");
  b.node("Conv", {"x", "w2"}, {"skip"}, "conv2");
  b.node("Add", {"r", "skip"}, {"s"}, "add");
  b.node("Clip", {"s", "lo", "hi"}, {"y"}, "clip");
  b.output("y", 4);
  if (shared_conv_output) {
    b.node("Relu", {"c"}, {"side"}, "side");
    b.output("side", 4);
  }
  return graph::import_onnx_bytes(b.bytes(), "block.onnx");
}

graph::OpId id(const graph::Graph& g, const std::string& name) { return *g.find_op(name); }

TEST(Fusion, ConvBatchNormReluAddClipIsOneGroup) {
  const graph::Graph g = resnet_block(false);
  const FusedGroup group = make_fused_group(g, {id(g, "conv"), id(g, "bn"), id(g, "relu"), id(g, "add"), id(g, "clip")});
  EXPECT_EQ(group.name, "conv+bn+relu+add+clip");
  ASSERT_TRUE(group.batch_norm);
  // scale = gamma / sqrt(var + eps), shift = beta - mean * scale.
  EXPECT_NEAR(group.batch_norm->scale[0], 1.5 / std::sqrt(0.9 + 1e-5), 1e-6);
  EXPECT_NEAR(group.batch_norm->shift[1], -0.2 - (-0.1) * (0.5 / std::sqrt(1.2 + 1e-5)), 1e-6);
  ASSERT_EQ(group.post_ops.size(), 3u);
  EXPECT_EQ(group.post_ops[0].eltwise.alg, EltwiseAlg::relu);
  EXPECT_EQ(group.post_ops[1].kind, PostOp::Kind::add);
  EXPECT_EQ(group.inputs[group.post_ops[1].add_input], "skip");
  EXPECT_EQ(group.post_ops[2].eltwise.alg, EltwiseAlg::clip);
  EXPECT_EQ(group.post_ops[2].eltwise.beta, 6.0f);
  EXPECT_EQ(group.outputs, (std::vector<std::string>{"y"}));
  EXPECT_EQ(group.internal, (std::vector<std::string>{"c", "n", "r", "s"}));
}

TEST(Fusion, RefusedPatternsNameTheOperator) {
  const graph::Graph shared = resnet_block(true);
  auto refuses = [](const graph::Graph& g, std::vector<graph::OpId> ops, const std::string& needle) {
    try {
      make_fused_group(g, ops);
      ADD_FAILURE() << "accepted a group that should be refused";
    } catch (const Error& e) {
      EXPECT_NE(std::string(e.what()).find(needle), std::string::npos) << e.what();
    }
  };
  // conv's output is also read by `side`: fusing bn would hide it.
  refuses(shared, {id(shared, "conv"), id(shared, "bn")}, "'bn'");
  const graph::Graph g = resnet_block(false);
  refuses(g, {id(g, "relu"), id(g, "add")}, "'relu'");                    // not a root type
  refuses(g, {id(g, "conv"), id(g, "relu")}, "'relu'");                   // skips bn
  refuses(g, {id(g, "conv"), id(g, "bn"), id(g, "relu"), id(g, "clip")}, "'clip'");  // skips add
}

TEST(Fusion, FuseScheduleGroupsChainsAndKeepsLanesValid) {
  const graph::Graph g = resnet_block(false);
  graph::Schedule s;
  s.model_sha256 = g.model_sha256;
  s.batch = 1;
  std::int64_t order = 0;
  for (graph::OpId op : g.topological_order()) s.entries.push_back({g.op(op).name, "cpu0", "dense", order++, {}});
  const graph::Schedule fused = fuse_schedule(g, s);
  EXPECT_NO_THROW(graph::validate_schedule(fused, g, "fused"));
  std::map<std::string, std::string> root_of;
  for (const auto& e : fused.entries) root_of[e.op] = e.fuse_with.value_or("");
  EXPECT_EQ(root_of["bn"], "conv");
  EXPECT_EQ(root_of["relu"], "conv");
  EXPECT_EQ(root_of["add"], "conv");
  EXPECT_EQ(root_of["clip"], "conv");
  EXPECT_EQ(root_of["conv2"], "");
  // conv2 produces the Add's other operand, so it runs before the group.
  std::map<std::string, std::int64_t> pos;
  for (const auto& e : fused.entries) pos[e.op] = e.order;
  EXPECT_LT(pos["conv2"], pos["conv"]);
}

TEST(Fusion, FusedRunMatchesTheUnfusedReference) {
  const graph::Graph g = resnet_block(false);
  const HostTensor x = random_tensor(graph::DType::f32, {1, 2, 4, 4}, 3);
  const auto reference = run_reference(g, {{"x", x.view()}});
  KernelContext ctx;
  ctx.graph = &g;
  ctx.group = make_fused_group(g, {id(g, "conv"), id(g, "bn"), id(g, "relu"), id(g, "add"), id(g, "clip")});
  ctx.threads = 1;
  auto kernel = make_cpu_kernel(ctx);
  // Inputs: conv's (x, w), then the Add's other operand (skip = conv2(x), computed here by
  // the reference kernels).
  KernelContext c2;
  c2.graph = &g;
  c2.group = single_op_group(g, id(g, "conv2"));
  HostTensor skip(graph::DType::f32, {1, 2, 4, 4});
  {
    auto k2 = make_cpu_kernel(c2);
    const std::vector<TensorView> in = {x.view(), weight_view(g.tensor("w2"))};
    const std::vector<TensorView> out = {skip.view()};
    k2->run(in, out);
  }
  std::vector<TensorView> in;
  for (const auto& name : ctx.group.inputs) {
    if (name == "x") {
      in.push_back(x.view());
    } else if (name == "skip") {
      in.push_back(skip.view());
    } else {
      in.push_back(name.empty() ? TensorView{} : weight_view(g.tensor(name)));
    }
  }
  HostTensor y(graph::DType::f32, {1, 2, 4, 4});
  const std::vector<TensorView> out = {y.view()};
  kernel->run(in, out);
  EXPECT_EQ(compare_tensors(y.view(), reference.at("y").view(), 1e-5, 1e-6), "");
}

}  // namespace
}  // namespace sparoa::hw

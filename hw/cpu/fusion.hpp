#pragma once
// Fused groups: a schedule may declare that operators run fused into another one on the same
// lane (`fuse_with`). The kernels see a fused group as one root operator plus what happens to
// its output before anyone else reads it: a folded BatchNormalization (Conv only) and a chain
// of post-operations (activations, or adding another tensor). This file turns the group's
// operators into that description once, so the oneDNN kernels (post-ops) and the sparse
// kernels (their own epilogue) implement the same patterns and refuse the same others.
#include <optional>
#include <string>
#include <vector>

#include "graph/graph.hpp"

namespace sparoa::hw {

enum class EltwiseAlg {
  relu,
  leaky_relu,    // alpha
  clip,          // alpha = min, beta = max (Clip, Relu6)
  sigmoid,
  tanh,
  hard_sigmoid,  // max(0, min(1, alpha * x + beta))
  hard_swish,    // x * max(0, min(1, x / 6 + 1/2))
  exp,
  abs,
  sqrt,
  log,
  neg,
  reciprocal,
  erf,
};

struct EltwiseParams {
  EltwiseAlg alg = EltwiseAlg::relu;
  float alpha = 0;
  float beta = 0;
};
// Applies one activation to one value (the definition every kernel's epilogue must match).
float apply_eltwise(const EltwiseParams& p, float x);

struct PostOp {
  enum class Kind { eltwise, add };
  Kind kind = Kind::eltwise;
  EltwiseParams eltwise;  // kind == eltwise
  // kind == add: index into FusedGroup::inputs of the tensor added elementwise (same shape
  // as the root's output, or broadcastable to it along the channel dimension only).
  std::size_t add_input = 0;
  graph::OpId op = 0;  // the operator this post-op came from
};

// Per-output-channel affine transform folded into a Conv: w' = w * scale, b' = b * scale + shift.
struct FoldedBatchNorm {
  graph::OpId op = 0;
  std::vector<float> scale;  // gamma / sqrt(var + eps)
  std::vector<float> shift;  // beta - mean * scale
};

struct FusedGroup {
  std::vector<graph::OpId> ops;  // ops[0] is the root, the rest in execution order
  graph::OpId root = 0;
  std::optional<FoldedBatchNorm> batch_norm;
  std::vector<PostOp> post_ops;
  // Tensors the group reads, in order: the root's inputs (all of them, "" for an omitted
  // optional one), then each extra tensor a post-op reads. Kernels receive their views in
  // this order.
  std::vector<std::string> inputs;
  std::vector<std::string> outputs;  // the last operator's outputs
  // Tensors produced and consumed inside the group: never materialised.
  std::vector<std::string> internal;
  std::string name;  // "conv1+bn1+relu1": the trace's fused_group

  bool fused() const { return ops.size() > 1; }
};

// A group of one operator (no fusion).
FusedGroup single_op_group(const graph::Graph& g, graph::OpId op);

// Validates and describes a fused group. Supported patterns, in this order:
//   root: Conv | ConvTranspose | Gemm | MatMul
//   then at most one BatchNormalization (Conv root only; folded into the weights)
//   then any chain of: Relu, LeakyRelu, Clip, Sigmoid, Tanh, HardSigmoid, HardSwish, Exp,
//        Abs, Sqrt, Log, Neg, Reciprocal, Erf, and Add (of the running value and one other
//        tensor that is not produced inside the group)
// Each operator after the root must read the previous one's output, which nobody outside the
// group may read. Anything else throws sparoa::Error naming the schedule's operator and why.
FusedGroup make_fused_group(const graph::Graph& g, const std::vector<graph::OpId>& ops);

// Maps an activation operator to its eltwise description; nullopt when the type is not one.
std::optional<EltwiseParams> eltwise_of(const graph::Graph& g, const graph::Operator& op);

}  // namespace sparoa::hw

#include "graph/schedule.hpp"

namespace sparoa::hw {

// The usual fusions, declared in a copy of `s`: each Conv/ConvTranspose/Gemm/MatMul absorbs
// what follows it on its lane as far as make_fused_group accepts (BatchNormalization after a
// Conv, activations, an Add of another tensor), and each lane is reordered so that every
// group's operators are consecutive (a topological order of the groups, otherwise keeping
// the schedule's order). Entries already fused are kept as they are.
graph::Schedule fuse_schedule(const graph::Graph& g, const graph::Schedule& s);

}  // namespace sparoa::hw

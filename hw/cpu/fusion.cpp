#include "hw/cpu/fusion.hpp"

#include <algorithm>
#include <cmath>
#include <map>
#include <set>

#include "hw/tensor.hpp"
#include "support/error.hpp"

namespace sparoa::hw {

float apply_eltwise(const EltwiseParams& p, float x) {
  switch (p.alg) {
    case EltwiseAlg::relu: return x > 0 ? x : 0.0f;
    case EltwiseAlg::leaky_relu: return x >= 0 ? x : p.alpha * x;
    case EltwiseAlg::clip: return std::min(std::max(x, p.alpha), p.beta);
    case EltwiseAlg::sigmoid: return 1.0f / (1.0f + std::exp(-x));
    case EltwiseAlg::tanh: return std::tanh(x);
    case EltwiseAlg::hard_sigmoid: return std::max(0.0f, std::min(1.0f, p.alpha * x + p.beta));
    case EltwiseAlg::hard_swish: return x * std::max(0.0f, std::min(1.0f, x / 6.0f + 0.5f));
    case EltwiseAlg::exp: return std::exp(x);
    case EltwiseAlg::abs: return std::fabs(x);
    case EltwiseAlg::sqrt: return std::sqrt(x);
    case EltwiseAlg::log: return std::log(x);
    case EltwiseAlg::neg: return -x;
    case EltwiseAlg::reciprocal: return 1.0f / x;
    case EltwiseAlg::erf: return std::erf(x);
  }
  return x;
}

namespace {

std::string op_where(const graph::Operator& op) { return "operator '" + op.name + "'"; }

// A scalar float held by a weight input (Clip's min/max since opset 11).
std::optional<float> scalar_weight(const graph::Graph& g, const graph::Operator& op, std::size_t input) {
  if (input >= op.inputs.size() || op.inputs[input].empty()) return std::nullopt;
  const graph::Tensor& t = g.tensor(op.inputs[input]);
  if (!t.data) {
    throw Error(op_where(op), "input '" + t.name + "' is computed at run time; only a constant can be fused");
  }
  if (t.dtype != graph::DType::f32 || t.elements() != 1) {
    throw Error(op_where(op), "input '" + t.name + "' is not a float32 scalar");
  }
  return weight_view(t).as<float>()[0];
}

}  // namespace

std::optional<EltwiseParams> eltwise_of(const graph::Graph& g, const graph::Operator& op) {
  const std::string& t = op.type;
  EltwiseParams p;
  if (t == "Relu") {
    p.alg = EltwiseAlg::relu;
  } else if (t == "LeakyRelu") {
    p.alg = EltwiseAlg::leaky_relu;
    p.alpha = float(op.attr_float("alpha", 0.01));
  } else if (t == "Clip") {
    p.alg = EltwiseAlg::clip;
    // Opset < 11 carries the bounds as attributes, later opsets as optional inputs.
    p.alpha = float(op.attr_float("min", -INFINITY));
    p.beta = float(op.attr_float("max", INFINITY));
    if (auto v = scalar_weight(g, op, 1)) p.alpha = *v;
    if (auto v = scalar_weight(g, op, 2)) p.beta = *v;
  } else if (t == "Sigmoid") {
    p.alg = EltwiseAlg::sigmoid;
  } else if (t == "Tanh") {
    p.alg = EltwiseAlg::tanh;
  } else if (t == "HardSigmoid") {
    p.alg = EltwiseAlg::hard_sigmoid;
    p.alpha = float(op.attr_float("alpha", 0.2));
    p.beta = float(op.attr_float("beta", 0.5));
  } else if (t == "HardSwish") {
    p.alg = EltwiseAlg::hard_swish;
  } else if (t == "Exp") {
    p.alg = EltwiseAlg::exp;
  } else if (t == "Abs") {
    p.alg = EltwiseAlg::abs;
  } else if (t == "Sqrt") {
    p.alg = EltwiseAlg::sqrt;
  } else if (t == "Log") {
    p.alg = EltwiseAlg::log;
  } else if (t == "Neg") {
    p.alg = EltwiseAlg::neg;
  } else if (t == "Reciprocal") {
    p.alg = EltwiseAlg::reciprocal;
  } else if (t == "Erf") {
    p.alg = EltwiseAlg::erf;
  } else {
    return std::nullopt;
  }
  return p;
}

FusedGroup single_op_group(const graph::Graph& g, graph::OpId id) {
  const graph::Operator& op = g.op(id);
  FusedGroup group;
  group.ops = {id};
  group.root = id;
  group.inputs = op.inputs;
  group.outputs = op.outputs;
  group.name = "";
  return group;
}

namespace {

FoldedBatchNorm fold_batch_norm(const graph::Graph& g, graph::OpId id, std::int64_t channels) {
  const graph::Operator& bn = g.op(id);
  if (bn.inputs.size() < 5) throw Error(op_where(bn), "BatchNormalization needs 5 inputs");
  std::vector<TensorView> params;
  for (std::size_t i = 1; i < 5; ++i) {
    const graph::Tensor& t = g.tensor(bn.inputs[i]);
    if (!t.data) throw Error(op_where(bn), "input '" + t.name + "' is computed at run time; only a constant BatchNormalization can be folded");
    if (t.dtype != graph::DType::f32 || t.elements() != channels) {
      throw Error(op_where(bn), "input '" + t.name + "' must be float32 with " + std::to_string(channels) + " elements");
    }
    params.push_back(weight_view(t));
  }
  const double eps = bn.attr_float("epsilon", 1e-5);
  FoldedBatchNorm f;
  f.op = id;
  f.scale.resize(std::size_t(channels));
  f.shift.resize(std::size_t(channels));
  const float *gamma = params[0].as<float>(), *beta = params[1].as<float>(), *mean = params[2].as<float>(),
              *var = params[3].as<float>();
  for (std::int64_t c = 0; c < channels; ++c) {
    const double s = double(gamma[c]) / std::sqrt(double(var[c]) + eps);
    f.scale[std::size_t(c)] = float(s);
    f.shift[std::size_t(c)] = float(double(beta[c]) - double(mean[c]) * s);
  }
  return f;
}

}  // namespace

FusedGroup make_fused_group(const graph::Graph& g, const std::vector<graph::OpId>& ops) {
  if (ops.empty()) throw Error("fusion", "empty fusion group");
  if (ops.size() == 1) return single_op_group(g, ops[0]);
  const graph::Operator& root = g.op(ops[0]);
  static const std::set<std::string> roots = {"Conv", "ConvTranspose", "Gemm", "MatMul"};
  if (roots.count(root.type) == 0) {
    throw Error(op_where(root), "a " + root.type + " cannot be the root of a fusion group (roots: Conv, ConvTranspose, Gemm, MatMul)");
  }
  FusedGroup group;
  group.ops = ops;
  group.root = ops[0];
  group.inputs = root.inputs;
  group.name = root.name;
  std::set<std::string> produced(root.outputs.begin(), root.outputs.end());
  if (root.outputs.size() != 1) throw Error(op_where(root), "a fusion root must have exactly one output");
  std::string running = root.outputs[0];
  for (std::size_t k = 1; k < ops.size(); ++k) {
    const graph::Operator& op = g.op(ops[k]);
    group.name += "+" + op.name;
    const auto& readers = g.consumers(running);
    const auto& outs = g.output_names();
    if (readers.size() != 1 || readers[0] != ops[k] || std::find(outs.begin(), outs.end(), running) != outs.end()) {
      throw Error(op_where(op), "is fused after the tensor '" + running +
                                    "', which must be read by this operator only (and not be a graph output)");
    }
    if (op.outputs.size() != 1) throw Error(op_where(op), "a fused operator must have exactly one output");
    if (op.type == "BatchNormalization") {
      if (k != 1 || root.type != "Conv") {
        throw Error(op_where(op), "a BatchNormalization can only be fused directly after a Conv (folded into its weights)");
      }
      if (op.inputs.empty() || op.inputs[0] != running) throw Error(op_where(op), "does not normalise the Conv's output");
      const graph::Tensor& out = g.tensor(running);
      if (out.shape.size() < 2) throw Error(op_where(op), "the Conv output has no channel dimension");
      group.batch_norm = fold_batch_norm(g, ops[k], out.shape[1]);
    } else if (op.type == "Add") {
      if (op.inputs.size() != 2) throw Error(op_where(op), "Add needs 2 inputs");
      const int self = op.inputs[0] == running ? 0 : (op.inputs[1] == running ? 1 : -1);
      if (self < 0 || op.inputs[0] == op.inputs[1]) throw Error(op_where(op), "does not add the running value to another tensor");
      const std::string& other = op.inputs[std::size_t(1 - self)];
      if (produced.count(other) != 0) throw Error(op_where(op), "adds a tensor produced inside the group");
      const graph::Tensor& ot = g.tensor(other);
      const graph::Tensor& rt = g.tensor(running);
      if (g.tensor(op.outputs[0]).shape != rt.shape) {
        throw Error(op_where(op), "the sum's shape differs from the fused value's; only an Add that keeps the shape can be fused");
      }
      if (ot.dtype != graph::DType::f32) throw Error(op_where(op), "can only fuse a float32 addition");
      PostOp post;
      post.kind = PostOp::Kind::add;
      post.op = ops[k];
      post.add_input = group.inputs.size();
      group.inputs.push_back(other);
      group.post_ops.push_back(post);
    } else if (auto e = eltwise_of(g, op)) {
      if (op.inputs.empty() || op.inputs[0] != running) throw Error(op_where(op), "does not read the fused value");
      PostOp post;
      post.kind = PostOp::Kind::eltwise;
      post.eltwise = *e;
      post.op = ops[k];
      group.post_ops.push_back(post);
    } else {
      throw Error(op_where(op), "a " + op.type +
                                    " cannot be fused (fusable: BatchNormalization after a Conv, Add, and the activations Relu, "
                                    "LeakyRelu, Clip, Sigmoid, Tanh, HardSigmoid, HardSwish, Exp, Abs, Sqrt, Log, Neg, Reciprocal, Erf)");
    }
    group.internal.push_back(running);
    running = op.outputs[0];
    produced.insert(running);
  }
  group.outputs = {running};
  return group;
}

}  // namespace sparoa::hw

namespace sparoa::hw {

graph::Schedule fuse_schedule(const graph::Graph& g, const graph::Schedule& s) {
  const std::size_t n = g.operators().size();
  std::vector<const graph::ScheduleEntry*> entry_of(n, nullptr);
  for (const auto& e : s.entries) {
    const auto id = g.find_op(e.op);
    if (!id) throw Error("schedule: entry '" + e.op + "'", "no such operator in model " + g.name);
    entry_of[*id] = &e;
  }
  // group_of[op] = root of its group; existing fusions are kept.
  std::vector<graph::OpId> group_of(n);
  for (graph::OpId i = 0; i < n; ++i) group_of[i] = i;
  std::vector<bool> taken(n, false);
  for (graph::OpId i = 0; i < n; ++i) {
    if (entry_of[i] && entry_of[i]->fuse_with) {
      group_of[i] = *g.find_op(*entry_of[i]->fuse_with);
      taken[i] = taken[group_of[i]] = true;
    }
  }
  static const std::set<std::string> roots = {"Conv", "ConvTranspose", "Gemm", "MatMul"};
  std::vector<std::vector<graph::OpId>> groups(n);
  for (graph::OpId i = 0; i < n; ++i) groups[group_of[i]].push_back(i);
  for (graph::OpId i = 0; i < n; ++i) {
    // A declared group runs root first, then its members in their lane order.
    std::sort(groups[i].begin(), groups[i].end(), [&](graph::OpId a, graph::OpId b) {
      return std::pair(a != i, entry_of[a] ? entry_of[a]->order : 0) < std::pair(b != i, entry_of[b] ? entry_of[b]->order : 0);
    });
  }
  for (graph::OpId root : g.topological_order()) {
    if (taken[root] || !roots.count(g.op(root).type)) continue;
    std::vector<graph::OpId> chain = {root};
    for (;;) {
      const graph::Operator& last = g.op(chain.back());
      if (last.outputs.size() != 1) break;
      const auto& readers = g.consumers(last.outputs[0]);
      if (readers.size() != 1) break;
      const graph::OpId next = readers[0];
      if (taken[next] || !entry_of[next] || entry_of[next]->lane != entry_of[root]->lane ||
          entry_of[next]->kernel != entry_of[root]->kernel) {
        break;
      }
      std::vector<graph::OpId> longer = chain;
      longer.push_back(next);
      try {
        make_fused_group(g, longer);
      } catch (const Error&) {
        break;
      }
      chain = std::move(longer);
    }
    if (chain.size() < 2) continue;
    for (graph::OpId m : chain) {
      taken[m] = true;
      group_of[m] = root;
    }
    groups[root] = chain;
    for (std::size_t k = 1; k < chain.size(); ++k) groups[chain[k]].clear();
  }
  // Topological order of the groups, preferring the schedule's own order (lane order, then
  // the operator's place in the graph's topological order) among the ready ones.
  std::vector<std::size_t> topo_pos(n);
  {
    std::size_t k = 0;
    for (graph::OpId id : g.topological_order()) topo_pos[id] = k++;
  }
  std::vector<int> pending(n, 0);
  std::vector<std::vector<graph::OpId>> succ(n);
  for (graph::OpId i = 0; i < n; ++i) {
    if (group_of[i] != i) continue;
    std::set<graph::OpId> preds;
    for (graph::OpId m : groups[i]) {
      for (graph::OpId p : g.predecessors(m)) {
        if (group_of[p] != i) preds.insert(group_of[p]);
      }
    }
    pending[i] = int(preds.size());
    for (graph::OpId p : preds) succ[p].push_back(i);
  }
  std::set<std::pair<std::size_t, graph::OpId>> ready;
  for (graph::OpId i = 0; i < n; ++i) {
    if (group_of[i] == i && pending[i] == 0) ready.insert({topo_pos[i], i});
  }
  graph::Schedule out = s;
  out.entries.clear();
  std::map<std::string, std::int64_t> next_order;
  while (!ready.empty()) {
    const graph::OpId root = ready.begin()->second;
    ready.erase(ready.begin());
    for (graph::OpId m : groups[root]) {
      graph::ScheduleEntry e = *entry_of[m];
      e.order = next_order[e.lane]++;
      if (m != root) e.fuse_with = g.op(root).name;
      out.entries.push_back(e);
    }
    for (graph::OpId v : succ[root]) {
      if (--pending[v] == 0) ready.insert({topo_pos[v], v});
    }
  }
  if (out.entries.size() != s.entries.size()) throw Error("schedule", "fusion groups form a cycle");
  return out;
}

}  // namespace sparoa::hw

#include "graph/graph.hpp"

#include <algorithm>
#include <boost/graph/topological_sort.hpp>

#include "support/error.hpp"

namespace sparoa::graph {

void Graph::add_tensor(Tensor t) {
  if (t.name.empty()) throw Error("graph '" + name + "'", "a tensor has an empty name");
  auto name_copy = t.name;
  auto [it, inserted] = tensors_.emplace(name_copy, std::move(t));
  if (!inserted) throw Error("tensor '" + name_copy + "'", "duplicate tensor name");
  tensor_order_.push_back(name_copy);
  finalized_ = false;
}

OpId Graph::add_operator(Operator op) {
  if (op.name.empty()) throw Error("graph '" + name + "'", "an operator of type " + op.type + " has an empty name");
  OpId id = ops_.size();
  if (!op_index_.emplace(op.name, id).second) {
    throw Error("node '" + op.name + "'", "duplicate operator name");
  }
  ops_.push_back(std::move(op));
  finalized_ = false;
  return id;
}

std::optional<OpId> Graph::find_op(const std::string& op_name) const {
  auto it = op_index_.find(op_name);
  if (it == op_index_.end()) return std::nullopt;
  return it->second;
}

const Tensor* Graph::find_tensor(const std::string& tensor_name) const {
  auto it = tensors_.find(tensor_name);
  return it == tensors_.end() ? nullptr : &it->second;
}

const Tensor& Graph::tensor(const std::string& tensor_name) const {
  if (const Tensor* t = find_tensor(tensor_name)) return *t;
  throw Error("tensor '" + tensor_name + "'", "unknown tensor");
}

std::vector<std::string> Graph::input_names() const {
  std::vector<std::string> names;
  for (const auto& n : tensor_order_) {
    if (tensors_.at(n).role == TensorRole::input) names.push_back(n);
  }
  return names;
}

std::optional<OpId> Graph::producer(const std::string& tensor_name) const {
  auto it = producer_.find(tensor_name);
  if (it == producer_.end()) return std::nullopt;
  return it->second;
}

const std::vector<OpId>& Graph::consumers(const std::string& tensor_name) const {
  static const std::vector<OpId> kNone;
  auto it = consumers_.find(tensor_name);
  return it == consumers_.end() ? kNone : it->second;
}

void Graph::finalize() {
  producer_.clear();
  consumers_.clear();
  for (OpId id = 0; id < ops_.size(); ++id) {
    for (const auto& out : ops_[id].outputs) {
      if (out.empty()) continue;
      const Tensor* t = find_tensor(out);
      if (!t) throw Error("node '" + ops_[id].name + "'", "output tensor '" + out + "' is not declared");
      if (t->role != TensorRole::activation) {
        throw Error("node '" + ops_[id].name + "'",
                    "output tensor '" + out + "' is also a graph input or weight (duplicate tensor name)");
      }
      auto [it, inserted] = producer_.emplace(out, id);
      if (!inserted) {
        throw Error("tensor '" + out + "'", "duplicate tensor name: produced by both '" +
                                                ops_[it->second].name + "' and '" + ops_[id].name + "'");
      }
    }
  }
  dag_ = Dag(ops_.size());
  for (OpId id = 0; id < ops_.size(); ++id) {
    std::vector<OpId> seen;
    for (const auto& in : ops_[id].inputs) {
      if (in.empty()) continue;
      const Tensor* t = find_tensor(in);
      if (!t) {
        throw Error("node '" + ops_[id].name + "'", "input '" + in +
                    "' is produced by no operator, graph input or initializer");
      }
      if (t->role == TensorRole::activation) {
        auto p = producer_.find(in);
        if (p == producer_.end()) {
          throw Error("node '" + ops_[id].name + "'", "input '" + in +
                      "' is produced by no operator, graph input or initializer");
        }
        if (std::find(seen.begin(), seen.end(), p->second) == seen.end()) {
          boost::add_edge(p->second, id, in, dag_);
          seen.push_back(p->second);
        }
      }
      auto& c = consumers_[in];
      if (c.empty() || c.back() != id) c.push_back(id);
    }
  }
  for (const auto& out : outputs_) {
    const Tensor* t = find_tensor(out);
    if (!t || (t->role == TensorRole::activation && !producer_.count(out))) {
      throw Error("graph output '" + out + "'", "is produced by no operator");
    }
  }
  // Topological order; ties broken by operator index (file order) so that the result is
  // deterministic and close to what the exporter wrote.
  std::vector<std::size_t> indegree(ops_.size(), 0);
  for (OpId id = 0; id < ops_.size(); ++id) indegree[id] = boost::in_degree(id, dag_);
  std::vector<OpId> ready;
  for (OpId id = ops_.size(); id-- > 0;) {
    if (indegree[id] == 0) ready.push_back(id);
  }
  // `ready` is kept sorted descending so that back() is the smallest index.
  topo_.clear();
  while (!ready.empty()) {
    OpId id = ready.back();
    ready.pop_back();
    topo_.push_back(id);
    for (auto [e, end] = boost::out_edges(id, dag_); e != end; ++e) {
      OpId next = boost::target(*e, dag_);
      if (--indegree[next] == 0) {
        ready.insert(std::upper_bound(ready.begin(), ready.end(), next, std::greater<>()), next);
      }
    }
  }
  if (topo_.size() != ops_.size()) {
    for (OpId id = 0; id < ops_.size(); ++id) {
      if (indegree[id] != 0) {
        throw Error("node '" + ops_[id].name + "'", "the graph has a cycle through this operator");
      }
    }
  }
  finalized_ = true;
}

std::vector<OpId> Graph::predecessors(OpId id) const {
  std::vector<OpId> out;
  for (auto [e, end] = boost::in_edges(id, dag_); e != end; ++e) out.push_back(boost::source(*e, dag_));
  std::sort(out.begin(), out.end());
  return out;
}

std::vector<OpId> Graph::successors(OpId id) const {
  std::vector<OpId> out;
  for (auto [e, end] = boost::out_edges(id, dag_); e != end; ++e) out.push_back(boost::target(*e, dag_));
  std::sort(out.begin(), out.end());
  out.erase(std::unique(out.begin(), out.end()), out.end());
  return out;
}

}  // namespace sparoa::graph

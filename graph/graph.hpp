#pragma once
// The workload: operators connected by tensors, held in a Boost.Graph whose vertices are
// operators and whose edges are producer -> consumer dependencies.
#include <boost/graph/adjacency_list.hpp>
#include <cstddef>
#include <string>
#include <unordered_map>
#include <vector>

#include "graph/op.hpp"
#include "graph/tensor.hpp"

namespace sparoa::graph {

using OpId = std::size_t;  // index into Graph::operators()

class Graph {
 public:
  // Vertex i is operator i; an edge carries the name of the tensor that creates the dependency.
  using Dag = boost::adjacency_list<boost::vecS, boost::vecS, boost::bidirectionalS,
                                    boost::no_property, std::string>;

  // Building. Call finalize() after the last add_*; it validates and builds the DAG.
  void add_tensor(Tensor t);  // throws on a duplicate name
  OpId add_operator(Operator op);
  void set_outputs(std::vector<std::string> names) { outputs_ = std::move(names); }
  // Checks: unique operator and tensor names, every input produced by exactly one operator,
  // a graph input or a weight, every graph output produced, no cycle. Throws sparoa::Error
  // naming the offending operator or tensor.
  void finalize();

  // Identity and provenance.
  std::string name;          // model name (from the file or the zoo)
  std::string source_path;   // file it was imported from, if any
  std::string model_sha256;  // SHA-256 of the model file's bytes
  std::int64_t opset = 0;    // default-domain opset the model declared
  std::int64_t batch = 1;    // batch size its shapes were bound to

  // Access.
  const std::vector<Operator>& operators() const { return ops_; }
  std::vector<Operator>& operators() { return ops_; }
  const Operator& op(OpId id) const { return ops_.at(id); }
  std::optional<OpId> find_op(const std::string& name) const;
  const Tensor& tensor(const std::string& name) const;  // throws sparoa::Error if unknown
  const Tensor* find_tensor(const std::string& name) const;
  const std::vector<std::string>& tensor_names() const { return tensor_order_; }
  std::vector<std::string> input_names() const;  // graph inputs, declaration order
  const std::vector<std::string>& output_names() const { return outputs_; }
  std::optional<OpId> producer(const std::string& tensor) const;
  const std::vector<OpId>& consumers(const std::string& tensor) const;

  // Structure (valid after finalize()).
  const Dag& dag() const { return dag_; }
  const std::vector<OpId>& topological_order() const { return topo_; }
  std::vector<OpId> predecessors(OpId id) const;  // distinct, ascending
  std::vector<OpId> successors(OpId id) const;    // distinct, ascending
  bool finalized() const { return finalized_; }

 private:
  std::vector<Operator> ops_;
  std::unordered_map<std::string, OpId> op_index_;
  std::unordered_map<std::string, Tensor> tensors_;
  std::vector<std::string> tensor_order_;
  std::vector<std::string> outputs_;
  std::unordered_map<std::string, OpId> producer_;
  std::unordered_map<std::string, std::vector<OpId>> consumers_;
  Dag dag_;
  std::vector<OpId> topo_;
  bool finalized_ = false;
};

}  // namespace sparoa::graph

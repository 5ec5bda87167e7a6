#pragma once
// A small helper that writes an ONNX ModelProto node by node: graph inputs with a symbolic
// batch "N", seeded weights generated straight into the initializers' raw_data (no second
// copy of a 400 MB tensor), pruning of conv/linear weights as they are created, and shared
// scalar constants.
#include <onnx/onnx_pb.h>

#include <cstdint>
#include <ostream>
#include <string>
#include <unordered_set>
#include <variant>
#include <vector>

#include "graph/zoo/pruning.hpp"
#include "graph/zoo/zoo.hpp"

namespace sparoa::graph::zoo::detail {

using Dims = std::vector<std::int64_t>;
using Ints = std::vector<std::int64_t>;

struct Attribute {
  std::string name;
  std::variant<std::int64_t, float, Ints, std::string> value;
};

class OnnxBuilder {
 public:
  OnnxBuilder(const std::string& model_name, const std::string& description,
              const Pruning& pruning, std::uint64_t seed);

  // A graph input [N, dims...] whose first dimension is the symbolic batch "N".
  std::string input(const std::string& name, onnx::TensorProto_DataType type, const Dims& dims);
  // Declares `tensor` a graph output of shape [N, dims...].
  void output(const std::string& tensor, onnx::TensorProto_DataType type, const Dims& dims);

  // A Conv/Gemm/MatMul weight: Kaiming-uniform for ReLU (bound sqrt(6 / fan_in)), then pruned
  // per the builder's Pruning along `layout`'s reduction axis.
  std::string weight(const std::string& name, const Dims& dims, std::int64_t fan_in,
                     const WeightLayout& layout);
  // A bias as PyTorch initialises one: uniform in +-1/sqrt(fan_in).
  std::string bias(const std::string& name, std::int64_t size, std::int64_t fan_in);
  // Any other float parameter or statistic, uniform in (lo, hi); never pruned.
  std::string uniform(const std::string& name, const Dims& dims, float lo, float hi);

  // Constants. Scalars (rank 0) are created once per name and shared.
  std::string scalar(const std::string& name, float value);
  std::string scalar_i64(const std::string& name, std::int64_t value);
  std::string ints(const std::string& name, const Ints& values);  // 1-D int64

  // Adds a node named `name` with one output tensor, called `output` or, when that is empty,
  // `name` too; returns the output's name.
  std::string node(const std::string& op_type, const std::string& name,
                   const std::vector<std::string>& inputs, const std::vector<Attribute>& attributes = {},
                   const std::string& output = {});

  const onnx::ModelProto& model() const { return model_; }
  // Byte-identical for identical builds (ModelProto has no map fields).
  std::string serialize() const;
  // The same bytes, streamed: no second in-memory copy of the model.
  void serialize_to(std::ostream& out) const;

 private:
  onnx::TensorProto& new_initializer(const std::string& name, onnx::TensorProto_DataType type,
                                     const Dims& dims);
  void claim(const std::string& name);  // names are unique across tensors and nodes
  void set_value_info(onnx::ValueInfoProto& info, const std::string& name,
                      onnx::TensorProto_DataType type, const Dims& dims);

  onnx::ModelProto model_;
  onnx::GraphProto* graph_;
  Pruning pruning_;
  std::uint64_t seed_;
  std::unordered_set<std::string> names_;
};

}  // namespace sparoa::graph::zoo::detail

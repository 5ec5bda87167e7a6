#pragma once
// Internal to the ONNX importer: folds the shape-computing subgraphs that exporters emit
// (Shape -> Gather -> Unsqueeze -> Concat -> Reshape, ConstantOfShape, Range, ...) into
// initializers once shapes are static, so that the graph keeps only real work.
#include <onnx/onnx_pb.h>

#include <string>
#include <vector>
#include <unordered_map>
#include <unordered_set>

namespace sparoa::graph::detail {

// Static types of every value known so far (graph inputs, value_info, outputs).
using TypeMap = std::unordered_map<std::string, const onnx::TypeProto*>;

// Types (fold-only operators) that are accepted only when they fold away.
bool is_fold_only_type(const std::string& op_type);
const std::vector<std::string>& fold_only_types();  // sorted

// What folding needs to remember between rounds.
struct FoldState {
  // Model parameters (float initializers and Constant outputs with more than one element):
  // operators that read them are never folded, so a broadcast class token or a scaled
  // weight stays the operator it is and its parameters are not duplicated.
  std::unordered_set<std::string> parameters;
  // Tensors computed by folding: constants, but not parameters of the model.
  std::unordered_set<std::string> derived;
};

// Collects the parameters of a freshly parsed graph.
FoldState initial_fold_state(const onnx::GraphProto& graph);

// Replaces every node whose outputs can be computed now by initializers; returns how many
// nodes were folded. Throws sparoa::Error (naming `origin` and the node) when a constant
// computation is malformed.
int fold_constants(onnx::GraphProto& graph, const TypeMap& types, const std::string& origin, FoldState& state);

}  // namespace sparoa::graph::detail

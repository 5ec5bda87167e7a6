#pragma once
// ONNX import: parse, check, bind symbolic dimensions, infer shapes, fold shape subgraphs
// to constants, reject what we cannot run, and return a finalized Graph with features.
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "graph/graph.hpp"

namespace sparoa::graph {

struct ImportOptions {
  // Binds the first dimension of every graph input whose first dimension is symbolic.
  std::optional<std::int64_t> batch;
  // Whole shapes per graph input ("--input-shape name=1x3x224x224"); wins over `batch`.
  std::map<std::string, Shape> input_shapes;
  // Count exact zeros in the weights (weight sparsity). Off only for benchmarks of parsing.
  bool count_weight_zeros = true;
};

// Parses "name=1x3x224x224" (throws sparoa::Error naming the argument).
std::pair<std::string, Shape> parse_input_shape(std::string_view arg);

// Lowest and highest default-domain opset we accept (ONNX 1.12's checker stops at 17).
inline constexpr std::int64_t kMinOpset = 11;
inline constexpr std::int64_t kMaxOpset = 17;

// Limits on what the importer takes (README "Limits"): beyond them a model is refused with
// an error naming the limit, before protobuf or ONNX allocate for it.
inline constexpr std::size_t kMaxOperators = 200'000;                       // nodes of the graph
inline constexpr std::int64_t kMaxTensorElements = std::int64_t(1) << 32;  // any one tensor

// Operator types the importer accepts as run-time operators, sorted.
const std::vector<std::string>& supported_operator_types();
// Operator types accepted only when they fold to constants (Constant, Shape, Range, ...),
// sorted. They never appear in an imported Graph.
const std::vector<std::string>& folded_operator_types();

// Throws sparoa::Error with one clear line naming the file and the tensor, node or operator.
Graph import_onnx(const std::filesystem::path& path, const ImportOptions& options = {});
// Same, from bytes already in memory; `origin` names them in errors.
Graph import_onnx_bytes(std::string_view bytes, const std::string& origin,
                        const ImportOptions& options = {});

}  // namespace sparoa::graph

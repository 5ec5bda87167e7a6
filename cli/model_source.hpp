#pragma once
// Resolves a --model argument: an ONNX file, or the name of a zoo model (built on demand
// into the zoo folder and cached by content hash).
#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "graph/graph.hpp"

namespace sparoa::cli {

struct ModelSource {
  std::string model;  // path or zoo name
  double sparsity = 0;  // zoo models only: weight sparsity of the pruned build
  std::int64_t batch = 1;
  std::string zoo_dir;
  std::vector<std::string> input_shapes;  // "name=1x3x224x224", each binds a whole input
};

// Imports the model bound to the batch size, with features computed.
graph::Graph load_model(const ModelSource& source);

}  // namespace sparoa::cli

#pragma once
// Resolves a --model argument: an ONNX file, or the name of a zoo model (built on demand
// into the zoo folder and cached by content hash).
#include <cstdint>
#include <filesystem>
#include <string>

#include "graph/graph.hpp"

namespace sparoa::cli {

struct ModelSource {
  std::string model;  // path or zoo name
  double sparsity = 0;  // zoo models only: weight sparsity of the pruned build
  std::int64_t batch = 1;
  std::string zoo_dir;
};

// Imports the model bound to the batch size, with features computed.
graph::Graph load_model(const ModelSource& source);

}  // namespace sparoa::cli

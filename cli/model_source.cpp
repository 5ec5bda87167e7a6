#include "cli/model_source.hpp"

#include "graph/onnx_import.hpp"
#include "graph/zoo/zoo.hpp"
#include "support/error.hpp"

namespace sparoa::cli {

graph::Graph load_model(const ModelSource& source) {
  std::filesystem::path path = source.model;
  std::error_code ec;  // a name too long is not a file either: no exception
  if (!std::filesystem::exists(path, ec)) {
    if (!graph::zoo::is_zoo_name(source.model)) {
      std::string names;
      for (const auto& m : graph::zoo::models()) names += (names.empty() ? "" : ", ") + m.name;
      throw Error("--model", "'" + source.model + "' is neither an ONNX file nor a zoo model (" + names +
                                 ", optionally with a variant such as resnet18@w0.5,d0.5,r160)");
    }
    path = graph::zoo::build_model(source.model, {source.sparsity, false}, source.zoo_dir);
  } else if (source.sparsity != 0) {
    throw Error("--sparsity", "applies to zoo models only; prune the ONNX file before importing it");
  }
  graph::ImportOptions options;
  options.batch = source.batch;
  for (const auto& arg : source.input_shapes) options.input_shapes.insert(graph::parse_input_shape(arg));
  return graph::import_onnx(path, options);
}

}  // namespace sparoa::cli

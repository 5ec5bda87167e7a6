// ONNX model bytes through the importer: protobuf parse, our structure and size checks, ONNX's
// checker and shape inference, constant folding, features. The first parse is protobuf's.
#include <onnx/onnx_pb.h>

#include "fuzz/fuzz_support.hpp"
#include "graph/onnx_import.hpp"

SPAROA_FUZZ_TARGET(onnx_model) {
  sparoa::fuzz::count_input("onnx_model");
  const std::string_view bytes(reinterpret_cast<const char*>(data), size);
  {
    onnx::ModelProto probe;
    if (probe.ParseFromArray(data, static_cast<int>(size)) && probe.has_graph()) sparoa::fuzz::count_parsed();
  }
  sparoa::graph::ImportOptions options;
  options.batch = 1;  // bind symbolic batch dimensions, as `sparoa inspect --batch 1` does
  sparoa::fuzz::expect_clean([&] { sparoa::graph::import_onnx_bytes(bytes, "fuzz.onnx", options); });
  return 0;
}

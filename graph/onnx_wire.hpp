#pragma once
// Internal to the ONNX importer: a walk over the protobuf wire format of a ModelProto that
// takes the large weights out before protobuf parses the rest. Parsing would copy every
// weight byte into a fresh allocation (for VGG-16, 553 MB of page faults); the importer
// instead keeps them where they are, in the mapped file, and parses only the small rest.
#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace sparoa::graph::detail {

struct RawSlice {
  std::size_t offset = 0;  // into the original bytes
  std::size_t size = 0;
};

struct StrippedModel {
  // The model re-encoded with each stripped initializer's raw_data replaced by one byte
  // (ONNX 1.12's checker wants a non-empty value field; it does not check the size).
  std::string bytes;
  // Per graph initializer, in order: where its real raw_data is, or nullopt if kept.
  std::vector<std::optional<RawSlice>> initializer_data;
  // GraphProto.node entries of the main graph, counted before anything is parsed, so that an
  // oversized model is refused before protobuf allocates its nodes.
  std::size_t nodes = 0;
};

// Strips the raw_data of floating-point graph initializers of at least `min_size` bytes
// (small ones, and integer tensors that shape computations read, stay). Returns nullopt
// when the bytes are not a message this walk understands (malformed, groups, repeated
// singular fields): the caller then parses them as they are and reports protobuf's verdict.
std::optional<StrippedModel> strip_initializer_data(std::string_view model, std::size_t min_size);

}  // namespace sparoa::graph::detail

#pragma once
// Tensors in the ONNX test-data layout: a folder of `input_K.pb` / `output_K.pb` files, each
// one serialized onnx.TensorProto. `sparoa run --inputs/--outputs` and the conformance runner
// read and write these, so results can be checked against any other runtime.
#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "hw/tensor.hpp"

namespace sparoa::hw {

struct NamedTensor {
  std::string name;  // the TensorProto's name (may be empty in test data)
  HostTensor tensor;
};

// Throws sparoa::Error naming the file: unreadable, not a TensorProto, an element type we do
// not run, or a value count that does not match the dimensions.
NamedTensor read_tensor_pb(const std::filesystem::path& path);
// Atomic: the file appears whole or not at all. Data goes to raw_data (little-endian).
void write_tensor_pb(const std::filesystem::path& path, const TensorView& t, const std::string& name);

// `prefix_0.pb`, `prefix_1.pb`, ... until the first missing index.
std::vector<NamedTensor> read_tensor_folder(const std::filesystem::path& dir, const std::string& prefix);

// Seeded random data for a graph input: floats uniform in [0, 1), integers 0 or 1 (valid
// token ids, masks and segment ids alike), bools at random. The same seed and shape give the
// same bytes on every machine (own generator, no std::uniform_*_distribution).
HostTensor random_tensor(DType dtype, const Shape& shape, std::uint64_t seed);

}  // namespace sparoa::hw

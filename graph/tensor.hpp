#pragma once
// Tensors of the operator graph: name, element type, static shape and, for weights, data.
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace sparoa::graph {

// Element types, numbered as ONNX's TensorProto.DataType so that conversion is a cast.
enum class DType : int {
  undefined = 0, f32 = 1, u8 = 2, i8 = 3, u16 = 4, i16 = 5, i32 = 6, i64 = 7, string = 8,
  boolean = 9, f16 = 10, f64 = 11, u32 = 12, u64 = 13, bf16 = 16,
};

std::string_view dtype_name(DType t);
std::size_t dtype_size(DType t);  // bytes per element; 0 for string/undefined

using Shape = std::vector<std::int64_t>;
std::int64_t element_count(const Shape& shape);
std::string shape_string(const Shape& shape);  // "1x3x224x224"; "scalar" for rank 0

enum class TensorRole {
  input,       // graph input: data arrives at run time
  weight,      // initializer or Constant: data known at import time
  activation,  // produced by an operator
};

// Raw little-endian element data of a weight, shared between graph copies. Either owned, or
// a view into memory kept alive by `keepalive` (the importer maps model files and points
// large weights straight into the mapping instead of copying them).
class TensorData {
 public:
  explicit TensorData(std::string owned) : owned_(std::move(owned)), view_(owned_) {}
  TensorData(std::shared_ptr<const void> keepalive, std::string_view view)
      : keepalive_(std::move(keepalive)), view_(view) {}
  TensorData(const TensorData&) = delete;
  TensorData& operator=(const TensorData&) = delete;

  std::string_view bytes() const { return view_; }

 private:
  std::string owned_;
  std::shared_ptr<const void> keepalive_;
  std::string_view view_;
};

struct Tensor {
  std::string name;
  DType dtype = DType::undefined;
  Shape shape;  // always static after import
  TensorRole role = TensorRole::activation;
  std::shared_ptr<const TensorData> data;  // set for weights only
  // A weight the importer computed by folding a shape subgraph: constant, not a parameter.
  bool derived = false;

  std::int64_t elements() const { return element_count(shape); }
  std::int64_t size_bytes() const;  // throws sparoa::Error when it overflows 64 bits
};

}  // namespace sparoa::graph

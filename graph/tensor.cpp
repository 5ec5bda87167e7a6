#include "graph/tensor.hpp"

#include <limits>

#include "support/error.hpp"

namespace sparoa::graph {

std::string_view dtype_name(DType t) {
  switch (t) {
    case DType::f32: return "float32";
    case DType::u8: return "uint8";
    case DType::i8: return "int8";
    case DType::u16: return "uint16";
    case DType::i16: return "int16";
    case DType::i32: return "int32";
    case DType::i64: return "int64";
    case DType::string: return "string";
    case DType::boolean: return "bool";
    case DType::f16: return "float16";
    case DType::f64: return "float64";
    case DType::u32: return "uint32";
    case DType::u64: return "uint64";
    case DType::bf16: return "bfloat16";
    case DType::undefined: break;
  }
  return "undefined";
}

std::size_t dtype_size(DType t) {
  switch (t) {
    case DType::u8: case DType::i8: case DType::boolean: return 1;
    case DType::u16: case DType::i16: case DType::f16: case DType::bf16: return 2;
    case DType::f32: case DType::i32: case DType::u32: return 4;
    case DType::f64: case DType::i64: case DType::u64: return 8;
    case DType::string: case DType::undefined: break;
  }
  return 0;
}

std::int64_t element_count(const Shape& shape) {
  std::int64_t n = 1;
  for (auto d : shape) {
    if (d < 0) throw Error("shape " + shape_string(shape), "negative or unknown dimension");
    if (d != 0 && n > std::numeric_limits<std::int64_t>::max() / d) {
      throw Error("shape " + shape_string(shape), "element count overflows 64 bits");
    }
    n *= d;
  }
  return n;
}

std::int64_t Tensor::size_bytes() const {
  std::int64_t bytes = 0;
  if (__builtin_mul_overflow(elements(), static_cast<std::int64_t>(dtype_size(dtype)), &bytes)) {
    throw Error("tensor '" + name + "'", "size in bytes overflows 64 bits (shape " + shape_string(shape) + ")");
  }
  return bytes;
}

std::string shape_string(const Shape& shape) {
  if (shape.empty()) return "scalar";
  std::string s;
  for (std::size_t i = 0; i < shape.size(); ++i) {
    if (i) s += 'x';
    s += shape[i] < 0 ? std::string("?") : std::to_string(shape[i]);
  }
  return s;
}

}  // namespace sparoa::graph

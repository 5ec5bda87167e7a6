#include "hw/tensor_io.hpp"

#include <onnx/onnx_pb.h>

#include <cstring>
#include <fstream>
#include <sstream>

#include "support/atomic_file.hpp"
#include "support/error.hpp"

namespace sparoa::hw {

namespace {

std::string read_bytes(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw Error(path.string(), "cannot open");
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

}  // namespace

NamedTensor read_tensor_pb(const std::filesystem::path& path) {
  const std::string where = path.string();
  const std::string bytes = read_bytes(path);
  onnx::TensorProto t;
  if (!t.ParseFromString(bytes)) throw Error(where, "not a serialized onnx.TensorProto");
  const auto dtype = static_cast<DType>(t.data_type());
  const std::size_t width = graph::dtype_size(dtype);
  if (width == 0 || dtype == DType::string) {
    throw Error(where, "element type " + std::to_string(t.data_type()) + " is not supported at run time");
  }
  Shape shape(t.dims().begin(), t.dims().end());
  for (auto d : shape) {
    if (d < 0) throw Error(where, "negative dimension in " + graph::shape_string(shape));
  }
  const std::int64_t n = graph::element_count(shape);
  // Check the value count against the file before allocating what the dimensions claim.
  auto check = [&](std::int64_t have) {
    if (have != n) {
      throw Error(where, "holds " + std::to_string(have) + " values, its shape " + graph::shape_string(shape) +
                             " needs " + std::to_string(n));
    }
  };
  if (t.has_raw_data()) {
    check(std::int64_t(t.raw_data().size() / width));
    if (t.raw_data().size() % width != 0) throw Error(where, "raw data is not a whole number of elements");
  } else {
    switch (dtype) {
      case DType::f32: check(t.float_data_size()); break;
      case DType::f64: check(t.double_data_size()); break;
      case DType::i64: check(t.int64_data_size()); break;
      case DType::u64: case DType::u32: check(t.uint64_data_size()); break;
      default: check(t.int32_data_size()); break;
    }
  }
  NamedTensor out{t.name(), HostTensor(dtype, shape)};
  char* dst = static_cast<char*>(out.tensor.view().data);
  const std::size_t size = out.tensor.size_bytes();
  if (size == 0) return out;  // an empty repeated field's data() may be null: no memcpy
  if (t.has_raw_data()) {
    std::memcpy(dst, t.raw_data().data(), size);
    return out;
  }
  switch (dtype) {
    case DType::f32: std::memcpy(dst, t.float_data().data(), size); break;
    case DType::f64: std::memcpy(dst, t.double_data().data(), size); break;
    case DType::i64: std::memcpy(dst, t.int64_data().data(), size); break;
    case DType::u64: std::memcpy(dst, t.uint64_data().data(), size); break;
    case DType::u32:
      for (std::int64_t i = 0; i < n; ++i) {
        const auto v = static_cast<std::uint32_t>(t.uint64_data(int(i)));
        std::memcpy(dst + i * 4, &v, 4);
      }
      break;
    default:  // int32, int16, int8, uint16, uint8, bool, float16 travel in int32_data
      for (std::int64_t i = 0; i < n; ++i) {
        const auto v = static_cast<std::uint32_t>(t.int32_data(int(i)));
        std::memcpy(dst + i * std::int64_t(width), &v, width);  // little-endian: the low bytes
      }
      break;
  }
  return out;
}

void write_tensor_pb(const std::filesystem::path& path, const TensorView& v, const std::string& name) {
  onnx::TensorProto t;
  t.set_name(name);
  t.set_data_type(static_cast<int>(v.dtype));
  for (auto d : v.shape) t.add_dims(d);
  t.set_raw_data(std::string(static_cast<const char*>(v.data), v.size_bytes()));
  std::string bytes;
  if (!t.SerializeToString(&bytes)) throw Error(path.string(), "cannot serialize the tensor");
  write_file_atomically(path, bytes);
}

std::vector<NamedTensor> read_tensor_folder(const std::filesystem::path& dir, const std::string& prefix) {
  if (!std::filesystem::is_directory(dir)) throw Error(dir.string(), "not a folder");
  std::vector<NamedTensor> out;
  for (int k = 0;; ++k) {
    const auto path = dir / (prefix + "_" + std::to_string(k) + ".pb");
    if (!std::filesystem::exists(path)) break;
    out.push_back(read_tensor_pb(path));
  }
  return out;
}

HostTensor random_tensor(DType dtype, const Shape& shape, std::uint64_t seed) {
  HostTensor t(dtype, shape);
  // splitmix64: tiny, portable, and the same stream everywhere.
  std::uint64_t state = seed;
  auto next = [&state] {
    std::uint64_t z = (state += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
  };
  const std::int64_t n = t.elements();
  char* p = static_cast<char*>(t.view().data);
  switch (dtype) {
    case DType::f32:
      for (std::int64_t i = 0; i < n; ++i) reinterpret_cast<float*>(p)[i] = float(next() >> 40) / float(1 << 24);
      break;
    case DType::f64:
      for (std::int64_t i = 0; i < n; ++i) reinterpret_cast<double*>(p)[i] = double(next() >> 11) / double(1ULL << 53);
      break;
    default: {
      const std::size_t width = graph::dtype_size(dtype);
      for (std::int64_t i = 0; i < n; ++i) {
        const std::uint64_t bit = next() >> 63;
        std::memcpy(p + i * std::int64_t(width), &bit, width);  // little-endian: 0 or 1
      }
    }
  }
  return t;
}

}  // namespace sparoa::hw

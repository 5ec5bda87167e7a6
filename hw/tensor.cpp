#include "hw/tensor.hpp"

#include <cmath>
#include <cstdlib>
#include <cstring>
#include <sstream>

#include "support/error.hpp"

namespace sparoa::hw {

std::vector<std::int64_t> row_major_strides(const Shape& shape) {
  std::vector<std::int64_t> strides(shape.size(), 1);
  for (std::size_t i = shape.size(); i-- > 1;) strides[i - 1] = strides[i] * shape[i];
  return strides;
}

void check_dtype(const TensorView& v, DType expected) {
  if (v.dtype != expected) {
    throw Error("tensor of shape " + graph::shape_string(v.shape),
                "holds " + std::string(graph::dtype_name(v.dtype)) + ", read as " +
                    std::string(graph::dtype_name(expected)));
  }
}

void AlignedBuffer::Free::operator()(std::byte* p) const noexcept { std::free(p); }

AlignedBuffer::AlignedBuffer(std::size_t bytes) : size_(bytes) {
  // aligned_alloc wants a multiple of the alignment; a zero-size tensor still gets a pointer
  // so that "present" and "empty" stay different things.
  const std::size_t rounded = (bytes + 63) / 64 * 64 + 64 * (bytes == 0);
  void* p = std::aligned_alloc(64, rounded);
  if (p == nullptr) throw Error("memory", "cannot allocate " + std::to_string(bytes) + " bytes");
  std::memset(p, 0, rounded);
  data_.reset(static_cast<std::byte*>(p));
}

HostTensor::HostTensor(DType dtype, Shape shape) {
  const std::size_t elem = graph::dtype_size(dtype);
  if (elem == 0 || dtype == DType::string) {
    throw Error("tensor", "element type " + std::string(graph::dtype_name(dtype)) + " is not supported at run time");
  }
  const std::int64_t n = graph::element_count(shape);
  std::int64_t bytes = 0;
  if (__builtin_mul_overflow(n, std::int64_t(elem), &bytes)) {
    throw Error("tensor of shape " + graph::shape_string(shape), "size in bytes overflows 64 bits");
  }
  buffer_ = AlignedBuffer(std::size_t(bytes));
  view_ = TensorView{dtype, std::move(shape), buffer_.data()};
}

TensorView weight_view(const graph::Tensor& t) {
  if (!t.data) throw Error("tensor '" + t.name + "'", "is not a weight: it has no data");
  const auto bytes = t.data->bytes();
  if (std::int64_t(bytes.size()) != t.size_bytes()) {
    throw Error("tensor '" + t.name + "'", "holds " + std::to_string(bytes.size()) + " bytes, its shape needs " +
                                               std::to_string(t.size_bytes()));
  }
  // Kernels never write their inputs, so handing out a non-const pointer is safe; the data
  // may live in a read-only file mapping.
  return TensorView{t.dtype, t.shape, const_cast<char*>(bytes.data())};
}

namespace {

template <typename T> double value_at(const TensorView& v, std::int64_t i) {
  return double(static_cast<const T*>(v.data)[i]);
}

// IEEE half precision to double (subnormals, infinities and NaN included).
double half_to_double(std::uint16_t h) {
  const int exponent = (h >> 10) & 0x1f;
  const int mantissa = h & 0x3ff;
  const double sign = (h & 0x8000) ? -1.0 : 1.0;
  if (exponent == 0) return sign * std::ldexp(double(mantissa), -24);
  if (exponent == 31) return mantissa ? std::nan("") : sign * INFINITY;
  return sign * std::ldexp(double(mantissa | 0x400), exponent - 25);
}

double bfloat16_to_double(std::uint16_t b) {
  const std::uint32_t bits = std::uint32_t(b) << 16;
  float f;
  std::memcpy(&f, &bits, sizeof f);
  return f;
}

double as_double(const TensorView& v, std::int64_t i) {
  switch (v.dtype) {
    case DType::f32: return value_at<float>(v, i);
    case DType::f64: return value_at<double>(v, i);
    case DType::i64: return value_at<std::int64_t>(v, i);
    case DType::i32: return value_at<std::int32_t>(v, i);
    case DType::i16: return value_at<std::int16_t>(v, i);
    case DType::i8: return value_at<std::int8_t>(v, i);
    case DType::u8: return value_at<std::uint8_t>(v, i);
    case DType::u16: return value_at<std::uint16_t>(v, i);
    case DType::u32: return value_at<std::uint32_t>(v, i);
    case DType::u64: return value_at<std::uint64_t>(v, i);
    case DType::boolean: return value_at<std::uint8_t>(v, i) != 0 ? 1.0 : 0.0;
    case DType::f16: return half_to_double(static_cast<const std::uint16_t*>(v.data)[i]);
    case DType::bf16: return bfloat16_to_double(static_cast<const std::uint16_t*>(v.data)[i]);
    default: break;
  }
  throw Error("tensor", "element type " + std::string(graph::dtype_name(v.dtype)) + " cannot be compared");
}

}  // namespace

std::string compare_tensors(const TensorView& actual, const TensorView& expected, double rtol, double atol) {
  if (actual.dtype != expected.dtype) {
    return std::string("element type ") + std::string(graph::dtype_name(actual.dtype)) + ", expected " +
           std::string(graph::dtype_name(expected.dtype));
  }
  if (actual.shape != expected.shape) {
    return "shape " + graph::shape_string(actual.shape) + ", expected " + graph::shape_string(expected.shape);
  }
  const bool floating = actual.dtype == DType::f32 || actual.dtype == DType::f64 || actual.dtype == DType::f16 ||
                        actual.dtype == DType::bf16;
  const std::int64_t n = actual.elements();
  std::int64_t first = -1, mismatches = 0;
  double worst = 0;
  for (std::int64_t i = 0; i < n; ++i) {
    const double a = as_double(actual, i), e = as_double(expected, i);
    bool ok;
    if (floating) {
      if (std::isnan(a) || std::isnan(e)) {
        ok = std::isnan(a) && std::isnan(e);
      } else if (std::isinf(a) || std::isinf(e)) {
        ok = a == e;
      } else {
        const double err = std::fabs(a - e);
        ok = err <= atol + rtol * std::fabs(e);
        if (!ok) worst = std::max(worst, err);
      }
    } else {
      ok = a == e;
    }
    if (!ok) {
      if (first < 0) first = i;
      ++mismatches;
    }
  }
  if (first < 0) return "";
  std::ostringstream out;
  out.precision(9);
  out << mismatches << " of " << n << " elements differ; first at index " << first << ": "
      << as_double(actual, first) << " vs expected " << as_double(expected, first);
  if (floating) out << "; largest absolute error " << worst << " (rtol " << rtol << ", atol " << atol << ")";
  return out.str();
}

double zero_fraction(const TensorView& v) {
  const std::int64_t n = v.elements();
  if (n == 0 || !v.present()) return 0;
  std::int64_t zeros = 0;
  if (v.dtype == DType::f32) {
    const float* p = static_cast<const float*>(v.data);
    for (std::int64_t i = 0; i < n; ++i) zeros += p[i] == 0.0f;
  } else {
    for (std::int64_t i = 0; i < n; ++i) zeros += as_double(v, i) == 0.0;
  }
  return double(zeros) / double(n);
}

}  // namespace sparoa::hw

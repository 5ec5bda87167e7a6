#pragma once
// Run-time tensors of the hardware backend: a view (dtype, shape, pointer) that kernels read
// and write, and an owning host tensor (64-byte aligned, as oneDNN and the vector units
// prefer). Activations are float32; indices, masks and shape-like tensors keep their ONNX
// element type (int64, int32, bool), so a view always says which one it holds.
#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string>

#include "graph/tensor.hpp"

namespace sparoa::hw {

using graph::DType;
using graph::Shape;

// Row-major strides in elements (the last dimension is contiguous).
std::vector<std::int64_t> row_major_strides(const Shape& shape);

struct TensorView {
  DType dtype = DType::undefined;
  Shape shape;
  void* data = nullptr;  // nullptr for an omitted optional input

  bool present() const { return data != nullptr; }
  std::int64_t elements() const { return graph::element_count(shape); }
  std::size_t size_bytes() const { return std::size_t(elements()) * graph::dtype_size(dtype); }
  std::int64_t dim(std::size_t i) const { return shape.at(i); }
  std::size_t rank() const { return shape.size(); }

  // Typed access. Throws sparoa::Error when the view holds another element type (a kernel
  // bug or a model the kernel did not check, never undefined behaviour).
  template <typename T> T* as() const;
  template <typename T> std::span<T> span() const { return {as<T>(), std::size_t(elements())}; }
};

// The C++ type of each supported run-time element type.
template <typename T> constexpr DType dtype_of();
template <> constexpr DType dtype_of<float>() { return DType::f32; }
template <> constexpr DType dtype_of<double>() { return DType::f64; }
template <> constexpr DType dtype_of<std::int64_t>() { return DType::i64; }
template <> constexpr DType dtype_of<std::int32_t>() { return DType::i32; }
template <> constexpr DType dtype_of<std::int8_t>() { return DType::i8; }
template <> constexpr DType dtype_of<std::uint8_t>() { return DType::u8; }
template <> constexpr DType dtype_of<bool>() { return DType::boolean; }

void check_dtype(const TensorView& v, DType expected);  // throws sparoa::Error

template <typename T> T* TensorView::as() const {
  check_dtype(*this, dtype_of<T>());
  return static_cast<T*>(data);
}

// Memory aligned to 64 bytes, zero-filled. Size 0 still gives a valid, unique pointer.
class AlignedBuffer {
 public:
  AlignedBuffer() = default;
  explicit AlignedBuffer(std::size_t bytes);
  std::byte* data() const { return data_.get(); }
  std::size_t size() const { return size_; }

 private:
  struct Free {
    void operator()(std::byte* p) const noexcept;
  };
  std::unique_ptr<std::byte[], Free> data_;
  std::size_t size_ = 0;
};

// A tensor that owns its (host) memory: graph inputs and outputs, test data, reference runs.
class HostTensor {
 public:
  HostTensor() = default;
  HostTensor(DType dtype, Shape shape);  // zero-filled; throws on unsupported dtype or overflow
  DType dtype() const { return view_.dtype; }
  const Shape& shape() const { return view_.shape; }
  std::int64_t elements() const { return view_.elements(); }
  std::size_t size_bytes() const { return view_.size_bytes(); }
  const TensorView& view() const { return view_; }
  template <typename T> T* as() const { return view_.as<T>(); }
  template <typename T> std::span<T> span() const { return view_.span<T>(); }

 private:
  AlignedBuffer buffer_;
  TensorView view_;
};

// A view of a weight's bytes in the graph (read-only by contract: kernels never write their
// inputs). Throws sparoa::Error when the tensor has no data.
TensorView weight_view(const graph::Tensor& t);

// Elementwise comparison for tests and the conformance runner: float types within
// |a - b| <= atol + rtol * |b| (NaN equals NaN), others exactly. Returns "" when they match,
// otherwise a one-line description of the first mismatch and the largest error.
std::string compare_tensors(const TensorView& actual, const TensorView& expected, double rtol, double atol);

// Fraction of exact zeros among the elements (floats: +0 and -0; others: value 0).
double zero_fraction(const TensorView& v);

}  // namespace sparoa::hw

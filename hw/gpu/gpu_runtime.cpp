// The GPU runtime on CUDA: devices, memory of each kind, streams with their library handles,
// events, and the steady-clock anchors that place event times on the host's clock.
#include "hw/gpu/gpu_runtime.hpp"

#include <algorithm>
#include <chrono>
#include <utility>

#include "hw/gpu/gpu_env.hpp"
#include "support/error.hpp"

namespace sparoa::hw::gpu {

namespace {

std::int64_t now_ns() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

// Whether device 0 is usable, decided once per process (the answer cannot change while it runs).
const std::string& cached_reason() {
  static const std::string reason = [] {
    int count = 0;
    const cudaError_t err = cudaGetDeviceCount(&count);
    if (err != cudaSuccess) {
      cudaGetLastError();
      return std::string("no usable GPU: ") + cudaGetErrorString(err);
    }
    if (count == 0) return std::string("no GPU found");
    if (cudaSetDevice(0) != cudaSuccess) {
      cudaGetLastError();
      return std::string("GPU 0 cannot be selected");
    }
    return std::string();
  }();
  return reason;
}

void require(const char* what) {
  const std::string& r = cached_reason();
  if (!r.empty()) throw Error(what, r);
}

}  // namespace

[[noreturn]] void fail_cuda(const std::string& where, const std::string& what) { throw Error(where, what); }

void check(cublasStatus_t e, const std::string& where) {
  if (e == CUBLAS_STATUS_SUCCESS) return;
  fail_cuda(where, std::string("cuBLAS: ") + cublasGetStatusString(e));
}

std::optional<Elem> elem_of(graph::DType t) {
  switch (t) {
    case graph::DType::f32: return Elem::f32;
    case graph::DType::f64: return Elem::f64;
    case graph::DType::f16: return Elem::f16;
    case graph::DType::i8: return Elem::i8;
    case graph::DType::u8: return Elem::u8;
    case graph::DType::i16: return Elem::i16;
    case graph::DType::i32: return Elem::i32;
    case graph::DType::i64: return Elem::i64;
    case graph::DType::boolean: return Elem::boolean;
    default: return std::nullopt;
  }
}

void check_launch(const char* where) { check(cudaGetLastError(), where); }

bool compiled_in() { return true; }

std::string unavailable_reason() { return cached_reason(); }

DeviceProperties device_properties() {
  require("GPU");
  cudaDeviceProp p{};
  check(cudaGetDeviceProperties(&p, 0), "GPU 0");
  DeviceProperties d;
  d.name = p.name;
  d.sm_major = p.major;
  d.sm_minor = p.minor;
  d.multiprocessors = p.multiProcessorCount;
  d.memory_bytes = p.totalGlobalMem;
  d.integrated = p.integrated != 0;
  d.can_map_host_memory = p.canMapHostMemory != 0;
  return d;
}

Buffer::Buffer(MemoryKind kind, std::size_t bytes) : kind_(kind), bytes_(bytes) {
  const std::size_t n = std::max<std::size_t>(bytes, 64);  // never a null pointer for an empty tensor
  const std::string what = std::string("allocating ") + std::to_string(bytes) + " bytes of " + to_string(kind) + " memory";
  switch (kind) {
    case MemoryKind::host:
      host_ = ::operator new(n, std::align_val_t(64));
      break;
    case MemoryKind::pinned:
      require("pinned memory");
      check(cudaHostAlloc(&host_, n, cudaHostAllocDefault), what);
      device_ = host_;  // unified addressing: copies take the host address
      break;
    case MemoryKind::device:
      require("GPU memory");
      check(cudaMalloc(&device_, n), what);
      break;
    case MemoryKind::mapped:
      require("mapped memory");
      check(cudaHostAlloc(&host_, n, cudaHostAllocMapped), what);
      check(cudaHostGetDevicePointer(&device_, host_, 0), what);
      break;
  }
}

void Buffer::release() noexcept {
  switch (kind_) {
    case MemoryKind::host:
      if (host_) ::operator delete(host_, std::align_val_t(64));
      break;
    case MemoryKind::pinned:
    case MemoryKind::mapped:
      if (host_) cudaFreeHost(host_);
      break;
    case MemoryKind::device:
      if (device_) cudaFree(device_);
      break;
  }
  host_ = device_ = nullptr;
  bytes_ = 0;
}


void copy(void* dst, const void* src, std::size_t bytes) {
  if (bytes == 0 || dst == src) return;
  check(cudaMemcpy(dst, src, bytes, cudaMemcpyDefault), "copy of " + std::to_string(bytes) + " bytes");
}

Event::Event() {
  require("CUDA event");
  cudaEvent_t e = nullptr;
  check(cudaEventCreate(&e), "creating a CUDA event");
  handle_ = e;
}
Event::~Event() {
  if (handle_) cudaEventDestroy(static_cast<cudaEvent_t>(handle_));
}
void Event::synchronize() const { check(cudaEventSynchronize(static_cast<cudaEvent_t>(handle_)), "waiting for a GPU step"); }
float Event::elapsed_ms_since(const Event& from) const {
  float ms = 0;
  check(cudaEventElapsedTime(&ms, static_cast<cudaEvent_t>(from.handle_), static_cast<cudaEvent_t>(handle_)),
        "reading CUDA event times");
  return ms;
}

Stream::Stream(bool with_libraries, bool allow_tf32) : handles_(std::make_unique<LaneHandles>()) {
  require("CUDA stream");
  LaneHandles& h = *handles_;
  h.tf32 = allow_tf32;
  check(cudaStreamCreateWithFlags(&h.stream, cudaStreamNonBlocking), "creating a CUDA stream");
  if (!with_libraries) return;
  check(cudnnCreate(&h.cudnn), "creating a cuDNN handle");
  check(cudnnSetStream(h.cudnn, h.stream), "binding cuDNN to the lane's stream");
  check(cublasCreate(&h.cublas), "creating a cuBLAS handle");
  check(cublasSetStream(h.cublas, h.stream), "binding cuBLAS to the lane's stream");
  // FP32 GEMMs in FP32 unless TF32 was asked for (CUBLAS_DEFAULT_MATH never uses TF32 since
  // CUDA 11; the NVIDIA_TF32_OVERRIDE environment variable can still force it off).
  check(cublasSetMathMode(h.cublas, allow_tf32 ? CUBLAS_TF32_TENSOR_OP_MATH : CUBLAS_DEFAULT_MATH), "cuBLAS math mode");
  check(cusparseCreate(&h.cusparse), "creating a cuSPARSE handle");
  check(cusparseSetStream(h.cusparse, h.stream), "binding cuSPARSE to the lane's stream");
}

Stream::~Stream() {
  LaneHandles& h = *handles_;
  if (h.stream) cudaStreamSynchronize(h.stream);
  if (h.cusparse) cusparseDestroy(h.cusparse);
  if (h.cublas) cublasDestroy(h.cublas);
  if (h.cudnn) cudnnDestroy(h.cudnn);
  if (h.stream) cudaStreamDestroy(h.stream);
}

void Stream::copy_async(void* dst, const void* src, std::size_t bytes) {
  if (bytes == 0 || dst == src) return;
  check(cudaMemcpyAsync(dst, src, bytes, cudaMemcpyDefault, handles_->stream), "asynchronous copy of " + std::to_string(bytes) + " bytes");
}
void Stream::record(Event& e) { check(cudaEventRecord(static_cast<cudaEvent_t>(e.handle()), handles_->stream), "recording a CUDA event"); }
void Stream::wait(const Event& e) {
  check(cudaStreamWaitEvent(handles_->stream, static_cast<cudaEvent_t>(e.handle()), 0), "waiting on another lane's event");
}
void Stream::synchronize() { check(cudaStreamSynchronize(handles_->stream), "waiting for the GPU lane"); }

ClockAnchor Stream::anchor(Event& e) {
  synchronize();
  // Elapsed times refer to the event's last recording, so the bracket kept is the last one;
  // the first two rounds warm the record/synchronise path up (the first one can take far
  // longer than the others).
  ClockAnchor a;
  for (int round = 0; round < 3; ++round) {
    a.before_ns = now_ns();
    record(e);
    e.synchronize();
    a.after_ns = now_ns();
  }
  return a;
}

}  // namespace sparoa::hw::gpu

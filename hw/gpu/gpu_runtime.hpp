#pragma once
// The GPU runtime as the replay engine sees it: device discovery, memory of the four kinds a
// plan can ask for, streams with the library handles bound to them, events, and the clock
// conversion of event times. No CUDA type appears here, so that the engine (and a build
// without CUDA, which links gpu_unavailable.cpp instead) compiles without CUDA headers.
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

namespace sparoa::hw::gpu {

// True when this build contains the GPU backend.
bool compiled_in();
// "" when a GPU is usable now; otherwise why not, in one line ("this build has no GPU
// backend (configured without CUDA)", "no GPU found", "no usable GPU: <driver error>").
std::string unavailable_reason();

struct DeviceProperties {
  std::string name;
  int sm_major = 0, sm_minor = 0;
  int multiprocessors = 0;
  std::size_t memory_bytes = 0;
  bool integrated = false;           // shares DRAM with the CPU (Jetson)
  bool can_map_host_memory = false;  // zero-copy mapped host memory is possible
};
// Device 0 (the replay engine uses one GPU). Throws sparoa::Error with unavailable_reason().
DeviceProperties device_properties();

// Where a buffer lives. host: plain (aligned) host memory, never touched by the GPU. pinned:
// page-locked host memory, for asynchronous copies to and from a discrete GPU. device: GPU
// memory (on an integrated GPU, DRAM the CPU does not access). mapped: page-locked host
// memory mapped into the GPU's address space, read and written in place by both (zero-copy).
enum class MemoryKind { host, pinned, device, mapped };
const char* to_string(MemoryKind k);

class Buffer {
 public:
  Buffer() = default;
  Buffer(MemoryKind kind, std::size_t bytes);  // throws sparoa::Error (out of memory, no GPU)
  ~Buffer();
  Buffer(Buffer&& o) noexcept;
  Buffer& operator=(Buffer&& o) noexcept;
  Buffer(const Buffer&) = delete;
  Buffer& operator=(const Buffer&) = delete;

  MemoryKind kind() const { return kind_; }
  std::size_t bytes() const { return bytes_; }
  void* host() const { return host_; }      // nullptr for device memory
  void* device() const { return device_; }  // the address kernels use; nullptr for host memory
  // The address of this buffer for a lane of the given kind.
  void* for_gpu() const { return device_; }
  void* for_cpu() const { return host_; }

 private:
  void release() noexcept;
  MemoryKind kind_ = MemoryKind::host;
  std::size_t bytes_ = 0;
  void* host_ = nullptr;
  void* device_ = nullptr;
};

// Synchronous copy between any two addresses the runtime knows (unified addressing).
void copy(void* dst, const void* src, std::size_t bytes);

class Event {
 public:
  Event();  // with timing
  ~Event();
  Event(const Event&) = delete;
  Event& operator=(const Event&) = delete;
  void synchronize() const;
  // Milliseconds from `from` to this event, both completed (cudaEventElapsedTime: about 0.5 us
  // resolution).
  float elapsed_ms_since(const Event& from) const;
  void* handle() const { return handle_; }

 private:
  void* handle_ = nullptr;
};

// When the GPU executed an event, on the host's steady clock: the event was recorded on an
// idle stream at host time `before_ns` and seen complete at `after_ns`, so it executed in
// between. The estimate is the midpoint; `half_width_ns()` bounds its error.
struct ClockAnchor {
  std::int64_t before_ns = 0, after_ns = 0;
  std::int64_t estimate_ns() const { return before_ns + (after_ns - before_ns) / 2; }
  std::int64_t half_width_ns() const { return (after_ns - before_ns + 1) / 2; }
};
// The steady-clock time of an event `elapsed_ms` after the anchor event (rounded to the
// nearest nanosecond).
inline std::int64_t to_host_ns(const ClockAnchor& anchor, double elapsed_ms) {
  return anchor.estimate_ns() + std::int64_t(elapsed_ms * 1e6 + (elapsed_ms >= 0 ? 0.5 : -0.5));
}

struct LaneHandles;  // CUDA stream, cuDNN, cuBLAS and cuSPARSE handles (gpu_env.hpp)

// One CUDA stream (non-blocking: it never synchronises with the legacy default stream) and,
// for a GPU lane, the library handles bound to it and a workspace that the lane's kernels
// share (they run one after another on the stream).
class Stream {
 public:
  Stream(bool with_libraries, bool allow_tf32);
  ~Stream();
  Stream(const Stream&) = delete;
  Stream& operator=(const Stream&) = delete;

  void copy_async(void* dst, const void* src, std::size_t bytes);
  void record(Event& e);
  void wait(const Event& e);  // later work on this stream waits for e (no host wait)
  void synchronize();
  // Waits until the stream is idle, then records `e` and waits for it, bracketing it with the
  // steady clock (the third of three rounds: the first ones warm the path up).
  ClockAnchor anchor(Event& e);
  LaneHandles& handles() { return *handles_; }

 private:
  std::unique_ptr<LaneHandles> handles_;
};

}  // namespace sparoa::hw::gpu

// The parts of gpu::Buffer both runtimes share (gpu_runtime.cpp with CUDA,
// gpu_unavailable.cpp without): moving, and the names of the memory kinds.
#include <utility>

#include "hw/gpu/gpu_runtime.hpp"

namespace sparoa::hw::gpu {

const char* to_string(MemoryKind k) {
  switch (k) {
    case MemoryKind::host: return "host";
    case MemoryKind::pinned: return "pinned";
    case MemoryKind::device: return "device";
    case MemoryKind::mapped: return "mapped";
  }
  return "?";
}

Buffer::~Buffer() { release(); }
Buffer::Buffer(Buffer&& o) noexcept
    : kind_(o.kind_), bytes_(std::exchange(o.bytes_, 0)), host_(std::exchange(o.host_, nullptr)),
      device_(std::exchange(o.device_, nullptr)) {}
Buffer& Buffer::operator=(Buffer&& o) noexcept {
  if (this != &o) {
    release();
    kind_ = o.kind_;
    bytes_ = std::exchange(o.bytes_, 0);
    host_ = std::exchange(o.host_, nullptr);
    device_ = std::exchange(o.device_, nullptr);
  }
  return *this;
}

}  // namespace sparoa::hw::gpu

// The GPU runtime of a build without CUDA: host memory works (the engine allocates every
// buffer through gpu::Buffer), everything that needs a GPU refuses with one line.
#include <cstring>
#include <new>
#include <utility>

#include "hw/gpu/gpu_kernel.hpp"
#include "hw/gpu/gpu_runtime.hpp"
#include "support/error.hpp"

namespace sparoa::hw::gpu {

struct LaneHandles {};

namespace {
constexpr const char* kReason = "this build has no GPU backend (configured without CUDA)";
[[noreturn]] void refuse(const std::string& what) { throw Error(what, kReason); }
}  // namespace

bool compiled_in() { return false; }
std::string unavailable_reason() { return kReason; }
DeviceProperties device_properties() { refuse("GPU"); }

Buffer::Buffer(MemoryKind kind, std::size_t bytes) : kind_(kind), bytes_(bytes) {
  if (kind != MemoryKind::host) refuse(std::string(to_string(kind)) + " memory");
  host_ = ::operator new(bytes < 64 ? 64 : bytes, std::align_val_t(64));
}
void Buffer::release() noexcept {
  if (host_) ::operator delete(host_, std::align_val_t(64));
  host_ = device_ = nullptr;
  bytes_ = 0;
}

void copy(void* dst, const void* src, std::size_t bytes) {
  if (bytes != 0 && dst != src) std::memcpy(dst, src, bytes);
}

Event::Event() { refuse("CUDA event"); }
Event::~Event() = default;
void Event::synchronize() const { refuse("CUDA event"); }
float Event::elapsed_ms_since(const Event&) const { refuse("CUDA event"); }

Stream::Stream(bool, bool) { refuse("CUDA stream"); }
Stream::~Stream() = default;
void Stream::copy_async(void*, const void*, std::size_t) { refuse("CUDA stream"); }
void Stream::record(Event&) { refuse("CUDA stream"); }
void Stream::wait(const Event&) { refuse("CUDA stream"); }
void Stream::synchronize() { refuse("CUDA stream"); }
ClockAnchor Stream::anchor(Event&) { refuse("CUDA stream"); }

std::unique_ptr<GpuKernel> make_gpu_kernel(const KernelContext& ctx, Stream&) {
  refuse("operator '" + ctx.root().name + "' (" + ctx.root().type + ")");
}

}  // namespace sparoa::hw::gpu

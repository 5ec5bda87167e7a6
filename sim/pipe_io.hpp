#pragma once
// Blocking whole-buffer reads and writes on a pipe, for the forked children of the
// evaluator and the rollout workers.
#include <unistd.h>

#include <cerrno>
#include <cstddef>
#include <string>

namespace sparoa::sim {

inline bool write_all(int fd, const void* data, std::size_t n) {
  const char* p = static_cast<const char*>(data);
  while (n > 0) {
    const ssize_t k = ::write(fd, p, n);
    if (k < 0 && errno == EINTR) continue;
    if (k <= 0) return false;
    p += k;
    n -= std::size_t(k);
  }
  return true;
}

// Everything until end of file.
inline std::string read_all(int fd) {
  std::string out;
  char buf[65536];
  for (;;) {
    const ssize_t k = ::read(fd, buf, sizeof buf);
    if (k < 0 && errno == EINTR) continue;
    if (k <= 0) break;
    out.append(buf, std::size_t(k));
  }
  return out;
}

}  // namespace sparoa::sim

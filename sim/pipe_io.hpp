#pragma once
// Blocking whole-buffer reads and writes on a pipe, for the forked children of the
// evaluator and the rollout workers.
#include <sys/types.h>
#include <unistd.h>

#include <cerrno>
#include <cstddef>
#include <cstdio>
#include <cstring>
#include <iostream>
#include <string>
#include <utility>

#include "support/error.hpp"

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

// Forks a child that runs `child(write_fd)`, which must not return (it ends with _exit);
// returns the child's pid and the read end of its pipe. The parent's buffered output is
// flushed first, or the child would write it again. Throws sparoa::Error naming `who`.
template <class Child>
std::pair<pid_t, int> fork_with_pipe(const char* who, Child&& child) {
  std::cout.flush();
  std::cerr.flush();
  std::fflush(nullptr);
  int fds[2];
  if (::pipe(fds) != 0) throw Error(who, std::string("pipe: ") + std::strerror(errno));
  const pid_t pid = ::fork();
  if (pid < 0) {
    ::close(fds[0]);
    ::close(fds[1]);
    throw Error(who, std::string("fork: ") + std::strerror(errno));
  }
  if (pid == 0) {
    ::close(fds[0]);
    child(fds[1]);
    ::_exit(4);  // not reached: the child ends itself
  }
  ::close(fds[1]);
  return {pid, fds[0]};
}

}  // namespace sparoa::sim

#include "support/atomic_file.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <string>

#include "support/error.hpp"

namespace sparoa {
namespace {

std::filesystem::path temp_name(const std::filesystem::path& target) {
  static std::atomic<unsigned> counter{0};
  // Built with append(): gcc 12 warns falsely (-Wrestrict) on `"." + std::string`.
  std::string name = ".";
  name.append(target.filename().string()).append(".tmp.");
  name.append(std::to_string(::getpid())).append(".").append(std::to_string(counter++));
  return target.parent_path() / name;
}

std::filesystem::path folder_of(const std::filesystem::path& target) {
  return target.parent_path().empty() ? std::filesystem::path(".") : target.parent_path();
}

std::string proc_fd_path(int fd) { return "/proc/self/fd/" + std::to_string(fd); }

}  // namespace

AtomicFile::AtomicFile(std::filesystem::path target)
    : target_(std::move(target)), temp_(temp_name(target_)) {
  anonymous_fd_ = ::open(folder_of(target_).c_str(), O_TMPFILE | O_WRONLY | O_CLOEXEC, 0644);
  if (anonymous_fd_ >= 0) {
    // The stream writes through /proc's link to the unnamed file (the same open file).
    out_.open(proc_fd_path(anonymous_fd_), std::ios::binary | std::ios::trunc);
    if (!out_) {
      ::close(anonymous_fd_);
      anonymous_fd_ = -1;
    }
  }
  if (anonymous_fd_ < 0) out_.open(temp_, std::ios::binary | std::ios::trunc);
  if (!out_) {
    throw Error(target_.string(), std::string("cannot open for writing: ") + std::strerror(errno));
  }
}

AtomicFile::~AtomicFile() {
  if (committed_) return;
  out_.close();
  if (anonymous_fd_ >= 0) {
    ::close(anonymous_fd_);  // the unnamed file goes with its last descriptor
  } else {
    std::error_code ignored;
    std::filesystem::remove(temp_, ignored);
  }
}

void AtomicFile::commit() {
  out_.flush();
  if (!out_) throw Error(target_.string(), "write failed (disk full?)");
  out_.close();
  // fsync so that a crash after the rename cannot leave an empty file behind.
  if (anonymous_fd_ >= 0) {
    ::fsync(anonymous_fd_);
    // Named only now, and only for the moment before the rename.
    if (::linkat(AT_FDCWD, proc_fd_path(anonymous_fd_).c_str(), AT_FDCWD, temp_.c_str(), AT_SYMLINK_FOLLOW) != 0) {
      throw Error(target_.string(), std::string("cannot give the new file a name: ") + std::strerror(errno));
    }
    ::close(anonymous_fd_);
    anonymous_fd_ = -1;
  } else if (int fd = ::open(temp_.c_str(), O_RDONLY); fd >= 0) {
    ::fsync(fd);
    ::close(fd);
  }
  if (::rename(temp_.c_str(), target_.c_str()) != 0) {
    const std::string why = std::strerror(errno);
    std::error_code ignored;
    std::filesystem::remove(temp_, ignored);
    throw Error(target_.string(), "cannot rename temporary file into place: " + why);
  }
  committed_ = true;
  // And the directory entry, so that the rename itself survives a crash.
  if (int fd = ::open(folder_of(target_).c_str(), O_RDONLY | O_DIRECTORY); fd >= 0) {
    ::fsync(fd);
    ::close(fd);
  }
}

void write_file_atomically(const std::filesystem::path& target, std::string_view content) {
  AtomicFile file(target);
  file.stream().write(content.data(), static_cast<std::streamsize>(content.size()));
  file.commit();
}

}  // namespace sparoa

#include "support/atomic_file.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
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

}  // namespace

AtomicFile::AtomicFile(std::filesystem::path target)
    : target_(std::move(target)), temp_(temp_name(target_)) {
  out_.open(temp_, std::ios::binary | std::ios::trunc);
  if (!out_) {
    throw Error(target_.string(), std::string("cannot open for writing: ") + std::strerror(errno));
  }
}

AtomicFile::~AtomicFile() {
  if (!committed_) {
    out_.close();
    std::error_code ignored;
    std::filesystem::remove(temp_, ignored);
  }
}

void AtomicFile::commit() {
  out_.flush();
  if (!out_) throw Error(target_.string(), "write failed (disk full?)");
  out_.close();
  // fsync so that a crash after the rename cannot leave an empty file behind.
  if (int fd = ::open(temp_.c_str(), O_RDONLY); fd >= 0) {
    ::fsync(fd);
    ::close(fd);
  }
  std::error_code ec;
  std::filesystem::rename(temp_, target_, ec);
  if (ec) throw Error(target_.string(), "cannot rename temporary file into place: " + ec.message());
  committed_ = true;
  // And the directory entry, so that the rename itself survives a crash.
  const auto dir = target_.parent_path().empty() ? std::filesystem::path(".") : target_.parent_path();
  if (int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY); fd >= 0) {
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

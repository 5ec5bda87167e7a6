#include "hw/power/sysfs_file.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <array>
#include <cctype>
#include <cerrno>
#include <charconv>
#include <cstring>
#include <fstream>

#include "support/error.hpp"

namespace sparoa::hw::power_detail {

namespace {

bool is_space(char c) { return std::isspace(static_cast<unsigned char>(c)) != 0; }

std::string_view trim(std::string_view s) {
  while (!s.empty() && is_space(s.front())) s.remove_prefix(1);
  while (!s.empty() && is_space(s.back())) s.remove_suffix(1);
  return s;
}

// Garbage is quoted in the error, but only printable and not too much of it.
std::string quote(std::string_view s) {
  std::string out = "'";
  for (char c : s.substr(0, 40)) out += std::isprint(static_cast<unsigned char>(c)) ? c : '?';
  if (s.size() > 40) out += "...";
  return out + "'";
}

}  // namespace

std::string describe_errno(int error) {
  if (error == EACCES || error == EPERM) return "permission denied; run as root";
  return std::strerror(error);
}

bool parse_int(std::string_view text, std::int64_t& value) {
  text = trim(text);
  if (text.empty()) return false;
  const char* end = text.data() + text.size();
  const auto [ptr, ec] = std::from_chars(text.data(), end, value);
  return ec == std::errc() && ptr == end;
}

SysfsFile::SysfsFile(std::filesystem::path path) : path_(std::move(path)) {
  fd_ = ::open(path_.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd_ < 0) throw Error(path_.string(), "not readable (" + describe_errno(errno) + ")");
}

SysfsFile::~SysfsFile() {
  if (fd_ >= 0) ::close(fd_);
}

SysfsFile::SysfsFile(SysfsFile&& other) noexcept : path_(std::move(other.path_)), fd_(other.fd_) { other.fd_ = -1; }

SysfsFile& SysfsFile::operator=(SysfsFile&& other) noexcept {
  if (this != &other) {
    if (fd_ >= 0) ::close(fd_);
    path_ = std::move(other.path_);
    fd_ = other.fd_;
    other.fd_ = -1;
  }
  return *this;
}

std::int64_t SysfsFile::read_int() const {
  // Values are at most 20 digits; a full buffer means this is not a value file.
  std::array<char, 64> buffer{};
  const ssize_t n = ::pread(fd_, buffer.data(), buffer.size(), 0);
  if (n < 0) throw Error(path_.string(), "not readable (" + describe_errno(errno) + ")");
  const std::string_view text(buffer.data(), static_cast<std::size_t>(n));
  if (static_cast<std::size_t>(n) == buffer.size()) throw Error(path_.string(), "not an integer: " + quote(text));
  std::int64_t value = 0;
  if (!parse_int(text, value)) {
    const std::string_view shown = trim(text);
    throw Error(path_.string(), shown.empty() ? "empty, expected an integer" : "not an integer: " + quote(shown));
  }
  return value;
}

std::string read_label(const std::filesystem::path& path) {
  std::ifstream in(path);
  if (!in) throw Error(path.string(), "not readable (" + describe_errno(errno) + ")");
  std::string line;
  std::getline(in, line);
  if (in.bad()) throw Error(path.string(), "not readable");
  return std::string(trim(line));
}

}  // namespace sparoa::hw::power_detail

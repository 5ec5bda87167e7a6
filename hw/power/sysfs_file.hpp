#pragma once
// Internal to hw/power: one sysfs value file kept open and re-read from offset 0, which
// makes the kernel call the attribute's show() again. Keeping the descriptor open avoids an
// open/close pair per rail per sample in the sampling loop, and reading into a stack buffer
// avoids allocating.
#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>

namespace sparoa::hw::power_detail {

class SysfsFile {
 public:
  // Throws sparoa::Error(path, "not readable (<reason>)") when the file cannot be opened.
  explicit SysfsFile(std::filesystem::path path);
  SysfsFile() = default;  // closed: read_int() throws
  ~SysfsFile();
  SysfsFile(SysfsFile&& other) noexcept;
  SysfsFile& operator=(SysfsFile&& other) noexcept;
  SysfsFile(const SysfsFile&) = delete;
  SysfsFile& operator=(const SysfsFile&) = delete;

  // The file's content as a decimal integer (surrounding whitespace allowed); throws
  // sparoa::Error naming the file when it cannot be read or is not an integer.
  std::int64_t read_int() const;
  const std::filesystem::path& path() const { return path_; }

 private:
  std::filesystem::path path_;
  int fd_ = -1;
};

// Parses a decimal integer with optional surrounding whitespace; false when it is not one.
bool parse_int(std::string_view text, std::int64_t& value);

// The file's first line without surrounding whitespace (labels, rail names, zone names).
// Throws sparoa::Error naming the file when it cannot be read.
std::string read_label(const std::filesystem::path& path);

// "permission denied; run as root" for EACCES/EPERM, strerror otherwise.
std::string describe_errno(int error);

}  // namespace sparoa::hw::power_detail

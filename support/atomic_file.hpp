#pragma once
// Output files appear whole or not at all: we write to a temporary file beside the target
// and rename it over the target only when everything was written and flushed.
#include <filesystem>
#include <fstream>
#include <string_view>

namespace sparoa {

class AtomicFile {
 public:
  explicit AtomicFile(std::filesystem::path target);
  AtomicFile(const AtomicFile&) = delete;
  AtomicFile& operator=(const AtomicFile&) = delete;
  ~AtomicFile();  // removes the temporary file unless commit() succeeded

  std::ostream& stream() { return out_; }
  // Flushes, fsyncs and renames onto the target; throws sparoa::Error on failure.
  void commit();

 private:
  std::filesystem::path target_;
  std::filesystem::path temp_;
  std::ofstream out_;
  bool committed_ = false;
};

// Convenience: the whole content at once.
void write_file_atomically(const std::filesystem::path& target, std::string_view content);

}  // namespace sparoa

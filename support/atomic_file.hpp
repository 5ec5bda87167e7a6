#pragma once
// Output files appear whole or not at all. The content goes to an unnamed file in the target's
// folder (O_TMPFILE), which the kernel removes by itself if we are killed, at any moment; when
// everything is written and flushed it gets a temporary name and is renamed over the target.
// Where the file system has no O_TMPFILE, a named temporary file ".NAME.tmp.PID.N" is used
// instead (removed on error; a kill -9 can leave one behind there).
#include <filesystem>
#include <fstream>
#include <string_view>

namespace sparoa {

class AtomicFile {
 public:
  explicit AtomicFile(std::filesystem::path target);
  AtomicFile(const AtomicFile&) = delete;
  AtomicFile& operator=(const AtomicFile&) = delete;
  ~AtomicFile();  // drops the content unless commit() succeeded

  std::ostream& stream() { return out_; }
  // Flushes, fsyncs and puts the file in place; throws sparoa::Error on failure.
  void commit();

 private:
  std::filesystem::path target_;
  std::filesystem::path temp_;  // the named temporary file (also the name an unnamed one gets)
  int anonymous_fd_ = -1;       // the O_TMPFILE file, or -1
  std::ofstream out_;
  bool committed_ = false;
};

// Convenience: the whole content at once.
void write_file_atomically(const std::filesystem::path& target, std::string_view content);

}  // namespace sparoa

#pragma once
// What every fuzz target shares: the entry point macro, counters of how far inputs get, and
// files in memory for loaders that only take a path.
//
// One harness source builds two ways: with SPAROA_LIBFUZZER it is a libFuzzer target
// (LLVMFuzzerTestOneInput); without, it registers itself by name so that the regression test
// (tests/fuzz) can replay every committed seed and every input that once crashed through the
// very same code, in the ordinary and the sanitizer builds.
//
// A harness accepts only sparoa::Error from the loader: that is the promised "one clear error
// line". Any other exception escapes, which libFuzzer reports as a crash (std::terminate), as
// it does a sanitizer report, a stack overflow, a timeout or an allocation over -malloc_limit_mb.
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>

#include "support/error.hpp"

namespace sparoa::fuzz {

using Entry = int (*)(const std::uint8_t*, std::size_t);

// Counts of inputs seen, inputs that got past the first parse (the third-party parser: protobuf,
// yaml-cpp, nlohmann::json, or for our own CSV and binary formats the header or envelope) into
// our code, and inputs the loader accepted whole. Printed at exit as one line:
//   sparoa-fuzz: NAME inputs N past-first-parse M (P%) accepted K (Q%)
void count_input(const char* target);
void count_parsed();
void count_accepted();

// Runs the loader; a sparoa::Error is the expected answer to bad input, anything else escapes.
template <class F>
void expect_clean(F&& load) {
  try {
    load();
    count_accepted();
  } catch (const sparoa::Error&) {
  }
}

// The bytes as a file: a memfd whose /proc/self/fd path any loader can open. Closed on scope exit.
class MemFile {
 public:
  MemFile(std::string_view bytes, const char* name);
  ~MemFile();
  MemFile(const MemFile&) = delete;
  MemFile& operator=(const MemFile&) = delete;
  const std::filesystem::path& path() const { return path_; }

 private:
  int fd_ = -1;
  std::filesystem::path path_;
};

// Whether the first line that is not a '#' comment equals `header` (a CSV's first parse).
bool header_line_is(std::string_view input, std::string_view header);
// The first line of `text` (a writer's output, to learn a format's header from it).
std::string first_data_line(std::string_view text);

// A network checkpoint around `payload` with a valid magic, version, length and SHA-256
// (policies/nn/checkpoint.hpp), so that mutations reach the payload's reader instead of dying
// on the checksum.
std::string checkpoint_envelope(std::string_view payload);

// Registration for the regression test (not used in libFuzzer builds).
bool register_target(const char* name, Entry entry);
Entry find_target(const std::string& name);

}  // namespace sparoa::fuzz

#ifdef SPAROA_LIBFUZZER
#define SPAROA_FUZZ_TARGET(name)                                                     \
  extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size)
#else
#define SPAROA_FUZZ_TARGET(name)                                                               \
  static int sparoa_fuzz_##name(const std::uint8_t* data, std::size_t size);                   \
  [[maybe_unused]] static const bool sparoa_fuzz_registered_##name =                           \
      ::sparoa::fuzz::register_target(#name, &sparoa_fuzz_##name);                             \
  static int sparoa_fuzz_##name(const std::uint8_t* data, std::size_t size)
#endif

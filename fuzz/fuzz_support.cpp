#include "fuzz/fuzz_support.hpp"

#include "policies/nn/checkpoint.hpp"
#include "support/sha256.hpp"

#include <sys/mman.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <stdexcept>

namespace sparoa::fuzz {
namespace {

struct Counters {
  const char* target = nullptr;
  bool mixed = false;  // inputs of several targets (the regression test): no figures to print
  std::uint64_t inputs = 0, parsed = 0, accepted = 0;
};
Counters counters;

double percent(std::uint64_t part, std::uint64_t whole) { return whole ? 100.0 * double(part) / double(whole) : 0.0; }

void print_counters() {
  if (!counters.target || counters.mixed || counters.inputs == 0) return;
  std::fprintf(stderr, "sparoa-fuzz: %s inputs %llu past-first-parse %llu (%.1f%%) accepted %llu (%.1f%%)\n",
               counters.target, static_cast<unsigned long long>(counters.inputs),
               static_cast<unsigned long long>(counters.parsed), percent(counters.parsed, counters.inputs),
               static_cast<unsigned long long>(counters.accepted), percent(counters.accepted, counters.inputs));
}

std::map<std::string, Entry>& registry() {
  static std::map<std::string, Entry> r;
  return r;
}

}  // namespace

void count_input(const char* target) {
  if (!counters.target) {
    counters.target = target;
    std::atexit(print_counters);  // libFuzzer ends with exit(): -runs, -max_total_time, merge
  } else if (std::strcmp(counters.target, target) != 0) {
    counters.mixed = true;
  }
  ++counters.inputs;
}
void count_parsed() { ++counters.parsed; }
void count_accepted() { ++counters.accepted; }

MemFile::MemFile(std::string_view bytes, const char* name) {
  fd_ = ::memfd_create(name, MFD_CLOEXEC);
  if (fd_ < 0) throw std::runtime_error(std::string("memfd_create: ") + std::strerror(errno));
  for (std::size_t done = 0; done < bytes.size();) {
    const ssize_t n = ::write(fd_, bytes.data() + done, bytes.size() - done);
    if (n <= 0) throw std::runtime_error(std::string("memfd write: ") + std::strerror(errno));
    done += static_cast<std::size_t>(n);
  }
  path_ = "/proc/self/fd/" + std::to_string(fd_);
}

MemFile::~MemFile() {
  if (fd_ >= 0) ::close(fd_);
}

std::string first_data_line(std::string_view text) {
  while (!text.empty()) {
    const auto end = text.find('\n');
    std::string_view line = text.substr(0, end);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (line.empty() || line.front() != '#') return std::string(line);
    if (end == std::string_view::npos) break;
    text.remove_prefix(end + 1);
  }
  return {};
}

bool header_line_is(std::string_view input, std::string_view header) { return first_data_line(input) == header; }

std::string checkpoint_envelope(std::string_view payload) {
  std::string out = "SPAROANN";
  const std::uint32_t version = policies::nn::kCheckpointVersion;
  const std::uint64_t length = payload.size();
  out.append(reinterpret_cast<const char*>(&version), sizeof version);
  out.append(reinterpret_cast<const char*>(&length), sizeof length);
  out.append(payload);
  out += sha256_hex(payload);
  return out;
}

bool register_target(const char* name, Entry entry) {
  registry()[name] = entry;
  return true;
}

Entry find_target(const std::string& name) {
  const auto it = registry().find(name);
  return it == registry().end() ? nullptr : it->second;
}

}  // namespace sparoa::fuzz

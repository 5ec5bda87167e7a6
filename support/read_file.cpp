#include "support/read_file.hpp"

#include <fstream>

#include "support/error.hpp"

namespace sparoa {

std::string read_text_file(const std::filesystem::path& path, std::size_t max_bytes, const std::string& what) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw Error(path.string(), "cannot read the " + what);
  std::error_code ec;
  const auto size = std::filesystem::file_size(path, ec);
  if (!ec && size > max_bytes) {
    throw Error(path.string(), "the " + what + " is larger than " + std::to_string(max_bytes >> 20) + " MiB (limit)");
  }
  std::string text;
  char buffer[1 << 16];
  // Read in pieces, so that a file that grows, or a device such as /dev/zero, stops at the limit.
  while (in.read(buffer, sizeof buffer) || in.gcount() > 0) {
    text.append(buffer, static_cast<std::size_t>(in.gcount()));
    if (text.size() > max_bytes) {
      throw Error(path.string(), "the " + what + " is larger than " + std::to_string(max_bytes >> 20) + " MiB (limit)");
    }
  }
  if (in.bad()) throw Error(path.string(), "cannot read the " + what);
  return text;
}

}  // namespace sparoa

#pragma once
// The one exception type our libraries throw for bad input: it carries the file, key or
// operator it is about, so that the CLI can print one clear line and exit 1.
#include <stdexcept>
#include <string>

namespace sparoa {

class Error : public std::runtime_error {
 public:
  // `where` is the file, key or operator the problem is about ("model.onnx", "node 'conv1'").
  Error(std::string where, const std::string& what)
      : std::runtime_error(where.empty() ? what : where + ": " + what), where_(std::move(where)) {}
  const std::string& where() const noexcept { return where_; }

 private:
  std::string where_;
};

}  // namespace sparoa

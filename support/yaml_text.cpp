#include "support/yaml_text.hpp"

#include <algorithm>
#include <array>
#include <cctype>
#include <regex>
#include <string_view>

namespace sparoa {
namespace {

bool plain_is_safe(const std::string& s) {
  if (s.empty()) return false;
  auto first = static_cast<unsigned char>(s.front());
  if (!(std::isalnum(first) || first == '_' || first == '/')) return false;
  for (unsigned char c : s) {
    if (!(std::isalnum(c) || c == '_' || c == '.' || c == '/' || c == '-')) return false;
  }
  // Numbers (YAML 1.1 and 1.2 forms) and dates would come back as other types elsewhere.
  static const std::regex kNumberOrDate(
      "[0-9][0-9_]*(\\.[0-9_]*)?([eE][-+]?[0-9]+)?|0x[0-9a-fA-F_]+|0o[0-7_]+|0b[01_]+|"
      "[0-9]{4}-[0-9]{1,2}-[0-9]{1,2}.*");
  if (std::isdigit(first) && std::regex_match(s, kNumberOrDate)) return false;
  std::string lower;
  for (unsigned char c : s) lower += static_cast<char>(std::tolower(c));
  static constexpr std::array<std::string_view, 9> kReserved = {"y",  "n",   "yes",   "no",  "true",
                                                                "false", "on", "off", "null"};
  return std::find(kReserved.begin(), kReserved.end(), lower) == kReserved.end();
}

}  // namespace

std::string yaml_describe(const YAML::Node& node) {
  switch (node.Type()) {
    case YAML::NodeType::Null: return "null";
    case YAML::NodeType::Scalar:
      return (node.Tag() == "!" ? "the quoted string '" : "'") + node.Scalar() + "'";
    case YAML::NodeType::Sequence: return "a list";
    case YAML::NodeType::Map: return "a mapping";
    case YAML::NodeType::Undefined: break;
  }
  return "nothing";
}

std::string yaml_quote(const std::string& s) {
  if (plain_is_safe(s)) return s;
  std::string out = "\"";
  for (char ch : s) {
    auto c = static_cast<unsigned char>(ch);
    switch (ch) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\t': out += "\\t"; break;
      case '\r': out += "\\r"; break;
      default:
        if (c < 0x20 || c == 0x7f) {
          static constexpr char kHex[] = "0123456789abcdef";
          out += "\\x";
          out += kHex[c >> 4];
          out += kHex[c & 0xf];
        } else {
          out += ch;  // UTF-8 passes through
        }
    }
  }
  return out + "\"";
}

}  // namespace sparoa

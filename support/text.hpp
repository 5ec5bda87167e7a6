#pragma once
// Small text helpers shared by the readers and writers of our own file formats.
#include <fmt/format.h>

#include <string>

namespace sparoa {

// Without leading and trailing blanks (spaces, tabs, carriage returns).
inline std::string trim(const std::string& s) {
  const auto b = s.find_first_not_of(" \t\r");
  if (b == std::string::npos) return "";
  const auto e = s.find_last_not_of(" \t\r");
  return s.substr(b, e - b + 1);
}

// The shortest text that reads back as the same double.
inline std::string shortest_number(double v) { return fmt::format("{}", v); }

}  // namespace sparoa

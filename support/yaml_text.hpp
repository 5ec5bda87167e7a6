#pragma once
// YAML helpers shared by every reader and writer of our YAML files (schedules, platforms):
// how a node is described in an error message, and how a string is written so that any
// YAML reader gives back the same string.
#include <yaml-cpp/yaml.h>

#include <string>

namespace sparoa {

// "null", "'42'", "the quoted string '42'", "a list", "a mapping" or "nothing".
std::string yaml_describe(const YAML::Node& node);

// The string as a YAML scalar: plain when unambiguous for any YAML reader (no indicator
// characters, not a number or date, not a YAML 1.1 boolean or null), double-quoted with
// escapes otherwise: ONNX names such as "123" or "on" must come back as the same strings.
std::string yaml_quote(const std::string& s);

}  // namespace sparoa

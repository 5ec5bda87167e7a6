#pragma once
// Every YAML file we read goes through here. libyaml (the C parser that OSS-Fuzz fuzzes
// continuously) reads the text, under our limits, into yaml-cpp nodes with their marks, so
// readers keep yaml-cpp's Node API. yaml-cpp 0.7's own parser is not used: fuzzing found it
// looping forever on 22 bytes and exhausting memory on 4 KB (fuzz/regressions), and nothing
// in it bounds nesting or aliases.
//
// Limits (each named in its error):
//  * kMaxYamlBytes: the text's size;
//  * kMaxYamlDepth: nesting of lists and mappings (our formats use fewer than 8 levels);
//  * kMaxYamlNodes: nodes of a document with every alias expanded, so that an "alias bomb"
//    (a few lines whose aliases expand to billions of nodes) is refused before any code walks it.
// A key given twice in one mapping is refused too (yaml-cpp keeps both silently).
#include <yaml-cpp/yaml.h>

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "support/read_file.hpp"  // kMaxYamlBytes

namespace sparoa {

inline constexpr int kMaxYamlDepth = 64;
inline constexpr std::uint64_t kMaxYamlNodes = std::uint64_t(1) << 25;  // 33.5 M: a 1 M-operator schedule fits

// The checks alone (size, syntax, depth, expanded size, duplicate keys); throws sparoa::Error
// naming `origin`, line and column.
void check_yaml_text(std::string_view text, const std::string& origin);

// All documents of `text`; throws sparoa::Error naming `origin` (and line, column) when the
// text is not YAML or breaks a limit.
std::vector<YAML::Node> load_yaml_all(std::string_view text, const std::string& origin);
// The single document of `text` (a Null node when empty); more than one is an error.
YAML::Node load_yaml(std::string_view text, const std::string& origin);

}  // namespace sparoa

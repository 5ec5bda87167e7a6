#pragma once
// Reading the YAML configs of `sparoa train`: the file as a mapping, and lists of strings,
// with errors that name the file and the key.
#include <yaml-cpp/yaml.h>

#include <string>
#include <vector>

#include "support/error.hpp"
#include "support/read_file.hpp"
#include "support/yaml_load.hpp"

namespace sparoa::cli {

// The top-level mapping of a config file; throws sparoa::Error naming the file when it is
// unreadable, not YAML, or not a mapping.
inline YAML::Node load_config_map(const std::string& path) {
  const YAML::Node root = load_yaml(read_text_file(path, kMaxYamlBytes, "training config"), path);
  if (!root.IsMap()) throw Error(path, "expected a mapping of keys");
  return root;
}

// A non-empty list of strings at `key`.
inline std::vector<std::string> config_strings(const YAML::Node& n, const std::string& path, const std::string& key) {
  if (!n.IsSequence() || n.size() == 0) throw Error(path + ": " + key, "expected a non-empty list");
  std::vector<std::string> out;
  for (const auto& x : n) {
    if (!x.IsScalar()) throw Error(path + ": " + key, "expected a list of names, not a list holding a list or mapping");
    out.push_back(x.Scalar());
  }
  return out;
}

}  // namespace sparoa::cli

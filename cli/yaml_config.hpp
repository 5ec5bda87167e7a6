#pragma once
// Reading the YAML configs of `sparoa train`: the file as a mapping, and lists of strings,
// with errors that name the file and the key.
#include <yaml-cpp/yaml.h>

#include <string>
#include <vector>

#include "support/error.hpp"

namespace sparoa::cli {

// The top-level mapping of a config file; throws sparoa::Error naming the file when it is
// unreadable, not YAML, or not a mapping.
inline YAML::Node load_config_map(const std::string& path) {
  YAML::Node root;
  try {
    root = YAML::LoadFile(path);
  } catch (const YAML::BadFile&) {
    throw Error(path, "cannot read the training config");
  } catch (const YAML::Exception& e) {
    throw Error(path, std::string("not valid YAML: ") + e.what());
  }
  if (!root.IsMap()) throw Error(path, "expected a mapping of keys");
  return root;
}

// A non-empty list of strings at `key`.
inline std::vector<std::string> config_strings(const YAML::Node& n, const std::string& path, const std::string& key) {
  if (!n.IsSequence() || n.size() == 0) throw Error(path + ": " + key, "expected a non-empty list");
  std::vector<std::string> out;
  for (const auto& x : n) out.push_back(x.as<std::string>());
  return out;
}

}  // namespace sparoa::cli

#pragma once
// One operator (node) of the graph with its attributes and computed features.
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "graph/features.hpp"

namespace sparoa::graph {

using AttributeValue = std::variant<std::int64_t, double, std::string, std::vector<std::int64_t>,
                                    std::vector<double>, std::vector<std::string>>;

struct Operator {
  std::string name;                  // unique in the graph
  std::string type;                  // ONNX op_type ("Conv", "MatMul", ...)
  std::vector<std::string> inputs;   // tensor names; "" for an omitted optional input
  std::vector<std::string> outputs;  // tensor names
  std::map<std::string, AttributeValue> attributes;
  Features features;                 // filled by compute_features()

  // Typed attribute access with a default; throws sparoa::Error on a type mismatch.
  std::int64_t attr_int(const std::string& key, std::int64_t fallback) const;
  double attr_float(const std::string& key, double fallback) const;
  std::string attr_string(const std::string& key, const std::string& fallback) const;
  std::vector<std::int64_t> attr_ints(const std::string& key, std::vector<std::int64_t> fallback) const;
  bool has_attr(const std::string& key) const { return attributes.count(key) != 0; }
};

}  // namespace sparoa::graph

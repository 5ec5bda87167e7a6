#include "graph/op.hpp"

#include "support/error.hpp"

namespace sparoa::graph {
namespace {

template <typename T>
const T* typed(const Operator& op, const std::string& key, const char* expected) {
  auto it = op.attributes.find(key);
  if (it == op.attributes.end()) return nullptr;
  if (const T* v = std::get_if<T>(&it->second)) return v;
  throw Error("node '" + op.name + "' (" + op.type + ")", "attribute '" + key + "' must be " + expected);
}

}  // namespace

std::int64_t Operator::attr_int(const std::string& key, std::int64_t fallback) const {
  const auto* v = typed<std::int64_t>(*this, key, "an integer");
  return v ? *v : fallback;
}

double Operator::attr_float(const std::string& key, double fallback) const {
  const auto* v = typed<double>(*this, key, "a float");
  return v ? *v : fallback;
}

std::string Operator::attr_string(const std::string& key, const std::string& fallback) const {
  const auto* v = typed<std::string>(*this, key, "a string");
  return v ? *v : fallback;
}

std::vector<std::int64_t> Operator::attr_ints(const std::string& key, std::vector<std::int64_t> fallback) const {
  const auto* v = typed<std::vector<std::int64_t>>(*this, key, "a list of integers");
  return v ? *v : fallback;
}

}  // namespace sparoa::graph

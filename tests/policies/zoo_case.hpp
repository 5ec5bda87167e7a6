#pragma once
// A zoo model bound to batch 1 on a shipped platform, with its cost model and a policy
// context pointing into it (the tests' fixture for policies that need a real graph).
#include <filesystem>
#include <memory>
#include <string>

#include "graph/onnx_import.hpp"
#include "graph/zoo/zoo.hpp"
#include "policies/policy.hpp"

namespace sparoa::policies::fixtures {

struct ZooCase {
  graph::Graph g;
  platforms::Platform p;
  std::unique_ptr<platforms::CostModel> cost;
  PolicyContext ctx;
};

// `g` (bound to its batch, features computed) on a shipped platform.
inline std::unique_ptr<ZooCase> make_case(graph::Graph g, const std::string& platform) {
  auto c = std::make_unique<ZooCase>();
  c->g = std::move(g);
  c->p = platforms::read_platform(platforms::resolve_platform_path(platform));
  c->cost = std::make_unique<platforms::CostModel>(c->p);
  c->ctx.graph = &c->g;
  c->ctx.platform = &c->p;
  c->ctx.cost = c->cost.get();
  return c;
}

inline std::unique_ptr<ZooCase> zoo_case(const std::string& model, double sparsity, const std::string& platform) {
  const auto path = graph::zoo::build_model(model, {sparsity, false}, std::filesystem::path(SPAROA_TEST_DATA_DIR) / "zoo");
  graph::ImportOptions o;
  o.batch = 1;
  return make_case(graph::import_onnx(path.string(), o), platform);
}

}  // namespace sparoa::policies::fixtures

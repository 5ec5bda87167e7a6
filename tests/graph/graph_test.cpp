#include <gtest/gtest.h>

#include "graph/graph.hpp"
#include "support/error.hpp"

namespace sparoa::graph {
namespace {

Tensor activation(const std::string& name) { return Tensor{name, DType::f32, {1, 4}, TensorRole::activation, nullptr}; }

Operator op(const std::string& name, std::vector<std::string> in, std::vector<std::string> out) {
  Operator o;
  o.name = name;
  o.type = "Relu";
  o.inputs = std::move(in);
  o.outputs = std::move(out);
  return o;
}

// x -> a -> {b, c} -> d (diamond), declared out of order.
Graph diamond() {
  Graph g;
  g.add_tensor(Tensor{"x", DType::f32, {1, 4}, TensorRole::input, nullptr});
  for (const char* t : {"ta", "tb", "tc", "td"}) g.add_tensor(activation(t));
  g.add_operator(op("d", {"tb", "tc"}, {"td"}));
  g.add_operator(op("b", {"ta"}, {"tb"}));
  g.add_operator(op("a", {"x"}, {"ta"}));
  g.add_operator(op("c", {"ta"}, {"tc"}));
  g.set_outputs({"td"});
  return g;
}

std::string message_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const Error& e) {
    return e.what();
  }
  return "(no error)";
}

TEST(Graph, TopologicalOrderRespectsEveryEdgeAndIsDeterministic) {
  Graph g = diamond();
  g.finalize();
  std::vector<std::string> names;
  for (OpId id : g.topological_order()) names.push_back(g.op(id).name);
  // Ties go to the operator declared first: b (index 1) before c (index 3).
  EXPECT_EQ(names, (std::vector<std::string>{"a", "b", "c", "d"}));
  EXPECT_EQ(g.predecessors(*g.find_op("d")), (std::vector<OpId>{1, 3}));
  EXPECT_EQ(g.successors(*g.find_op("a")), (std::vector<OpId>{1, 3}));
  EXPECT_EQ(boost::num_edges(g.dag()), 4u);
  EXPECT_EQ(g.consumers("ta").size(), 2u);
  EXPECT_EQ(*g.producer("td"), *g.find_op("d"));
}

TEST(Graph, CycleIsAnErrorNamingAnOperator) {
  Graph g;
  g.add_tensor(activation("t1"));
  g.add_tensor(activation("t2"));
  g.add_operator(op("p", {"t2"}, {"t1"}));
  g.add_operator(op("q", {"t1"}, {"t2"}));
  const std::string m = message_of([&] { g.finalize(); });
  EXPECT_NE(m.find("cycle"), std::string::npos) << m;
  EXPECT_NE(m.find("node 'p'"), std::string::npos) << m;
}

TEST(Graph, DuplicateNamesAreErrors) {
  Graph g;
  g.add_tensor(activation("t"));
  EXPECT_NE(message_of([&] { g.add_tensor(activation("t")); }).find("duplicate tensor name"), std::string::npos);
  g.add_operator(op("o", {}, {"t"}));
  EXPECT_NE(message_of([&] { g.add_operator(op("o", {}, {"t"})); }).find("duplicate operator name"), std::string::npos);

  Graph h;
  h.add_tensor(activation("t"));
  h.add_operator(op("one", {}, {"t"}));
  h.add_operator(op("two", {}, {"t"}));
  const std::string m = message_of([&] { h.finalize(); });
  EXPECT_NE(m.find("duplicate tensor name"), std::string::npos) << m;
  EXPECT_NE(m.find("'one'"), std::string::npos) << m;
}

TEST(Graph, InputWithoutProducerIsAnError) {
  Graph g;
  g.add_tensor(activation("dangling"));
  g.add_tensor(activation("out"));
  g.add_operator(op("o", {"dangling"}, {"out"}));
  const std::string m = message_of([&] { g.finalize(); });
  EXPECT_NE(m.find("'dangling' is produced by no operator"), std::string::npos) << m;
  EXPECT_NE(m.find("node 'o'"), std::string::npos) << m;
}

TEST(Graph, UnknownGraphOutputIsAnError) {
  Graph g = diamond();
  g.set_outputs({"nowhere"});
  EXPECT_NE(message_of([&] { g.finalize(); }).find("graph output 'nowhere'"), std::string::npos);
}

TEST(Graph, ShapeHelpers) {
  EXPECT_EQ(element_count({2, 3, 4}), 24);
  EXPECT_EQ(element_count({}), 1);
  EXPECT_EQ(shape_string({1, 3, 224, 224}), "1x3x224x224");
  EXPECT_EQ(shape_string({}), "scalar");
  EXPECT_THROW(element_count({-1, 3}), Error);
  EXPECT_THROW(element_count({1LL << 40, 1LL << 40}), Error);
  EXPECT_EQ(dtype_size(DType::f16), 2u);
  EXPECT_EQ(dtype_name(DType::i64), "int64");
}

}  // namespace
}  // namespace sparoa::graph

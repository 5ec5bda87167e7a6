// The constant folder's arithmetic on hand-worked cases: each node is folded on its own and
// the initializer it leaves behind is compared with the value ONNX defines.
#include <gtest/gtest.h>

#include <climits>
#include <cstring>

#include "graph/onnx_constant_folding.hpp"
#include "support/error.hpp"

namespace sparoa::graph::detail {
namespace {

using onnx::TensorProto;

struct Folded {
  std::vector<std::int64_t> dims;
  std::vector<double> values;
};

class FoldCase {
 public:
  FoldCase& ints(const std::string& name, std::vector<std::int64_t> dims, std::vector<std::int64_t> v) {
    auto* t = g_.add_initializer();
    t->set_name(name);
    t->set_data_type(TensorProto::INT64);
    for (auto d : dims) t->add_dims(d);
    for (auto x : v) t->add_int64_data(x);
    return *this;
  }
  FoldCase& floats(const std::string& name, std::vector<std::int64_t> dims, std::vector<float> v) {
    auto* t = g_.add_initializer();
    t->set_name(name);
    t->set_data_type(TensorProto::FLOAT);
    for (auto d : dims) t->add_dims(d);
    t->set_raw_data(std::string(reinterpret_cast<const char*>(v.data()), v.size() * 4));
    return *this;
  }
  // A run-time input with a static shape (what Shape folds from).
  FoldCase& input(const std::string& name, std::vector<std::int64_t> dims) {
    auto* in = g_.add_input();
    in->set_name(name);
    auto* tt = in->mutable_type()->mutable_tensor_type();
    tt->set_elem_type(TensorProto::FLOAT);
    for (auto d : dims) tt->mutable_shape()->add_dim()->set_dim_value(d);
    return *this;
  }
  onnx::NodeProto& node(const std::string& type, std::vector<std::string> inputs) {
    auto* n = g_.add_node();
    n->set_op_type(type);
    n->set_name("n");
    for (auto& i : inputs) n->add_input(i);
    n->add_output("out");
    return *n;
  }
  static void attr(onnx::NodeProto& n, const std::string& key, std::int64_t v) {
    auto* a = n.add_attribute();
    a->set_name(key);
    a->set_type(onnx::AttributeProto::INT);
    a->set_i(v);
  }
  static void attr(onnx::NodeProto& n, const std::string& key, std::vector<std::int64_t> v) {
    auto* a = n.add_attribute();
    a->set_name(key);
    a->set_type(onnx::AttributeProto::INTS);
    for (auto x : v) a->add_ints(x);
  }
  // Folds; the output shape, when given, stands in for shape inference.
  Folded fold(std::optional<std::vector<std::int64_t>> out_shape = std::nullopt) {
    TypeMap types;
    for (const auto& in : g_.input()) types[in.name()] = &in.type();
    onnx::TypeProto out_type;
    if (out_shape) {
      auto* tt = out_type.mutable_tensor_type();
      for (auto d : *out_shape) tt->mutable_shape()->add_dim()->set_dim_value(d);
      types["out"] = &out_type;
    }
    FoldState state = initial_fold_state(g_);
    state.parameters.clear();  // treat every initializer as foldable data here
    EXPECT_EQ(fold_constants(g_, types, "case.onnx", state), 1) << "node did not fold";
    Folded f;
    for (const auto& t : g_.initializer()) {
      if (t.name() != "out") continue;
      f.dims.assign(t.dims().begin(), t.dims().end());
      const std::string& raw = t.raw_data();
      for (std::size_t i = 0; i < raw.size();) {
        if (t.data_type() == TensorProto::INT64) {
          std::int64_t v;
          std::memcpy(&v, raw.data() + i, 8);
          f.values.push_back(static_cast<double>(v));
          i += 8;
        } else if (t.data_type() == TensorProto::BOOL) {
          f.values.push_back(raw[i] ? 1 : 0);
          i += 1;
        } else {
          float v;
          std::memcpy(&v, raw.data() + i, 4);
          f.values.push_back(v);
          i += 4;
        }
      }
    }
    return f;
  }

 private:
  onnx::GraphProto g_;
};

TEST(ConstantFolding, ShapeWithStartAndEnd) {
  FoldCase c;
  c.input("x", {2, 3, 5, 7});
  auto& n = c.node("Shape", {"x"});
  FoldCase::attr(n, "start", std::int64_t{-3});
  FoldCase::attr(n, "end", std::int64_t{-1});
  const Folded f = c.fold();
  EXPECT_EQ(f.dims, (std::vector<std::int64_t>{2}));
  EXPECT_EQ(f.values, (std::vector<double>{3, 5}));
}

TEST(ConstantFolding, GatherWithNegativeIndexOnAxis1) {
  FoldCase c;
  c.ints("data", {2, 3}, {1, 2, 3, 4, 5, 6}).ints("idx", {2}, {-1, 0});
  FoldCase::attr(c.node("Gather", {"data", "idx"}), "axis", std::int64_t{1});
  const Folded f = c.fold();
  EXPECT_EQ(f.dims, (std::vector<std::int64_t>{2, 2}));
  EXPECT_EQ(f.values, (std::vector<double>{3, 1, 6, 4}));
}

TEST(ConstantFolding, SliceClampsHugeEndsAndSupportsNegativeSteps) {
  FoldCase c;
  c.ints("data", {6}, {0, 1, 2, 3, 4, 5}).ints("s", {1}, {1}).ints("e", {1}, {LLONG_MAX});
  c.node("Slice", {"data", "s", "e"});
  EXPECT_EQ(c.fold().values, (std::vector<double>{1, 2, 3, 4, 5}));

  FoldCase r;
  r.ints("data", {6}, {0, 1, 2, 3, 4, 5}).ints("s", {1}, {-1}).ints("e", {1}, {LLONG_MIN}).ints("a", {1}, {0}).ints("st", {1}, {-2});
  r.node("Slice", {"data", "s", "e", "a", "st"});
  EXPECT_EQ(r.fold().values, (std::vector<double>{5, 3, 1}));
}

TEST(ConstantFolding, ConcatOnInnerAxis) {
  FoldCase c;
  c.ints("a", {2, 1}, {1, 2}).ints("b", {2, 2}, {3, 4, 5, 6});
  FoldCase::attr(c.node("Concat", {"a", "b"}), "axis", std::int64_t{-1});
  const Folded f = c.fold();
  EXPECT_EQ(f.dims, (std::vector<std::int64_t>{2, 3}));
  EXPECT_EQ(f.values, (std::vector<double>{1, 3, 4, 2, 5, 6}));
}

TEST(ConstantFolding, BroadcastArithmeticAndIntegerDivisionTruncates) {
  FoldCase c;
  c.ints("a", {2, 1}, {7, -7}).ints("b", {3}, {2, 3, 4});
  c.node("Div", {"a", "b"});
  const Folded f = c.fold();
  EXPECT_EQ(f.dims, (std::vector<std::int64_t>{2, 3}));
  EXPECT_EQ(f.values, (std::vector<double>{3, 2, 1, -3, -2, -1}));
}

TEST(ConstantFolding, WhereEqualAndExpand) {
  FoldCase w;
  w.ints("c", {3}, {1, 0, 1}).ints("x", {3}, {10, 20, 30}).ints("y", {1}, {-1});
  w.ints("one", {1}, {1});
  w.node("Equal", {"c", "one"});
  EXPECT_EQ(w.fold().values, (std::vector<double>{1, 0, 1}));

  FoldCase s;
  s.ints("c", {3}, {1, 0, 1}).ints("x", {3}, {10, 20, 30}).ints("y", {1}, {-1});
  s.node("Where", {"c", "x", "y"});
  EXPECT_EQ(s.fold().values, (std::vector<double>{10, -1, 30}));

  FoldCase x;
  x.ints("v", {1, 3}, {1, 2, 3}).ints("shape", {2}, {2, 1});
  x.node("Expand", {"v", "shape"});
  const Folded f = x.fold();
  EXPECT_EQ(f.dims, (std::vector<std::int64_t>{2, 3}));
  EXPECT_EQ(f.values, (std::vector<double>{1, 2, 3, 1, 2, 3}));
}

TEST(ConstantFolding, RangeAndConstantOfShape) {
  FoldCase r;
  r.ints("s", {}, {10}).ints("l", {}, {1}).ints("d", {}, {-3});
  r.node("Range", {"s", "l", "d"});
  EXPECT_EQ(r.fold().values, (std::vector<double>{10, 7, 4}));

  FoldCase c;
  c.ints("shape", {2}, {2, 3});
  c.node("ConstantOfShape", {"shape"});
  const Folded f = c.fold();
  EXPECT_EQ(f.dims, (std::vector<std::int64_t>{2, 3}));
  EXPECT_EQ(f.values, std::vector<double>(6, 0.0));
}

TEST(ConstantFolding, ReshapeUsesTheInferredShape) {
  FoldCase c;
  c.ints("data", {2, 3}, {1, 2, 3, 4, 5, 6}).ints("shape", {1}, {-1});
  c.node("Reshape", {"data", "shape"});
  const Folded f = c.fold(std::vector<std::int64_t>{6});
  EXPECT_EQ(f.dims, (std::vector<std::int64_t>{6}));
  EXPECT_EQ(f.values, (std::vector<double>{1, 2, 3, 4, 5, 6}));
}

TEST(ConstantFolding, TransposeAndReduceProd) {
  FoldCase t;
  t.ints("data", {2, 3}, {1, 2, 3, 4, 5, 6});
  FoldCase::attr(t.node("Transpose", {"data"}), "perm", std::vector<std::int64_t>{1, 0});
  EXPECT_EQ(t.fold().values, (std::vector<double>{1, 4, 2, 5, 3, 6}));

  FoldCase p;
  p.ints("data", {2, 3}, {1, 2, 3, 4, 5, 6});
  auto& n = p.node("ReduceProd", {"data"});
  FoldCase::attr(n, "axes", std::vector<std::int64_t>{1});
  FoldCase::attr(n, "keepdims", std::int64_t{0});
  const Folded f = p.fold();
  EXPECT_EQ(f.dims, (std::vector<std::int64_t>{2}));
  EXPECT_EQ(f.values, (std::vector<double>{6, 120}));
}

TEST(ConstantFolding, MalformedConstantComputationsAreErrors) {
  FoldCase c;
  c.ints("data", {3}, {1, 2, 3}).ints("idx", {1}, {5});
  c.node("Gather", {"data", "idx"});
  EXPECT_THROW(c.fold(), Error);

  FoldCase d;
  d.ints("a", {1}, {1}).ints("b", {1}, {0});
  d.node("Div", {"a", "b"});
  EXPECT_THROW(d.fold(), Error);
}

}  // namespace
}  // namespace sparoa::graph::detail

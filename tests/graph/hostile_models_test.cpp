// Regression tests from a review of the importer with hostile and unusual models: each of
// these crashed, allocated gigabytes, computed a wrong value or refused a valid model.
#include <gtest/gtest.h>

#include <climits>

#include "graph/features.hpp"
#include "graph/onnx_import.hpp"
#include "onnx_test_models.hpp"
#include "support/error.hpp"

namespace sparoa::graph {
namespace {

using test::ModelBuilder;

std::string error_of(const ModelBuilder& b, std::optional<std::int64_t> batch = std::nullopt) {
  ImportOptions o;
  o.batch = batch;
  try {
    import_onnx_bytes(b.bytes(), "hostile.onnx", o);
  } catch (const Error& e) {
    return e.what();
  }
  return "(imported)";
}

Graph import(const ModelBuilder& b, std::optional<std::int64_t> batch = std::nullopt) {
  ImportOptions o;
  o.batch = batch;
  return import_onnx_bytes(b.bytes(), "hostile.onnx", o);
}

onnx::TensorProto& raw_initializer(ModelBuilder& b, const std::string& name, std::vector<std::int64_t> dims) {
  auto* t = b.model().mutable_graph()->add_initializer();
  t->set_name(name);
  t->set_data_type(onnx::TensorProto::FLOAT);
  for (auto d : dims) t->add_dims(d);
  return *t;
}

// y = Tile(z[1], repeats): the folded value of `repeats` becomes the output's length.
std::int64_t tiled_length(ModelBuilder& b, const std::string& repeats) {
  b.input("z", {1});
  b.node("Tile", {"z", repeats}, {"y"}, "tile");
  b.output("y", 1);
  const Graph g = import(b);
  EXPECT_EQ(g.operators().size(), 1u) << "everything but the Tile should have folded";
  return g.tensor("y").shape.at(0);
}

TEST(HostileModels, HugeConstantOfShapeIsRefusedNotIndexed) {
  ModelBuilder b;
  b.input("x", {1}, onnx::TensorProto::INT64);
  b.ints("shp", {2}, {4, std::int64_t{1} << 62});
  b.ints("idx", {}, {0});
  b.node("ConstantOfShape", {"shp"}, {"c"}, "cos");
  b.node("Gather", {"c", "idx"}, {"g"}, "gather");
  b.node("Add", {"x", "g"}, {"y"}, "add");
  b.output("y", 1, onnx::TensorProto::INT64);
  const std::string m = error_of(b);
  EXPECT_NE(m.find("hostile.onnx"), std::string::npos) << m;
}

TEST(HostileModels, WeightWhoseByteSizeOverflowsIsAnError) {
  ModelBuilder b;
  b.input("idx", {1}, onnx::TensorProto::INT64);
  raw_initializer(b, "W", {(std::int64_t{1} << 62) + 1}).set_raw_data(std::string(4, '\0'));
  b.node("Gather", {"W", "idx"}, {"y"}, "gather");
  b.output("y", 1);
  const std::string m = error_of(b);
  EXPECT_NE(m.find("'W'"), std::string::npos) << m;
  // Refused by the element limit (graph/onnx_import.hpp) before any byte count is computed.
  EXPECT_NE(m.find("more than the limit of 4294967296 elements per tensor"), std::string::npos) << m;
  EXPECT_EQ(m.rfind("hostile.onnx", 0), 0u) << m;
}

TEST(HostileModels, TypedDataIsCountedBeforeAllocating) {
  ModelBuilder b;
  b.input("idx", {1}, onnx::TensorProto::INT64);
  raw_initializer(b, "W", {std::int64_t{1} << 40}).add_float_data(1.0f);  // 4 TiB if allocated first
  b.node("Gather", {"W", "idx"}, {"y"}, "gather");
  b.output("y", 1);
  EXPECT_NE(error_of(b).find("more than the limit of 4294967296 elements per tensor"), std::string::npos);
}

TEST(HostileModels, SliceWithExtremeSteps) {
  ModelBuilder b;
  b.ints("c", {3}, {7, 8, 9}).ints("st", {1}, {0}).ints("en", {1}, {3}).ints("ax", {1}, {0});
  b.ints("sp", {1}, {LLONG_MAX});
  b.node("Slice", {"c", "st", "en", "ax", "sp"}, {"s"}, "slice");
  EXPECT_EQ(tiled_length(b, "s"), 7) << "[7,8,9][0:3:INT64_MAX] is [7]";

  // Going backward, a start before the beginning clamps to 0 (not -1): [7][-10::-1] is [7].
  ModelBuilder r;
  r.ints("c", {1}, {7}).ints("st", {1}, {-10}).ints("en", {1}, {LLONG_MIN}).ints("ax", {1}, {0});
  r.ints("sp", {1}, {-1});
  r.node("Slice", {"c", "st", "en", "ax", "sp"}, {"s"}, "slice");
  EXPECT_EQ(tiled_length(r, "s"), 7);

  ModelBuilder m;
  m.ints("c", {4}, {1, 2, 3, 4}).ints("st", {1}, {3}).ints("en", {1}, {LLONG_MIN}).ints("ax", {1}, {0});
  m.ints("sp", {1}, {LLONG_MIN});
  m.node("Slice", {"c", "st", "en", "ax", "sp"}, {"s"}, "slice");
  EXPECT_EQ(tiled_length(m, "s"), 4) << "[1,2,3,4][3::INT64_MIN] is [4]";
}

TEST(HostileModels, LargeResultsStayRunTimeOperators) {
  // Gather of a small constant with many indices: a 2^31-element result must not be built.
  ModelBuilder g;
  g.input("x", {65536, 32768}, onnx::TensorProto::INT64);
  g.ints("data", {2, 4}, {0, 0, 0, 0, 0, 0, 0, 0});
  g.ints("idx", {65536}, std::vector<std::int64_t>(65536, 0));
  g.node("Gather", {"data", "idx"}, {"gathered"}, "gather");
  g.node("Slice", {"x", "st", "en"}, {"xs"}, "slice_x");
  g.ints("st", {2}, {0, 0}).ints("en", {2}, {65536, 4});
  g.node("Add", {"xs", "gathered"}, {"y"}, "add");
  g.output("y", 2, onnx::TensorProto::INT64);
  const Graph gg = import(g);
  EXPECT_TRUE(gg.find_op("gather").has_value());

  // Expand of a scalar to 512x512 (an attention mask) is a valid model.
  ModelBuilder e;
  e.input("x", {-1, 512, 512});
  e.weight("one", {}, {1.0f});
  e.ints("shape", {3}, {1, 512, 512});
  e.node("Expand", {"one", "shape"}, {"mask"}, "expand");
  e.node("Add", {"x", "mask"}, {"y"}, "add");
  e.output("y", 3);
  const Graph ge = import(e, 1);
  EXPECT_TRUE(ge.find_op("expand").has_value());
  EXPECT_EQ(ge.tensor("mask").shape, (Shape{1, 512, 512}));
}

TEST(HostileModels, SizeIsExactBeyondTheFoldingLimits) {
  ModelBuilder b;
  b.input("x", {1, 2048, 4096, 2});
  b.ints("ax", {1}, {0});
  b.node("Size", {"x"}, {"n"}, "size");
  b.node("Unsqueeze", {"n", "ax"}, {"n1"}, "unsqueeze");
  EXPECT_EQ(tiled_length(b, "n1"), 16777216);
}

TEST(HostileModels, MaxAndMinAreVariadic) {
  ModelBuilder b;
  b.ints("a", {1}, {1}).ints("b", {1}, {2}).ints("c", {1}, {5});
  b.node("Max", {"a", "b", "c"}, {"r"}, "max");
  EXPECT_EQ(tiled_length(b, "r"), 5);
  ModelBuilder one;
  one.ints("a", {1}, {3});
  one.node("Min", {"a"}, {"r"}, "min");
  EXPECT_EQ(tiled_length(one, "r"), 3);
}

TEST(HostileModels, ShapeOfAnInitializerFolds) {
  ModelBuilder b;
  b.input("x", {12});
  b.weight("W", {3, 4}, std::vector<float>(12, 1.0f));
  b.node("Shape", {"W"}, {"s"}, "shape");
  b.node("Reshape", {"x", "s"}, {"y"}, "reshape");
  b.output("y", 2);
  const Graph g = import(b);
  EXPECT_EQ(g.tensor("y").shape, (Shape{3, 4}));
}

TEST(HostileModels, IdentityOfAWeightIsAnAlias) {
  ModelBuilder b;
  b.input("x", {-1, 8});
  std::vector<float> w(64, 0.5f);
  for (int i = 0; i < 48; ++i) w[static_cast<std::size_t>(i)] = 0.0f;
  b.weight("W", {8, 8}, w);
  b.node("Identity", {"W"}, {"W_alias"}, "alias");
  b.node("MatMul", {"x", "W_alias"}, {"y"}, "mm");
  b.output("y", 2);
  const Graph g = import(b, 1);
  EXPECT_FALSE(g.find_op("alias").has_value());
  const Features& f = g.op(*g.find_op("mm")).features;
  EXPECT_EQ(f.params, 64);
  EXPECT_DOUBLE_EQ(f.weight_sparsity, 0.75);
}

TEST(HostileModels, TransposedWeightKeepsItsParameters) {
  ModelBuilder b;
  b.input("x", {-1, 8});
  b.weight("W", {4, 8}, std::vector<float>(32, 0.5f));
  b.node("Transpose", {"W"}, {"Wt"}, "transpose");
  b.node("MatMul", {"x", "Wt"}, {"y"}, "mm");
  b.output("y", 2);
  const Graph g = import(b, 1);
  EXPECT_EQ(totals(g).params, 32);
}

// How ONNX's shape inference names node 'c' of type `op` in its errors.
std::string node_of(const std::string& op) {
  std::string s = "(op_type:";
  s += op;
  s += ", node name: c)";
  return s;
}

// ONNX 1.12's Conv and ConvTranspose inference take the kernel from the weight's dimensions
// and index the dilations (sized by the input's rank) with them: a weight whose rank differs
// from the input's read out of bounds inside libonnx (a SEGV, found by fuzz/). The guard
// runs just before that inference, on the ranks inference has reached, so it also catches a
// mismatch that appears only mid-graph.
TEST(HostileModels, ConvWeightOfAnotherRankIsRefusedBeforeOnnxReadsIt) {
  auto refused = [](const std::string& m, const std::string& op, int w_rank, int x_rank) {
    EXPECT_EQ(m.rfind("hostile.onnx: shape inference failed: ", 0), 0u) << m;
    EXPECT_NE(m.find(node_of(op)), std::string::npos) << m;
    std::string ranks = "the weight W has rank ";
    ranks += std::to_string(w_rank);
    ranks += " but the input X has rank ";
    ranks += std::to_string(x_rank);
    EXPECT_NE(m.find(ranks), std::string::npos) << m;
  };
  {  // the fuzzer's input: x is a graph input of rank 2, pads has 4 values
    ModelBuilder b;
    b.input("x", {1, 3});
    b.weight("w", {4, 3, 3}, std::vector<float>(36, 0.5f));
    ModelBuilder::attr(b.node("Conv", {"x", "w"}, {"y"}, "c"), "pads", std::vector<std::int64_t>{1, 1, 1, 1});
    b.output("y", 4);
    refused(error_of(b), "Conv", 3, 2);
  }
  {  // rank 2 only after inference of a Flatten, with a 4-D weight
    ModelBuilder b;
    b.input("x", {1, 3, 4, 4});
    b.node("Flatten", {"x"}, {"f"}, "flat");
    b.weight("w", {2, 48, 1, 1}, std::vector<float>(96, 0.5f));
    b.node("Conv", {"f", "w"}, {"y"}, "c");
    b.output("y", 4);
    refused(error_of(b), "Conv", 4, 2);
  }
  for (const auto& w_dims : {std::vector<std::int64_t>{3}, {3, 2, 2, 2, 2}}) {
    ModelBuilder b;  // a 1-D weight has no dimension 1 to read; a 5-D one over-reads the dilations
    b.input("x", {1, 3, 4, 4});
    std::int64_t n = 1;
    for (auto d : w_dims) n *= d;
    b.weight("w", w_dims, std::vector<float>(std::size_t(n), 0.5f));
    b.node("ConvTranspose", {"x", "w"}, {"y"}, "c");
    b.output("y", 4);
    refused(error_of(b), "ConvTranspose", int(w_dims.size()), 4);
  }
  {  // the control: the same Conv with a weight of the input's rank imports
    ModelBuilder b;
    b.input("x", {1, 3, 4, 4});
    b.weight("w", {4, 3, 3, 3}, std::vector<float>(108, 0.5f));
    ModelBuilder::attr(b.node("Conv", {"x", "w"}, {"y"}, "c"), "pads", std::vector<std::int64_t>{1, 1, 1, 1});
    b.output("y", 4);
    EXPECT_EQ(import(b).tensor("y").shape, (Shape{1, 4, 4, 4}));
  }
}

// Conv and pooling inference in ONNX 1.12 divide by each stride: a stride of 0 was a SIGFPE
// inside libonnx (found by fuzz/), and -1 can trap as INT64_MIN / -1.
TEST(HostileModels, StridesBelowOneAreRefusedBeforeOnnxDividesByThem) {
  for (const std::string op : {"Conv", "MaxPool", "AveragePool", "ConvTranspose"}) {
    for (const std::int64_t stride : {std::int64_t{0}, std::int64_t{-1}}) {
      ModelBuilder b;
      b.input("x", {1, 3, 8, 8});
      std::vector<std::string> inputs = {"x"};
      if (op == "Conv" || op == "ConvTranspose") {
        b.weight("w", {3, 3, 3, 3}, std::vector<float>(81, 0.5f));
        inputs.push_back("w");
      }
      auto& n = b.node(op, inputs, {"y"}, "c");
      if (op == "MaxPool" || op == "AveragePool") ModelBuilder::attr(n, "kernel_shape", std::vector<std::int64_t>{3, 3});
      ModelBuilder::attr(n, "strides", std::vector<std::int64_t>{2, stride});
      b.output("y", 4);
      const std::string m = error_of(b);
      EXPECT_EQ(m.rfind("hostile.onnx: shape inference failed: ", 0), 0u) << op << ": " << m;
      EXPECT_NE(m.find(node_of(op)), std::string::npos) << m;
      std::string why = "strides[1] is ";
      why += std::to_string(stride);
      why += ": every stride must be 1 or more";
      EXPECT_NE(m.find(why), std::string::npos) << m;
    }
  }
}

}  // namespace
}  // namespace sparoa::graph

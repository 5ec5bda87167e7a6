#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "graph/onnx_import.hpp"
#include "onnx_test_models.hpp"
#include "support/error.hpp"

namespace sparoa::graph {
namespace {

using test::ModelBuilder;

std::string import_error(const std::string& bytes, const ImportOptions& options = {}) {
  try {
    import_onnx_bytes(bytes, "model.onnx", options);
  } catch (const Error& e) {
    return e.what();
  }
  return "(imported without error)";
}

void expect_error(const std::string& message, const std::vector<std::string>& parts) {
  for (const auto& p : parts) EXPECT_NE(message.find(p), std::string::npos) << "'" << p << "' not in: " << message;
  EXPECT_EQ(message.find('\n'), std::string::npos) << "not one line: " << message;
  EXPECT_EQ(message.rfind("model.onnx", 0), 0u) << "does not name the file first: " << message;
}

ImportOptions batch(std::int64_t b) {
  ImportOptions o;
  o.batch = b;
  return o;
}

TEST(OnnxImport, SmallCnnImportsWithStaticShapes) {
  const Graph g = import_onnx_bytes(test::small_cnn().bytes(), "cnn.onnx", batch(2));
  EXPECT_EQ(g.operators().size(), 6u);
  EXPECT_EQ(g.batch, 2);
  EXPECT_EQ(g.opset, 17);
  EXPECT_EQ(g.tensor("c").shape, (Shape{2, 8, 8, 8}));
  EXPECT_EQ(g.tensor("y").shape, (Shape{2, 4}));
  EXPECT_EQ(g.tensor("conv.w").role, TensorRole::weight);
  EXPECT_EQ(g.tensor("conv.w").data->bytes().size(), 8u * 3 * 3 * 3 * 4);
  EXPECT_EQ(g.input_names(), (std::vector<std::string>{"x"}));
  EXPECT_EQ(g.model_sha256.size(), 64u);
  EXPECT_EQ(g.op(g.topological_order().front()).name, "conv");
}

TEST(OnnxImport, FromFileRecordsPathAndHash) {
  const auto path = test::small_cnn(1).save("cnn.onnx");
  const Graph g = import_onnx(path);
  EXPECT_EQ(g.source_path, path);
  EXPECT_EQ(g.batch, 1);
  EXPECT_EQ(g.tensor("y").shape, (Shape{1, 4}));
}

TEST(OnnxImport, InputShapeOptionBindsWholeShape) {
  ImportOptions o;
  o.input_shapes["x"] = {3, 3, 8, 8};
  const Graph g = import_onnx_bytes(test::small_cnn().bytes(), "cnn.onnx", o);
  EXPECT_EQ(g.batch, 3);
  EXPECT_EQ(g.tensor("y").shape, (Shape{3, 4}));
}

TEST(OnnxImport, ParseInputShape) {
  auto [name, shape] = parse_input_shape("input:0=1x3x224x224");
  EXPECT_EQ(name, "input:0");
  EXPECT_EQ(shape, (Shape{1, 3, 224, 224}));
  EXPECT_THROW(parse_input_shape("x=1x0x3"), Error);
  EXPECT_THROW(parse_input_shape("x=1x"), Error);
  EXPECT_THROW(parse_input_shape("x"), Error);
  EXPECT_THROW(parse_input_shape("x=ax3"), Error);
}

TEST(OnnxImport, ShapeSubgraphFoldsToConstants) {
  // y = Reshape(x, Concat(Gather(Shape(x), 0), [-1])): what PyTorch emits for x.view(x.size(0), -1).
  ModelBuilder b;
  b.input("x", {-1, 4, 2, 2});
  b.ints("zero", {}, {0});
  b.ints("minus_one", {1}, {-1});
  b.ints("axes0", {1}, {0});
  b.node("Shape", {"x"}, {"s"});
  b.node("Gather", {"s", "zero"}, {"n"});
  b.node("Unsqueeze", {"n", "axes0"}, {"n1"});
  auto& cat = b.node("Concat", {"n1", "minus_one"}, {"target"});
  ModelBuilder::attr(cat, "axis", std::int64_t{0});
  b.node("Reshape", {"x", "target"}, {"flat"});
  b.node("Relu", {"flat"}, {"y"});
  b.output("y", 2);
  const Graph g = import_onnx_bytes(b.bytes(), "fold.onnx", batch(5));
  ASSERT_EQ(g.operators().size(), 2u) << "the Shape subgraph should have folded away";
  EXPECT_EQ(g.operators()[0].type, "Reshape");
  EXPECT_EQ(g.tensor("target").role, TensorRole::weight);
  EXPECT_EQ(g.tensor("y").shape, (Shape{5, 16}));
}

TEST(OnnxImport, ConstantNodesBecomeWeights) {
  ModelBuilder b;
  b.input("x", {-1, 4});
  auto& c = b.node("Constant", {}, {"k"}, "k_node");
  auto* a = c.add_attribute();
  a->set_name("value");
  a->set_type(onnx::AttributeProto::TENSOR);
  a->mutable_t()->set_data_type(onnx::TensorProto::FLOAT);
  a->mutable_t()->add_dims(4);
  for (int i = 0; i < 4; ++i) a->mutable_t()->add_float_data(0.5f * i);
  b.node("Add", {"x", "k"}, {"y"});
  b.output("y", 2);
  const Graph g = import_onnx_bytes(b.bytes(), "const.onnx", batch(1));
  ASSERT_EQ(g.operators().size(), 1u);
  EXPECT_EQ(g.tensor("k").role, TensorRole::weight);
  EXPECT_EQ(g.operators()[0].features.params, 4);
}

TEST(OnnxImport, UnsortedNodesAreSorted) {
  ModelBuilder b;
  b.input("x", {1, 4});
  b.node("Relu", {"h"}, {"y"}, "second");
  b.node("Relu", {"x"}, {"h"}, "first");
  b.output("y", 2);
  const Graph g = import_onnx_bytes(b.bytes(), "unsorted.onnx");
  EXPECT_EQ(g.op(g.topological_order()[0]).name, "first");
}

TEST(OnnxImport, EmptyNodeNamesAreFilledUniquely) {
  ModelBuilder b;
  b.input("x", {1, 4});
  b.node("Relu", {"x"}, {"h"}).clear_name();
  b.node("Relu", {"h"}, {"y"}).clear_name();
  b.output("y", 2);
  const Graph g = import_onnx_bytes(b.bytes(), "noname.onnx");
  EXPECT_NE(g.operators()[0].name, g.operators()[1].name);
  EXPECT_FALSE(g.operators()[0].name.empty());
}

// ---- bad input: one clear line naming the file and the culprit ----

TEST(OnnxImportBadInput, GarbageBytes) {
  expect_error(import_error("this is not a protobuf \xff\xff\xff\xff"), {"not an ONNX model"});
  expect_error(import_error(""), {"not an ONNX model"});
}

TEST(OnnxImportBadInput, TruncatedFile) {
  const std::string full = test::small_cnn().bytes();
  expect_error(import_error(full.substr(0, full.size() / 2)), {"not an ONNX model"});
  expect_error(import_error(full.substr(0, full.size() - 3)), {"model.onnx"});
}

TEST(OnnxImportBadInput, MissingFile) {
  EXPECT_THROW(import_onnx("/nonexistent/model.onnx"), Error);
  EXPECT_THROW(import_onnx(SPAROA_TEST_DATA_DIR), Error);  // a directory
}

TEST(OnnxImportBadInput, FailsTheChecker) {
  ModelBuilder b = test::small_cnn();
  b.model().set_ir_version(0);  // the checker requires an IR version
  expect_error(import_error(b.bytes()), {"fails the ONNX checker"});
}

TEST(OnnxImportBadInput, CheckerRejectsWrongAttributeType) {
  ModelBuilder b;
  b.input("x", {1, 4});
  auto& n = b.node("Softmax", {"x"}, {"y"}, "sm");
  ModelBuilder::attr(n, "axis", std::string("one"));
  b.output("y", 2);
  expect_error(import_error(b.bytes()), {"fails the ONNX checker"});
}

TEST(OnnxImportBadInput, UnsupportedOperatorNamesTypeAndNode) {
  ModelBuilder b;
  b.input("x", {1, 4});
  b.node("NonMaxSuppression", {"x", "x"}, {"y"}, "nms_7");
  b.output("y", 2);
  expect_error(import_error(b.bytes()), {"unsupported operator 'NonMaxSuppression'", "node 'nms_7'"});
}

TEST(OnnxImportBadInput, ControlFlowIsRejected) {
  ModelBuilder b;
  b.input("c", {1}, onnx::TensorProto::BOOL);
  b.node("If", {"c"}, {"y"}, "branch");
  b.output("y", 2);
  expect_error(import_error(b.bytes()), {"'If'", "node 'branch'", "control flow"});
}

TEST(OnnxImportBadInput, CustomDomainIsRejected) {
  ModelBuilder b;
  b.input("x", {1, 4});
  b.node("FusedConv", {"x"}, {"y"}, "fc").set_domain("com.microsoft");
  b.output("y", 2);
  expect_error(import_error(b.bytes()), {"com.microsoft:FusedConv", "node 'fc'"});
}

TEST(OnnxImportBadInput, UnknownDimensionNamesTheTensor) {
  // No --batch: the symbolic batch dimension stays unknown.
  expect_error(import_error(test::small_cnn().bytes()), {"input 'x'", "unknown dimension 'N'", "--batch"});
  // A symbolic dimension that is not the first is not bound by --batch.
  ModelBuilder b;
  b.input("x", {1, -1});
  b.node("Relu", {"x"}, {"y"});
  b.output("y", 2);
  expect_error(import_error(b.bytes(), batch(1)), {"input 'x'", "axis 1", "--input-shape x="});
}

TEST(OnnxImportBadInput, FixedBatchCannotBeRebound) {
  expect_error(import_error(test::small_cnn(1).bytes(), batch(4)), {"input 'x'", "fixed at 1"});
  ImportOptions o;
  o.input_shapes["x"] = {1, 3, 9, 9};
  expect_error(import_error(test::small_cnn(1).bytes(), o), {"input 'x'", "dimension 2 is fixed at 8"});
  ImportOptions wrong;
  wrong.input_shapes["nope"] = {1};
  expect_error(import_error(test::small_cnn(1).bytes(), wrong), {"'nope'", "not an input"});
}

TEST(OnnxImportBadInput, CycleIsDetected) {
  ModelBuilder b;
  b.input("x", {1, 4});
  b.node("Add", {"x", "t2"}, {"t1"}, "a");
  b.node("Relu", {"t1"}, {"t2"}, "r");
  b.node("Relu", {"t2"}, {"y"}, "out");
  b.output("y", 2);
  expect_error(import_error(b.bytes()), {"cycle", "node 'a'"});
}

TEST(OnnxImportBadInput, DuplicateTensorNames) {
  ModelBuilder b;
  b.input("x", {1, 4});
  b.node("Relu", {"x"}, {"t"}, "first");
  b.node("Sigmoid", {"x"}, {"t"}, "second");
  b.node("Relu", {"t"}, {"y"}, "out");
  b.output("y", 2);
  expect_error(import_error(b.bytes()), {"duplicate tensor name 't'", "'second'", "'first'"});
}

TEST(OnnxImportBadInput, DuplicateOperatorNames) {
  ModelBuilder b;
  b.input("x", {1, 4});
  b.node("Relu", {"x"}, {"t"}, "same");
  b.node("Relu", {"t"}, {"y"}, "same");
  b.output("y", 2);
  expect_error(import_error(b.bytes()), {"duplicate operator name 'same'"});
}

TEST(OnnxImportBadInput, DanglingInput) {
  ModelBuilder b;
  b.input("x", {1, 4});
  b.node("Add", {"x", "ghost"}, {"y"}, "add");
  b.output("y", 2);
  expect_error(import_error(b.bytes()), {"node 'add'", "'ghost' is produced by no operator"});
}

TEST(OnnxImportBadInput, OpsetTooNewOrTooOld) {
  ModelBuilder b(18);
  b.input("x", {1, 4});
  b.node("Relu", {"x"}, {"y"});
  b.output("y", 2);
  expect_error(import_error(b.bytes()), {"opset 18", "re-export", "17"});
  ModelBuilder old(9);
  old.input("x", {1, 4});
  old.node("Relu", {"x"}, {"y"});
  old.output("y", 2);
  expect_error(import_error(old.bytes()), {"opset 9"});
}

TEST(OnnxImportBadInput, WeightDataSizeMismatch) {
  ModelBuilder b = test::small_cnn();
  b.model().mutable_graph()->mutable_initializer(0)->mutable_raw_data()->resize(10);
  const std::string m = import_error(b.bytes(), batch(1));
  EXPECT_NE(m.find("conv.w"), std::string::npos) << m;
}

TEST(OnnxImportBadInput, UnsupportedResizeMode) {
  ModelBuilder b;
  b.input("x", {1, 1, 4, 4});
  b.weight("scales", {4}, {1, 1, 2, 2});
  auto& r = b.node("Resize", {"x", "", "scales"}, {"y"}, "up");
  ModelBuilder::attr(r, "mode", std::string("cubic"));
  b.output("y", 4);
  expect_error(import_error(b.bytes()), {"node 'up'", "mode 'cubic'"});
}

TEST(OnnxImportBadInput, RuntimeShapeComputationIsRejected) {
  // Range over a run-time value cannot fold.
  ModelBuilder b;
  b.input("n", {}, onnx::TensorProto::INT64);
  b.ints("zero", {}, {0});
  b.ints("one", {}, {1});
  b.node("Range", {"zero", "n", "one"}, {"y"}, "range");
  b.output("y", 1, onnx::TensorProto::INT64);
  const std::string m = import_error(b.bytes());
  EXPECT_NE(m.find("node 'range'"), std::string::npos) << m;
}

}  // namespace
}  // namespace sparoa::graph

namespace sparoa::graph {
namespace {

// Large weights are not parsed by protobuf but taken from the file (or the given bytes)
// where they lie; the result must be the same bytes and the same features either way.
TEST(OnnxImport, LargeWeightsComeFromTheFileUnchanged) {
  test::ModelBuilder b;
  b.input("x", {-1, 128});
  std::vector<float> w(64 * 128);
  for (std::size_t i = 0; i < w.size(); ++i) w[i] = (i % 3 == 0) ? 0.0f : 0.001f * static_cast<float>(i);
  b.weight("w", {64, 128}, w);  // 32 KiB: taken out before parsing
  b.weight("bias", {64}, std::vector<float>(64, 0.5f));  // 256 B: parsed as usual
  auto& fc = b.node("Gemm", {"x", "w", "bias"}, {"y"}, "fc");
  test::ModelBuilder::attr(fc, "transB", std::int64_t{1});
  b.output("y", 2);
  ImportOptions o;
  o.batch = 2;
  const Graph from_file = import_onnx(b.save("large_weight.onnx"), o);
  const Graph from_bytes = import_onnx_bytes(b.bytes(), "large_weight.onnx", o);
  const std::string_view expected(reinterpret_cast<const char*>(w.data()), w.size() * sizeof(float));
  for (const Graph* g : {&from_file, &from_bytes}) {
    EXPECT_EQ(g->tensor("w").data->bytes(), expected);
    EXPECT_EQ(g->tensor("bias").data->bytes().size(), 64u * 4);
    const Features& f = g->op(*g->find_op("fc")).features;
    EXPECT_EQ(f.weight_zeros, static_cast<std::int64_t>((w.size() + 2) / 3));
    EXPECT_EQ(f.params, 64 * 128 + 64);
  }
  EXPECT_EQ(from_file.model_sha256, from_bytes.model_sha256);
}

TEST(OnnxImportBadInput, LargeWeightOfTheWrongSize) {
  test::ModelBuilder b;
  b.input("x", {1, 128});
  b.weight("w", {128, 64}, std::vector<float>(128 * 64 - 1, 1.0f));  // one element short
  b.node("MatMul", {"x", "w"}, {"y"}, "mm");
  b.output("y", 2);
  const std::string m = import_error(b.bytes());
  EXPECT_NE(m.find("initializer 'w'"), std::string::npos) << m;
  EXPECT_NE(m.find("32764 bytes"), std::string::npos) << m;
}

}  // namespace
}  // namespace sparoa::graph

namespace sparoa::graph {
namespace {

namespace fs = std::filesystem;

void external(test::ModelBuilder& b, const std::string& name, int dtype, std::vector<std::int64_t> dims,
              const std::string& location, std::uint64_t offset, std::uint64_t length) {
  auto* t = b.model().mutable_graph()->add_initializer();
  t->set_name(name);
  t->set_data_type(dtype);
  for (auto d : dims) t->add_dims(d);
  t->set_data_location(onnx::TensorProto::EXTERNAL);
  auto add = [&](const std::string& k, const std::string& v) {
    auto* e = t->add_external_data();
    e->set_key(k);
    e->set_value(v);
  };
  add("location", location);
  add("offset", std::to_string(offset));
  add("length", std::to_string(length));
}

// y = Reshape(MatMul(x, W), shape) with W (16 KiB) and shape (16 B) both in weights.bin.
struct ExternalModel {
  fs::path dir, model;
  std::vector<float> w;
};

ExternalModel external_model(const std::string& folder, const std::string& location = "weights.bin",
                             std::uint64_t w_length = 64 * 64 * 4) {
  ExternalModel m;
  m.dir = fs::path(SPAROA_TEST_DATA_DIR) / "graph_test" / folder;
  fs::remove_all(m.dir);
  fs::create_directories(m.dir);
  m.w.resize(64 * 64);
  for (std::size_t i = 0; i < m.w.size(); ++i) m.w[i] = i % 4 ? 0.25f * static_cast<float>(i) : 0.0f;
  const std::vector<std::int64_t> shape{-1, 8, 8};
  std::string bin(reinterpret_cast<const char*>(m.w.data()), m.w.size() * 4);
  const auto shape_offset = bin.size();
  bin.append(reinterpret_cast<const char*>(shape.data()), shape.size() * 8);
  std::ofstream(m.dir / "weights.bin", std::ios::binary) << bin;
  test::ModelBuilder b;
  b.input("x", {-1, 64});
  external(b, "W", onnx::TensorProto::FLOAT, {64, 64}, location, 0, w_length);
  external(b, "shape", onnx::TensorProto::INT64, {3}, location, shape_offset, 24);
  b.node("MatMul", {"x", "W"}, {"h"}, "mm");
  b.node("Reshape", {"h", "shape"}, {"y"}, "reshape");
  b.output("y", 3);
  m.model = m.dir / "model.onnx";
  std::ofstream(m.model, std::ios::binary) << b.bytes();
  return m;
}

std::string external_error(const fs::path& model) {
  try {
    ImportOptions o;
    o.batch = 1;
    import_onnx(model, o);
  } catch (const Error& e) {
    return e.what();
  }
  return "(imported)";
}

TEST(OnnxImport, ExternalDataBesideTheModel) {
  const ExternalModel m = external_model("external_ok");
  ImportOptions o;
  o.batch = 2;
  const Graph g = import_onnx(m.model, o);
  EXPECT_EQ(g.tensor("W").data->bytes(),
            std::string_view(reinterpret_cast<const char*>(m.w.data()), m.w.size() * 4));
  EXPECT_EQ(g.tensor("y").shape, (Shape{2, 8, 8})) << "the small external shape tensor must be readable";
  EXPECT_DOUBLE_EQ(g.op(*g.find_op("mm")).features.weight_sparsity, 0.25);
}

TEST(OnnxImportBadInput, ExternalDataOutsideTheModelFolder) {
  const ExternalModel up = external_model("external_up", "../weights.bin");
  EXPECT_NE(external_error(up.model).find("not a file inside the model's folder"), std::string::npos);
  const ExternalModel abs = external_model("external_abs", "/etc/passwd");
  EXPECT_NE(external_error(abs.model).find("not a file inside the model's folder"), std::string::npos);
  const ExternalModel link = external_model("external_link", "link.bin");
  fs::create_symlink("/etc/hostname", link.dir / "link.bin");
  EXPECT_NE(external_error(link.model).find("not a file inside the model's folder"), std::string::npos);
}

TEST(OnnxImportBadInput, ExternalDataMissingOrShort) {
  const ExternalModel missing = external_model("external_missing", "nothere.bin");
  const std::string m = external_error(missing.model);
  EXPECT_NE(m.find("nothere.bin"), std::string::npos) << m;
  EXPECT_NE(m.find("cannot open"), std::string::npos) << m;
  const ExternalModel wrong = external_model("external_length", "weights.bin", 100);
  EXPECT_NE(external_error(wrong.model).find("external data holds 100 bytes"), std::string::npos);
  const ExternalModel ok = external_model("external_bytes");
  std::ifstream in(ok.model, std::ios::binary);
  const std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  EXPECT_THROW(import_onnx_bytes(bytes, "mem.onnx"), Error);
}

}  // namespace
}  // namespace sparoa::graph

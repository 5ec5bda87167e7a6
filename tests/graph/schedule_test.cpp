#include "graph/schedule.hpp"

#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <functional>
#include <memory>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include "graph/graph.hpp"
#include "support/error.hpp"

namespace sparoa::graph {
namespace {

namespace fs = std::filesystem;

const std::string kHashA(64, 'a');
const std::string kHashB(64, 'b');

Tensor tensor(const std::string& name, TensorRole role, Shape shape = {1, 4}) {
  Tensor t;
  t.name = name;
  t.dtype = DType::f32;
  t.shape = std::move(shape);
  t.role = role;
  if (role == TensorRole::weight) {
    t.data = std::make_shared<TensorData>(std::string(static_cast<std::size_t>(t.size_bytes()), '\0'));
  }
  return t;
}

Operator op(const std::string& name, const std::string& type, std::vector<std::string> inputs,
            std::vector<std::string> outputs) {
  Operator o;
  o.name = name;
  o.type = type;
  o.inputs = std::move(inputs);
  o.outputs = std::move(outputs);
  return o;
}

// x -> conv (weight w) -> bn (weights) -> relu -> mm (MatMul, weight B) -> y
Graph chain_graph() {
  Graph g;
  g.name = "chain";
  g.model_sha256 = kHashA;
  g.batch = 1;
  g.add_tensor(tensor("x", TensorRole::input));
  g.add_tensor(tensor("w", TensorRole::weight));
  for (const char* n : {"scale", "bias", "mean", "var", "wm"}) g.add_tensor(tensor(n, TensorRole::weight));
  for (const char* n : {"t1", "t2", "t3", "y"}) g.add_tensor(tensor(n, TensorRole::activation));
  g.add_operator(op("conv", "Conv", {"x", "w"}, {"t1"}));
  g.add_operator(op("bn", "BatchNormalization", {"t1", "scale", "bias", "mean", "var"}, {"t2"}));
  g.add_operator(op("relu", "Relu", {"t2"}, {"t3"}));
  g.add_operator(op("mm", "MatMul", {"t3", "wm"}, {"y"}));
  g.set_outputs({"y"});
  g.finalize();
  return g;
}

// a -> b1 (Conv) -> b2 -> d (Add) -> e (MatMul, weight A)
// a -> c1 (Gemm of two activations) -> c2 -> d
Graph diamond_graph() {
  Graph g;
  g.name = "diamond";
  g.model_sha256 = kHashA;
  g.batch = 1;
  g.add_tensor(tensor("x", TensorRole::input));
  g.add_tensor(tensor("wb", TensorRole::weight));
  g.add_tensor(tensor("wa", TensorRole::weight));
  for (const char* n : {"ta", "tb1", "tb2", "tc1", "tc2", "td", "te"}) g.add_tensor(tensor(n, TensorRole::activation));
  g.add_operator(op("a", "Relu", {"x"}, {"ta"}));
  g.add_operator(op("b1", "Conv", {"ta", "wb"}, {"tb1"}));
  g.add_operator(op("b2", "Relu", {"tb1"}, {"tb2"}));
  g.add_operator(op("c1", "Gemm", {"ta", "ta"}, {"tc1"}));
  g.add_operator(op("c2", "Relu", {"tc1"}, {"tc2"}));
  g.add_operator(op("d", "Add", {"tb2", "tc2"}, {"td"}));
  g.add_operator(op("e", "MatMul", {"wa", "td"}, {"te"}));  // weight as A operand
  g.set_outputs({"te"});
  g.finalize();
  return g;
}

Schedule base_schedule() {
  Schedule s;
  s.model_path = "models/test.onnx";
  s.model_sha256 = kHashA;
  s.platform_name = "jetson-agx-orin-64gb";
  s.platform_power_mode = "MAXN";
  s.batch = 1;
  return s;
}

ScheduleEntry entry(const std::string& op_name, const std::string& lane, std::int64_t order,
                    const std::string& kernel = "dense", std::optional<std::string> fuse = std::nullopt) {
  ScheduleEntry e;
  e.op = op_name;
  e.lane = lane;
  e.kernel = kernel;
  e.order = order;
  e.fuse_with = std::move(fuse);
  return e;
}

// Everything on one GPU lane in topological order, conv+bn+relu fused.
Schedule chain_schedule() {
  Schedule s = base_schedule();
  s.entries = {entry("conv", "gpu.s0", 0, "sparse"), entry("bn", "gpu.s0", 1, "dense", "conv"),
               entry("relu", "gpu.s0", 2, "dense", "conv"), entry("mm", "gpu.s0", 3)};
  return s;
}

// Two lanes, legal.
Schedule diamond_schedule() {
  Schedule s = base_schedule();
  s.entries = {entry("a", "gpu.s0", 0),  entry("b1", "gpu.s0", 1), entry("b2", "gpu.s0", 2),
               entry("c1", "cpu.0", 0),  entry("c2", "cpu.0", 1),  entry("d", "gpu.s0", 3),
               entry("e", "gpu.s0", 4, "sparse")};
  return s;
}

void expect_same(const Schedule& a, const Schedule& b) {
  EXPECT_EQ(a.schema_version, b.schema_version);
  EXPECT_EQ(a.model_path, b.model_path);
  EXPECT_EQ(a.model_sha256, b.model_sha256);
  EXPECT_EQ(a.platform_name, b.platform_name);
  EXPECT_EQ(a.platform_power_mode, b.platform_power_mode);
  EXPECT_EQ(a.batch, b.batch);
  ASSERT_EQ(a.entries.size(), b.entries.size());
  for (std::size_t i = 0; i < a.entries.size(); ++i) {
    SCOPED_TRACE("entry " + std::to_string(i));
    EXPECT_EQ(a.entries[i].op, b.entries[i].op);
    EXPECT_EQ(a.entries[i].lane, b.entries[i].lane);
    EXPECT_EQ(a.entries[i].kernel, b.entries[i].kernel);
    EXPECT_EQ(a.entries[i].order, b.entries[i].order);
    EXPECT_EQ(a.entries[i].fuse_with, b.entries[i].fuse_with);
  }
}

// The message of the sparoa::Error that `f` throws; fails the test when it throws nothing
// or something else.
std::string error_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const Error& e) {
    return e.what();
  } catch (const std::exception& e) {
    ADD_FAILURE() << "threw a non-sparoa exception: " << e.what();
    return {};
  }
  ADD_FAILURE() << "did not throw";
  return {};
}

std::string validation_error(const Schedule& s, const Graph& g) {
  return error_of([&] { validate_schedule(s, g, "plan.yaml"); });
}

std::string parse_error(const std::string& text) {
  return error_of([&] { parse_schedule(text, "plan.yaml"); });
}

// Evaluates `haystack` once: it is often a call that runs the code under test.
#define EXPECT_HAS(haystack, needle)                                  \
  do {                                                                \
    const std::string haystack_ = (haystack);                         \
    EXPECT_NE(haystack_.find(needle), std::string::npos) << haystack_; \
  } while (false)

class TempDir {
 public:
  TempDir() {
    const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
    path_ = fs::temp_directory_path() /
            ("sparoa_schedule_test." + std::to_string(::getpid()) + "." + info->name());
    fs::remove_all(path_);
    fs::create_directories(path_);
  }
  ~TempDir() {
    std::error_code ignored;
    fs::remove_all(path_, ignored);
  }
  const fs::path& path() const { return path_; }

 private:
  fs::path path_;
};

std::string slurp(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

const char* const kExample =
    "schema_version: 1\n"
    "model: {path: models/resnet18.onnx, sha256: 0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef}\n"
    "platform: {name: jetson-agx-orin-64gb, power_mode: MAXN}\n"
    "batch: 1\n"
    "entries:\n"
    "  - {op: conv1, lane: gpu.s0, kernel: dense, order: 0}\n"
    "  - {op: bn1, lane: gpu.s0, kernel: dense, order: 1, fuse_with: conv1}\n";

// A valid document whose lines are easy to edit in the parse-error tests.
std::string example_with(const std::string& from, const std::string& to) {
  std::string text = kExample;
  auto at = text.find(from);
  EXPECT_NE(at, std::string::npos) << from;
  if (at != std::string::npos) text.replace(at, from.size(), to);
  return text;
}

// ---------------------------------------------------------------------------------------

TEST(ScheduleKernels, SparseOnlyForWeightedMacOperators) {
  const Graph chain = chain_graph();
  const Graph diamond = diamond_graph();
  const std::vector<std::string> both = {"dense", "sparse"};
  const std::vector<std::string> dense = {"dense"};
  EXPECT_EQ(kernels_for(chain, "conv"), both);
  EXPECT_EQ(kernels_for(chain, "bn"), dense);
  EXPECT_EQ(kernels_for(chain, "relu"), dense);
  EXPECT_EQ(kernels_for(chain, "mm"), both);    // weight as B
  EXPECT_EQ(kernels_for(diamond, "e"), both);   // weight as A
  EXPECT_EQ(kernels_for(diamond, "c1"), dense); // Gemm of two activations
  EXPECT_EQ(kernels_for(diamond, "b1"), both);
  EXPECT_HAS(error_of([&] { kernels_for(chain, "nope"); }), "nope");
}

TEST(ScheduleYaml, ParsesTheNormativeExample) {
  const Schedule s = parse_schedule(kExample, "example.yaml");
  EXPECT_EQ(s.schema_version, 1);
  EXPECT_EQ(s.model_path, "models/resnet18.onnx");
  EXPECT_EQ(s.model_sha256, "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef");
  EXPECT_EQ(s.platform_name, "jetson-agx-orin-64gb");
  EXPECT_EQ(s.platform_power_mode, "MAXN");
  EXPECT_EQ(s.batch, 1);
  ASSERT_EQ(s.entries.size(), 2u);
  EXPECT_EQ(s.entries[0].op, "conv1");
  EXPECT_EQ(s.entries[0].lane, "gpu.s0");
  EXPECT_EQ(s.entries[0].kernel, "dense");
  EXPECT_EQ(s.entries[0].order, 0);
  EXPECT_FALSE(s.entries[0].fuse_with.has_value());
  EXPECT_EQ(s.entries[1].op, "bn1");
  EXPECT_EQ(s.entries[1].order, 1);
  EXPECT_EQ(s.entries[1].fuse_with, "conv1");
}

TEST(ScheduleYaml, WritesTheNormativeFormDeterministically) {
  const Schedule s = parse_schedule(kExample, "example.yaml");
  EXPECT_EQ(schedule_to_yaml(s), kExample);
  EXPECT_EQ(schedule_to_yaml(s), schedule_to_yaml(s));
}

TEST(ScheduleYaml, RoundTrip) {
  Schedule s = chain_schedule();
  s.batch = 8;
  expect_same(parse_schedule(schedule_to_yaml(s), "rt.yaml"), s);

  // Entries keep their stored order even when it is not the lane order.
  Schedule d = diamond_schedule();
  std::swap(d.entries[0], d.entries[4]);
  const Schedule back = parse_schedule(schedule_to_yaml(d), "rt.yaml");
  expect_same(back, d);
  EXPECT_EQ(schedule_to_yaml(back), schedule_to_yaml(d));
}

TEST(ScheduleYaml, RoundTripKeepsAwkwardNamesAsStrings) {
  Schedule s = base_schedule();
  s.model_path = "dir with spaces/model #1.onnx";
  s.platform_name = "";
  s.platform_power_mode = "15W";
  const std::vector<std::string> names = {"123", "on", "null", "~", "a: b", "say \"hi\"", "back\\slash",
                                          "tab\there", "-dash", "/layer1/conv/Conv", "ünïcode", "[x]", "{y}",
                                          "x, y", "1.5e3", "true", "&anchor", "*alias", "#c", "a#b"};
  for (std::size_t i = 0; i < names.size(); ++i) {
    s.entries.push_back(entry(names[i], "lane " + names[i], static_cast<std::int64_t>(i), "dense",
                              i % 2 ? std::optional<std::string>(names[i - 1]) : std::nullopt));
  }
  expect_same(parse_schedule(schedule_to_yaml(s), "rt.yaml"), s);
}

TEST(ScheduleYaml, EmptyEntriesRoundTrip) {
  Schedule s = base_schedule();
  expect_same(parse_schedule(schedule_to_yaml(s), "rt.yaml"), s);
}

TEST(ScheduleFile, WriteThenReadBack) {
  TempDir dir;
  const fs::path target = dir.path() / "plan.yaml";
  const Schedule s = chain_schedule();
  write_schedule(target, s);
  expect_same(read_schedule(target), s);
  EXPECT_EQ(slurp(target), schedule_to_yaml(s));
}

TEST(ScheduleFile, WriteReplacesTheTargetWholeWithoutTouchingTheOldFile) {
  TempDir dir;
  const fs::path target = dir.path() / "plan.yaml";
  const fs::path old_link = dir.path() / "old.yaml";
  {
    std::ofstream(target) << "old content\n";
  }
  // A hard link to the old file: had the writer truncated and rewritten the target in
  // place, readers of the old file would have seen it half-written; the link shows the old
  // inode still holds the old bytes untouched and the new content arrived by rename.
  fs::create_hard_link(target, old_link);
  const Schedule s = diamond_schedule();
  write_schedule(target, s);
  EXPECT_EQ(slurp(old_link), "old content\n");
  EXPECT_EQ(slurp(target), schedule_to_yaml(s));
  // No temporary file is left beside the target.
  std::vector<std::string> files;
  for (const auto& f : fs::directory_iterator(dir.path())) files.push_back(f.path().filename().string());
  std::sort(files.begin(), files.end());
  EXPECT_EQ(files, (std::vector<std::string>{"old.yaml", "plan.yaml"}));
}

TEST(ScheduleFile, WriteIntoMissingDirectoryThrowsAndLeavesNothing) {
  TempDir dir;
  const fs::path missing = dir.path() / "no" / "such";
  const fs::path target = missing / "plan.yaml";
  const std::string msg = error_of([&] { write_schedule(target, chain_schedule()); });
  EXPECT_HAS(msg, "plan.yaml");
  EXPECT_FALSE(fs::exists(missing));
  EXPECT_TRUE(fs::is_empty(dir.path()));
}

TEST(ScheduleFile, ReadMissingFileNamesIt) {
  TempDir dir;
  const fs::path target = dir.path() / "absent.yaml";
  EXPECT_HAS(error_of([&] { read_schedule(target); }), "absent.yaml");
}

TEST(ScheduleFile, ReadErrorsNameTheFile) {
  TempDir dir;
  const fs::path target = dir.path() / "bad.yaml";
  {
    std::ofstream(target) << example_with("kernel: dense, order: 1", "kernel: fast, order: 1");
  }
  const std::string msg = error_of([&] { read_schedule(target); });
  EXPECT_HAS(msg, target.string() + ": entries[1].kernel");
}

// --- parse errors ------------------------------------------------------------------------

TEST(ScheduleParse, UnknownTopLevelKey) {
  const std::string msg = parse_error(std::string(kExample) + "colour: red\n");
  EXPECT_HAS(msg, "plan.yaml: colour");
  EXPECT_HAS(msg, "unknown key 'colour'");
  EXPECT_HAS(msg, "line 8");
}

TEST(ScheduleParse, UnknownKeyInEntry) {
  const std::string msg = parse_error(example_with("order: 1,", "order: 1, speed: 3,"));
  EXPECT_HAS(msg, "plan.yaml: entries[1].speed");
  EXPECT_HAS(msg, "unknown key 'speed'");
  EXPECT_HAS(msg, "line 7");
}

TEST(ScheduleParse, UnknownKeyInModelAndPlatform) {
  EXPECT_HAS(parse_error(example_with("power_mode: MAXN", "power_mode: MAXN, fan: max")), "platform.fan");
  EXPECT_HAS(parse_error(example_with("{path:", "{md5: x, path:")), "model.md5");
}

TEST(ScheduleParse, DuplicateKey) {
  const std::string msg = parse_error(std::string(kExample) + "batch: 2\n");
  EXPECT_HAS(msg, "duplicate key 'batch'");
}

TEST(ScheduleParse, MalformedYaml) {
  const std::string msg = parse_error(example_with("fuse_with: conv1}", "fuse_with: conv1"));
  EXPECT_HAS(msg, "plan.yaml");
  EXPECT_HAS(msg, "malformed YAML");
  EXPECT_HAS(msg, "line ");
  const std::string msg2 = parse_error("batch: 1\n  entries: x\n bad");
  EXPECT_HAS(msg2, "plan.yaml: malformed YAML at line 2");
}

TEST(ScheduleParse, EmptyOrNotAMapping) {
  EXPECT_HAS(parse_error(""), "empty schedule");
  EXPECT_HAS(parse_error("- a\n- b\n"), "must be a mapping");
}

TEST(ScheduleParse, MissingKeys) {
  const std::string no_kernel = parse_error(example_with("kernel: dense, order: 1", "order: 1"));
  EXPECT_HAS(no_kernel, "plan.yaml: entries[1]");
  EXPECT_HAS(no_kernel, "missing required key 'kernel'");
  EXPECT_HAS(no_kernel, "line 7");
  EXPECT_HAS(parse_error(example_with("batch: 1\n", "")), "missing required key 'batch'");
  EXPECT_HAS(parse_error(example_with("schema_version: 1\n", "")), "missing required key 'schema_version'");
  const std::string no_sha = parse_error(example_with(
      ", sha256: 0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef", ""));
  EXPECT_HAS(no_sha, "plan.yaml: model");
  EXPECT_HAS(no_sha, "missing required key 'sha256'");
  EXPECT_HAS(parse_error(example_with("op: conv1, ", "")), "missing required key 'op'");
  EXPECT_HAS(parse_error(example_with("platform: {name: jetson-agx-orin-64gb, power_mode: MAXN}\n", "")),
             "missing required key 'platform'");
}

TEST(ScheduleParse, BadKernelValue) {
  const std::string msg = parse_error(example_with("kernel: dense, order: 1", "kernel: fast, order: 1"));
  EXPECT_HAS(msg, "plan.yaml: entries[1].kernel");
  EXPECT_HAS(msg, "'fast'");
  EXPECT_HAS(msg, "line 7");
}

TEST(ScheduleParse, NonIntegerOrder) {
  for (const char* bad : {"1.5", "two", "'1'", "[1]", "1e3", "0x1", "99999999999999999999", "-1", "null"}) {
    SCOPED_TRACE(bad);
    const std::string msg = parse_error(example_with("order: 1", std::string("order: ") + bad));
    EXPECT_HAS(msg, "plan.yaml: entries[1].order");
    EXPECT_HAS(msg, "non-negative integer");
  }
  EXPECT_EQ(parse_schedule(example_with("order: 1", "order: +1"), "x").entries[1].order, 1);
}

TEST(ScheduleParse, BadBatch) {
  for (const char* bad : {"0", "-2", "1.0", "many"}) {
    SCOPED_TRACE(bad);
    const std::string msg = parse_error(example_with("batch: 1", std::string("batch: ") + bad));
    EXPECT_HAS(msg, "plan.yaml: batch");
    EXPECT_HAS(msg, "positive integer");
  }
}

TEST(ScheduleParse, BadHash) {
  for (const char* bad : {"abc", "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdeg",
                          "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef0"}) {
    SCOPED_TRACE(bad);
    const std::string msg = parse_error(example_with(
        "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef", bad));
    EXPECT_HAS(msg, "plan.yaml: model.sha256");
    EXPECT_HAS(msg, "64 hexadecimal");
  }
}

TEST(ScheduleParse, UnsupportedSchemaVersion) {
  const std::string msg = parse_error(example_with("schema_version: 1", "schema_version: 2"));
  EXPECT_HAS(msg, "plan.yaml: schema_version");
  EXPECT_HAS(msg, "unsupported schema_version 2");
  // Not truncated to int on the way: 2^32 + 1 is not version 1.
  EXPECT_HAS(parse_error(example_with("schema_version: 1", "schema_version: 4294967297")),
             "unsupported schema_version 4294967297");
}

TEST(ScheduleParse, WrongShapes) {
  const std::string text = kExample;
  EXPECT_HAS(parse_error(text.substr(0, text.find("entries:")) + "entries: 3\n"),
             "plan.yaml: entries: must be a list");
  EXPECT_HAS(parse_error(example_with("  - {op: conv1, lane: gpu.s0, kernel: dense, order: 0}\n", "  - conv1\n")),
             "plan.yaml: entries[0]");
  EXPECT_HAS(parse_error(example_with("op: conv1,", "op: [conv1],")), "entries[0].op: must be a string");
  EXPECT_HAS(parse_error(example_with("lane: gpu.s0, kernel: dense, order: 0", "lane: '', kernel: dense, order: 0")),
             "entries[0].lane: must not be empty");
  EXPECT_HAS(parse_error(example_with("model: {path: models/resnet18.onnx, sha256: "
                                      "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef}",
                                      "model: models/resnet18.onnx")),
             "plan.yaml: model: must be a mapping");
}

// --- validation ----------------------------------------------------------------------------

TEST(ScheduleValidate, AcceptsLegalSchedules) {
  EXPECT_NO_THROW(validate_schedule(chain_schedule(), chain_graph(), "plan.yaml"));
  EXPECT_NO_THROW(validate_schedule(diamond_schedule(), diamond_graph(), "plan.yaml"));
  // Stored order of entries does not matter, only each entry's order.
  Schedule d = diamond_schedule();
  std::reverse(d.entries.begin(), d.entries.end());
  EXPECT_NO_THROW(validate_schedule(d, diamond_graph(), "plan.yaml"));
  // A graph without a hash (built in memory) accepts any model hash.
  Graph g = chain_graph();
  g.model_sha256.clear();
  Schedule s = chain_schedule();
  s.model_sha256 = kHashB;
  EXPECT_NO_THROW(validate_schedule(s, g, "plan.yaml"));
}

TEST(ScheduleValidate, UnknownOperator) {
  Schedule s = chain_schedule();
  s.entries[3].op = "fc";
  const std::string msg = validation_error(s, chain_graph());
  EXPECT_HAS(msg, "plan.yaml: entries[3]");
  EXPECT_HAS(msg, "unknown operator 'fc'");
}

TEST(ScheduleValidate, MissingOperator) {
  Schedule s = chain_schedule();
  s.entries.pop_back();
  const std::string msg = validation_error(s, chain_graph());
  EXPECT_HAS(msg, "plan.yaml");
  EXPECT_HAS(msg, "operator 'mm' is not placed");
  EXPECT_EQ(msg.find("more"), std::string::npos) << msg;
}

TEST(ScheduleValidate, SeveralMissingOperatorsAreCounted) {
  Schedule s = chain_schedule();
  s.entries.erase(s.entries.begin() + 1, s.entries.end());
  const std::string msg = validation_error(s, chain_graph());
  EXPECT_HAS(msg, "operator 'bn' is not placed");
  EXPECT_HAS(msg, "3 operators");
}

TEST(ScheduleValidate, OperatorPlacedTwice) {
  Schedule s = diamond_schedule();
  s.entries.push_back(entry("c2", "gpu.s0", 5));
  const std::string msg = validation_error(s, diamond_graph());
  EXPECT_HAS(msg, "plan.yaml: entries[7]");
  EXPECT_HAS(msg, "operator 'c2' is placed twice");
  EXPECT_HAS(msg, "entries[4]");
}

TEST(ScheduleValidate, WrongModelHash) {
  Schedule s = chain_schedule();
  s.model_sha256 = kHashB;
  const std::string msg = validation_error(s, chain_graph());
  EXPECT_HAS(msg, "plan.yaml");
  EXPECT_HAS(msg, "another model");
  EXPECT_HAS(msg, std::string(12, 'a'));
  EXPECT_HAS(msg, std::string(12, 'b'));
}

TEST(ScheduleValidate, HashComparisonIgnoresCase) {
  Graph g = chain_graph();
  g.model_sha256 = std::string(64, 'C');
  Schedule s = chain_schedule();
  s.model_sha256 = std::string(64, 'c');
  EXPECT_NO_THROW(validate_schedule(s, g, "plan.yaml"));
}

TEST(ScheduleValidate, WrongBatch) {
  Schedule s = chain_schedule();
  s.batch = 4;
  const std::string msg = validation_error(s, chain_graph());
  EXPECT_HAS(msg, "plan.yaml: batch");
  EXPECT_HAS(msg, "batch 4");
  EXPECT_HAS(msg, "batch 1");
}

TEST(ScheduleValidate, SparseKernelOnRelu) {
  Schedule s = chain_schedule();
  s.entries[2].kernel = "sparse";
  const std::string msg = validation_error(s, chain_graph());
  EXPECT_HAS(msg, "plan.yaml: entries[2]");
  EXPECT_HAS(msg, "kernel 'sparse' is not available for operator 'relu' (Relu)");
}

TEST(ScheduleValidate, SparseKernelOnGemmWithoutWeights) {
  Schedule s = diamond_schedule();
  s.entries[3].kernel = "sparse";
  EXPECT_HAS(validation_error(s, diamond_graph()), "operator 'c1' (Gemm)");
}

TEST(ScheduleValidate, OrderGap) {
  Schedule s = chain_schedule();
  s.entries[2].order = 4;
  s.entries[3].order = 5;
  s.entries[2].fuse_with.reset();
  const std::string msg = validation_error(s, chain_graph());
  EXPECT_HAS(msg, "plan.yaml: entries[2]");
  EXPECT_HAS(msg, "lane 'gpu.s0' has no operator at order 2");
  EXPECT_HAS(msg, "'relu' at order 4");
}

TEST(ScheduleValidate, OrderGapOnSecondLane) {
  Schedule s = diamond_schedule();
  s.entries[3].order = 1;  // c1
  s.entries[4].order = 2;  // c2: cpu.0 holds 1, 2 and lacks 0
  const std::string msg = validation_error(s, diamond_graph());
  EXPECT_HAS(msg, "plan.yaml: entries[3]");
  EXPECT_HAS(msg, "lane 'cpu.0' has no operator at order 0");
}

TEST(ScheduleValidate, DuplicateOrder) {
  Schedule s = chain_schedule();
  s.entries[3].order = 2;
  const std::string msg = validation_error(s, chain_graph());
  EXPECT_HAS(msg, "plan.yaml: entries[3]");
  EXPECT_HAS(msg, "operators 'relu' and 'mm' both have order 2 on lane 'gpu.s0'");
}

TEST(ScheduleValidate, NegativeOrder) {
  Schedule s = chain_schedule();
  s.entries[0].order = -1;
  EXPECT_HAS(validation_error(s, chain_graph()), "negative order");
}

TEST(ScheduleValidate, BrokenDependencyWithinLane) {
  Schedule s = base_schedule();
  s.entries = {entry("conv", "gpu.s0", 0), entry("bn", "gpu.s0", 2), entry("relu", "gpu.s0", 1),
               entry("mm", "gpu.s0", 3)};
  const std::string msg = validation_error(s, chain_graph());
  EXPECT_HAS(msg, "plan.yaml: entries[2]");
  EXPECT_HAS(msg, "lane order of 'relu' on lane 'gpu.s0' conflicts with its dependency on 'bn'");
}

TEST(ScheduleValidate, CrossLaneDeadlock) {
  // gpu.s0: a, c2, b1, d, e    cpu.0: b2, c1
  // c2 needs c1, which waits (cpu.0) for b2, which needs b1, which waits (gpu.s0) for c2.
  // No lane on its own is out of dependency order.
  Schedule s = base_schedule();
  s.entries = {entry("a", "gpu.s0", 0),  entry("c2", "gpu.s0", 1), entry("b1", "gpu.s0", 2),
               entry("d", "gpu.s0", 3),  entry("e", "gpu.s0", 4),  entry("b2", "cpu.0", 0),
               entry("c1", "cpu.0", 1)};
  const std::string msg = validation_error(s, diamond_graph());
  // Either lane edge of the cycle is a fair culprit; the search from the first operator
  // reaches the cpu.0 one first.
  EXPECT_HAS(msg, "plan.yaml: entries[5]: lane order of 'b2' on lane 'cpu.0' conflicts with its dependency on 'c1'");
  EXPECT_HAS(msg, "deadlock: 'c1' -> 'c2' -lane-> 'b1' -> 'b2'");
  // Deterministic: the same schedule always reports the same operator.
  EXPECT_EQ(validation_error(s, diamond_graph()), msg);
}

TEST(ScheduleValidate, FusionWithItself) {
  Schedule s = chain_schedule();
  s.entries[3].fuse_with = "mm";
  const std::string msg = validation_error(s, chain_graph());
  EXPECT_HAS(msg, "plan.yaml: entries[3]");
  EXPECT_HAS(msg, "operator 'mm' cannot be fused with itself");
}

TEST(ScheduleValidate, FusionWithUnknownOperator) {
  Schedule s = chain_schedule();
  s.entries[3].fuse_with = "ghost";
  const std::string msg = validation_error(s, chain_graph());
  EXPECT_HAS(msg, "plan.yaml: entries[3]");
  EXPECT_HAS(msg, "unknown operator 'ghost'");
}

TEST(ScheduleValidate, FusionAcrossLanes) {
  Schedule s = chain_schedule();
  s.entries[3] = entry("mm", "cpu.0", 0, "dense", "relu");
  s.entries[2].fuse_with.reset();
  const std::string msg = validation_error(s, chain_graph());
  EXPECT_HAS(msg, "plan.yaml: entries[3]");
  EXPECT_HAS(msg, "operator 'mm' on lane 'cpu.0' is fused with 'relu' on lane 'gpu.s0'");
}

TEST(ScheduleValidate, FusionIntoANonRoot) {
  Schedule s = chain_schedule();
  s.entries[2].fuse_with = "bn";  // bn is itself fused into conv
  const std::string msg = validation_error(s, chain_graph());
  EXPECT_HAS(msg, "plan.yaml: entries[2]");
  EXPECT_HAS(msg, "which is itself fused with 'conv'");
}

TEST(ScheduleValidate, FusionWithoutProducerConsumerChain) {
  // c1 consumes a's output, not b1's.
  Schedule s = base_schedule();
  s.entries = {entry("a", "gpu.s0", 0),  entry("b1", "gpu.s0", 1),  entry("c1", "gpu.s0", 2, "dense", "b1"),
               entry("b2", "gpu.s0", 3), entry("c2", "gpu.s0", 4),  entry("d", "gpu.s0", 5),
               entry("e", "gpu.s0", 6)};
  const std::string msg = validation_error(s, diamond_graph());
  EXPECT_HAS(msg, "plan.yaml: entries[2]");
  EXPECT_HAS(msg, "operator 'c1' is fused with 'b1' but consumes no output of 'b1'");
}

TEST(ScheduleValidate, FusionGroupNotConsecutive) {
  // b2 consumes b1 (a legal chain) but c1 sits between them on the lane.
  Schedule s = base_schedule();
  s.entries = {entry("a", "gpu.s0", 0),  entry("b1", "gpu.s0", 1),  entry("c1", "gpu.s0", 2),
               entry("b2", "gpu.s0", 3, "dense", "b1"), entry("c2", "gpu.s0", 4),  entry("d", "gpu.s0", 5),
               entry("e", "gpu.s0", 6)};
  const std::string msg = validation_error(s, diamond_graph());
  EXPECT_HAS(msg, "plan.yaml: entries[3]");
  EXPECT_HAS(msg, "fusion group of 'b1' must occupy consecutive orders 1..2");
  EXPECT_HAS(msg, "'b2' is at order 3");
  EXPECT_HAS(msg, "'c1' (not in the group) is at order 2");
}

TEST(ScheduleValidate, LongerFusionChainIsLegal) {
  // conv <- bn <- relu <- mm all fused into conv; relu consumes bn, a member, not the root.
  Schedule s = chain_schedule();
  s.entries[3].fuse_with = "conv";
  EXPECT_NO_THROW(validate_schedule(s, chain_graph(), "plan.yaml"));
}

}  // namespace
}  // namespace sparoa::graph

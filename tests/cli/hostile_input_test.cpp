// Hostile inputs through the sparoa binary, each under resource limits (README "Limits"): every
// one must end with exit code 1 and one error line that names the file and what is wrong,
// within 30 s of CPU time and 2 GiB of data (RLIMIT_CPU, RLIMIT_DATA; under AddressSanitizer,
// whose shadow memory an address-space limit would break, ASan's own hard_rss_limit_mb). A
// command that ran past a limit dies by a signal, which fails the test: nothing here asserts
// on wall time.
#include <gtest/gtest.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "cli_runner.hpp"
#include "onnx_test_models.hpp"
#include "support/sha256.hpp"

namespace sparoa::test::cli {
namespace {

#if defined(__SANITIZE_ADDRESS__)
constexpr bool kAsan = true;
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
constexpr bool kAsan = true;
#else
constexpr bool kAsan = false;
#endif
#else
constexpr bool kAsan = false;
#endif

constexpr rlim_t kCpuSeconds = 30;
constexpr rlim_t kDataBytes = rlim_t(2) << 30;

fs::path dir() { return scratch("hostile_input_test"); }

fs::path write(const std::string& name, const std::string& bytes) {
  const fs::path p = dir() / name;
  fs::create_directories(p.parent_path());
  std::ofstream(p, std::ios::binary) << bytes;
  return p;
}

// `sparoa ARGS` in a child with the limits above; stdout and stderr kept.
Result run_limited(std::vector<std::string> args) {
  static int counter = 0;
  // (ctest runs each test as its own process, in parallel: the pid keeps their files apart)
  const fs::path base = dir() / ("run" + std::to_string(::getpid()) + "_" + std::to_string(counter++));
  const std::string out = base.string() + ".out", err = base.string() + ".err";
  args.insert(args.begin(), SPAROA_BIN);
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  std::string asan = "ASAN_OPTIONS=hard_rss_limit_mb=2048:allocator_may_return_null=0";
  if (const char* old = std::getenv("ASAN_OPTIONS")) asan += std::string(":") + old;
  std::vector<std::string> env_store;
  for (char** e = environ; *e; ++e) {
    if (std::strncmp(*e, "ASAN_OPTIONS=", 13) != 0) env_store.emplace_back(*e);
  }
  env_store.push_back(asan);
  std::vector<char*> envp;
  for (auto& e : env_store) envp.push_back(e.data());
  envp.push_back(nullptr);

  const pid_t pid = ::fork();
  if (pid == 0) {
    const rlimit cpu{kCpuSeconds, kCpuSeconds};
    ::setrlimit(RLIMIT_CPU, &cpu);
    if (!kAsan) {
      const rlimit data{kDataBytes, kDataBytes};
      ::setrlimit(RLIMIT_DATA, &data);
    }
    const int o = ::open(out.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    const int e = ::open(err.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    ::dup2(o, 1);
    ::dup2(e, 2);
    ::execve(SPAROA_BIN, argv.data(), envp.data());
    ::_exit(127);
  }
  return collect(pid, out, err);
}

// ---------------------------------------------------------------------------------------
// ONNX models

// A model whose weight W lives in external data at `location`.
std::string external_model(const std::string& location) {
  ModelBuilder b;
  b.input("x", {1, 4}).output("y", 2);
  b.weight("W", {4, 4}, std::vector<float>(16, 1.0f));
  auto* w = b.model().mutable_graph()->mutable_initializer(0);
  w->clear_float_data();
  w->set_data_location(onnx::TensorProto::EXTERNAL);
  auto* e = w->add_external_data();
  e->set_key("location");
  e->set_value(location);
  b.node("MatMul", {"x", "W"}, {"y"});
  return b.bytes();
}

TEST(HostileOnnx, ExternalDataOutsideTheModelFolderIsRefusedByOurPathCheck) {
  // CVE-2022-25882: ONNX 1.12 itself would follow these. Each target exists and is readable,
  // so only our check stands between the model and the file.
  write("outside/secret.bin", std::string(64, 'x'));
  fs::create_directories(dir() / "models");
  const fs::path link = dir() / "models" / "link.bin";
  fs::remove(link);
  fs::create_symlink(dir() / "outside" / "secret.bin", link);
  const std::vector<std::string> locations = {(dir() / "outside" / "secret.bin").string(), "../outside/secret.bin",
                                              "link.bin", "sub/../../outside/secret.bin"};
  for (const std::string& location : locations) {
    SCOPED_TRACE(location);
    const fs::path model = write("models/ext.onnx", external_model(location));
    const Result r = run_limited({"inspect", "-m", model.string()});
    expect_input_error(r, "external data location '" + location + "' is not a file inside the model's folder");
    EXPECT_NE(r.err.find(model.string()), std::string::npos) << r.err;
  }
  // The control: the same bytes beside the model are read.
  write("models/w.bin", std::string(64, '\0'));
  const Result ok = run_limited({"inspect", "-m", write("models/ext.onnx", external_model("w.bin")).string()});
  EXPECT_EQ(ok.code, 0) << ok.err;
}

TEST(HostileOnnx, TensorOfATrillionElementsIsRefusedWithTheLimit) {
  const std::string limit = "more than the limit of 4294967296 elements per tensor";
  {  // declared on a graph input
    ModelBuilder b;
    b.input("x", {1000000, 1000000}).output("y", 2);
    b.node("Relu", {"x"}, {"y"});
    expect_input_error(run_limited({"inspect", "-m", write("big-input.onnx", b.bytes()).string()}),
                       "graph input 'x' has shape 1000000x1000000: " + limit);
  }
  {  // a weight that claims it (its data would be 4 TB)
    ModelBuilder b;
    b.input("x", {1, 1000000}).output("y", 2);
    b.weight("W", {1000000, 1000000}, {1.0f});
    b.node("MatMul", {"x", "W"}, {"y"});
    expect_input_error(run_limited({"inspect", "-m", write("big-weight.onnx", b.bytes()).string()}),
                       "initializer 'W' has shape 1000000x1000000: " + limit);
  }
  {  // reached only through shape inference: Expand of a scalar to 10^6 x 10^6
    ModelBuilder b;
    b.input("x", {1}).output("y", 2);
    b.ints("shape", {2}, {1000000, 1000000});
    b.node("Expand", {"x", "shape"}, {"y"});
    expect_input_error(run_limited({"inspect", "-m", write("big-expand.onnx", b.bytes()).string()}),
                       "has shape 1000000x1000000: " + limit);
  }
}

// Protobuf's wire format by hand, so that a million nodes cost the test 25 MB, not gigabytes.
void put_varint(std::string& out, std::uint64_t v) {
  while (v >= 0x80) {
    out += static_cast<char>((v & 0x7f) | 0x80);
    v >>= 7;
  }
  out += static_cast<char>(v);
}
void put_field(std::string& out, int field, const std::string& payload) {
  put_varint(out, (static_cast<std::uint64_t>(field) << 3) | 2);
  put_varint(out, payload.size());
  out += payload;
}
std::string value_info(const std::string& name) {
  // ValueInfoProto{name, type{tensor_type{elem_type FLOAT, shape{dim{1}}}}}
  std::string dim, shape, tensor, type, vi;
  put_varint(dim, 1 << 3), put_varint(dim, 1);
  put_field(shape, 1, dim);
  put_varint(tensor, 1 << 3), put_varint(tensor, 1);
  put_field(tensor, 2, shape);
  put_field(type, 1, tensor);
  put_field(vi, 1, name);
  put_field(vi, 2, type);
  return vi;
}
std::string model_of_graph(const std::string& graph) {
  std::string model, opset;
  put_varint(model, 1 << 3), put_varint(model, 8);  // ir_version 8
  put_field(opset, 1, "");
  put_varint(opset, 2 << 3), put_varint(opset, 17);
  put_field(model, 8, opset);
  put_field(model, 7, graph);
  return model;
}

TEST(HostileOnnx, MillionDeepChainIsRefusedBeforeProtobufParsesIt) {
  constexpr int kDepth = 1000000;
  std::string graph;
  for (int i = 0; i < kDepth; ++i) {
    std::string node;
    put_field(node, 1, "t" + std::to_string(i));
    put_field(node, 2, "t" + std::to_string(i + 1));
    put_field(node, 4, "Relu");
    put_field(graph, 1, node);
  }
  put_field(graph, 2, "chain");
  put_field(graph, 11, value_info("t0"));
  put_field(graph, 12, value_info("t" + std::to_string(kDepth)));
  const fs::path model = write("chain.onnx", model_of_graph(graph));
  expect_input_error(run_limited({"inspect", "-m", model.string()}),
                     "has 1000000 operators, more than the limit of 200000");
}

TEST(HostileOnnx, SubgraphsNestedThousandsDeepOrCyclicAreRefused) {
  {  // If inside If inside If ... 5000 deep: protobuf's recursion limit refuses it at parse time
    std::string graph;
    put_field(graph, 2, "g");
    for (int level = 0; level < 5000; ++level) {
      std::string attr, node, outer;
      put_field(attr, 1, "then_branch");
      put_field(attr, 6, graph);  // AttributeProto.g
      put_varint(attr, 20 << 3), put_varint(attr, 5);  // type GRAPH
      put_field(node, 4, "If");
      put_field(node, 5, attr);
      put_field(outer, 1, node);
      put_field(outer, 2, "g");
      graph = std::move(outer);
    }
    expect_input_error(run_limited({"inspect", "-m", write("deep-if.onnx", model_of_graph(graph)).string()}),
                       "not an ONNX model: the protobuf does not parse");
  }
  {  // an If whose branch reads the If's own output: a cycle through a subgraph
    std::string branch, inner, attr, node, graph;
    put_field(inner, 1, "y");
    put_field(inner, 2, "z");
    put_field(inner, 4, "Relu");
    put_field(branch, 1, inner);
    put_field(branch, 2, "then");
    put_field(branch, 12, value_info("z"));
    put_field(attr, 1, "then_branch");
    put_field(attr, 6, branch);
    put_varint(attr, 20 << 3), put_varint(attr, 5);
    put_field(node, 1, "c");
    put_field(node, 2, "y");
    put_field(node, 4, "If");
    put_field(node, 5, attr);
    put_field(graph, 1, node);
    put_field(graph, 2, "cyclic");
    put_field(graph, 11, value_info("c"));
    put_field(graph, 12, value_info("y"));
    expect_input_error(run_limited({"inspect", "-m", write("cyclic-if.onnx", model_of_graph(graph)).string()}),
                       "'If'");
  }
}

TEST(HostileOnnx, GarbageAndTruncatedModelsAreRefused) {
  ModelBuilder b = small_cnn(1);
  const std::string good = b.bytes();
  expect_input_error(run_limited({"inspect", "-m", write("half.onnx", good.substr(0, good.size() / 2)).string()}),
                     "not an ONNX model");
  expect_input_error(run_limited({"inspect", "-m", write("zeros.onnx", std::string(4096, '\0')).string()}),
                     "not an ONNX model");
}

// Found by fuzz/: ONNX 1.12's Conv inference dereferences null when the weight's rank is not
// the input's, and divides by zero on a stride of 0. The guards refuse both before ONNX reads
// them; the crashing files are replayed as they were found, through the command a user runs.
TEST(HostileOnnx, ModelsThatCrashedOnnxShapeInferenceAreRefused) {
  const fs::path found = fs::path(SPAROA_SOURCE_DIR) / "fuzz/regressions/onnx_model/conv-input-rank2-pads4";
  const Result r = run_limited({"inspect", "-m", found.string(), "--batch", "1"});
  expect_input_error(r, "(op_type:Conv, node name: conv): [ShapeInferenceError] the weight W has rank 3 but the input X has rank 2");
  // and a stride of 0, which ONNX 1.12's Conv inference divides by (SIGFPE)
  const fs::path stride0 = fs::path(SPAROA_SOURCE_DIR) / "fuzz/regressions/onnx_model/conv-stride-zero";
  expect_input_error(run_limited({"inspect", "-m", stride0.string()}),
                     "(op_type:Conv, node name: Conv_0): [ShapeInferenceError] strides[0] is 0: every stride must be 1 or more");
}

// ---------------------------------------------------------------------------------------
// YAML files

std::string shipped_platform() { return slurp(fs::path(SPAROA_SOURCE_DIR) / "platforms/orin-nano-8gb-15w.yaml"); }

std::string replaced(std::string text, const std::string& from, const std::string& to) {
  const auto at = text.find(from);
  EXPECT_NE(at, std::string::npos) << from;
  if (at != std::string::npos) text.replace(at, from.size(), to);
  return text;
}

std::string alias_bomb(const std::string& key) {
  std::string s = "l0: &l0 [x, x, x, x, x, x, x, x, x, x]\n";
  for (int i = 1; i <= 9; ++i) {  // 10^10 nodes when expanded
    s += "l" + std::to_string(i) + ": &l" + std::to_string(i) + " [";
    for (int k = 0; k < 10; ++k) s += (k ? ", *l" : "*l") + std::to_string(i - 1);
    s += "]\n";
  }
  return s + key + ": *l9\n";
}

TEST(HostileYaml, AliasBombsDeepNestingAndHugeFilesAreRefusedWithTheLimit) {
  const std::string bomb_limit = "more than 33554432 nodes with aliases expanded (limit)";
  expect_input_error(run_limited({"platform", "show", write("bomb-platform.yaml", alias_bomb("name")).string()}),
                     bomb_limit);
  expect_input_error(run_limited({"sweep", write("bomb-experiment.yaml", alias_bomb("matrix")).string(), "--list"}),
                     bomb_limit);
  expect_input_error(
      run_limited({"schedule", "check", write("bomb-schedule.yaml", alias_bomb("entries")).string(),
                   (fs::path(SPAROA_SOURCE_DIR) / "fuzz/seeds/onnx_model/tiny_cnn.onnx").string()}),
      bomb_limit);
  const std::string deep = std::string(100000, '[') + std::string(100000, ']') + "\n";
  expect_input_error(run_limited({"platform", "show", write("deep.yaml", deep).string()}),
                     "nested deeper than 64 levels (limit)");
  {  // 300 MiB (sparse): refused from its size, before it is read
    const fs::path huge = write("huge.yaml", "name: x\n");
    fs::resize_file(huge, std::uintmax_t(300) << 20);
    expect_input_error(run_limited({"platform", "show", huge.string()}), "larger than 256 MiB (limit)");
    fs::remove(huge);
  }
  // A duplicate key: yaml-cpp would keep both and one would win silently.
  expect_input_error(run_limited({"platform", "show", write("twice.yaml", "name: a\nname: b\n").string()}),
                     "twice.yaml: name: duplicate key 'name' at line 2, column 1");
}

TEST(HostileYaml, NanInfinityAndHugeNumbersInPlatformsAreRefusedNamingTheKey) {
  const std::string from = "{id: dram, bandwidth_GBps: 68,";
  for (const std::string v : {".nan", ".NaN", ".inf", "-.inf", "1e999", "-1e999", "nan", "inf", "0x7fffffffffffffffffff"}) {
    SCOPED_TRACE(v);
    const fs::path f = write("bad-number.yaml", replaced(shipped_platform(), from, "{id: dram, bandwidth_GBps: " + v + ","));
    const Result r = run_limited({"platform", "show", f.string()});
    expect_input_error(r, "bandwidth_GBps");
    EXPECT_NE(r.err.find(f.string()), std::string::npos) << r.err;
  }
  const fs::path f = write("bad-watts.yaml", replaced(shipped_platform(), "idle_W: 1.1,", "idle_W: .nan,"));
  expect_input_error(run_limited({"platform", "show", f.string()}), "idle_W");
}

// ---------------------------------------------------------------------------------------
// Traces

TEST(HostileTraces, NanAndInfinityInStateTracesAreRefusedNamingLineAndColumn) {
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"time_us,action,target,value\nnan,background,gpu,0.5\n", ":2: column 'time_us'"},
      {"time_us,action,target,value\ninf,background,gpu,0.5\n", ":2: column 'time_us'"},
      {"time_us,action,target,value\n0,background,gpu,nan\n", ":2: column 'value'"},
      {"time_us,action,target,value\n0,background,gpu,-inf\n", ":2: column 'value'"},
      {"time_us,action,target,value\n1e400,background,gpu,0.5\n", ":2: column 'time_us'"},
  };
  for (const auto& [text, want] : cases) {
    SCOPED_TRACE(text);
    const fs::path f = write("state.csv", text);
    expect_input_error(run_limited({"simulate", "-m", "squeezenet1_1", "--zoo-dir", (dir() / "zoo").string(), "-p",
                                    "orin-nano-8gb-15w", "--policy", "gpu-only", "--state", f.string()}),
                       f.string() + want);
  }
}

// ---------------------------------------------------------------------------------------
// Checkpoints

// A real agent file: the fuzz seed's payload in a fresh envelope (policies/nn/checkpoint.hpp).
std::string agent_file() {
  const std::string payload = slurp(fs::path(SPAROA_SOURCE_DIR) / "fuzz/seeds/agent_checkpoint/tiny-agent.payload");
  std::string out = "SPAROANN";
  const std::uint32_t version = 1;
  const std::uint64_t length = payload.size();
  out.append(reinterpret_cast<const char*>(&version), 4);
  out.append(reinterpret_cast<const char*>(&length), 8);
  return out + payload + sha256_hex(payload);
}

TEST(HostileCheckpoints, TruncatedAndBitFlippedAgentsAreRefusedAndWriteNothing) {
  const std::string good = agent_file();
  const fs::path out = dir() / "agent-schedule.yaml";
  auto schedule_with = [&](const std::string& bytes) {
    fs::remove(out);
    const fs::path agent = write("agent.bin", bytes);
    return run_limited({"schedule", "-m", "squeezenet1_1", "--zoo-dir", (dir() / "zoo").string(), "-p",
                        "orin-nano-8gb-15w", "--policy", "rl", "--agent", agent.string(), "-o", out.string()});
  };
  const Result ok = schedule_with(good);  // the control: the intact file works
  ASSERT_EQ(ok.code, 0) << ok.err;
  ASSERT_TRUE(fs::exists(out));
  for (const std::size_t keep : {std::size_t(0), std::size_t(5), std::size_t(19), good.size() / 2, good.size() - 1}) {
    SCOPED_TRACE("truncated to " + std::to_string(keep));
    const Result r = schedule_with(good.substr(0, keep));
    expect_input_error(r, (dir() / "agent.bin").string());
    EXPECT_FALSE(fs::exists(out));
  }
  for (const std::size_t at : {std::size_t(3), std::size_t(9), std::size_t(14), std::size_t(40), good.size() / 2,
                               good.size() - 10}) {
    SCOPED_TRACE("bit flipped at " + std::to_string(at));
    std::string flipped = good;
    flipped[at] = static_cast<char>(flipped[at] ^ 0x10);
    const Result r = schedule_with(flipped);
    expect_input_error(r, (dir() / "agent.bin").string());
    EXPECT_FALSE(fs::exists(out));
  }
}

}  // namespace
}  // namespace sparoa::test::cli

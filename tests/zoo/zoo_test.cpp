// Tests of graph/zoo: registry and arguments, determinism, the file cache, pruning exactness
// (unstructured and 2:4), published sizes through the importer, and ONNX's own checker.
#include <onnx/onnx_pb.h>
#include <gtest/gtest.h>

#include <chrono>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <limits>
#include <map>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include <unistd.h>

#include "graph/features.hpp"
#include "graph/onnx_import.hpp"
#include "graph/zoo/pruning.hpp"
#include "graph/zoo/zoo.hpp"
#include "support/error.hpp"
#include "support/sha256.hpp"

namespace zoo = sparoa::graph::zoo;
namespace fs = std::filesystem;

namespace {

fs::path data_dir() { return fs::path(SPAROA_TEST_DATA_DIR) / "zoo"; }

bool skip_large() {
  const char* v = std::getenv("SPAROA_SKIP_LARGE_MODELS");
  return v != nullptr && std::string(v) == "1";
}

// A folder of this process's own, so that tests running in parallel never share files.
struct ScratchDir {
  fs::path path;
  explicit ScratchDir(const std::string& tag)
      : path(fs::path(SPAROA_TEST_DATA_DIR) / ("zoo-" + tag + "-" + std::to_string(::getpid()))) {
    fs::remove_all(path);
    fs::create_directories(path);
  }
  ~ScratchDir() {
    std::error_code ignored;
    fs::remove_all(path, ignored);
  }
};

std::string read_file(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

onnx::ModelProto parse(const std::string& bytes) {
  onnx::ModelProto m;
  EXPECT_TRUE(m.ParseFromString(bytes));
  return m;
}

std::vector<float> floats(const onnx::TensorProto& t) {
  if (t.raw_data().empty()) return {t.float_data().begin(), t.float_data().end()};
  std::vector<float> v(t.raw_data().size() / sizeof(float));
  std::memcpy(v.data(), t.raw_data().data(), v.size() * sizeof(float));
  return v;
}

// A conv/linear weight: its values and where its groups of 4 run (independent of the
// builder's own layout code on purpose).
struct PrunableWeight {
  std::string name;
  std::vector<float> values;
  std::int64_t outer = 1, reduction = 1, inner = 1;  // row-major [outer, reduction, inner]
};

struct ModelWeights {
  std::vector<PrunableWeight> prunable;
  std::map<std::string, std::vector<float>> others;  // every other float parameter (not scalars)
};

ModelWeights weights_of(const onnx::ModelProto& m) {
  std::map<std::string, const onnx::TensorProto*> inits;
  for (const auto& t : m.graph().initializer()) inits[t.name()] = &t;
  ModelWeights out;
  std::set<std::string> taken;
  for (const auto& n : m.graph().node()) {
    if (n.op_type() != "Conv" && n.op_type() != "Gemm" && n.op_type() != "MatMul") continue;
    auto it = inits.find(n.input(1));
    if (it == inits.end()) continue;  // attention MatMuls: no weights
    const auto& t = *it->second;
    PrunableWeight w{t.name(), floats(t)};
    if (n.op_type() == "Conv") {
      w = {t.name(), floats(t), t.dims(0), t.dims(1), t.dims(2) * t.dims(3)};
    } else if (n.op_type() == "Gemm") {  // transB = 1: [out, in]
      w = {t.name(), floats(t), t.dims(0), t.dims(1), 1};
    } else {  // MatMul right-hand side: [in, out]
      w = {t.name(), floats(t), 1, t.dims(0), t.dims(1)};
    }
    taken.insert(t.name());
    out.prunable.push_back(std::move(w));
  }
  for (const auto& t : m.graph().initializer()) {
    if (t.data_type() != onnx::TensorProto_DataType_FLOAT || taken.count(t.name())) continue;
    auto values = floats(t);
    if (values.size() > 1) out.others[t.name()] = std::move(values);  // not Clip bounds and such
  }
  return out;
}

std::int64_t zeros(const std::vector<float>& v) {
  std::int64_t n = 0;
  for (float x : v) n += x == 0.0f ? 1 : 0;
  return n;
}

// ---------------------------------------------------------------------------------------------

TEST(ZooRegistry, ListsTheNineModelsWithPublishedSizes) {
  const auto& all = zoo::models();
  ASSERT_EQ(all.size(), 9u);
  std::set<std::string> names;
  for (const auto& m : all) {
    names.insert(m.name);
    EXPECT_GT(m.published_params, 0) << m.name;
    EXPECT_GT(m.published_macs, 0) << m.name;
    EXPECT_FALSE(m.description.empty()) << m.name;
    EXPECT_EQ(m.standard_input.front(), 1) << m.name;
  }
  EXPECT_EQ(names, (std::set<std::string>{"mobilenetv3_small", "mobilenetv2", "resnet18", "resnet50", "vgg16",
                                          "squeezenet1_1", "efficientnet_b0", "vit_tiny_16", "bert_small"}));
  EXPECT_TRUE(zoo::model_info("vgg16").large);
  EXPECT_TRUE(zoo::model_info("resnet50").large);
  EXPECT_TRUE(zoo::model_info("bert_small").large);
  EXPECT_FALSE(zoo::model_info("mobilenetv3_small").large);
  EXPECT_EQ(zoo::model_info("bert_small").standard_input, (std::vector<std::int64_t>{1, 128}));
  EXPECT_EQ(zoo::model_info("resnet18").standard_input, (std::vector<std::int64_t>{1, 3, 224, 224}));
}

TEST(ZooRegistry, UnknownNameListsTheValidOnes) {
  try {
    zoo::model_info("resnet19");
    FAIL() << "no exception";
  } catch (const sparoa::Error& e) {
    const std::string what = e.what();
    EXPECT_NE(what.find("resnet19"), std::string::npos) << what;
    EXPECT_NE(what.find("resnet18"), std::string::npos) << what;
    EXPECT_NE(what.find("bert_small"), std::string::npos) << what;
  }
  EXPECT_THROW(zoo::build_model_bytes("nope", {}, 0), sparoa::Error);
  EXPECT_THROW(zoo::build_model("nope", {}, data_dir(), 0), sparoa::Error);
}

TEST(ZooArguments, BadPruningIsAnError) {
  const double nan = std::numeric_limits<double>::quiet_NaN();
  for (const zoo::Pruning& p : {zoo::Pruning{-0.1, false}, zoo::Pruning{1.0, false}, zoo::Pruning{1.5, false},
                                zoo::Pruning{nan, false}, zoo::Pruning{0.3, true}, zoo::Pruning{0.0, true},
                                zoo::Pruning{0.75, true}}) {
    EXPECT_THROW(zoo::validate(p), sparoa::Error) << p.sparsity << " " << p.structured_2_4;
    EXPECT_THROW(zoo::build_model_bytes("squeezenet1_1", p, 0), sparoa::Error);
    EXPECT_THROW(zoo::build_model("squeezenet1_1", p, data_dir(), 0), sparoa::Error);
  }
  try {
    zoo::validate({0.3, true});
    FAIL() << "no exception";
  } catch (const sparoa::Error& e) {
    EXPECT_NE(std::string(e.what()).find("0.5"), std::string::npos) << e.what();
  }
  EXPECT_NO_THROW(zoo::validate({0.5, true}));
  EXPECT_NO_THROW(zoo::validate({0.0, false}));
  EXPECT_NO_THROW(zoo::validate({0.99, false}));
}

TEST(ZooFileNames, CarryModelTagAndKey) {
  EXPECT_EQ(zoo::pruning_tag({}), "s0.00-u");
  EXPECT_EQ(zoo::pruning_tag({0.5, false}), "s0.50-u");
  EXPECT_EQ(zoo::pruning_tag({0.5, true}), "s0.50-24");
  EXPECT_EQ(zoo::pruning_tag({0.875, false}), "s0.875-u");
  const auto a = zoo::model_file_name("resnet18", {0.5, false}, 0);
  EXPECT_EQ(a.rfind("resnet18-s0.50-u-", 0), 0u) << a;
  EXPECT_EQ(a.size(), std::string("resnet18-s0.50-u-").size() + 8 + 5) << a;
  EXPECT_EQ(a.substr(a.size() - 5), ".onnx");
  EXPECT_EQ(a, zoo::model_file_name("resnet18", {0.5, false}, 0));
  EXPECT_NE(a, zoo::model_file_name("resnet18", {0.5, false}, 1));
  EXPECT_NE(a, zoo::model_file_name("resnet18", {0.5, true}, 0));
  EXPECT_NE(a, zoo::model_file_name("resnet18", {0.501, false}, 0));
}

TEST(ZooDeterminism, SameArgumentsSameBytes) {
  const auto a = zoo::build_model_bytes("mobilenetv3_small", {0.6, false}, 42);
  const auto b = zoo::build_model_bytes("mobilenetv3_small", {0.6, false}, 42);
  EXPECT_TRUE(a == b);
  EXPECT_FALSE(a == zoo::build_model_bytes("mobilenetv3_small", {0.6, false}, 43));
  const auto t1 = zoo::build_model_bytes("vit_tiny_16", {0.5, true}, 3);
  EXPECT_TRUE(t1 == zoo::build_model_bytes("vit_tiny_16", {0.5, true}, 3));
}

TEST(ZooDeterminism, FileHoldsTheSameBytesAsBuildModelBytes) {
  ScratchDir dir("bytes");
  const auto path = zoo::build_model("squeezenet1_1", {0.3, false}, dir.path, 5);
  EXPECT_TRUE(read_file(path) == zoo::build_model_bytes("squeezenet1_1", {0.3, false}, 5));
}

TEST(ZooDeterminism, ModelHeaderIsOpset17Ir8WithSymbolicBatch) {
  for (const auto& info : zoo::models()) {
    if (info.large) continue;  // same builder code; the size tests cover them
    const auto m = parse(zoo::build_model_bytes(info.name, {}, 0));
    EXPECT_EQ(m.ir_version(), 8) << info.name;
    ASSERT_EQ(m.opset_import_size(), 1) << info.name;
    EXPECT_EQ(m.opset_import(0).domain(), "") << info.name;
    EXPECT_EQ(m.opset_import(0).version(), 17) << info.name;
    ASSERT_GE(m.graph().input_size(), 1);
    for (const auto& in : m.graph().input()) {
      const auto& shape = in.type().tensor_type().shape();
      ASSERT_EQ(static_cast<std::size_t>(shape.dim_size()), info.standard_input.size()) << info.name;
      EXPECT_EQ(shape.dim(0).dim_param(), "N") << info.name;
      for (int d = 1; d < shape.dim_size(); ++d) EXPECT_EQ(shape.dim(d).dim_value(), info.standard_input[d]);
    }
    for (const auto& n : m.graph().node()) EXPECT_NE(n.op_type(), "Gelu") << info.name;  // opset 20
  }
}

TEST(ZooCache, SecondBuildReturnsTheCachedFile) {
  ScratchDir dir("cache");
  const auto first = zoo::build_model("squeezenet1_1", {0.5, false}, dir.path, 11);
  ASSERT_TRUE(fs::exists(first));
  EXPECT_EQ(first.parent_path(), dir.path);
  EXPECT_EQ(first.filename().string(), zoo::model_file_name("squeezenet1_1", {0.5, false}, 11));
  auto sidecar = first;
  sidecar += ".sha256";
  EXPECT_TRUE(fs::exists(sidecar));
  // Backdate the file: a rebuild would give it a fresh time.
  const auto old = fs::file_time_type::clock::now() - std::chrono::hours(24);
  fs::last_write_time(first, old);
  const auto second = zoo::build_model("squeezenet1_1", {0.5, false}, dir.path, 11);
  EXPECT_EQ(first, second);
  EXPECT_EQ(fs::last_write_time(second), old);
  // No temporary files are left behind.
  std::size_t entries = 0;
  for ([[maybe_unused]] const auto& e : fs::directory_iterator(dir.path)) ++entries;
  EXPECT_EQ(entries, 2u);
}

TEST(ZooCache, DamagedFileIsRebuilt) {
  ScratchDir dir("damaged");
  const auto path = zoo::build_model("squeezenet1_1", {}, dir.path, 1);
  const std::string good = read_file(path);
  {
    std::ofstream out(path, std::ios::binary | std::ios::app);
    out << "garbage";
  }
  EXPECT_EQ(zoo::build_model("squeezenet1_1", {}, dir.path, 1), path);
  EXPECT_TRUE(read_file(path) == good);
  // Without its sidecar the file is not trusted either.
  auto sidecar = path;
  sidecar += ".sha256";
  fs::remove(sidecar);
  const auto old = fs::file_time_type::clock::now() - std::chrono::hours(24);
  fs::last_write_time(path, old);
  EXPECT_EQ(zoo::build_model("squeezenet1_1", {}, dir.path, 1), path);
  EXPECT_NE(fs::last_write_time(path), old);
  EXPECT_TRUE(fs::exists(sidecar));
}

TEST(ZooCache, CreatesTheFolder) {
  ScratchDir dir("mkdir");
  const auto path = zoo::build_model("squeezenet1_1", {}, dir.path / "a" / "b", 0);
  EXPECT_TRUE(fs::exists(path));
}

// ---------------------------------------------------------------------------------------------
// Pruning

TEST(ZooPruning, DenseModelsHaveNoZeros) {
  const auto w = weights_of(parse(zoo::build_model_bytes("mobilenetv3_small", {}, 0)));
  for (const auto& p : w.prunable) EXPECT_EQ(zeros(p.values), 0) << p.name;
  for (const auto& [name, v] : w.others) EXPECT_EQ(zeros(v), 0) << name;
}

class ZooUnstructured : public ::testing::TestWithParam<std::string> {};

TEST_P(ZooUnstructured, EveryWeightTensorHasExactlyTheRequestedZeros) {
  for (double sparsity : {0.3, 0.9}) {
    const auto w = weights_of(parse(zoo::build_model_bytes(GetParam(), {sparsity, false}, 9)));
    ASSERT_FALSE(w.prunable.empty());
    for (const auto& p : w.prunable) {
      const auto size = static_cast<double>(p.values.size());
      EXPECT_EQ(zeros(p.values), std::llround(sparsity * size)) << p.name << " at " << sparsity;
    }
    // Biases, norms, embeddings, class token and position embeddings are never pruned.
    for (const auto& [name, v] : w.others) EXPECT_EQ(zeros(v), 0) << name;
  }
}

INSTANTIATE_TEST_SUITE_P(Models, ZooUnstructured,
                         ::testing::Values("mobilenetv3_small", "squeezenet1_1", "efficientnet_b0", "vit_tiny_16"));

TEST(ZooPruning, PrunedWeightsAreTheSmallestOfTheDenseOnes) {
  const auto dense = weights_of(parse(zoo::build_model_bytes("squeezenet1_1", {}, 4)));
  const auto pruned = weights_of(parse(zoo::build_model_bytes("squeezenet1_1", {0.55, false}, 4)));
  ASSERT_EQ(dense.prunable.size(), pruned.prunable.size());
  for (std::size_t t = 0; t < dense.prunable.size(); ++t) {
    const auto& d = dense.prunable[t].values;
    const auto& p = pruned.prunable[t].values;
    ASSERT_EQ(d.size(), p.size());
    float largest_removed = 0, smallest_kept = std::numeric_limits<float>::infinity();
    for (std::size_t i = 0; i < d.size(); ++i) {
      if (p[i] == 0.0f) {
        largest_removed = std::max(largest_removed, std::fabs(d[i]));
      } else {
        EXPECT_EQ(p[i], d[i]);
        smallest_kept = std::min(smallest_kept, std::fabs(d[i]));
      }
    }
    EXPECT_LE(largest_removed, smallest_kept) << dense.prunable[t].name;
  }
  EXPECT_EQ(dense.others, pruned.others);
}

class ZooTwoFour : public ::testing::TestWithParam<std::string> {};

TEST_P(ZooTwoFour, EveryGroupOfFourAlongInputChannelsHasTwoZeros) {
  const auto w = weights_of(parse(zoo::build_model_bytes(GetParam(), {0.5, true}, 2)));
  std::int64_t eligible = 0, eligible_zeros = 0;
  for (const auto& p : w.prunable) {
    if (p.reduction % 4 != 0) {
      // First convolutions (3 input channels) and depthwise ones stay dense.
      EXPECT_EQ(zeros(p.values), 0) << p.name;
      continue;
    }
    eligible += static_cast<std::int64_t>(p.values.size());
    eligible_zeros += zeros(p.values);
    for (std::int64_t o = 0; o < p.outer; ++o) {
      for (std::int64_t r = 0; r < p.reduction; r += 4) {
        for (std::int64_t i = 0; i < p.inner; ++i) {
          int z = 0;
          for (std::int64_t t = 0; t < 4; ++t) {
            z += p.values[static_cast<std::size_t>((o * p.reduction + r + t) * p.inner + i)] == 0.0f ? 1 : 0;
          }
          ASSERT_EQ(z, 2) << p.name << " group at outer " << o << " reduction " << r << " inner " << i;
        }
      }
    }
  }
  EXPECT_GT(eligible, 0);
  EXPECT_EQ(eligible_zeros * 2, eligible);
  for (const auto& [name, v] : w.others) EXPECT_EQ(zeros(v), 0) << name;
}

INSTANTIATE_TEST_SUITE_P(Models, ZooTwoFour,
                         ::testing::Values("resnet18", "mobilenetv2", "vit_tiny_16", "squeezenet1_1"));

TEST(ZooPruningKernels, UnstructuredBreaksTiesByIndex) {
  std::vector<float> w{1, -1, 1, 2, -1, 3};
  zoo::detail::prune_unstructured(w, 0.5);  // 3 zeros: the three of magnitude 1, in order
  EXPECT_EQ(w, (std::vector<float>{0, 0, 0, 2, -1, 3}));
  std::vector<float> v{5, -4, 3, -2, 1};
  zoo::detail::prune_unstructured(v, 0.4);  // round(2.0) zeros
  EXPECT_EQ(v, (std::vector<float>{5, -4, 3, 0, 0}));
  std::vector<float> u{1, 2, 3};
  zoo::detail::prune_unstructured(u, 0.5);  // round(1.5) = 2
  EXPECT_EQ(u, (std::vector<float>{0, 0, 3}));
  std::vector<float> none{1, 2, 3};
  zoo::detail::prune_unstructured(none, 0.1);  // round(0.3) = 0
  EXPECT_EQ(none, (std::vector<float>{1, 2, 3}));
}

TEST(ZooPruningKernels, TwoFourAlongAStridedAxis) {
  // [in = 4, out = 2] as a MatMul weight: groups run down the columns.
  std::vector<float> w{1, 8, -4, 7, 3, -6, 2, 5};
  EXPECT_TRUE(zoo::detail::prune_2_4(w, {1, 4, 2}));
  EXPECT_EQ(w, (std::vector<float>{0, 8, -4, 7, 3, 0, 0, 0}));
  std::vector<float> ties{1, 1, 1, 1};
  EXPECT_TRUE(zoo::detail::prune_2_4(ties, {1, 4, 1}));
  EXPECT_EQ(ties, (std::vector<float>{0, 0, 1, 1}));
  std::vector<float> odd{1, 2, 3, 4, 5, 6};
  EXPECT_FALSE(zoo::detail::prune_2_4(odd, {1, 6, 1}));
  EXPECT_EQ(odd, (std::vector<float>{1, 2, 3, 4, 5, 6}));
}

// ---------------------------------------------------------------------------------------------
// Published sizes (REFERENCE.md) through the importer, and ONNX's own checker.

class ZooModel : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    if (zoo::model_info(GetParam()).large && skip_large()) {
      GTEST_SKIP() << GetParam() << " is a large model and SPAROA_SKIP_LARGE_MODELS=1";
    }
  }
};

TEST_P(ZooModel, ParamsAndMacsMatchThePublishedSizes) {
  const auto& info = zoo::model_info(GetParam());
  const auto path = zoo::build_model(info.name, {}, data_dir(), 0);
  sparoa::graph::ImportOptions options;
  options.batch = 1;
  const auto graph = sparoa::graph::import_onnx(path, options);
  const auto totals = sparoa::graph::totals(graph);
  const double params = static_cast<double>(info.published_params);
  EXPECT_NEAR(static_cast<double>(totals.params), params, 0.005 * params) << info.name;
  EXPECT_NEAR(totals.macs, info.published_macs, 0.005 * info.published_macs) << info.name;
}

TEST_P(ZooModel, PassesTheOnnxCheckerWithFullShapeInference) {
  // ONNX's Python checker from Debian's python3-onnx (1.12) is the reference; the pyenv
  // python3 that may come first on PATH lacks it. The model is passed loaded, not as a path:
  // check_model(path, full_check=True) writes the inferred shapes back into the file.
  const char* python = "/usr/bin/python3";
  if (!fs::exists(python) || std::system("/usr/bin/python3 -c 'import onnx' >/dev/null 2>&1") != 0) {
    GTEST_SKIP() << "Debian's python3-onnx is not installed";
  }
  const auto path = zoo::build_model(GetParam(), {}, data_dir(), 0);
  const std::string before = sparoa::sha256_file_hex(path);
  const std::string command =
      std::string(python) +
      " -c 'import onnx, sys; onnx.checker.check_model(onnx.load(sys.argv[1]), full_check=True)' '" +
      path.string() + "'";
  EXPECT_EQ(std::system(command.c_str()), 0) << command;
  EXPECT_EQ(sparoa::sha256_file_hex(path), before);
}

std::vector<std::string> all_model_names() {
  std::vector<std::string> names;
  for (const auto& m : zoo::models()) names.push_back(m.name);
  return names;
}

INSTANTIATE_TEST_SUITE_P(Zoo, ZooModel, ::testing::ValuesIn(all_model_names()),
                         [](const ::testing::TestParamInfo<std::string>& p) { return p.param; });

}  // namespace

namespace {

sparoa::graph::GraphTotals variant_totals(const std::string& name) {
  const fs::path dir = fs::path(SPAROA_TEST_DATA_DIR) / "zoo";
  sparoa::graph::ImportOptions o;
  o.batch = 1;
  return sparoa::graph::totals(sparoa::graph::import_onnx(zoo::build_model(name, {}, dir), o));
}

}  // namespace

TEST(ZooVariants, TheStandardVariantIsTheStandardModelByteForByte) {
  EXPECT_EQ(zoo::model_file_name("resnet18", {}, 0), zoo::model_file_name("resnet18@w1,d1,r224", {}, 0));
  EXPECT_EQ(zoo::build_model_bytes("squeezenet1_1", {}, 0), zoo::build_model_bytes("squeezenet1_1@r224", {}, 0));
  EXPECT_NE(zoo::model_file_name("resnet18", {}, 0), zoo::model_file_name("resnet18@w0.5", {}, 0));
  EXPECT_EQ(zoo::model_file_name("resnet18@w0.5,r160", {}, 0).rfind("resnet18_w0.5_r160-s0.00-u-", 0), 0u);
}

TEST(ZooVariants, WidthDepthAndResolutionScaleTheWork) {
  const auto base = variant_totals("resnet18");
  // Half the channels: about a quarter of the convolution weights and MACs.
  const auto narrow = variant_totals("resnet18@w0.5");
  EXPECT_LT(double(narrow.params), 0.35 * double(base.params));
  EXPECT_NEAR(narrow.macs / base.macs, 0.25, 0.05);
  // Half the blocks: fewer operators, same classifier.
  const auto shallow = variant_totals("resnet18@d0.5");
  EXPECT_LT(shallow.operators, base.operators);
  EXPECT_LT(shallow.macs, base.macs);
  // A 160x160 input: (160/224)^2 of the MACs (the classifier's are unchanged and tiny).
  const auto small = variant_totals("resnet18@r160");
  EXPECT_EQ(small.params, base.params);
  EXPECT_NEAR(small.macs / base.macs, (160.0 * 160.0) / (224.0 * 224.0), 0.01);
  // Transformers: fewer layers.
  if (!skip_large()) {
    EXPECT_LT(variant_totals("bert_small@d0.5").operators, variant_totals("bert_small").operators);
  }
  EXPECT_LT(variant_totals("vit_tiny_16@r160").macs, variant_totals("vit_tiny_16").macs);
}

TEST(ZooVariants, BadVariantsNameTheProblem) {
  const std::vector<std::pair<std::string, std::string>> cases{
      {"vgg16@w0.5", "width of vgg16 cannot be changed"},
      {"bert_small@r160", "resolution of bert_small cannot be changed"},
      {"resnet18@r100", "multiple of 32"},
      {"vit_tiny_16@r200", "multiple of 16"},
      {"resnet18@x2", "expected w<width>"},
      {"resnet18@wide", "not a number"},
      {"resnet18@w9", "[0.125, 4]"},
      {"resnet18@", "empty variant"},
      {"resnet99@w0.5", "not in the zoo"},
  };
  for (const auto& [name, want] : cases) {
    try {
      zoo::model_file_name(name, {}, 0);
      ADD_FAILURE() << name << " accepted";
    } catch (const sparoa::Error& e) {
      EXPECT_NE(std::string(e.what()).find(want), std::string::npos) << name << ": " << e.what();
    }
  }
}

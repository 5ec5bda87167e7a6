// The zoo's registry, argument checks and the content-addressed file cache.
#include "graph/zoo/zoo.hpp"

#include <cmath>
#include <cstdio>
#include <fstream>
#include <system_error>

#include "graph/zoo/model_builders.hpp"
#include "graph/zoo/onnx_builder.hpp"
#include "support/atomic_file.hpp"
#include "support/error.hpp"
#include "support/sha256.hpp"

namespace sparoa::graph::zoo {
namespace {

struct Entry {
  ModelInfo info;
  void (*build)(detail::OnnxBuilder&);
};

const std::vector<Entry>& registry() {
  using namespace detail;
  const std::vector<std::int64_t> image{1, 3, 224, 224};
  // Sizes: REFERENCE.md, "Published sizes of the zoo architectures".
  static const std::vector<Entry> entries{
      {{"mobilenetv3_small", "MobileNetV3-Small (torchvision 0.14)", image, 2'542'856, 56.5e6, false},
       build_mobilenetv3_small},
      {{"mobilenetv2", "MobileNetV2 (torchvision 0.14)", image, 3'504'872, 300.8e6, false}, build_mobilenetv2},
      {{"resnet18", "ResNet-18 (torchvision 0.14)", image, 11'689'512, 1814.1e6, false}, build_resnet18},
      {{"resnet50", "ResNet-50 v1.5 (torchvision 0.14)", image, 25'557'032, 4089.2e6, true}, build_resnet50},
      {{"vgg16", "VGG-16 without batch norm (torchvision 0.14)", image, 138'357'544, 15470.3e6, true}, build_vgg16},
      {{"squeezenet1_1", "SqueezeNet 1.1 (torchvision 0.14)", image, 1'235'496, 349.2e6, false},
       build_squeezenet1_1},
      {{"efficientnet_b0", "EfficientNet-B0 (torchvision 0.14)", image, 5'288'548, 385.8e6, false},
       build_efficientnet_b0},
      {{"vit_tiny_16", "ViT-Tiny/16, embed 192, depth 12, 3 heads, MLP 768 (timm vit_tiny_patch16_224)", image,
        5'717'416, 1253.7e6, false},
       build_vit_tiny_16},
      {{"bert_small",
        "BERT-Small: 4 layers, hidden 512, 8 heads, FFN 2048, vocab 30522, pooler; sequence 128 "
        "(inputs input_ids, token_type_ids)",
        {1, 128}, 28'763'648, 1678.0e6, true},
       build_bert_small},
  };
  return entries;
}

const Entry& entry(const std::string& name) {
  for (const auto& e : registry()) {
    if (e.info.name == name) return e;
  }
  std::string names;
  for (const auto& e : registry()) names += (names.empty() ? "" : ", ") + e.info.name;
  throw Error("model '" + name + "'", "not in the zoo; valid names: " + names);
}

std::string exact(double value) {
  char text[32];
  std::snprintf(text, sizeof text, "%.17g", value);
  return text;
}

std::string read_first_word(const std::filesystem::path& path) {
  std::ifstream in(path);
  std::string word;
  in >> word;
  return word;
}

}  // namespace

const std::vector<ModelInfo>& models() {
  static const std::vector<ModelInfo> infos = [] {
    std::vector<ModelInfo> out;
    for (const auto& e : registry()) out.push_back(e.info);
    return out;
  }();
  return infos;
}

const ModelInfo& model_info(const std::string& name) { return entry(name).info; }

void validate(const Pruning& pruning) {
  if (!(pruning.sparsity >= 0 && pruning.sparsity < 1)) {
    throw Error("pruning", "sparsity " + exact(pruning.sparsity) + " is outside [0, 1)");
  }
  if (pruning.structured_2_4 && pruning.sparsity != 0.5) {
    throw Error("pruning", "2:4 structured pruning zeroes exactly 2 of every 4 weights: sparsity must be 0.5, not " +
                               exact(pruning.sparsity));
  }
}

std::string pruning_tag(const Pruning& pruning) {
  char text[32];
  std::snprintf(text, sizeof text, "%.6f", pruning.sparsity);
  std::string s = text;
  // Keep two decimals at least, more only when they carry information (0.875).
  while (s.size() > 4 && s.back() == '0') s.pop_back();
  return "s" + s + (pruning.structured_2_4 ? "-24" : "-u");
}

namespace {

// Builds the model and hands the finished builder to `sink` (which serializes it).
template <class Sink>
auto with_built_model(const std::string& name, const Pruning& pruning, std::uint64_t seed, Sink&& sink) {
  validate(pruning);
  const Entry& e = entry(name);
  detail::OnnxBuilder builder(e.info.name, e.info.description, pruning, seed);
  e.build(builder);
  return sink(builder);
}

}  // namespace

std::string build_model_bytes(const std::string& name, const Pruning& pruning, std::uint64_t seed) {
  return with_built_model(name, pruning, seed, [](const detail::OnnxBuilder& b) { return b.serialize(); });
}

std::string model_file_name(const std::string& name, const Pruning& pruning, std::uint64_t seed) {
  validate(pruning);
  entry(name);
  const std::string key = std::string(kBuilderVersion) + "\n" + name + "\n" + exact(pruning.sparsity) + "\n" +
                          (pruning.structured_2_4 ? "2:4" : "unstructured") + "\n" + std::to_string(seed);
  return name + "-" + pruning_tag(pruning) + "-" + sha256_hex(key).substr(0, 8) + ".onnx";
}

std::filesystem::path build_model(const std::string& name, const Pruning& pruning,
                                  const std::filesystem::path& out_dir, std::uint64_t seed) {
  const std::filesystem::path path = out_dir / model_file_name(name, pruning, seed);
  std::filesystem::path sidecar = path;
  sidecar += ".sha256";

  // The cache hit: the file is there and its content is what was written (a file damaged or
  // replaced by hand is rebuilt, not trusted).
  std::error_code ec;
  if (std::filesystem::is_regular_file(path, ec) && std::filesystem::is_regular_file(sidecar, ec)) {
    const std::string recorded = read_first_word(sidecar);
    if (!recorded.empty() && recorded == sha256_file_hex(path)) return path;
  }

  std::filesystem::create_directories(out_dir, ec);
  if (ec) throw Error(out_dir.string(), "cannot create the model folder: " + ec.message());
  // Streamed straight into the file: VGG-16 is 553 MB, and a serialized copy in memory
  // would double the peak. The model goes first, its sidecar second, so a sidecar never
  // vouches for a file that is not in place yet.
  with_built_model(name, pruning, seed, [&](const detail::OnnxBuilder& b) {
    AtomicFile file(path);
    b.serialize_to(file.stream());
    file.commit();
  });
  write_file_atomically(sidecar, sha256_file_hex(path) + "  " + path.filename().string() + "\n");
  return path;
}

}  // namespace sparoa::graph::zoo

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
  void (*build)(detail::OnnxBuilder&, const Variant&);
  std::string knobs;  // the variant knobs the family takes
};

const std::vector<Entry>& registry() {
  using namespace detail;
  const std::vector<std::int64_t> image{1, 3, 224, 224};
  // Sizes: REFERENCE.md, "Published sizes of the zoo architectures".
  static const std::vector<Entry> entries{
      {{"mobilenetv3_small", "MobileNetV3-Small (torchvision 0.14)", image, 2'542'856, 56.5e6, false},
       build_mobilenetv3_small, "wr"},
      {{"mobilenetv2", "MobileNetV2 (torchvision 0.14)", image, 3'504'872, 300.8e6, false}, build_mobilenetv2, "wdr"},
      {{"resnet18", "ResNet-18 (torchvision 0.14)", image, 11'689'512, 1814.1e6, false}, build_resnet18, "wdr"},
      {{"resnet50", "ResNet-50 v1.5 (torchvision 0.14)", image, 25'557'032, 4089.2e6, true}, build_resnet50, "wdr"},
      {{"vgg16", "VGG-16 without batch norm (torchvision 0.14)", image, 138'357'544, 15470.3e6, true}, build_vgg16, ""},
      {{"squeezenet1_1", "SqueezeNet 1.1 (torchvision 0.14)", image, 1'235'496, 349.2e6, false},
       build_squeezenet1_1, "r"},
      {{"efficientnet_b0", "EfficientNet-B0 (torchvision 0.14)", image, 5'288'548, 385.8e6, false},
       build_efficientnet_b0, "wdr"},
      {{"vit_tiny_16", "ViT-Tiny/16, embed 192, depth 12, 3 heads, MLP 768 (timm vit_tiny_patch16_224)", image,
        5'717'416, 1253.7e6, false},
       build_vit_tiny_16, "dr"},
      {{"bert_small",
        "BERT-Small: 4 layers, hidden 512, 8 heads, FFN 2048, vocab 30522, pooler; sequence 128 "
        "(inputs input_ids, token_type_ids)",
        {1, 128}, 28'763'648, 1678.0e6, true},
       build_bert_small, "d"},
  };
  return entries;
}

const Entry& base_entry(const std::string& name) {
  for (const auto& e : registry()) {
    if (e.info.name == name) return e;
  }
  std::string names;
  for (const auto& e : registry()) names += (names.empty() ? "" : ", ") + e.info.name;
  throw Error("model '" + name + "'", "not in the zoo; valid names: " + names +
                                          " (with an optional variant such as resnet18@w0.5,d0.5,r160)");
}

const Entry& entry(const std::string& name) { return base_entry(parse_model_name(name).first); }

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

std::string variant_knobs(const std::string& base_name) { return base_entry(base_name).knobs; }

bool is_zoo_name(const std::string& name) {
  const auto at = name.find('@');
  const std::string base = name.substr(0, at);
  for (const auto& e : registry()) {
    if (e.info.name == base) return true;
  }
  return false;
}

std::string Variant::suffix() const {
  if (standard()) return "";
  std::string out;
  auto add = [&](char knob, const std::string& value) {
    out.push_back(out.empty() ? '@' : ',');  // appended piecewise: GCC 12 misreads "a" + string&& (-Wrestrict)
    out.push_back(knob);
    out.append(value);
  };
  auto number = [](double x) {
    char text[32];
    std::snprintf(text, sizeof text, "%g", x);
    return std::string(text);
  };
  if (width != 1) add('w', number(width));
  if (depth != 1) add('d', number(depth));
  if (resolution != 0) add('r', std::to_string(resolution));
  return out;
}

std::pair<std::string, Variant> parse_model_name(const std::string& name) {
  const auto at = name.find('@');
  const std::string base = name.substr(0, at);
  const Entry& e = base_entry(base);
  Variant v;
  if (at == std::string::npos) return {base, v};
  const std::string spec = name.substr(at + 1);
  const std::string where = "model '" + name + "'";
  std::size_t a = 0;
  if (spec.empty()) throw Error(where, "empty variant after '@'");
  while (a <= spec.size()) {
    std::size_t b = spec.find(',', a);
    if (b == std::string::npos) b = spec.size();
    const std::string item = spec.substr(a, b - a);
    a = b + 1;
    if (item.size() < 2 || std::string("wdr").find(item[0]) == std::string::npos) {
      throw Error(where, "variant item '" + item + "': expected w<width>, d<depth> or r<resolution>");
    }
    if (e.knobs.find(item[0]) == std::string::npos) {
      throw Error(where, std::string("the ") + (item[0] == 'w' ? "width" : item[0] == 'd' ? "depth" : "resolution") +
                             " of " + base + " cannot be changed (it takes: " + (e.knobs.empty() ? "none" : e.knobs) + ")");
    }
    double x = 0;
    try {
      std::size_t used = 0;
      x = std::stod(item.substr(1), &used);
      if (used != item.size() - 1) throw std::invalid_argument(item);
    } catch (const std::exception&) {
      throw Error(where, "variant item '" + item + "' is not a number");
    }
    if (item[0] == 'r') {
      const std::int64_t step = base == "vit_tiny_16" ? 16 : 32;
      if (!(x >= 64 && x <= 1024) || x != std::floor(x) || std::int64_t(x) % step != 0) {
        throw Error(where, "resolution " + item.substr(1) + " must be a multiple of " + std::to_string(step) +
                               " between 64 and 1024");
      }
      v.resolution = std::int64_t(x) == 224 ? 0 : std::int64_t(x);
    } else {
      if (!(x >= 0.125 && x <= 4)) throw Error(where, "multiplier " + item.substr(1) + " must be in [0.125, 4]");
      (item[0] == 'w' ? v.width : v.depth) = x;
    }
  }
  return {base, v};
}

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
  const auto [base, variant] = parse_model_name(name);
  const Entry& e = base_entry(base);
  detail::OnnxBuilder builder(base + variant.suffix(), e.info.description + variant.suffix(), pruning, seed);
  e.build(builder, variant);
  return sink(builder);
}

}  // namespace

std::string build_model_bytes(const std::string& name, const Pruning& pruning, std::uint64_t seed) {
  return with_built_model(name, pruning, seed, [](const detail::OnnxBuilder& b) { return b.serialize(); });
}

std::string model_file_name(const std::string& name, const Pruning& pruning, std::uint64_t seed) {
  validate(pruning);
  const auto [base, variant] = parse_model_name(name);
  // The standard architecture keeps its key (and cached files); a variant adds its suffix.
  const std::string canonical = base + variant.suffix();
  const std::string key = std::string(kBuilderVersion) + "\n" + canonical + "\n" + exact(pruning.sparsity) + "\n" +
                          (pruning.structured_2_4 ? "2:4" : "unstructured") + "\n" + std::to_string(seed);
  std::string stem = canonical;
  for (char& c : stem) {
    if (c == '@' || c == ',') c = '_';  // file names without shell-special characters
  }
  return stem + "-" + pruning_tag(pruning) + "-" + sha256_hex(key).substr(0, 8) + ".onnx";
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

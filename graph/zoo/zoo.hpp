#pragma once
// The model zoo: real architectures (torchvision 0.14 CNNs, timm ViT-Tiny/16, BERT-Small)
// written as ONNX files with seeded random weights and magnitude pruning. Rules (weights,
// pruning, caching) are in graph/zoo/README.md.
#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

namespace sparoa::graph::zoo {

// Bump whenever the bytes a build produces change for the same arguments: it is part of the
// cache key, so stale cached files are never returned.
inline constexpr const char* kBuilderVersion = "zoo-1";

struct ModelInfo {
  std::string name;         // "resnet18", ...: the name build_model takes
  std::string description;  // one line: what the architecture is and where it comes from
  std::vector<std::int64_t> standard_input;  // of the first input: {1,3,224,224} or {1,128}
  std::int64_t published_params = 0;  // REFERENCE.md, "Published sizes of the zoo architectures"
  double published_macs = 0;          // same table, in MACs (the table rounds to 0.1 M)
  bool large = false;                 // too big for sanitizer runs (vgg16, resnet50, bert_small)
};

// Every model of the zoo, in a fixed order.
const std::vector<ModelInfo>& models();

// An architecture variant, written after the name: "resnet18@w0.5,d0.5,r160".
//   w  width multiplier: every layer's channels (hidden size of transformers is kept)
//   d  depth multiplier: blocks per stage (CNNs) or layers (transformers), at least one each
//   r  input resolution (square images; a multiple of 32, or 16 for ViT)
// Each family takes the knobs that make sense for it (`variant_knobs`); the defaults are the
// published architecture, whose name has no suffix.
struct Variant {
  double width = 1, depth = 1;
  std::int64_t resolution = 0;  // 0: the standard one
  bool standard() const { return width == 1 && depth == 1 && resolution == 0; }
  std::string suffix() const;   // "" or "@w0.5,r160"
};
// Splits "name@..." into the zoo name and its variant; throws sparoa::Error naming the text
// for an unknown knob, a bad number or a knob the family does not take.
std::pair<std::string, Variant> parse_model_name(const std::string& name);
std::string variant_knobs(const std::string& base_name);  // "wdr", "wr", "d", ...
// True when `name` (with or without a variant) names a zoo model.
bool is_zoo_name(const std::string& name);
// Throws sparoa::Error listing the valid names when `name` is unknown. Variants share their
// base's info.
const ModelInfo& model_info(const std::string& name);

struct Pruning {
  // Fraction of exact zeros in every prunable weight tensor, in [0, 1).
  double sparsity = 0;
  // 2:4 structured: in every group of 4 consecutive weights along the input-channel axis,
  // the 2 smallest magnitudes are zeroed. Requires sparsity == 0.5.
  bool structured_2_4 = false;
};

// Throws sparoa::Error when the request is impossible (sparsity outside [0, 1) or not a
// number, 2:4 with a sparsity other than 0.5).
void validate(const Pruning& pruning);

// "s0.50-u", "s0.875-u", "s0.50-24": the pruning part of a cached file's name.
std::string pruning_tag(const Pruning& pruning);

// The serialized ModelProto (ONNX IR 8, default-domain opset 17, first input dimension
// symbolic "N"). Deterministic: the same arguments give byte-identical output.
std::string build_model_bytes(const std::string& name, const Pruning& pruning, std::uint64_t seed);

// The file name build_model uses: "<name>-<pruning tag>-<8 hex digits of the key>.onnx".
std::string model_file_name(const std::string& name, const Pruning& pruning, std::uint64_t seed);

// Builds the model into `out_dir` (created when missing) and returns its path. A file already
// there whose content matches its ".sha256" sidecar is returned without rebuilding. Files
// appear atomically: never half-written, also with concurrent builders of the same model.
std::filesystem::path build_model(const std::string& name, const Pruning& pruning,
                                  const std::filesystem::path& out_dir, std::uint64_t seed = 0);

}  // namespace sparoa::graph::zoo

#include "graph/onnx_import.hpp"

#include <onnx/checker.h>
#include <onnx/defs/schema.h>
#include <onnx/onnx_pb.h>
#include <onnx/shape_inference/implementation.h>

#include <google/protobuf/io/coded_stream.h>
#include <google/protobuf/io/zero_copy_stream_impl_lite.h>

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <climits>
#include <cstring>
#include <functional>
#include <map>
#include <future>
#include <set>
#include <unordered_map>
#include <unordered_set>

#include "graph/onnx_constant_folding.hpp"
#include "graph/onnx_inference_guards.hpp"
#include "graph/onnx_wire.hpp"
#include "support/error.hpp"
#include "support/sha256.hpp"

namespace sparoa::graph {
namespace {

using detail::TypeMap;

// Everything the importer accepts as a run-time operator. Fold-only operators (Shape,
// Constant, Range, ...) are accepted too but must disappear by constant folding.
const std::vector<std::string> kSupported = {
    "Abs", "Add", "AveragePool", "BatchNormalization", "Cast", "Clip", "Concat", "Conv",
    "ConvTranspose", "Div", "Dropout", "Equal", "Erf", "Exp", "Expand", "Flatten", "Gather",
    "Gemm", "GlobalAveragePool", "GlobalMaxPool", "Greater", "GreaterOrEqual", "HardSigmoid",
    "HardSwish", "Identity", "LayerNormalization", "LeakyRelu", "Less", "LessOrEqual", "Log",
    "MatMul", "Max", "MaxPool", "Min", "Mul", "Neg", "Not", "PRelu", "Pad", "Pow",
    "Reciprocal", "ReduceMax", "ReduceMean", "ReduceMin", "ReduceSum", "Relu", "Reshape",
    "Resize", "Sigmoid", "Slice", "Softmax", "Split", "Sqrt", "Squeeze", "Sub", "Tanh",
    "Tile", "Transpose", "Unsqueeze", "Where",
};

const std::unordered_set<std::string> kControlFlow = {"If", "Loop", "Scan", "SequenceMap"};

std::string node_label(const onnx::NodeProto& n) {
  return "node '" + n.name() + "' (" + n.op_type() + ")";
}

[[noreturn]] void fail(const std::string& origin, const std::string& what) { throw Error(origin, what); }

std::string first_line(std::string s) {
  if (auto p = s.find('\n'); p != std::string::npos) s.resize(p);
  while (!s.empty() && (s.back() == '\r' || s.back() == ' ')) s.pop_back();
  return s;
}

std::int64_t default_opset(const onnx::ModelProto& model, const std::string& origin) {
  std::int64_t opset = -1;
  for (const auto& o : model.opset_import()) {
    if (o.domain().empty() || o.domain() == "ai.onnx") opset = o.version();
  }
  if (opset < 0) fail(origin, "the model imports no default-domain (ai.onnx) opset");
  if (opset > kMaxOpset) {
    fail(origin, "opset " + std::to_string(opset) + " is newer than " + std::to_string(kMaxOpset) +
                     ", the last one ONNX 1.12's checker knows: re-export the model with opset " +
                     std::to_string(kMaxOpset) + " or lower (e.g. torch.onnx.export(..., opset_version=17))");
  }
  if (opset < kMinOpset) {
    fail(origin, "opset " + std::to_string(opset) + " is older than " + std::to_string(kMinOpset) +
                     ": convert it with onnx.version_converter or re-export with opset 11-17");
  }
  return opset;
}

// Rejects what we cannot run before the checker gets a chance to print something vaguer.
void check_operator_types(const onnx::GraphProto& g, const std::string& origin) {
  static const std::unordered_set<std::string> supported(kSupported.begin(), kSupported.end());
  for (const auto& n : g.node()) {
    if (!n.domain().empty() && n.domain() != "ai.onnx") {
      fail(origin, "unsupported operator '" + n.domain() + ":" + n.op_type() + "' (" + "node '" + n.name() +
                       "'): custom domains are not supported");
    }
    if (kControlFlow.count(n.op_type())) {
      fail(origin, "unsupported operator '" + n.op_type() + "' (node '" + n.name() +
                       "'): control flow is not supported; export a model with static control flow");
    }
    if (!supported.count(n.op_type()) && !detail::is_fold_only_type(n.op_type())) {
      fail(origin, "unsupported operator '" + n.op_type() + "' (node '" + n.name() + "')");
    }
  }
}

// Names every node, finds duplicate and dangling tensors and cycles with our own messages,
// and sorts the nodes topologically (the checker insists on sorted nodes but says only
// that they are not).
void check_structure(onnx::GraphProto& g, const std::string& origin) {
  std::unordered_set<std::string> node_names;
  for (const auto& n : g.node()) {
    if (!n.name().empty() && !node_names.insert(n.name()).second) {
      fail(origin, "duplicate operator name '" + n.name() + "'");
    }
  }
  int counter = 0;
  for (auto& n : *g.mutable_node()) {
    while (n.name().empty()) {
      std::string candidate = n.op_type() + "_" + std::to_string(counter++);
      if (node_names.insert(candidate).second) n.set_name(candidate);
    }
  }
  std::unordered_map<std::string, int> producer;  // -1: graph input or initializer
  for (const auto& init : g.initializer()) {
    if (!producer.emplace(init.name(), -1).second) fail(origin, "duplicate tensor name '" + init.name() + "' (initializer)");
  }
  for (const auto& in : g.input()) producer.emplace(in.name(), -1);  // inputs may repeat initializers
  for (int i = 0; i < g.node_size(); ++i) {
    for (const auto& out : g.node(i).output()) {
      if (out.empty()) continue;
      auto [it, inserted] = producer.emplace(out, i);
      if (!inserted) {
        const std::string other = it->second < 0 ? "a graph input or initializer" : "node '" + g.node(it->second).name() + "'";
        fail(origin, "duplicate tensor name '" + out + "': produced by " + node_label(g.node(i)) + " and by " + other);
      }
    }
  }
  std::vector<std::vector<int>> users(g.node_size());
  std::vector<int> pending(g.node_size(), 0);
  for (int i = 0; i < g.node_size(); ++i) {
    std::set<int> preds;
    for (const auto& in : g.node(i).input()) {
      if (in.empty()) continue;
      auto it = producer.find(in);
      if (it == producer.end()) {
        fail(origin, node_label(g.node(i)) + ": input '" + in + "' is produced by no operator, graph input or initializer");
      }
      if (it->second >= 0) preds.insert(it->second);
    }
    pending[i] = static_cast<int>(preds.size());
    for (int p : preds) users[p].push_back(i);
  }
  std::vector<int> order, ready;
  for (int i = g.node_size(); i-- > 0;) if (pending[i] == 0) ready.push_back(i);
  while (!ready.empty()) {
    int i = ready.back();
    ready.pop_back();
    order.push_back(i);
    for (int u : users[i]) {
      if (--pending[u] == 0) ready.insert(std::upper_bound(ready.begin(), ready.end(), u, std::greater<>()), u);
    }
  }
  if (static_cast<int>(order.size()) != g.node_size()) {
    for (int i = 0; i < g.node_size(); ++i) {
      if (pending[i] > 0) fail(origin, "the graph has a cycle through " + node_label(g.node(i)));
    }
  }
  for (const auto& out : g.output()) {
    if (!producer.count(out.name())) fail(origin, "graph output '" + out.name() + "' is produced by no operator");
  }
  bool sorted = true;
  for (int k = 0; k < static_cast<int>(order.size()); ++k) sorted = sorted && order[k] == k;
  if (!sorted) {
    google::protobuf::RepeatedPtrField<onnx::NodeProto> nodes;
    for (int i : order) *nodes.Add() = g.node(i);
    g.mutable_node()->Swap(&nodes);
  }
}

[[noreturn]] void too_many_operators(const std::string& origin, std::size_t nodes) {
  fail(origin, "has " + std::to_string(nodes) + " operators, more than the limit of " + std::to_string(kMaxOperators));
}

// Refuses a tensor of more than kMaxTensorElements elements (the product saturates, never overflows).
void check_elements(const std::string& origin, const std::string& who, const Shape& shape) {
  std::int64_t n = 1;
  for (const std::int64_t d : shape) {
    if (d <= 0) return;  // empty, or symbolic (checked elsewhere)
    n = d > kMaxTensorElements / n ? kMaxTensorElements + 1 : n * d;
  }
  if (n > kMaxTensorElements) {
    std::string dims;
    for (const std::int64_t d : shape) {
      if (!dims.empty()) dims += 'x';
      dims += std::to_string(d);
    }
    fail(origin, who + " has shape " + dims + ": more than the limit of " + std::to_string(kMaxTensorElements) +
                     " elements per tensor");
  }
}

// A graph input whose declared static dimensions already exceed the limit.
void check_declared_size(const std::string& origin, const onnx::ValueInfoProto& in) {
  if (!in.type().has_tensor_type() || !in.type().tensor_type().has_shape()) return;
  Shape s;
  for (const auto& d : in.type().tensor_type().shape().dim()) {
    if (!d.has_dim_value()) return;
    s.push_back(d.dim_value());
  }
  check_elements(origin, "graph input '" + in.name() + "'", s);
}

std::string describe_dim(const onnx::TensorShapeProto_Dimension& d) {
  if (d.has_dim_param() && !d.dim_param().empty()) return "'" + d.dim_param() + "'";
  return "?";
}

// Binds symbolic input dimensions: whole shapes from --input-shape, else the first
// dimension from --batch. Static dimensions are never overridden: a model exported with a
// fixed batch often has that batch baked into Reshape constants, so changing it would give
// silently wrong shapes.
std::int64_t bind_inputs(onnx::GraphProto& g, const ImportOptions& options, const std::string& origin) {
  std::unordered_set<std::string> initializers;
  for (const auto& init : g.initializer()) initializers.insert(init.name());
  std::set<std::string> inputs;
  for (const auto& in : g.input()) {
    if (!initializers.count(in.name())) inputs.insert(in.name());
  }
  for (const auto& [name, shape] : options.input_shapes) {
    if (!inputs.count(name)) fail(origin, "--input-shape names '" + name + "', which is not an input of the model");
  }
  std::int64_t batch = options.batch.value_or(-1);
  for (auto& in : *g.mutable_input()) {
    if (initializers.count(in.name())) continue;
    const std::string who = "input '" + in.name() + "'";
    if (!in.type().has_tensor_type()) fail(origin, who + " is not a tensor");
    auto* tt = in.mutable_type()->mutable_tensor_type();
    auto bound = options.input_shapes.find(in.name());
    if (bound != options.input_shapes.end()) {
      const Shape& want = bound->second;
      if (tt->has_shape() && tt->shape().dim_size() != static_cast<int>(want.size())) {
        fail(origin, who + " has rank " + std::to_string(tt->shape().dim_size()) + ", but --input-shape gives " +
                         shape_string(want));
      }
      if (!tt->has_shape()) {
        for (std::size_t i = 0; i < want.size(); ++i) tt->mutable_shape()->add_dim();
      }
      for (std::size_t i = 0; i < want.size(); ++i) {
        auto* d = tt->mutable_shape()->mutable_dim(static_cast<int>(i));
        if (d->has_dim_value() && d->dim_value() != want[i]) {
          fail(origin, who + ": dimension " + std::to_string(i) + " is fixed at " + std::to_string(d->dim_value()) +
                           " in the model; --input-shape cannot set it to " + std::to_string(want[i]));
        }
        d->clear_dim_param();
        d->set_dim_value(want[i]);
      }
      if (!want.empty() && batch < 0) batch = want[0];
      continue;
    }
    if (!tt->has_shape()) fail(origin, who + " has no shape: give it with --input-shape " + in.name() + "=...");
    for (int i = 0; i < tt->shape().dim_size(); ++i) {
      auto* d = tt->mutable_shape()->mutable_dim(i);
      if (d->has_dim_value() && d->dim_value() >= 0) {
        if (i == 0 && options.batch && d->dim_value() != *options.batch) {
          fail(origin, who + ": the batch dimension is fixed at " + std::to_string(d->dim_value()) +
                           " in the model; it cannot be bound to --batch " + std::to_string(*options.batch) +
                           " (re-export with a dynamic batch axis)");
        }
        continue;
      }
      if (i == 0 && options.batch) {
        d->clear_dim_param();
        d->set_dim_value(*options.batch);
        continue;
      }
      fail(origin, who + " has unknown dimension " + describe_dim(*d) + " (axis " + std::to_string(i) +
                       "): bind it with " + (i == 0 ? "--batch B or " : "") + "--input-shape " + in.name() + "=...");
    }
    if (batch < 0 && tt->shape().dim_size() > 0) batch = tt->shape().dim(0).dim_value();
  }
  return batch > 0 ? batch : 1;
}

// Identity of a weight (exporters emit it for shared or tied weights) is an alias: its
// consumers read the weight itself, so that they see its parameters and its sparsity.
void bypass_identity_of_weights(onnx::GraphProto& g) {
  std::unordered_set<std::string> weights, outputs;
  for (const auto& init : g.initializer()) weights.insert(init.name());
  for (const auto& o : g.output()) outputs.insert(o.name());
  std::unordered_map<std::string, std::string> alias;
  google::protobuf::RepeatedPtrField<onnx::NodeProto> kept;
  for (auto& n : *g.mutable_node()) {
    if (n.op_type() == "Identity" && n.input_size() == 1 && n.output_size() == 1 && weights.count(n.input(0)) &&
        !outputs.count(n.output(0))) {
      alias[n.output(0)] = n.input(0);
      continue;
    }
    *kept.Add() = std::move(n);
  }
  for (auto& n : kept) {
    for (auto& in : *n.mutable_input()) {
      if (auto it = alias.find(in); it != alias.end()) in = it->second;
    }
  }
  g.mutable_node()->Swap(&kept);  // every node was moved into `kept`
}

TypeMap collect_types(const onnx::GraphProto& g) {
  TypeMap types;
  for (const auto& v : g.input()) types[v.name()] = &v.type();
  for (const auto& v : g.value_info()) types[v.name()] = &v.type();
  for (const auto& v : g.output()) types[v.name()] = &v.type();
  return types;
}

void infer_shapes(onnx::ModelProto& model, const std::string& origin) {
  detail::install_onnx_inference_guards();
  try {
    // No data propagation: our folding loop computes the same values once shapes are bound,
    // and ONNX 1.12's propagation crashes on some inputs (a Slice with step INT64_MAX).
    onnx::ShapeInferenceOptions options(/*check_type=*/true, /*error_mode=*/1, /*data_prop=*/false);
    onnx::shape_inference::InferShapes(model, onnx::OpSchemaRegistry::Instance(), options);
  } catch (const std::exception& e) {
    fail(origin, "shape inference failed: " + first_line(e.what()));
  }
}

// Where the weights of a model come from: the bytes given to the importer, and what keeps
// them alive (the file mapping) when the graph may point into them.
// Weights smaller than this are parsed as usual: copying them costs less than the bookkeeping.
constexpr std::size_t kStripMinBytes = 4096;

struct Source {
  std::string_view bytes;
  std::shared_ptr<const void> keepalive;
  std::filesystem::path model_dir;  // where external data lives; empty for in-memory bytes
};

// A read-only mapping of a whole file, unmapped when the last view into it goes.
struct MappedFile {
  std::shared_ptr<const void> keepalive;
  std::string_view bytes;
};

MappedFile map_file(const std::filesystem::path& path, const std::string& who) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) fail(who, std::string("cannot open: ") + std::strerror(errno));
  struct stat st {};
  if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    ::close(fd);
    fail(who, "cannot read (not a regular file?)");
  }
  const auto size = static_cast<std::size_t>(st.st_size);
  void* map = size ? ::mmap(nullptr, size, PROT_READ, MAP_PRIVATE | MAP_POPULATE, fd, 0) : nullptr;
  ::close(fd);
  if (map == MAP_FAILED) fail(who, std::string("cannot map the file: ") + std::strerror(errno));
  // Files are replaced by rename, as the zoo and our writers do, never rewritten in place.
  std::shared_ptr<const void> keepalive(map, [size](const void* p) {
    if (p) ::munmap(const_cast<void*>(p), size);
  });
  return {std::move(keepalive), std::string_view(static_cast<const char*>(map), size)};
}

struct ExternalRef {
  std::string location;
  std::optional<std::uint64_t> offset, length;
};

// External data (models over 2 GiB, or saved so): a file beside the model, never outside
// the model's folder, mapped and viewed like the model's own bytes.
std::shared_ptr<const TensorData> external_data(const ExternalRef& ref, const Tensor& meta, const std::string& origin,
                                                const Source& source, std::map<std::string, MappedFile>& files) {
  const std::string who = "initializer '" + meta.name + "'";
  if (source.model_dir.empty()) {
    fail(origin, who + " uses external data, which needs the model's file (not bytes in memory)");
  }
  const std::string& location = ref.location;
  const std::filesystem::path loc(location);
  bool escapes = location.empty() || loc.is_absolute();
  for (const auto& part : loc) escapes = escapes || part == "..";
  std::error_code ec;
  const auto base = std::filesystem::weakly_canonical(source.model_dir, ec);
  const auto full = std::filesystem::weakly_canonical(source.model_dir / loc, ec);
  // A symbolic link may still lead elsewhere: the resolved path must stay in the folder.
  escapes = escapes || ec || std::mismatch(base.begin(), base.end(), full.begin(), full.end()).first != base.end();
  if (escapes) fail(origin, who + ": external data location '" + location + "' is not a file inside the model's folder");
  auto it = files.find(full.string());
  if (it == files.end()) {
    it = files.emplace(full.string(), map_file(full, origin + ": " + who + ": external data '" + location + "'")).first;
  }
  const std::string_view file = it->second.bytes;
  const auto expected = static_cast<std::uint64_t>(meta.size_bytes());
  const std::uint64_t start = ref.offset.value_or(0);
  const std::uint64_t size = ref.length.value_or(start <= file.size() ? file.size() - start : 0);
  if (size != expected) {
    fail(origin, who + ": external data holds " + std::to_string(size) + " bytes, its shape " + shape_string(meta.shape) +
                     " needs " + std::to_string(expected));
  }
  if (start > file.size() || size > file.size() - start) {
    fail(origin, who + ": external data runs past the end of '" + location + "' (" + std::to_string(file.size()) +
                     " bytes)");
  }
  return std::make_shared<TensorData>(it->second.keepalive, file.substr(start, size));
}

// Resolves every external-data initializer now. Small ones become ordinary inline data
// (shape computations read them); large ones keep a one-byte placeholder in the message,
// as the wire walk does, and their data is returned by name. Either way ONNX 1.12's checker
// never looks for the files itself (it would look relative to the current directory).
std::map<std::string, std::shared_ptr<const TensorData>> resolve_external_data(
    onnx::GraphProto& g, const std::string& origin, const Source& source, std::map<std::string, MappedFile>& files) {
  std::map<std::string, std::shared_ptr<const TensorData>> large;
  for (auto& t : *g.mutable_initializer()) {
    if (t.data_location() != onnx::TensorProto::EXTERNAL) continue;
    const std::string who = "initializer '" + t.name() + "'";
    ExternalRef ref;
    for (const auto& entry : t.external_data()) {
      auto number = [&](const std::string& text) {
        std::uint64_t v = 0;
        auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
        if (ec != std::errc() || ptr != text.data() + text.size()) {
          fail(origin, who + ": external data " + entry.key() + " '" + text + "' is not a number");
        }
        return v;
      };
      if (entry.key() == "location") ref.location = entry.value();
      else if (entry.key() == "offset") ref.offset = number(entry.value());
      else if (entry.key() == "length") ref.length = number(entry.value());
    }
    Tensor meta{t.name(), static_cast<DType>(t.data_type()), Shape(t.dims().begin(), t.dims().end()),
                TensorRole::weight, nullptr};
    for (auto d : meta.shape) {
      if (d < 0) fail(origin, who + " has a negative dimension");
    }
    if (dtype_size(meta.dtype) == 0) fail(origin, who + " has unsupported element type " + std::to_string(t.data_type()));
    auto data = external_data(ref, meta, origin, source, files);
    t.clear_external_data();
    t.clear_data_location();
    if (data->bytes().size() < kStripMinBytes) {
      t.set_raw_data(std::string(data->bytes()));
    } else {
      t.set_raw_data(std::string("\0", 1));
      large[t.name()] = std::move(data);
    }
  }
  return large;
}

// Raw little-endian bytes of an initializer, whatever field the exporter used.
std::string tensor_bytes(onnx::TensorProto& t, const Tensor& meta, const std::string& origin);

// The initializer's data: a view into the source when the wire walk took it out (no copy
// when the source is a mapped file), else its bytes from the parsed message.
std::shared_ptr<const TensorData> tensor_data(onnx::TensorProto& t, const Tensor& meta, const std::string& origin,
                                              const std::optional<detail::RawSlice>& slice, const Source& source) {
  if (!slice) return std::make_shared<TensorData>(tensor_bytes(t, meta, origin));
  const auto expected = static_cast<std::size_t>(meta.size_bytes());
  if (slice->size != expected) {
    fail(origin, "initializer '" + t.name() + "': raw data holds " + std::to_string(slice->size) + " bytes, its shape " +
                     shape_string(meta.shape) + " needs " + std::to_string(expected));
  }
  const std::string_view view = source.bytes.substr(slice->offset, slice->size);
  // Protobuf does not align raw_data: a view whose start is not a multiple of the element
  // size would make every kernel's typed load undefined behaviour (and slow on some boards),
  // so such a tensor is copied into memory of its own (allocated with the usual alignment).
  const std::size_t width = std::max<std::size_t>(1, dtype_size(meta.dtype));
  const bool aligned = reinterpret_cast<std::uintptr_t>(view.data()) % width == 0;
  if (source.keepalive && aligned) return std::make_shared<TensorData>(source.keepalive, view);
  return std::make_shared<TensorData>(std::string(view));
}

std::string tensor_bytes(onnx::TensorProto& t, const Tensor& meta, const std::string& origin) {
  const std::string who = "initializer '" + t.name() + "'";
  const std::size_t width = dtype_size(meta.dtype);
  if (meta.dtype == DType::string) return {};
  if (width == 0) fail(origin, who + " has unsupported element type " + std::to_string(t.data_type()));
  const std::int64_t n = meta.elements();
  const auto expected = static_cast<std::size_t>(meta.size_bytes());  // throws on overflow
  if (t.has_raw_data()) {
    if (t.raw_data().size() != expected) {
      fail(origin, who + ": raw data holds " + std::to_string(t.raw_data().size()) + " bytes, its shape " +
                       shape_string(meta.shape) + " needs " + std::to_string(expected));
    }
    return std::move(*t.mutable_raw_data());
  }
  auto check = [&](int have) {
    if (have != n) {
      fail(origin, who + ": holds " + std::to_string(have) + " values, its shape " + shape_string(meta.shape) +
                       " needs " + std::to_string(n));
    }
  };
  // The value count is checked before anything is allocated: a tiny file must not be able
  // to make us allocate what its dimensions claim.
  switch (meta.dtype) {
    case DType::f32: check(t.float_data_size()); break;
    case DType::f64: check(t.double_data_size()); break;
    case DType::i64: check(t.int64_data_size()); break;
    case DType::u64: case DType::u32: check(t.uint64_data_size()); break;
    default: check(t.int32_data_size()); break;
  }
  std::string out(expected, '\0');
  if (expected == 0) return out;  // an empty repeated field's data() may be null: no memcpy
  char* dst = out.data();
  switch (meta.dtype) {
    case DType::f32: check(t.float_data_size()); std::memcpy(dst, t.float_data().data(), expected); break;
    case DType::f64: check(t.double_data_size()); std::memcpy(dst, t.double_data().data(), expected); break;
    case DType::i64: check(t.int64_data_size()); std::memcpy(dst, t.int64_data().data(), expected); break;
    case DType::u64: check(t.uint64_data_size()); std::memcpy(dst, t.uint64_data().data(), expected); break;
    case DType::u32:
      check(t.uint64_data_size());
      for (std::int64_t i = 0; i < n; ++i) {
        auto v = static_cast<std::uint32_t>(t.uint64_data(static_cast<int>(i)));
        std::memcpy(dst + i * 4, &v, 4);
      }
      break;
    default:  // int32, int16, int8, uint16, uint8, bool, float16, bfloat16 travel in int32_data
      check(t.int32_data_size());
      for (std::int64_t i = 0; i < n; ++i) {
        auto v = static_cast<std::uint32_t>(t.int32_data(static_cast<int>(i)));
        std::memcpy(dst + i * width, &v, width);  // little-endian: the low bytes
      }
      break;
  }
  return out;
}

Shape shape_of(const onnx::TypeProto* type) {
  Shape s;
  for (const auto& d : type->tensor_type().shape().dim()) s.push_back(d.has_dim_value() ? d.dim_value() : -1);
  return s;
}

AttributeValue convert_attribute(const onnx::AttributeProto& a, const std::string& origin, const onnx::NodeProto& n) {
  using A = onnx::AttributeProto;
  switch (a.type()) {
    case A::INT: return a.i();
    case A::FLOAT: return static_cast<double>(a.f());
    case A::STRING: return a.s();
    case A::INTS: return std::vector<std::int64_t>(a.ints().begin(), a.ints().end());
    case A::FLOATS: return std::vector<double>(a.floats().begin(), a.floats().end());
    case A::STRINGS: return std::vector<std::string>(a.strings().begin(), a.strings().end());
    default:
      fail(origin, node_label(n) + ": attribute '" + a.name() + "' has a type we do not support (graph or tensor)");
  }
}

// Attribute values that change what an operator computes and that we do not model.
void check_attributes(const Operator& op, const std::string& origin) {
  const std::string who = "node '" + op.name + "' (" + op.type + ")";
  if (op.type == "Resize") {
    const std::string mode = op.attr_string("mode", "nearest");
    if (mode != "nearest" && mode != "linear") {
      fail(origin, who + ": Resize mode '" + mode + "' is not supported (nearest, linear)");
    }
  }
  if (op.type == "Pad") {
    const std::string mode = op.attr_string("mode", "constant");
    if (mode != "constant" && mode != "reflect" && mode != "edge") fail(origin, who + ": Pad mode '" + mode + "' is not supported");
  }
}

Graph import_model(const Source& source, const std::string& origin, const ImportOptions& options);
Graph with_origin(const std::string& origin, const std::function<Graph()>& import);

}  // namespace

const std::vector<std::string>& supported_operator_types() { return kSupported; }
const std::vector<std::string>& folded_operator_types() { return detail::fold_only_types(); }

std::pair<std::string, Shape> parse_input_shape(std::string_view arg) {
  const auto eq = arg.rfind('=');
  const std::string where = "--input-shape '" + std::string(arg) + "'";
  if (eq == std::string_view::npos || eq == 0 || eq + 1 == arg.size()) {
    throw Error(where, "expected NAME=DIMxDIMx... (e.g. input=1x3x224x224)");
  }
  Shape shape;
  std::string_view dims = arg.substr(eq + 1);
  while (!dims.empty()) {
    const auto x = dims.find('x');
    std::string_view token = dims.substr(0, x);
    std::int64_t value = 0;
    auto [ptr, ec] = std::from_chars(token.data(), token.data() + token.size(), value);
    if (ec != std::errc() || ptr != token.data() + token.size() || value <= 0) {
      throw Error(where, "dimension '" + std::string(token) + "' is not a positive integer");
    }
    shape.push_back(value);
    if (x == std::string_view::npos) break;
    dims.remove_prefix(x + 1);
    if (dims.empty()) throw Error(where, "trailing 'x'");
  }
  return {std::string(arg.substr(0, eq)), shape};
}

Graph import_onnx(const std::filesystem::path& path, const ImportOptions& options) {
  const std::string origin = path.string();
  std::error_code ec;
  if (!std::filesystem::is_regular_file(path, ec)) fail(origin, "no such file (or not a regular file)");
  // The file is mapped, not read: large models (VGG-16: 553 MB) then cost no copy before
  // protobuf's own, and large weights of the graph point into the mapping, which lives as
  // long as they do.
  const MappedFile file = map_file(path, origin);
  if (file.bytes.size() > static_cast<std::size_t>(INT_MAX)) {
    fail(origin, "larger than 2 GiB, which protobuf cannot parse; save the model with external data");
  }
  std::filesystem::path dir = path.parent_path();
  if (dir.empty()) dir = ".";
  Graph g = with_origin(origin, [&] { return import_model(Source{file.bytes, file.keepalive, dir}, origin, options); });
  g.source_path = origin;
  return g;
}

namespace {

// Errors raised below the importer (graph, tensor sizes) are about this file too.
Graph with_origin(const std::string& origin, const std::function<Graph()>& import) {
  try {
    return import();
  } catch (const Error& e) {
    if (std::string_view(e.what()).rfind(origin, 0) == 0) throw;
    throw Error(origin, e.what());
  }
}

}  // namespace

Graph import_onnx_bytes(std::string_view bytes, const std::string& origin, const ImportOptions& options) {
  return with_origin(origin, [&] { return import_model(Source{bytes, nullptr, {}}, origin, options); });
}

namespace {


Graph import_model(const Source& source, const std::string& origin, const ImportOptions& options) {
  const std::string_view bytes = source.bytes;
  if (bytes.size() > static_cast<std::size_t>(INT_MAX)) {
    fail(origin, "larger than 2 GiB, which protobuf cannot parse; save the model with external data");
  }
  // Hashing a large model costs as much as the rest of the import together: do it beside.
  // (A detached thread could outlive `bytes` on an early error; the future's destructor waits.)
  // A small one is hashed here, when the hash is asked for: starting a thread costs more than
  // hashing 64 KiB, and under ASan each thread leaves about 190 bytes of bookkeeping behind,
  // which pushed an hour of fuzzing past its 2 GiB bound.
  constexpr std::size_t kHashBesideMinBytes = 64 << 10;
  const auto policy = bytes.size() >= kHashBesideMinBytes ? std::launch::async : std::launch::deferred;
  std::future<std::string> hash = std::async(policy, [bytes] { return sha256_hex(bytes); });
  const std::optional<detail::StrippedModel> stripped = detail::strip_initializer_data(bytes, kStripMinBytes);
  if (stripped && stripped->nodes > kMaxOperators) too_many_operators(origin, stripped->nodes);
  const std::string_view to_parse = stripped ? std::string_view(stripped->bytes) : bytes;
  onnx::ModelProto model;
  {
    google::protobuf::io::ArrayInputStream raw(to_parse.data(), static_cast<int>(std::min<std::size_t>(to_parse.size(), INT_MAX)));
    google::protobuf::io::CodedInputStream coded(&raw);
    coded.SetTotalBytesLimit(INT_MAX);
    if (to_parse.empty() || !model.ParseFromCodedStream(&coded) || !coded.ConsumedEntireMessage()) {
      fail(origin, "not an ONNX model: the protobuf does not parse (garbage or truncated file)");
    }
  }
  if (!model.has_graph()) fail(origin, "not an ONNX model: it has no graph");
  // (A model the wire walk could not read was not counted above.)
  if (static_cast<std::size_t>(model.graph().node_size()) > kMaxOperators) {
    too_many_operators(origin, static_cast<std::size_t>(model.graph().node_size()));
  }
  for (const auto& in : model.graph().input()) check_declared_size(origin, in);
  const std::int64_t opset = default_opset(model, origin);
  onnx::GraphProto& gp = *model.mutable_graph();
  std::map<std::string, MappedFile> external_files;
  const auto external = resolve_external_data(gp, origin, source, external_files);
  check_operator_types(gp, origin);
  check_structure(gp, origin);
  try {
    onnx::checker::check_model(model);
  } catch (const std::exception& e) {
    fail(origin, "fails the ONNX checker: " + first_line(e.what()));
  }

  Graph g;
  g.name = gp.name().empty() ? std::filesystem::path(origin).stem().string() : gp.name();
  g.opset = opset;
  g.batch = bind_inputs(gp, options, origin);

  // Shapes and folding alternate: folding a Shape node can make a Reshape's target static,
  // which makes more shapes known, which lets more Shape nodes fold.
  detail::FoldState fold_state = detail::initial_fold_state(gp);
  for (int round = 0;; ++round) {
    infer_shapes(model, origin);
    if (detail::fold_constants(gp, collect_types(gp), origin, fold_state) == 0) break;
    if (round == 64) {  // each round removes nodes, so this only bounds pathological chains
      infer_shapes(model, origin);
      break;
    }
  }
  bypass_identity_of_weights(gp);
  std::unordered_set<std::string> graph_outputs;
  for (const auto& o : gp.output()) graph_outputs.insert(o.name());
  for (const auto& n : gp.node()) {
    if (!detail::is_fold_only_type(n.op_type())) continue;
    std::unordered_set<std::string> constants;
    for (const auto& init : gp.initializer()) constants.insert(init.name());
    const bool static_inputs =
        n.op_type() == "Shape" || n.op_type() == "Size" ||
        std::all_of(n.input().begin(), n.input().end(), [&](const std::string& i) { return i.empty() || constants.count(i); });
    for (const auto& out : n.output()) {
      if (static_inputs && graph_outputs.count(out)) {
        fail(origin, node_label(n) + " computes graph output '" + out +
                         "', which is a constant or depends only on shapes: no operator would be left to run it");
      }
    }
    fail(origin, node_label(n) + " computes on run-time values; it is supported only when its inputs are "
                                 "static (bind the input shapes with --batch or --input-shape)");
  }

  // Tensors: inputs, then weights, then activations in node order.
  const TypeMap types = collect_types(gp);
  std::unordered_set<std::string> initializer_names;
  for (const auto& init : gp.initializer()) initializer_names.insert(init.name());
  for (const auto& in : gp.input()) {
    if (initializer_names.count(in.name())) continue;
    Tensor t{in.name(), static_cast<DType>(in.type().tensor_type().elem_type()), shape_of(&in.type()),
             TensorRole::input, nullptr};
    check_elements(origin, "graph input '" + t.name + "'", t.shape);  // with the batch bound
    g.add_tensor(std::move(t));
  }
  static const std::optional<detail::RawSlice> kNotStripped;
  for (int k = 0; k < gp.initializer_size(); ++k) {
    onnx::TensorProto& init = *gp.mutable_initializer(k);
    // Folding appends initializers, so the first ones are the file's, in the file's order.
    const auto& slice = stripped && k < static_cast<int>(stripped->initializer_data.size())
                            ? stripped->initializer_data[static_cast<std::size_t>(k)]
                            : kNotStripped;
    Tensor t{init.name(), static_cast<DType>(init.data_type()), Shape(init.dims().begin(), init.dims().end()),
             TensorRole::weight, nullptr};
    t.derived = fold_state.derived.count(init.name()) != 0;
    for (auto d : t.shape) {
      if (d < 0) fail(origin, "initializer '" + t.name + "' has a negative dimension");
    }
    check_elements(origin, "initializer '" + t.name + "'", t.shape);
    const auto ext = external.find(init.name());
    t.data = ext != external.end() ? ext->second : tensor_data(init, t, origin, slice, source);
    g.add_tensor(std::move(t));
  }
  for (const auto& n : gp.node()) {
    for (const auto& out : n.output()) {
      if (out.empty()) continue;
      auto it = types.find(out);
      const std::string who = "tensor '" + out + "' (output of " + node_label(n) + ")";
      if (it == types.end() || !it->second->has_tensor_type() || !it->second->tensor_type().has_shape()) {
        fail(origin, who + " has no inferred shape: bind the input shapes with --batch or --input-shape");
      }
      Shape s = shape_of(it->second);
      for (std::size_t i = 0; i < s.size(); ++i) {
        if (s[i] < 0) {
          fail(origin, who + " has unknown dimension " + describe_dim(it->second->tensor_type().shape().dim(static_cast<int>(i))) +
                           " (axis " + std::to_string(i) + ") after shape inference: bind the input shapes with --batch or --input-shape");
        }
      }
      check_elements(origin, who, s);
      g.add_tensor(Tensor{out, static_cast<DType>(it->second->tensor_type().elem_type()), std::move(s),
                          TensorRole::activation, nullptr});
    }
  }
  for (const auto& n : gp.node()) {
    Operator op;
    op.name = n.name();
    op.type = n.op_type();
    op.inputs.assign(n.input().begin(), n.input().end());
    op.outputs.assign(n.output().begin(), n.output().end());
    for (const auto& a : n.attribute()) op.attributes.emplace(a.name(), convert_attribute(a, origin, n));
    check_attributes(op, origin);
    g.add_operator(std::move(op));
  }
  std::vector<std::string> outputs;
  for (const auto& o : gp.output()) outputs.push_back(o.name());
  g.set_outputs(std::move(outputs));
  try {
    g.finalize();
  } catch (const Error& e) {
    fail(origin, e.what());
  }
  compute_features(g, options.count_weight_zeros);
  g.model_sha256 = hash.get();
  return g;
}

}  // namespace
}  // namespace sparoa::graph

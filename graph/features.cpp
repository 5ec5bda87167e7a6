#include "graph/features.hpp"

#include <algorithm>
#include <cstring>
#include <set>
#include <unordered_map>

#include "graph/graph.hpp"
#include "support/error.hpp"

namespace sparoa::graph {
namespace {

// Operations per output element for operators without multiply-accumulates (README's table).
// Data movement (Reshape, Concat, Gather, Transpose, Pad, Cast, ...) counts 0.
const std::unordered_map<std::string, double>& per_element_ops() {
  static const std::unordered_map<std::string, double> k{
      {"Relu", 1}, {"Neg", 1}, {"Abs", 1}, {"Reciprocal", 1}, {"Sqrt", 1}, {"Exp", 1}, {"Log", 1},
      {"Erf", 1}, {"Tanh", 1}, {"Sigmoid", 1}, {"Not", 1},
      {"Add", 1}, {"Sub", 1}, {"Mul", 1}, {"Div", 1}, {"Pow", 1}, {"Max", 1}, {"Min", 1},
      {"Equal", 1}, {"Greater", 1}, {"Less", 1}, {"GreaterOrEqual", 1}, {"LessOrEqual", 1}, {"Where", 1},
      {"Clip", 2}, {"LeakyRelu", 2}, {"PRelu", 2}, {"HardSigmoid", 3}, {"HardSwish", 4},
      {"BatchNormalization", 2},  // inference: one scale and one shift per element
      {"LayerNormalization", 8},  // mean, centre, square, sum, rsqrt-scale, gamma, beta
      {"Softmax", 5},             // max, subtract, exp, sum, divide
  };
  return k;
}

bool is_float(DType t) { return t == DType::f32 || t == DType::f16 || t == DType::bf16 || t == DType::f64; }

bool is_weight(const Graph& g, const std::string& name) {
  if (name.empty()) return false;
  const Tensor* t = g.find_tensor(name);
  return t && t->role == TensorRole::weight;
}

std::int64_t count_zeros(const Tensor& t) {
  if (!t.data) return 0;
  const std::string_view b = t.data->bytes();
  const std::int64_t n = t.elements();
  if (b.size() < static_cast<std::size_t>(t.size_bytes())) {
    throw Error("tensor '" + t.name + "'", "holds fewer bytes than its shape " + shape_string(t.shape) + " needs");
  }
  std::int64_t zeros = 0;
  switch (t.dtype) {
    case DType::f32:
      for (std::int64_t i = 0; i < n; ++i) {
        float x;
        std::memcpy(&x, b.data() + i * 4, 4);
        zeros += x == 0.0f;
      }
      break;
    case DType::f64:
      for (std::int64_t i = 0; i < n; ++i) {
        double x;
        std::memcpy(&x, b.data() + i * 8, 8);
        zeros += x == 0.0;
      }
      break;
    case DType::f16: case DType::bf16:
      for (std::int64_t i = 0; i < n; ++i) {
        std::uint16_t x;
        std::memcpy(&x, b.data() + i * 2, 2);
        zeros += (x & 0x7fff) == 0;  // +0 and -0
      }
      break;
    default:
      break;
  }
  return zeros;
}

// Inputs that hold trainable parameters, and which of them is the "main" weight whose
// sparsity a sparse kernel can exploit.
struct WeightRoles {
  std::vector<std::size_t> params;
  std::optional<std::size_t> main;
};

WeightRoles weight_roles(const Graph& g, const Operator& op) {
  WeightRoles r;
  auto add_if_weight = [&](std::size_t i, bool allow_scalar) {
    if (i >= op.inputs.size() || !is_weight(g, op.inputs[i])) return false;
    const Tensor& t = g.tensor(op.inputs[i]);
    if (!is_float(t.dtype) || t.derived || (!allow_scalar && t.elements() <= 1)) return false;
    r.params.push_back(i);
    return true;
  };
  const std::string& type = op.type;
  if (type == "Conv" || type == "ConvTranspose") {
    if (add_if_weight(1, true)) r.main = 1;
    add_if_weight(2, true);
  } else if (type == "Gemm" || type == "MatMul") {
    if (add_if_weight(1, true)) r.main = 1;
    if (add_if_weight(0, true) && !r.main) r.main = 0;
    if (type == "Gemm") add_if_weight(2, true);
  } else if (type == "Gather") {
    if (add_if_weight(0, true)) r.main = 0;  // embedding table
  } else if (type == "BatchNormalization" || type == "LayerNormalization") {
    add_if_weight(1, true);  // scale
    add_if_weight(2, true);  // shift; BatchNormalization's running mean and variance are not trained
  } else if (type == "PRelu") {
    add_if_weight(1, true);
  } else if (type == "Expand" || type == "Tile" || type == "Transpose" || type == "Cast" || type == "Reshape" ||
             type == "Squeeze" || type == "Unsqueeze" || type == "Flatten") {
    // A parameter that reaches its consumer through data movement (a broadcast class token,
    // a weight transposed or cast at run time): counted where it is read.
    add_if_weight(0, false);
  } else if (type == "Add" || type == "Sub" || type == "Mul" || type == "Div" || type == "Concat") {
    // Biases, position embeddings, a class token, decomposed LayerNorm's gamma and beta;
    // scalar constants (epsilon, 1/sqrt(d), GELU's 0.5) are not parameters.
    for (std::size_t i = 0; i < op.inputs.size(); ++i) add_if_weight(i, false);
  }
  return r;
}

double macs_of(const Graph& g, const Operator& op) {
  auto shape = [&](std::size_t i) -> const Shape& { return g.tensor(op.inputs.at(i)).shape; };
  const Shape& out = g.tensor(op.outputs.at(0)).shape;
  const std::string& type = op.type;
  auto fail = [&](const std::string& what) -> double { throw Error("node '" + op.name + "' (" + type + ")", what); };
  if (type == "Conv") {
    const Shape& w = shape(1);  // [Cout, Cin/group, k...]
    if (w.size() < 3 || out.size() != w.size()) return fail("weight and output ranks do not match a convolution");
    double m = static_cast<double>(element_count(out));
    for (std::size_t i = 1; i < w.size(); ++i) m *= static_cast<double>(w[i]);
    return m;
  }
  if (type == "ConvTranspose") {
    const Shape& x = shape(0);
    const Shape& w = shape(1);  // [Cin, Cout/group, k...]
    if (w.size() < 3 || x.size() != w.size()) return fail("weight and input ranks do not match a convolution");
    double m = static_cast<double>(element_count(x));
    for (std::size_t i = 1; i < w.size(); ++i) m *= static_cast<double>(w[i]);
    return m;
  }
  if (type == "Gemm") {
    const Shape& a = shape(0);
    if (a.size() != 2) return fail("A must be a matrix");
    const std::int64_t k = op.attr_int("transA", 0) ? a[0] : a[1];
    return static_cast<double>(element_count(out)) * static_cast<double>(k);
  }
  if (type == "MatMul") {
    const Shape& a = shape(0);
    if (a.empty()) return fail("A must not be a scalar");
    return static_cast<double>(element_count(out)) * static_cast<double>(a.back());
  }
  return 0;
}

double other_flops(const Graph& g, const Operator& op) {
  const std::string& type = op.type;
  const Shape& out = g.tensor(op.outputs.at(0)).shape;
  const double out_elems = static_cast<double>(element_count(out));
  const double in_elems = static_cast<double>(g.tensor(op.inputs.at(0)).elements());
  if (auto it = per_element_ops().find(type); it != per_element_ops().end()) return it->second * out_elems;
  if (type == "ReduceSum" || type == "ReduceMax" || type == "ReduceMin") return in_elems;
  if (type == "ReduceMean") return in_elems + out_elems;
  if (type == "GlobalAveragePool" || type == "GlobalMaxPool") return in_elems;
  if (type == "MaxPool" || type == "AveragePool") {
    double window = 1;
    for (auto k : op.attr_ints("kernel_shape", {})) window *= static_cast<double>(k);
    return out_elems * window;
  }
  if (type == "Resize" && op.attr_string("mode", "nearest") == "linear") {
    // One lerp (2 operations) per interpolated spatial axis and output element.
    return out_elems * 2.0 * static_cast<double>(std::max<std::size_t>(out.size(), 2) - 2);
  }
  return 0;
}

}  // namespace

std::string_view provenance_name(SparsityProvenance p) {
  switch (p) {
    case SparsityProvenance::measured: return "measured";
    case SparsityProvenance::synthetic: return "synthetic";
    case SparsityProvenance::unknown: break;
  }
  return "unknown";
}

double rho(const Features& f, RhoSource source) {
  const double act = f.activation_sparsity.value_or(0.0);
  switch (source) {
    case RhoSource::weight: return f.weight_sparsity;
    case RhoSource::activation: return act;
    case RhoSource::max: return std::max(f.weight_sparsity, act);
    case RhoSource::default_rule: break;
  }
  return f.has_weights() ? f.weight_sparsity : act;
}

std::string_view quadrant_name(Quadrant q) {
  switch (q) {
    case Quadrant::sparse_low_intensity: return "sparse/low-I";
    case Quadrant::sparse_high_intensity: return "sparse/high-I";
    case Quadrant::dense_low_intensity: return "dense/low-I";
    case Quadrant::dense_high_intensity: return "dense/high-I";
  }
  return "?";
}

Quadrant quadrant(const Features& f, const Thresholds& t, RhoSource source) {
  const bool sparse = rho(f, source) >= t.rho;
  const bool high = f.intensity >= t.intensity;
  if (sparse) return high ? Quadrant::sparse_high_intensity : Quadrant::sparse_low_intensity;
  return high ? Quadrant::dense_high_intensity : Quadrant::dense_low_intensity;
}

void compute_features(Graph& g, bool count_weight_zeros) {
  for (Operator& op : g.operators()) {
    Features f;
    f.activation_sparsity = op.features.activation_sparsity;
    f.activation_provenance = op.features.activation_provenance;
    std::set<std::string> seen;
    for (const auto& name : op.inputs) {
      if (!name.empty() && seen.insert(name).second) f.bytes += static_cast<double>(g.tensor(name).size_bytes());
    }
    for (const auto& name : op.outputs) {
      if (!name.empty()) f.bytes += static_cast<double>(g.tensor(name).size_bytes());
    }
    f.macs = macs_of(g, op);
    f.flops = f.macs > 0 ? 2 * f.macs : other_flops(g, op);
    f.intensity = f.bytes > 0 ? f.flops / f.bytes : 0;
    const WeightRoles roles = weight_roles(g, op);
    for (std::size_t i : roles.params) f.params += g.tensor(op.inputs[i]).elements();
    if (roles.main) {
      const Tensor& w = g.tensor(op.inputs[*roles.main]);
      f.weight_elements = w.elements();
      f.weight_zeros = count_weight_zeros ? count_zeros(w) : 0;
      f.weight_sparsity = f.weight_elements ? double(f.weight_zeros) / double(f.weight_elements) : 0;
    }
    op.features = f;
  }
}

GraphTotals totals(const Graph& g) {
  GraphTotals t;
  // A weight shared by two operators (tied embeddings) is one set of parameters.
  std::set<std::string> counted;
  for (const Operator& op : g.operators()) {
    const Features& f = op.features;
    t.macs += f.macs;
    t.flops += f.flops;
    t.bytes += f.bytes;
    t.weight_elements += f.weight_elements;
    t.weight_zeros += f.weight_zeros;
    ++t.operators;
    for (std::size_t i : weight_roles(g, op).params) {
      if (counted.insert(op.inputs[i]).second) t.params += g.tensor(op.inputs[i]).elements();
    }
  }
  return t;
}

}  // namespace sparoa::graph

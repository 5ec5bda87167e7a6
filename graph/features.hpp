#pragma once
// Per-operator features at the graph's batch size: the numbers every policy, the cost model
// and the simulator consume. Counting rules are documented in graph/README.md.
#include <cstdint>
#include <optional>
#include <string_view>

namespace sparoa::graph {

class Graph;

enum class SparsityProvenance { unknown, synthetic, measured };
std::string_view provenance_name(SparsityProvenance p);

struct Features {
  double macs = 0;          // multiply-accumulates (Conv, ConvTranspose, Gemm, MatMul only)
  double flops = 0;         // 2 x macs for those, per-element rules for the rest
  double bytes = 0;         // inputs + weights + outputs, each once
  double intensity = 0;     // flops / bytes
  std::int64_t params = 0;  // trainable parameters held by this operator's weights
  std::int64_t weight_elements = 0;  // elements of the weights whose sparsity is counted
  std::int64_t weight_zeros = 0;     // exact zeros among them
  double weight_sparsity = 0;        // weight_zeros / weight_elements (0 without weights)
  std::optional<double> activation_sparsity;  // fraction of zeros in input activations
  SparsityProvenance activation_provenance = SparsityProvenance::unknown;

  bool has_weights() const { return weight_elements > 0; }
};

// Which sparsity a policy compares with its threshold (DESIGN.md: rho_source).
enum class RhoSource { default_rule, weight, activation, max };
// default_rule: weight sparsity for operators with weights, activation sparsity (0 when
// unknown) for those without.
double rho(const Features& f, RhoSource source = RhoSource::default_rule);

// Quadrants of the (rho, intensity) plane for thresholds (rho*, I*). An operator is
// "sparse" when rho >= rho*, "high intensity" when intensity >= I*.
enum class Quadrant {
  sparse_low_intensity,   // SparOA: CPU sparse kernel
  sparse_high_intensity,  // mixed
  dense_low_intensity,    // mixed
  dense_high_intensity,   // SparOA: GPU dense kernel
};
std::string_view quadrant_name(Quadrant q);
struct Thresholds {
  double rho = 0.5;        // sparsity threshold rho*
  double intensity = 10;   // FLOPs per byte, I*
};
Quadrant quadrant(const Features& f, const Thresholds& t, RhoSource source = RhoSource::default_rule);

// Fills Operator::features for every operator of `g` (shapes must be static). Counting
// zeros reads every weight once; it can be turned off where only shapes matter.
void compute_features(Graph& g, bool count_weight_zeros = true);

struct GraphTotals {
  double macs = 0, flops = 0, bytes = 0;
  std::int64_t params = 0, weight_elements = 0, weight_zeros = 0;
  std::size_t operators = 0;
  double weight_sparsity() const { return weight_elements ? double(weight_zeros) / double(weight_elements) : 0; }
};
GraphTotals totals(const Graph& g);

}  // namespace sparoa::graph

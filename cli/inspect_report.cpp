#include "cli/inspect_report.hpp"

#include <fmt/format.h>

#include <array>
#include <sstream>

#include "cli/table.hpp"
#include "support/atomic_file.hpp"

namespace sparoa::cli {
namespace {

std::string output_shape(const graph::Graph& g, const graph::Operator& op) {
  for (const auto& o : op.outputs) {
    if (!o.empty()) return graph::shape_string(g.tensor(o).shape);
  }
  return "-";
}

std::string csv_quote(const std::string& s) {
  if (s.find_first_of(",\"\n") == std::string::npos) return s;
  std::string q = "\"";
  for (char c : s) {
    if (c == '"') q += '"';
    q += c;
  }
  return q + '"';
}

}  // namespace

void print_operator_table(std::ostream& out, const graph::Graph& g, const graph::Thresholds& t) {
  Table table({"#", "operator", "type", "output", "FLOPs", "bytes", "FLOP/B", "params", "w.sparsity", "quadrant"},
              {true, false, false, false, true, true, true, true, true, false});
  std::size_t i = 0;
  for (graph::OpId id : g.topological_order()) {
    const auto& op = g.op(id);
    const auto& f = op.features;
    table.add_row({std::to_string(i++), op.name, op.type, output_shape(g, op), si(f.flops), si(f.bytes),
                   fixed(f.intensity, 2), f.params ? si(static_cast<double>(f.params)) : "-",
                   f.has_weights() ? fixed(f.weight_sparsity, 3) : "-",
                   std::string(graph::quadrant_name(graph::quadrant(f, t)))});
  }
  table.print(out);
}

void print_totals(std::ostream& out, const graph::Graph& g, const graph::Thresholds& t) {
  const auto tot = graph::totals(g);
  out << fmt::format("model {}  (batch {}, opset {}, sha256 {})\n", g.name, g.batch, g.opset,
                     g.model_sha256.substr(0, 12));
  out << fmt::format("  operators {}  params {} ({})  MACs {} ({:.1f} M)  FLOPs {}  bytes {}  weight sparsity {:.3f}\n",
                     tot.operators, si(static_cast<double>(tot.params)), tot.params, si(tot.macs), tot.macs / 1e6,
                     si(tot.flops), si(tot.bytes), tot.weight_sparsity());
  std::array<int, 4> counts{};
  std::array<double, 4> flops{};
  for (const auto& op : g.operators()) {
    auto q = static_cast<std::size_t>(graph::quadrant(op.features, t));
    ++counts[q];
    flops[q] += op.features.flops;
  }
  out << fmt::format("  quadrants at rho* = {:.2f}, I* = {:.1f} FLOP/B:", t.rho, t.intensity);
  for (std::size_t q = 0; q < 4; ++q) {
    out << fmt::format("  {} {} ({:.1f}% of FLOPs)", graph::quadrant_name(static_cast<graph::Quadrant>(q)), counts[q],
                       tot.flops > 0 ? 100.0 * flops[q] / tot.flops : 0.0);
  }
  out << '\n';
}

void write_operator_csv(const std::filesystem::path& path, const graph::Graph& g, const graph::Thresholds& t) {
  std::ostringstream s;
  s << "index,operator,type,output_shape,macs,flops,bytes,intensity,params,weight_elements,weight_zeros,"
       "weight_sparsity,activation_sparsity,activation_provenance,quadrant\n";
  std::size_t i = 0;
  for (graph::OpId id : g.topological_order()) {
    const auto& op = g.op(id);
    const auto& f = op.features;
    s << fmt::format("{},{},{},{},{},{},{},{},{},{},{},{},{},{},{}\n", i++, csv_quote(op.name), op.type,
                     output_shape(g, op), f.macs, f.flops, f.bytes, f.intensity, f.params, f.weight_elements,
                     f.weight_zeros, f.weight_sparsity,
                     f.activation_sparsity ? fmt::format("{}", *f.activation_sparsity) : std::string(),
                     graph::provenance_name(f.activation_provenance), graph::quadrant_name(graph::quadrant(f, t)));
  }
  write_file_atomically(path, s.str());
}

}  // namespace sparoa::cli

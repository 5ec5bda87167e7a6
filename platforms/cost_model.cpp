#include "platforms/cost_model.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <set>

#include "graph/schedule.hpp"
#include "support/error.hpp"

namespace sparoa::platforms {

std::string_view to_string(Kernel k) { return k == Kernel::dense ? "dense" : "sparse"; }

bool parse_kernel(std::string_view text, Kernel& out) {
  if (text == "dense") {
    out = Kernel::dense;
    return true;
  }
  if (text == "sparse") {
    out = Kernel::sparse;
    return true;
  }
  return false;
}

std::vector<OpDemand> op_demands(const graph::Graph& g) {
  std::vector<OpDemand> out;
  out.reserve(g.operators().size());
  for (const graph::Operator& op : g.operators()) {
    OpDemand d;
    d.op_class = op_class(op, g);
    d.flops = op.features.flops;
    d.bytes = op.features.bytes;
    // Weights are read once per execution whatever the batch; an operator that reads the same
    // weight twice (x * w + w) still reads it once, as features.bytes counts it.
    std::set<std::string> seen;
    for (const auto& input : op.inputs) {
      if (input.empty() || !seen.insert(input).second) continue;
      const graph::Tensor* t = g.find_tensor(input);
      if (t != nullptr && t->role == graph::TensorRole::weight) d.weight_bytes += double(t->size_bytes());
    }
    d.weight_sparsity = op.features.weight_sparsity;
    const auto kernels = graph::kernels_for(g, op.name);
    d.sparse_capable = std::find(kernels.begin(), kernels.end(), "sparse") != kernels.end();
    out.push_back(d);
  }
  return out;
}

namespace {

std::size_t slot(OpClass c, DeviceKind kind, Kernel kernel) {
  return (static_cast<std::size_t>(c) * 2 + (kind == DeviceKind::cpu ? 0 : 1)) * 2 + (kernel == Kernel::dense ? 0 : 1);
}

std::string where_of(const Platform& p) { return p.origin.empty() ? "platform '" + p.name + "'" : p.origin; }

}  // namespace

CostModel::CostModel(const Platform& p) : platform_(&p), table_(kOpClassCount * 4, -1) {
  // Defaults first, then the class's own entries over them.
  for (int pass = 0; pass < 2; ++pass) {
    for (std::size_t i = 0; i < p.cost_model.entries.size(); ++i) {
      const CostEntry& e = p.cost_model.entries[i];
      const bool is_default = e.op_class == "default";
      if (is_default != (pass == 0)) continue;
      Kernel kernel{};
      if (!parse_kernel(e.kernel, kernel)) continue;  // validation rejects these
      if (e.device_kind != "cpu" && e.device_kind != "gpu") continue;
      const DeviceKind kind = e.device_kind == "cpu" ? DeviceKind::cpu : DeviceKind::gpu;
      if (is_default) {
        for (std::size_t c = 0; c < kOpClassCount; ++c) table_[slot(static_cast<OpClass>(c), kind, kernel)] = int(i);
      } else {
        OpClass c{};
        if (!parse_op_class(e.op_class, c)) continue;
        table_[slot(c, kind, kernel)] = int(i);
      }
    }
  }
}

const CostEntry& CostModel::entry(OpClass c, DeviceKind kind, Kernel kernel) const {
  const int i = table_.at(slot(c, kind, kernel));
  if (i < 0) {
    throw Error(where_of(*platform_), fmt::format("cost_model: no entry for class {} on a {} device with the {} kernel, "
                                                  "and no default entry for {} {}",
                                                  to_string(c), to_string(kind), to_string(kernel), to_string(kind),
                                                  to_string(kernel)));
  }
  return platform_->cost_model.entries[static_cast<std::size_t>(i)];
}

Work CostModel::work(const OpDemand& d, DeviceKind kind, Kernel kernel, std::int64_t batch,
                     std::int64_t graph_batch) const {
  if (graph_batch < 1 || batch < 1 || batch > graph_batch) {
    throw Error("cost model", fmt::format("batch {} is outside 1..{} (the batch the graph's shapes are bound to)",
                                          batch, graph_batch));
  }
  if (kernel == Kernel::sparse && !d.sparse_capable) {
    throw Error("cost model", fmt::format("an operator of class {} without a sparse kernel was asked to run sparse",
                                          to_string(d.op_class)));
  }
  const CostEntry& e = entry(d.op_class, kind, kernel);
  const double share = double(batch) / double(graph_batch);
  const double flops = d.flops * share;
  const double activation_bytes = std::max(0.0, d.bytes - d.weight_bytes) * share;
  const double efficiency =
      std::min(e.compute_efficiency_max, e.compute_efficiency * std::pow(double(batch), e.batch_exponent));
  Work w;
  w.overhead_s = e.overhead_us * 1e-6;
  double bytes = 0;
  if (kernel == Kernel::dense) {
    w.effective_flops = flops / efficiency;
    bytes = activation_bytes + d.weight_bytes;
  } else {
    // Only the non-zeros are multiplied and stored: 4-byte values plus their index bytes.
    const double nonzero = std::clamp(1.0 - d.weight_sparsity, 0.0, 1.0);
    const double sparse_weight_bytes = d.weight_bytes * nonzero * (4.0 + e.index_bytes_per_nonzero) / 4.0;
    w.effective_flops = flops * nonzero / efficiency;
    bytes = activation_bytes + sparse_weight_bytes;
  }
  // The first cache_MB come from caches, the rest from DRAM (DRAM-equivalent bytes: what the
  // operator loads the shared DRAM link with in the simulator).
  const double cached = std::min(bytes, e.cache_MB * 1e6);
  const double cache_efficiency = e.cache_efficiency > 0 ? e.cache_efficiency : e.memory_efficiency;
  w.effective_bytes = cached / cache_efficiency + (bytes - cached) / e.memory_efficiency;
  return w;
}

double CostModel::lane_peak_flops(const Lane& lane, const Device& d, std::size_t pstate, int online_units) const {
  if (pstate >= d.pstates.size()) {
    throw Error(where_of(*platform_), fmt::format("device '{}' has no pstate {} ({} pstates)", d.id, pstate,
                                                  d.pstates.size()));
  }
  if (d.kind == DeviceKind::gpu) return d.peak_flops(pstate, online_units);
  // A CPU lane computes on its cores that the power mode keeps online. When none is, the
  // kernel still runs: the OS moves the lane's thread to core 0, which every mode keeps on.
  int cores = 0;
  for (int c : lane.cores) cores += (c < online_units) ? 1 : 0;
  return d.peak_flops(pstate, std::max(cores, 1));
}

double CostModel::predict_s(const Work& w, const std::string& lane, std::size_t pstate, int online_units,
                            double bandwidth_GBps) const {
  const Device* d = platform_->device_of_lane(lane);
  const Lane* l = platform_->find_lane(lane);
  if (d == nullptr || l == nullptr) throw Error(where_of(*platform_), "unknown lane '" + lane + "'");
  if (!(bandwidth_GBps > 0)) throw Error("cost model", fmt::format("bandwidth must be positive, not {} GB/s", bandwidth_GBps));
  const double compute_s = w.effective_flops / lane_peak_flops(*l, *d, pstate, online_units);
  const double memory_s = w.effective_bytes / (bandwidth_GBps * 1e9);
  return w.overhead_s + std::max(compute_s, memory_s);
}

double CostModel::predict_s(const OpDemand& demand, const std::string& lane, Kernel kernel, std::int64_t batch,
                            std::int64_t graph_batch) const {
  const Device* d = platform_->device_of_lane(lane);
  if (d == nullptr) throw Error(where_of(*platform_), "unknown lane '" + lane + "'");
  const PowerMode& mode = platform_->initial_mode();
  const PowerModeDevice& md = platform_->mode_device(mode, d->id);
  const Work w = work(demand, d->kind, kernel, batch, graph_batch);
  return predict_s(w, lane, md.pstate, md.online_units, platform_->bandwidth_GBps(d->memory_domain, mode));
}

double CostModel::transfer_s(double bytes, const std::string& from_device, const std::string& to_device) const {
  if (from_device == to_device) {
    platform_->device(from_device);  // unknown names are still errors
    return 0;
  }
  const Device& a = platform_->device(from_device);
  const Device& b = platform_->device(to_device);
  const PowerMode& mode = platform_->initial_mode();
  if (a.memory_domain == b.memory_domain) {
    const MemoryDomain& m = platform_->memory_domain(a.memory_domain);
    const double latency = m.transfer_latency_us * 1e-6;
    if (m.transfer == SharedTransfer::zero_copy) return latency;
    // A copy reads and writes every byte through the same DRAM.
    return latency + 2.0 * bytes / (platform_->bandwidth_GBps(m.id, mode) * 1e9);
  }
  const Link* link = platform_->link_between(a.memory_domain, b.memory_domain);
  if (link == nullptr) {
    throw Error(where_of(*platform_), "no link between memory domains '" + a.memory_domain + "' and '" +
                                          b.memory_domain + "' (devices '" + a.id + "' and '" + b.id + "')");
  }
  const double bw = std::min({link->bandwidth_GBps, platform_->bandwidth_GBps(a.memory_domain, mode),
                              platform_->bandwidth_GBps(b.memory_domain, mode)});
  return link->latency_us * 1e-6 + bytes / (bw * 1e9);
}

}  // namespace sparoa::platforms

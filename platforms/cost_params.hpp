#pragma once
// The cost model's parameters as the platform file holds them: one entry per (operator
// class, device kind, kernel), with `default` entries as the fallback of each (kind, kernel).
// Per class only, never per operator instance: calibration fits these (DESIGN.md).
#include <string>
#include <vector>

namespace sparoa::platforms {

// The highest cache_efficiency a file may give: a core's L1 moves tens of times its share of
// DRAM bandwidth.
inline constexpr double kMaxCacheEfficiency = 64;

struct CostEntry {
  std::string op_class;     // one of op_class_names() or "default"
  std::string device_kind;  // "cpu" or "gpu"
  std::string kernel;       // "dense" or "sparse"
  // Fraction of the lane's peak FLOP/s an operator of this class reaches at batch 1 ...
  double compute_efficiency = 0;
  // ... growing with the batch as compute_efficiency x batch^batch_exponent, capped here.
  double compute_efficiency_max = 0;
  double batch_exponent = 0;
  double memory_efficiency = 0;  // fraction of the domain's DRAM bandwidth it reaches
  // Caches: the first cache_MB (10^6 bytes) of an operator's traffic move at cache_efficiency
  // x the DRAM bandwidth (above 1: faster than DRAM), the rest at memory_efficiency. 0: no
  // cache term. Calibration fits both; they make small operators fast and large ones bound
  // by DRAM within one class. A cache_efficiency of 0 means "= memory_efficiency".
  double cache_MB = 0;
  double cache_efficiency = 0;
  // CPU: dispatch time on the operator's own lane; GPU: launch time on the launch lane.
  double overhead_us = 0;
  // Sparse kernels: bytes of index data per stored non-zero (CSR column index).
  double index_bytes_per_nonzero = 0;
  std::string source;  // datasheet|measured|estimated|fitted (checked by the loader)
  std::string note;

  bool operator==(const CostEntry&) const = default;
};

struct CostParams {
  std::string source;  // default label for entries that give none
  std::vector<CostEntry> entries;

  bool operator==(const CostParams&) const = default;
};

}  // namespace sparoa::platforms

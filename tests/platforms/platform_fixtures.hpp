#pragma once
// A tiny platform whose numbers make hand-worked expectations easy: a 2-core CPU at 1000 MHz
// with 1 FLOP per cycle (1e9 FLOP/s per core), a 4-SM GPU in the same 10 GB/s DRAM, and a
// discrete 1-unit GPU with its own 100 GB/s memory behind a 5 GB/s link.
#include <string>

#include "platforms/platform.hpp"

namespace sparoa::test {

inline std::string tiny_platform_yaml() {
  return R"(schema_version: 1
name: tiny
power_mode: fast
provenance: {source: estimated, date: 2026-01-01, document: "unit test"}
memory_domains:
  - {id: dram, bandwidth_GBps: 10, transfer: copy, transfer_latency_us: 5, source: estimated}
  - {id: hbm, bandwidth_GBps: 100, source: datasheet, note: "discrete GPU memory"}
devices:
  - id: cpu
    kind: cpu
    memory_domain: dram
    units: 2
    unit_name: core
    flops_per_cycle_per_unit: 1
    pstates:
      - {freq_MHz: 1000, idle_W: 1, epsilon_W: 2, full_W: 5}
      - {freq_MHz: 500, idle_W: 0.5, epsilon_W: 1, full_W: 2}
    rail: VDD_CPU
    source: estimated
    lanes:
      - {id: cpu0, cores: [0]}
      - {id: cpu1, cores: [1]}
  - id: gpu
    kind: gpu
    memory_domain: dram
    units: 4
    unit_name: SM
    flops_per_cycle_per_unit: 10
    pstates:
      - {freq_MHz: 1000, idle_W: 2, epsilon_W: 4, full_W: 20}
    off_W: 0.4
    source: estimated
    lanes:
      - {id: gpu0, stream: 0, launch_lane: cpu0}
  - id: dgpu
    kind: gpu
    memory_domain: hbm
    units: 1
    unit_name: X
    flops_per_cycle_per_unit: 100
    pstates:
      - {freq_MHz: 1000, idle_W: 10, epsilon_W: 20, full_W: 100}
    source: estimated
    lanes:
      - {id: dgpu0, stream: 0, launch_lane: cpu1}
links:
  - {id: pcie, from: dram, to: hbm, bandwidth_GBps: 5, latency_us: 10, source: estimated}
power_modes:
  - name: fast
    static_W: 1
    source: estimated
    devices:
      - {id: cpu, online_units: 2, freq_MHz: 1000}
      - {id: gpu, online_units: 4, freq_MHz: 1000}
      - {id: dgpu, online_units: 1, freq_MHz: 1000}
  - name: slow
    static_W: 0.5
    source: estimated
    devices:
      - {id: cpu, online_units: 1, freq_MHz: 500}
      - {id: gpu, online_units: 2, freq_MHz: 1000}
      - {id: dgpu, online_units: 1, freq_MHz: 1000}
    memory_domains:
      - {id: dram, bandwidth_GBps: 5}
cost_model:
  source: estimated
  entries:
    - {class: default, device_kind: cpu, kernel: dense, compute_efficiency: 1, memory_efficiency: 1, overhead_us: 0}
    - {class: default, device_kind: cpu, kernel: sparse, compute_efficiency: 0.5, memory_efficiency: 1, overhead_us: 0, index_bytes_per_nonzero: 4}
    - {class: default, device_kind: gpu, kernel: dense, compute_efficiency: 1, memory_efficiency: 1, overhead_us: 10}
    - {class: default, device_kind: gpu, kernel: sparse, compute_efficiency: 0.1, memory_efficiency: 0.5, overhead_us: 20, index_bytes_per_nonzero: 4}
    - {class: conv, device_kind: cpu, kernel: dense, compute_efficiency: 0.5, compute_efficiency_max: 0.8, batch_exponent: 0.5, memory_efficiency: 0.5, overhead_us: 3, source: fitted, note: "test"}
)";
}

inline platforms::Platform tiny_platform() { return platforms::parse_platform(tiny_platform_yaml(), "tiny.yaml"); }

}  // namespace sparoa::test

#pragma once
// A small, well-formed trace that exercises every record kind, plus a scratch folder.
#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

#include "traces/record.hpp"

namespace sparoa::traces::testing {

inline Record make_record(RecordKind kind, std::string op, std::string device, std::string lane,
                          double start_us, double end_us) {
  Record r;
  r.source = Source::sim;
  r.run_id = "run-1";
  r.request_id = 0;
  r.batch_id = 0;
  r.iteration = 0;
  r.record = kind;
  r.op = std::move(op);
  r.device = std::move(device);
  r.lane = std::move(lane);
  r.kernel = kind == RecordKind::op ? "dense" : "";
  r.start_us = start_us;
  r.end_us = end_us;
  return r;
}

// cpu has two lanes whose slices overlap in time (so a pid/tid mix-up shows), gpu one stream.
// conv1 (cpu.l0) -> transfer of its output to gpu.s0 -> gemm1 (gpu.s0), launched from cpu.l1.
inline Trace sample_trace(Source source = Source::sim) {
  Trace t;
  t.provenance.model_sha256 = std::string(64, 'a');
  t.provenance.seed = 42;
  t.provenance.git_revision = "0123abc";
  t.provenance.simgrid_version = "3.32";

  Record conv = make_record(RecordKind::op, "conv1", "cpu", "cpu.l0", 1000, 2500);  // 1.5 ms
  conv.energy_J = 0.003;
  conv.energy_method = EnergyMethod::attributed;
  conv.args = {{"FLOPs", 1.25e9}, {"type", std::string("Conv")}};
  Record relu = make_record(RecordKind::op, "relu0", "cpu", "cpu.l1", 900, 1800);
  relu.kernel = "sparse";
  Record launch = make_record(RecordKind::launch, "gemm1", "cpu", "cpu.l1", 2500, 2510);
  Record reorder = make_record(RecordKind::reorder, "gemm1", "cpu", "cpu.l1", 2510, 2510);
  Record transfer = make_record(RecordKind::transfer, "conv1", "gpu", "gpu.s0", 2500, 2600);
  transfer.args = {{"bytes", 802816.0}};
  Record gemm = make_record(RecordKind::op, "gemm1", "gpu", "gpu.s0", 2600, 3100);
  gemm.energy_J = 0.0125;
  gemm.energy_method = EnergyMethod::measured;
  Record add = make_record(RecordKind::op, "add1", "gpu", "gpu.s0", 3100, 3150.5);
  add.fused_group = "gemm1+add1";
  Record idle = make_record(RecordKind::idle, "", "gpu", "", 0, 2600);
  idle.request_id = idle.batch_id = idle.iteration = kNoId;
  t.records = {conv, relu, launch, reorder, transfer, gemm, add, idle};
  for (Record& r : t.records) r.source = source;

  t.power = {{"run-1", 0, "VDD_CPU", 1.5},    {"run-1", 1000, "VDD_CPU", 2.25},
             {"run-1", 2000, "VDD_CPU", 1.75}, {"run-1", 0, "VDD_GPU", 0.5},
             {"run-1", 1000, "VDD_GPU", 4.125}};
  t.state = {{"run-1", 0, "gpu", "freq_MHz", 624.75},
             {"run-1", 1000, "gpu", "freq_MHz", 1300.5},
             {"run-1", 500, "cpu", "busy_fraction", 0.5}};
  return t;
}

// A fresh folder per test, removed afterwards.
class ScratchDir {
 public:
  ScratchDir() {
    static std::atomic<int> counter{0};
    path_ = std::filesystem::temp_directory_path() /
            ("sparoa_traces_test." + std::to_string(::getpid()) + "." + std::to_string(counter++));
    std::filesystem::remove_all(path_);
    std::filesystem::create_directories(path_);
  }
  ~ScratchDir() {
    std::error_code ignored;
    std::filesystem::remove_all(path_, ignored);
  }
  ScratchDir(const ScratchDir&) = delete;
  ScratchDir& operator=(const ScratchDir&) = delete;

  const std::filesystem::path& path() const { return path_; }
  std::filesystem::path operator/(const std::string& name) const { return path_ / name; }
  std::size_t entry_count() const {
    std::size_t n = 0;
    for ([[maybe_unused]] const auto& e : std::filesystem::directory_iterator(path_)) ++n;
    return n;
  }

 private:
  std::filesystem::path path_;
};

// A file's bytes.
inline std::string slurp(const std::filesystem::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

// The trace without the records' Chrome-trace arguments (CSV does not keep them).
inline Trace without_args(Trace t) {
  for (Record& r : t.records) r.args.clear();
  return t;
}

}  // namespace sparoa::traces::testing

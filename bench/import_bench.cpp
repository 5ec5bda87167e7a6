// Import + features time and peak memory for every zoo model, against a baseline measured
// in the same run: a bare protobuf parse of the same bytes already in memory (the floor any
// importer built on ONNX's protobuf classes pays). The import itself maps the file, hashes
// it, parses, checks, infers shapes, folds, builds the graph and counts zero weights.
//
//   build/bin/import_bench [--zoo-dir DIR] [--models a,b] [google-benchmark flags]
#include <benchmark/benchmark.h>
#include <onnx/onnx_pb.h>

#include <fstream>
#include <iostream>
#include <sstream>
#include <string>

#include "graph/features.hpp"
#include "graph/onnx_import.hpp"
#include "graph/zoo/zoo.hpp"

namespace {

std::string read_file(const std::filesystem::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::string bytes(std::filesystem::file_size(p), '\0');
  in.read(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  return bytes;
}

// Peak resident set since the last reset, in MiB (Linux: VmHWM, reset through clear_refs).
double peak_mib() {
  std::ifstream status("/proc/self/status");
  std::string line;
  while (std::getline(status, line)) {
    if (line.rfind("VmHWM:", 0) == 0) return std::stod(line.substr(6)) / 1024.0;
  }
  return 0;
}
void reset_peak() { std::ofstream("/proc/self/clear_refs") << "5"; }

void bm_import(benchmark::State& state, std::filesystem::path path) {
  sparoa::graph::ImportOptions options;
  options.batch = 1;
  reset_peak();
  std::size_t operators = 0;
  for (auto _ : state) {
    auto g = sparoa::graph::import_onnx(path, options);
    operators = g.operators().size();
    benchmark::DoNotOptimize(g.operators().data());
  }
  state.counters["peak_MiB"] = peak_mib();
  state.counters["operators"] = static_cast<double>(operators);
  state.counters["file_MiB"] = static_cast<double>(std::filesystem::file_size(path)) / (1 << 20);
}

// The file is read once, outside the timed loop: the baseline is parsing alone.
void bm_protobuf_parse(benchmark::State& state, std::filesystem::path path) {
  const std::string bytes = read_file(path);
  for (auto _ : state) {
    onnx::ModelProto m;
    const bool ok = m.ParseFromString(bytes);
    benchmark::DoNotOptimize(&m);
    if (!ok) state.SkipWithError("parse failed");
  }
}

}  // namespace

int main(int argc, char** argv) {
  std::string zoo_dir = SPAROA_BENCH_ZOO_DIR;
  std::string only;
  std::vector<char*> rest{argv[0]};
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (a == "--zoo-dir" && i + 1 < argc) zoo_dir = argv[++i];
    else if (a == "--models" && i + 1 < argc) only = "," + std::string(argv[++i]) + ",";
    else rest.push_back(argv[i]);
  }
  for (const auto& m : sparoa::graph::zoo::models()) {
    if (!only.empty() && only.find("," + m.name + ",") == std::string::npos) continue;
    const auto path = sparoa::graph::zoo::build_model(m.name, {}, zoo_dir);
    benchmark::RegisterBenchmark(("protobuf_parse/" + m.name).c_str(), bm_protobuf_parse, path)
        ->Unit(benchmark::kMillisecond)->MinTime(0.3);
    benchmark::RegisterBenchmark(("import_features/" + m.name).c_str(), bm_import, path)
        ->Unit(benchmark::kMillisecond)->MinTime(0.3);
  }
  int n = static_cast<int>(rest.size());
  benchmark::Initialize(&n, rest.data());
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}

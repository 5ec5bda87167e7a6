// What reading YAML through support/yaml_load (libyaml under our limits, into yaml-cpp nodes)
// costs against yaml-cpp's own parser, which it replaced because fuzzing found that parser
// looping forever and exhausting memory (fuzz/regressions). Both parse the same text, already
// in memory, into the same yaml-cpp nodes: a shipped platform, a paper experiment, and
// schedules of 1,000 and 100,000 entries written as `sparoa` writes them.
//
//   build/bin/yaml_load_bench [google-benchmark flags]
#include <benchmark/benchmark.h>
#include <yaml-cpp/yaml.h>

#include <filesystem>
#include <string>

#include "support/read_file.hpp"
#include "support/yaml_load.hpp"

namespace {

std::string read_file(const std::filesystem::path& p) { return sparoa::read_text_file(p, sparoa::kMaxYamlBytes, "YAML"); }

// A schedule of `n` entries in the layout of DESIGN.md's schedule schema.
std::string schedule_text(int n) {
  std::string s =
      "schema_version: 1\nmodel: {path: zoo/resnet50.onnx, sha256: "
      "414948bfe30a8fd9e794ba9bbe289d42cec35274dce02a657e5ba161cba791a4}\n"
      "platform: {name: jetson-agx-orin-64gb, power_mode: MAXN}\nbatch: 1\nentries:\n";
  for (int i = 0; i < n; ++i) {
    s += "  - {op: layer" + std::to_string(i) + ".conv, lane: " + (i % 3 ? "gpu0" : "cpu0") +
         ", kernel: " + (i % 5 ? "dense" : "sparse") + ", order: " + std::to_string(i) + "}\n";
  }
  return s;
}

// Counts the scalars, so that both parsers' trees are walked and compared by size.
std::size_t scalars(const YAML::Node& n) {
  if (n.IsScalar()) return 1;
  std::size_t k = 0;
  if (n.IsSequence()) {
    for (const auto& c : n) k += scalars(c);
  } else if (n.IsMap()) {
    for (const auto& kv : n) k += scalars(kv.first) + scalars(kv.second);
  }
  return k;
}

void bm_libyaml(benchmark::State& state, const std::string& text) {
  std::size_t k = 0;
  for (auto _ : state) k = scalars(sparoa::load_yaml(text, "bench.yaml"));
  state.counters["scalars"] = double(k);
  state.SetBytesProcessed(std::int64_t(state.iterations()) * std::int64_t(text.size()));
}

void bm_yamlcpp(benchmark::State& state, const std::string& text) {
  std::size_t k = 0;
  for (auto _ : state) k = scalars(YAML::Load(text));
  state.counters["scalars"] = double(k);
  state.SetBytesProcessed(std::int64_t(state.iterations()) * std::int64_t(text.size()));
}

}  // namespace

int main(int argc, char** argv) {
  const std::filesystem::path src = SPAROA_SOURCE_DIR;
  const std::pair<std::string, std::string> inputs[] = {
      {"platform/agx-orin-64gb-50w", read_file(src / "platforms/agx-orin-64gb-50w.yaml")},
      {"experiment/g-ablations", read_file(src / "experiments/paper/g-ablations.yaml")},
      {"schedule/1k", schedule_text(1000)},
      {"schedule/100k", schedule_text(100000)},
  };
  for (const auto& [name, text] : inputs) {
    benchmark::RegisterBenchmark(("yaml_cpp_parser/" + name).c_str(), bm_yamlcpp, text)->Unit(benchmark::kMillisecond);
    benchmark::RegisterBenchmark(("load_yaml/" + name).c_str(), bm_libyaml, text)->Unit(benchmark::kMillisecond);
  }
  benchmark::Initialize(&argc, argv);
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
}

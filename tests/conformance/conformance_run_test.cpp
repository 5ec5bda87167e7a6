// ONNX conformance on the CPU kernels: every case of onnx 1.12's backend node suite that the
// importer takes is run with the dense CPU kernels (hw::run_reference, 2 OpenMP threads) on
// its own test_data_set_0 inputs, and each output is compared with the expected one. Prints a
// pass table per operator type. See tests/conformance/README.md.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iomanip>
#include <iostream>
#include <map>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "graph/onnx_import.hpp"
#include "hw/gpu/gpu_runtime.hpp"
#include "hw/host_machine.hpp"
#include "hw/reference_run.hpp"
#include "hw/replay.hpp"
#include "hw/tensor_io.hpp"
#include "support/error.hpp"

namespace {

namespace fs = std::filesystem;
using namespace sparoa;

// float32 tolerance, the same for every case: |actual - expected| <= kAtol + kRtol * |expected|.
constexpr double kRtol = 1e-4;
constexpr double kAtol = 1e-5;

fs::path suite_dir() {
  if (const char* env = std::getenv("SPAROA_CONFORMANCE_DIR"); env && *env) return env;
  return SPAROA_CONFORMANCE_DIR;
}
fs::path committed(const char* name) { return fs::path(SPAROA_SOURCE_DIR) / "tests" / "conformance" / name; }

struct Case {
  std::string name;
  std::int64_t opset = 0;
  std::vector<std::string> op_types;
};

std::vector<Case> read_cases() {
  std::ifstream in(suite_dir() / "cases.tsv");
  std::vector<Case> cases;
  std::string line;
  while (std::getline(in, line)) {
    if (line.empty() || line[0] == '#') continue;
    std::istringstream fields(line);
    Case c;
    std::string opset, ops;
    std::getline(fields, c.name, '\t');
    std::getline(fields, opset, '\t');
    std::getline(fields, ops, '\t');
    c.opset = std::stoll(opset);
    std::istringstream list(ops);
    for (std::string op; std::getline(list, op, ',');) c.op_types.push_back(op);
    cases.push_back(c);
  }
  return cases;
}

std::map<std::string, std::string> read_listed(const char* file) {
  std::map<std::string, std::string> listed;
  std::ifstream in(committed(file));
  std::string line;
  while (std::getline(in, line)) {
    if (line.empty() || line[0] == '#') continue;
    const auto space = line.find_first_of(" \t");
    const std::string name = line.substr(0, space);
    std::string reason = space == std::string::npos ? "" : line.substr(line.find_first_not_of(" \t", space));
    listed[name] = reason;
  }
  return listed;
}

enum class Outcome { passed, mismatch, error };

struct Result {
  Case c;
  Outcome outcome = Outcome::error;
  std::string detail;
};

// Where a case runs: the dense CPU kernels (run_reference), or the GPU kernels through the
// replay engine with every operator on the host platform's GPU lane.
enum class Device { cpu, gpu };

std::map<std::string, hw::HostTensor> run_on_gpu(const graph::Graph& g, const std::map<std::string, hw::TensorView>& inputs) {
  static const platforms::Platform p = hw::host_platform(hw::describe_host());
  graph::Schedule s;
  s.platform_name = p.name;
  s.batch = g.batch;
  std::int64_t order = 0;
  for (graph::OpId id : g.topological_order()) s.entries.push_back({g.op(id).name, "gpu0", "dense", order++, {}});
  hw::ReplayOptions o;
  o.graph = &g;
  o.platform = &p;
  o.schedule = &s;
  o.inputs = inputs;
  o.warmup = 1;
  o.iterations = 1;
  return hw::replay(o).outputs;
}

// Runs one case; nullopt when the importer does not take it (the import test covers that).
std::optional<Result> run_case(const Case& c, Device device = Device::cpu) {
  const fs::path dir = suite_dir() / "node" / c.name;
  graph::Graph g;
  try {
    g = graph::import_onnx(dir / "model.onnx");
  } catch (const Error&) {
    return std::nullopt;
  }
  Result r{c, Outcome::error, ""};
  try {
    const auto inputs = hw::read_tensor_folder(dir / "test_data_set_0", "input");
    const auto expected = hw::read_tensor_folder(dir / "test_data_set_0", "output");
    const auto names = g.input_names();
    if (inputs.size() != names.size()) {
      r.detail = "the case has " + std::to_string(inputs.size()) + " inputs, the model " + std::to_string(names.size());
      return r;
    }
    std::map<std::string, hw::TensorView> views;
    for (std::size_t i = 0; i < names.size(); ++i) views[names[i]] = inputs[i].tensor.view();
    const auto outputs = device == Device::cpu ? hw::run_reference(g, views, {.threads = 2}) : run_on_gpu(g, views);
    const auto& out_names = g.output_names();
    if (expected.size() != out_names.size()) {
      r.detail = "the case expects " + std::to_string(expected.size()) + " outputs, the model has " +
                 std::to_string(out_names.size());
      return r;
    }
    for (std::size_t i = 0; i < out_names.size(); ++i) {
      const std::string diff = hw::compare_tensors(outputs.at(out_names[i]).view(), expected[i].tensor.view(), kRtol, kAtol);
      if (!diff.empty()) {
        r.outcome = Outcome::mismatch;
        r.detail = "output '" + out_names[i] + "': " + diff;
        return r;
      }
    }
    r.outcome = Outcome::passed;
  } catch (const std::exception& e) {
    r.outcome = Outcome::error;
    r.detail = e.what();
  }
  return r;
}

std::vector<Result> run_all(Device device) {
  const auto& supported = graph::supported_operator_types();
  const auto& folded = graph::folded_operator_types();
  std::vector<Result> out;
  for (const Case& c : read_cases()) {
    if (c.opset < graph::kMinOpset || c.opset > graph::kMaxOpset) continue;
    const bool runnable = std::all_of(c.op_types.begin(), c.op_types.end(), [&](const std::string& t) {
      return std::binary_search(supported.begin(), supported.end(), t) ||
             std::find(folded.begin(), folded.end(), t) != folded.end();
    });
    if (!runnable) continue;
    if (auto r = run_case(c, device)) out.push_back(std::move(*r));
  }
  return out;
}

const std::vector<Result>& results() {
  static const std::vector<Result> all = run_all(Device::cpu);
  return all;
}

std::string first_line(const std::string& s) { return s.substr(0, s.find('\n')); }

TEST(OnnxConformanceRun, ImportedCasesMatchTheirExpectedOutputs) {
  ASSERT_TRUE(fs::exists(suite_dir() / "manifest.json")) << "no generated suite at " << suite_dir();
  const auto listed = read_listed("expected_run_failures.txt");
  std::set<std::string> seen;
  for (const Result& r : results()) {
    seen.insert(r.c.name);
    const bool is_listed = listed.count(r.c.name) != 0;
    if (r.outcome == Outcome::passed) {
      EXPECT_FALSE(is_listed) << r.c.name << " passes: remove it from expected_run_failures.txt";
    } else {
      EXPECT_TRUE(is_listed) << r.c.name << (r.outcome == Outcome::mismatch ? " gives wrong results: " : " fails: ")
                             << first_line(r.detail);
    }
  }
  for (const auto& [name, reason] : listed) {
    EXPECT_TRUE(seen.count(name)) << name << " is listed in expected_run_failures.txt but was not run";
  }
}

TEST(OnnxConformanceRun, PassTablePerOperatorTypeMeetsFloor) {
  ASSERT_TRUE(fs::exists(suite_dir() / "manifest.json")) << "no generated suite at " << suite_dir();
  struct Row {
    int tried = 0, passed = 0;
    std::vector<std::string> failed;
  };
  std::map<std::string, Row> table;
  int passed = 0;
  for (const Result& r : results()) {
    passed += r.outcome == Outcome::passed;
    for (const auto& t : r.c.op_types) {
      Row& row = table[t];
      ++row.tried;
      if (r.outcome == Outcome::passed) {
        ++row.passed;
      } else {
        row.failed.push_back(r.c.name);
      }
    }
  }
  std::cout << "ONNX conformance on the CPU kernels (rtol " << kRtol << ", atol " << kAtol
            << "): cases passed / run, per operator type\n";
  for (const auto& [type, row] : table) {
    std::cout << "  " << std::left << std::setw(22) << type << std::right << std::setw(4) << row.passed << " / "
              << std::setw(3) << row.tried;
    if (!row.failed.empty()) {
      std::cout << "   not passed:";
      for (const auto& n : row.failed) std::cout << ' ' << n;
    }
    std::cout << '\n';
  }
  std::cout << "  total " << passed << " / " << results().size() << " cases\n";
  std::ifstream floor_file(committed("run_floor.txt"));
  int floor = 0;
  for (std::string line; std::getline(floor_file, line);) {
    if (!line.empty() && line[0] != '#') floor = std::stoi(line);
  }
  ASSERT_GT(floor, 0) << "run_floor.txt holds no floor";
  EXPECT_GE(passed, floor) << "fewer cases pass than the committed floor";
  if (passed > floor) std::cout << "  note: " << passed << " pass, above the floor of " << floor << ": raise run_floor.txt\n";
  for (const auto& t : graph::supported_operator_types()) {
    auto it = table.find(t);
    EXPECT_TRUE(it != table.end() && it->second.passed > 0) << "no conformance case of " << t << " passes";
  }
}

// Every case that passes on the CPU passes on the GPU (same tolerances, TF32 off), except
// those listed in expected_gpu_run_failures.txt with their reasons.
TEST(OnnxConformanceRun, CasesThatPassOnTheCpuPassOnTheGpu) {
  ASSERT_TRUE(fs::exists(suite_dir() / "manifest.json")) << "no generated suite at " << suite_dir();
  if (const std::string why = hw::gpu::unavailable_reason(); !why.empty()) GTEST_SKIP() << "GPU test skipped: " << why;
  const auto listed = read_listed("expected_gpu_run_failures.txt");
  std::set<std::string> cpu_passed;
  for (const Result& r : results()) {
    if (r.outcome == Outcome::passed) cpu_passed.insert(r.c.name);
  }
  int passed = 0, run = 0;
  for (const Result& r : run_all(Device::gpu)) {
    if (!cpu_passed.count(r.c.name)) continue;
    ++run;
    passed += r.outcome == Outcome::passed;
    const bool is_listed = listed.count(r.c.name) != 0;
    if (r.outcome == Outcome::passed) {
      EXPECT_FALSE(is_listed) << r.c.name << " passes on the GPU: remove it from expected_gpu_run_failures.txt";
    } else {
      EXPECT_TRUE(is_listed) << r.c.name << (r.outcome == Outcome::mismatch ? " gives wrong results on the GPU: " : " fails on the GPU: ")
                             << first_line(r.detail);
    }
  }
  std::cout << "ONNX conformance on the GPU kernels: " << passed << " / " << run << " of the cases that pass on the CPU\n";
}

}  // namespace

// The GPU backend. Without a usable GPU (no device, no driver, or a build without CUDA) the
// tests that need one skip with one line saying why; the clock conversion, the kernel table,
// the plan's memory kinds and the no-GPU refusal are checked everywhere.
//
// With a GPU: every zoo model on GPU-only (dense, sparse, fused) and hybrid CPU+GPU schedules
// matches the CPU reference (rtol 1e-3, atol 1e-4, TF32 off), and a hybrid trace places every
// GPU record inside its iteration, with launch records on the launch lane.
#include <gtest/gtest.h>

#include <cmath>
#include <fstream>
#include <set>
#include <sstream>

#include "graph/onnx_import.hpp"
#include "graph/zoo/zoo.hpp"
#include "hw/backends.hpp"
#include "hw/cpu/fusion.hpp"
#include "hw/gpu/gpu_kernel.hpp"
#include "hw/gpu/gpu_runtime.hpp"
#include "hw/host_machine.hpp"
#include "hw/reference_run.hpp"
#include "hw/replay.hpp"
#include "hw/tensor_io.hpp"
#include "support/error.hpp"
#include "tests/hw/gpu/gpu_schedules.hpp"

namespace sparoa::hw {
namespace {

namespace fs = std::filesystem;

#define REQUIRE_GPU()                                                                       \
  do {                                                                                      \
    if (const std::string why = gpu::unavailable_reason(); !why.empty()) {                  \
      GTEST_SKIP() << "GPU test skipped: " << why;                                          \
    }                                                                                       \
  } while (0)

TEST(GpuClock, AnchorMidpointAndRounding) {
  gpu::ClockAnchor a{1000, 3000};
  EXPECT_EQ(a.estimate_ns(), 2000);
  EXPECT_EQ(a.half_width_ns(), 1000);
  EXPECT_EQ(gpu::to_host_ns(a, 0.0), 2000);
  EXPECT_EQ(gpu::to_host_ns(a, 1.5), 2000 + 1500000);
  EXPECT_EQ(gpu::to_host_ns(a, 4e-7), 2000);      // 0.4 ns rounds down
  EXPECT_EQ(gpu::to_host_ns(a, 6e-7), 2001);      // 0.6 ns rounds up
  EXPECT_EQ(gpu::to_host_ns(a, -0.001), 1000);    // an event 1 us before the anchor
  gpu::ClockAnchor odd{10, 13};
  EXPECT_EQ(odd.estimate_ns(), 11);
  EXPECT_EQ(odd.half_width_ns(), 2);  // rounded up: the bound must cover the whole bracket
}

TEST(GpuBuild, VersionAndAvailabilityAgreeWithTheBuild) {
#ifdef SPAROA_HAVE_CUDA
  EXPECT_TRUE(gpu::compiled_in());
#else
  EXPECT_FALSE(gpu::compiled_in());
  EXPECT_NE(gpu::unavailable_reason().find("no GPU backend"), std::string::npos);
#endif
  bool listed = false;
  for (const auto& b : backends()) {
    if (b.name != "gpu") continue;
    listed = true;
    EXPECT_EQ(b.available, gpu::unavailable_reason().empty()) << b.detail;
  }
  EXPECT_EQ(listed, gpu::compiled_in());
}

TEST(GpuKernelTable, EverySupportedTypeHasOneRowAndTheReadmeShowsIt) {
  std::set<std::string> rows;
  for (const auto& r : gpu::gpu_kernel_table()) {
    EXPECT_TRUE(rows.insert(r.op_type).second) << r.op_type << " twice";
    EXPECT_FALSE(r.dense.empty()) << r.op_type;
  }
  const auto& supported = graph::supported_operator_types();
  EXPECT_EQ(rows, std::set<std::string>(supported.begin(), supported.end()));
  std::ifstream in(std::string(SPAROA_SOURCE_DIR) + "/hw/README.md");
  std::stringstream text;
  text << in.rdbuf();
  for (const auto& r : gpu::gpu_kernel_table()) {
    const std::string line = "| " + r.op_type + " | " + r.dense + " | " + (r.sparse.empty() ? "-" : r.sparse) + " |";
    EXPECT_NE(text.str().find(line), std::string::npos) << "hw/README.md lacks: " << line;
  }
}

TEST(GpuMemory, HostBuffersWorkEverywhereAndGpuKindsNeedAGpu) {
  gpu::Buffer host(gpu::MemoryKind::host, 100);
  ASSERT_NE(host.host(), nullptr);
  EXPECT_EQ(reinterpret_cast<std::uintptr_t>(host.host()) % 64, 0u);
  EXPECT_EQ(host.device(), nullptr);
  if (gpu::unavailable_reason().empty()) {
    for (auto kind : {gpu::MemoryKind::pinned, gpu::MemoryKind::device, gpu::MemoryKind::mapped}) {
      gpu::Buffer b(kind, 256);
      EXPECT_NE(b.device(), nullptr) << gpu::to_string(kind);
      EXPECT_EQ(b.host() != nullptr, kind != gpu::MemoryKind::device) << gpu::to_string(kind);
    }
    return;
  }
  for (auto kind : {gpu::MemoryKind::pinned, gpu::MemoryKind::device, gpu::MemoryKind::mapped}) {
    try {
      gpu::Buffer b(kind, 256);
      ADD_FAILURE() << gpu::to_string(kind) << " memory without a GPU";
    } catch (const Error& e) {
      EXPECT_NE(std::string(e.what()).find(gpu::unavailable_reason()), std::string::npos) << e.what();
    }
  }
}

// --- With a GPU ------------------------------------------------------------------------

std::map<std::string, TensorView> views(const std::vector<std::pair<std::string, HostTensor>>& inputs) {
  std::map<std::string, TensorView> v;
  for (const auto& [name, t] : inputs) v[name] = t.view();
  return v;
}

std::vector<std::pair<std::string, HostTensor>> inputs_for(const graph::Graph& g) {
  std::vector<std::pair<std::string, HostTensor>> out;
  std::uint64_t seed = 7;
  for (const auto& name : g.input_names()) {
    const graph::Tensor& t = g.tensor(name);
    out.emplace_back(name, random_tensor(t.dtype, t.shape, seed++));
  }
  return out;
}

class EveryZooModelOnTheGpu : public ::testing::TestWithParam<std::string> {};

TEST_P(EveryZooModelOnTheGpu, GpuOnlyAndHybridSchedulesMatchTheReference) {
  REQUIRE_GPU();
  const std::string model = GetParam();
  const fs::path file = graph::zoo::build_model(model, {0.5, false}, (fs::path(SPAROA_TEST_DATA_DIR) / "zoo").string());
  graph::ImportOptions batch1;
  batch1.batch = 1;
  const graph::Graph g = graph::import_onnx(file, batch1);
  const auto inputs = inputs_for(g);
  const auto reference = run_reference(g, views(inputs), {.threads = 2});
  const platforms::Platform p = host_platform(describe_host());
  struct Case {
    std::string name;
    std::vector<std::string> lanes;
    bool sparse, fused;
  };
  for (const Case& c : {Case{"gpu-dense", {"gpu0"}, false, false}, Case{"gpu-sparse", {"gpu0"}, true, false},
                        Case{"gpu-fused", {"gpu0"}, false, true}, Case{"hybrid", {"cpu0", "gpu0"}, true, false}}) {
    SCOPED_TRACE(model + " " + c.name);
    graph::Schedule s = test::lanes_schedule(g, p.name, c.lanes, c.sparse);
    if (c.fused) s = fuse_schedule(g, s);
    ReplayOptions o;
    o.graph = &g;
    o.platform = &p;
    o.schedule = &s;
    o.inputs = views(inputs);
    o.warmup = 1;
    o.iterations = 2;
    const ReplayResult r = replay(o);
    for (const auto& [name, expected] : reference) {
      EXPECT_EQ(compare_tensors(r.outputs.at(name).view(), expected.view(), 1e-3, 1e-4), "") << name;
    }
    // Every GPU record lies inside its iteration: [0, end of the iteration's last step].
    double iteration_end = 0;
    std::size_t gpu_ops = 0, launches = 0;
    for (const auto& rec : r.trace.records) iteration_end = std::max(iteration_end, rec.end_us);
    for (const auto& rec : r.trace.records) {
      EXPECT_LE(rec.start_us, rec.end_us) << rec.op;
      EXPECT_GE(rec.start_us, -r.gpu_clock_uncertainty_us) << rec.op;
      if (rec.lane == "gpu0" && rec.record == traces::RecordKind::op) ++gpu_ops;
      if (rec.record == traces::RecordKind::launch) {
        ++launches;
        EXPECT_EQ(rec.lane, "cpu0");
      }
    }
    EXPECT_GT(gpu_ops, 0u);
    EXPECT_EQ(launches, gpu_ops);
    EXPECT_TRUE(std::isfinite(r.gpu_clock_uncertainty_us));
  }
}

INSTANTIATE_TEST_SUITE_P(Zoo, EveryZooModelOnTheGpu,
                         ::testing::Values("mobilenetv3_small", "mobilenetv2", "resnet18", "resnet50", "vgg16", "squeezenet1_1",
                                           "efficientnet_b0", "vit_tiny_16", "bert_small"));

}  // namespace
}  // namespace sparoa::hw

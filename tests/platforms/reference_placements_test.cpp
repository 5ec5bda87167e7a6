// Tests of platforms/reference_placements.cpp: the cpu-only and gpu-only placements as
// policies and as schedules that graph::validate_schedule accepts.
#include <gtest/gtest.h>

#include <filesystem>

#include "graph/onnx_import.hpp"
#include "graph/schedule.hpp"
#include "graph/zoo/zoo.hpp"
#include "onnx_test_models.hpp"
#include "platform_fixtures.hpp"
#include "platforms/reference_placements.hpp"
#include "support/error.hpp"

namespace {

using namespace sparoa::platforms;
namespace graph = sparoa::graph;

TEST(ReferencePlacements, Names) {
  EXPECT_EQ(parse_reference_placement("cpu-only"), ReferencePlacement::cpu_only);
  EXPECT_EQ(parse_reference_placement("gpu-only"), ReferencePlacement::gpu_only);
  EXPECT_EQ(to_string(ReferencePlacement::cpu_only), "cpu-only");
  EXPECT_EQ(to_string(ReferencePlacement::gpu_only), "gpu-only");
  try {
    parse_reference_placement("npu-only");
    ADD_FAILURE() << "no error";
  } catch (const sparoa::Error& e) {
    EXPECT_NE(std::string(e.what()).find("cpu-only, gpu-only"), std::string::npos) << e.what();
  }
}

TEST(ReferencePlacements, Lanes) {
  const Platform p = read_platform(resolve_platform_path("agx-orin-64gb-maxn"));
  EXPECT_EQ(reference_lane(p, ReferencePlacement::cpu_only).id, "cpu0");
  EXPECT_EQ(reference_lane(p, ReferencePlacement::gpu_only).id, "gpu0");
  Platform host = sparoa::test::tiny_platform();
  host.devices.erase(host.devices.begin() + 1, host.devices.end());
  try {
    reference_lane(host, ReferencePlacement::gpu_only);
    ADD_FAILURE() << "no error";
  } catch (const sparoa::Error& e) {
    EXPECT_NE(std::string(e.what()).find("platform tiny has no gpu device"), std::string::npos) << e.what();
  }
  EXPECT_EQ(reference_lane(host, ReferencePlacement::cpu_only).id, "cpu0");
}

TEST(ReferencePlacements, Policies) {
  const Platform p = sparoa::test::tiny_platform();
  auto cpu = make_reference_policy(p, ReferencePlacement::cpu_only);
  auto gpu = make_reference_policy(p, ReferencePlacement::gpu_only);
  EXPECT_EQ(cpu->name(), "cpu-only");
  EXPECT_EQ(gpu->name(), "gpu-only");
  Observation obs;
  obs.op = "conv";
  obs.kernels = {"dense", "sparse"};
  const Placement a = cpu->place(obs);
  EXPECT_EQ(a.lane, "cpu0");
  EXPECT_EQ(a.kernel, "dense");
  const Placement b = gpu->place(obs);
  EXPECT_EQ(b.lane, "gpu0");
  EXPECT_EQ(b.kernel, "dense");
}

TEST(ReferencePlacements, ScheduleOfASmallGraph) {
  const auto model = sparoa::test::small_cnn(2);
  graph::ImportOptions options;
  options.batch = 2;
  const graph::Graph g = graph::import_onnx_bytes(model.bytes(), "small_cnn.onnx", options);
  const Platform p = sparoa::test::tiny_platform();
  const graph::Schedule s = make_reference_schedule(g, p, ReferencePlacement::gpu_only);
  EXPECT_EQ(s.platform_name, "tiny");
  EXPECT_EQ(s.platform_power_mode, "fast");
  EXPECT_EQ(s.batch, 2);
  EXPECT_EQ(s.model_sha256, g.model_sha256);
  ASSERT_EQ(s.entries.size(), g.operators().size());
  for (std::size_t i = 0; i < s.entries.size(); ++i) {
    EXPECT_EQ(s.entries[i].op, g.op(g.topological_order()[i]).name);
    EXPECT_EQ(s.entries[i].lane, "gpu0");
    EXPECT_EQ(s.entries[i].kernel, "dense");
    EXPECT_EQ(s.entries[i].order, static_cast<std::int64_t>(i));
  }
  EXPECT_NO_THROW(graph::validate_schedule(s, g, "gpu-only"));
}

TEST(ReferencePlacements, ScheduleOfMobileNetV3SmallValidates) {
  const std::filesystem::path dir = std::filesystem::path(SPAROA_TEST_DATA_DIR) / "zoo";
  const auto path = graph::zoo::build_model("mobilenetv3_small", {}, dir);
  graph::ImportOptions options;
  options.batch = 1;
  const graph::Graph g = graph::import_onnx(path, options);
  const Platform p = read_platform(resolve_platform_path("orin-nano-8gb-15w"));
  for (ReferencePlacement r : {ReferencePlacement::cpu_only, ReferencePlacement::gpu_only}) {
    const graph::Schedule s = make_reference_schedule(g, p, r);
    EXPECT_EQ(s.model_path, path.string());
    EXPECT_EQ(s.platform_name, "jetson-orin-nano-8gb");
    EXPECT_EQ(s.entries.size(), g.operators().size());
    EXPECT_NO_THROW(graph::validate_schedule(s, g, to_string(r)));
    // It survives the schedule file format too.
    const graph::Schedule back = graph::parse_schedule(graph::schedule_to_yaml(s), "back.yaml");
    EXPECT_NO_THROW(graph::validate_schedule(back, g, "back.yaml"));
  }
}

}  // namespace

// Tests of platforms/cost_model.cpp with numbers worked out by hand on the tiny platform
// (platform_fixtures.hpp): CPU core 1e9 FLOP/s, GPU 4 x 1e10 FLOP/s, DRAM 10 GB/s.
#include <gtest/gtest.h>

#include <cmath>

#include "graph/onnx_import.hpp"
#include "onnx_test_models.hpp"
#include "platform_fixtures.hpp"
#include "platforms/cost_model.hpp"
#include "support/error.hpp"

namespace {

using namespace sparoa::platforms;
using sparoa::test::tiny_platform;

OpDemand demand(OpClass c, double flops, double bytes, double weight_bytes = 0, double sparsity = 0,
                bool sparse_capable = false) {
  OpDemand d;
  d.op_class = c;
  d.flops = flops;
  d.bytes = bytes;
  d.weight_bytes = weight_bytes;
  d.weight_sparsity = sparsity;
  d.sparse_capable = sparse_capable;
  return d;
}

TEST(CostModel, KernelNames) {
  Kernel k{};
  EXPECT_TRUE(parse_kernel("sparse", k));
  EXPECT_EQ(k, Kernel::sparse);
  EXPECT_TRUE(parse_kernel("dense", k));
  EXPECT_EQ(to_string(k), "dense");
  EXPECT_FALSE(parse_kernel("Dense", k));
}

TEST(CostModel, EntriesFallBackToDefault) {
  const Platform p = tiny_platform();
  const CostModel m(p);
  EXPECT_EQ(&m.platform(), &p);
  EXPECT_EQ(m.entry(OpClass::conv, DeviceKind::cpu, Kernel::dense).op_class, "conv");
  EXPECT_EQ(m.entry(OpClass::gemm, DeviceKind::cpu, Kernel::dense).op_class, "default");
  EXPECT_EQ(m.entry(OpClass::conv, DeviceKind::gpu, Kernel::dense).op_class, "default");
  EXPECT_EQ(m.entry(OpClass::conv, DeviceKind::gpu, Kernel::sparse).kernel, "sparse");
  EXPECT_EQ(m.entry(OpClass::conv, DeviceKind::gpu, Kernel::sparse).device_kind, "gpu");
}

TEST(CostModel, MissingEntryIsAnError) {
  Platform p = tiny_platform();
  p.cost_model.entries.erase(p.cost_model.entries.begin() + 1);  // cpu sparse default
  const CostModel m(p);
  EXPECT_THROW(m.entry(OpClass::gemm, DeviceKind::cpu, Kernel::sparse), sparoa::Error);
}

TEST(CostModel, ComputeBound) {
  const Platform p = tiny_platform();
  const CostModel m(p);
  // 1e9 FLOPs on one 1e9 FLOP/s core: 1 s; 1e6 bytes at 10 GB/s: 0.1 ms.
  const OpDemand d = demand(OpClass::elementwise, 1e9, 1e6);
  const Work w = m.work(d, DeviceKind::cpu, Kernel::dense, 1, 1);
  EXPECT_DOUBLE_EQ(w.effective_flops, 1e9);
  EXPECT_DOUBLE_EQ(w.effective_bytes, 1e6);
  EXPECT_DOUBLE_EQ(w.overhead_s, 0);
  EXPECT_DOUBLE_EQ(m.predict_s(d, "cpu0", Kernel::dense, 1, 1), 1.0);
  // The GPU: 4 SMs x 1000 MHz x 10 = 4e10 FLOP/s, plus a 10 us launch.
  EXPECT_DOUBLE_EQ(m.predict_s(d, "gpu0", Kernel::dense, 1, 1), 10e-6 + 1e9 / 4e10);
}

TEST(CostModel, MemoryBound) {
  const Platform p = tiny_platform();
  const CostModel m(p);
  // 1e9 bytes at 10 GB/s: 0.1 s; 1e3 FLOPs: 1 us.
  const OpDemand d = demand(OpClass::data_movement, 1e3, 1e9);
  EXPECT_DOUBLE_EQ(m.predict_s(d, "cpu0", Kernel::dense, 1, 1), 0.1);
  // The discrete GPU reads its own 100 GB/s memory.
  EXPECT_DOUBLE_EQ(m.predict_s(d, "dgpu0", Kernel::dense, 1, 1), 10e-6 + 0.01);
}

TEST(CostModel, OverheadAndClassEfficiency) {
  const Platform p = tiny_platform();
  const CostModel m(p);
  // conv on the CPU: 3 us dispatch, compute efficiency 0.5, memory efficiency 0.5.
  const OpDemand d = demand(OpClass::conv, 1e6, 1e3);
  const Work w = m.work(d, DeviceKind::cpu, Kernel::dense, 1, 1);
  EXPECT_DOUBLE_EQ(w.overhead_s, 3e-6);
  EXPECT_DOUBLE_EQ(w.effective_flops, 2e6);
  EXPECT_DOUBLE_EQ(w.effective_bytes, 2e3);
  EXPECT_NEAR(m.predict_s(d, "cpu0", Kernel::dense, 1, 1), 3e-6 + 2e-3, 1e-15);
}

TEST(CostModel, BatchScaling) {
  const Platform p = tiny_platform();
  const CostModel m(p);
  // At graph batch 4: 4e6 FLOPs, 4e3 activation bytes + 1e3 weight bytes.
  const OpDemand d = demand(OpClass::conv, 4e6, 5e3, 1e3);
  // Batch 2 of 4: half the FLOPs and activations, all the weights; efficiency 0.5 x 2^0.5.
  const Work half = m.work(d, DeviceKind::cpu, Kernel::dense, 2, 4);
  EXPECT_DOUBLE_EQ(half.effective_flops, 2e6 / (0.5 * std::sqrt(2.0)));
  EXPECT_DOUBLE_EQ(half.effective_bytes, (2e3 + 1e3) / 0.5);
  // Batch 4: 0.5 x 4^0.5 = 1.0, capped at compute_efficiency_max 0.8.
  const Work full = m.work(d, DeviceKind::cpu, Kernel::dense, 4, 4);
  EXPECT_DOUBLE_EQ(full.effective_flops, 4e6 / 0.8);
  EXPECT_DOUBLE_EQ(full.effective_bytes, 5e3 / 0.5);
  // Batch 1: the batch-1 efficiency.
  EXPECT_DOUBLE_EQ(m.work(d, DeviceKind::cpu, Kernel::dense, 1, 4).effective_flops, 1e6 / 0.5);
  EXPECT_THROW(m.work(d, DeviceKind::cpu, Kernel::dense, 0, 4), sparoa::Error);
  EXPECT_THROW(m.work(d, DeviceKind::cpu, Kernel::dense, 5, 4), sparoa::Error);
}

TEST(CostModel, SparseScaling) {
  const Platform p = tiny_platform();
  const CostModel m(p);
  // 75% zeros: a quarter of the FLOPs at efficiency 0.5; weights stored as 4-byte values
  // plus 4 index bytes per non-zero: 2e3 x 0.25 x 8 / 4 = 1e3 bytes.
  const OpDemand d = demand(OpClass::gemm, 1e6, 3e3, 2e3, 0.75, true);
  const Work w = m.work(d, DeviceKind::cpu, Kernel::sparse, 1, 1);
  EXPECT_DOUBLE_EQ(w.effective_flops, 1e6 * 0.25 / 0.5);
  EXPECT_DOUBLE_EQ(w.effective_bytes, 1e3 + 1e3);
  EXPECT_DOUBLE_EQ(m.predict_s(d, "cpu0", Kernel::sparse, 1, 1), 5e5 / 1e9);
  // GPU sparse: efficiency 0.1, memory efficiency 0.5, 20 us.
  const Work g = m.work(d, DeviceKind::gpu, Kernel::sparse, 1, 1);
  EXPECT_DOUBLE_EQ(g.effective_flops, 1e6 * 0.25 / 0.1);
  EXPECT_DOUBLE_EQ(g.effective_bytes, 2e3 / 0.5);
  EXPECT_DOUBLE_EQ(g.overhead_s, 20e-6);
  // Dense ignores the zeros.
  EXPECT_DOUBLE_EQ(m.work(d, DeviceKind::cpu, Kernel::dense, 1, 1).effective_flops, 1e6);
  // No sparse kernel for this operator.
  EXPECT_THROW(m.work(demand(OpClass::elementwise, 1, 1), DeviceKind::cpu, Kernel::sparse, 1, 1), sparoa::Error);
}

TEST(CostModel, LanePeaksFollowThePowerMode) {
  const Platform p = tiny_platform();
  const CostModel m(p);
  const Device& cpu = p.device("cpu");
  const Device& gpu = p.device("gpu");
  EXPECT_DOUBLE_EQ(m.lane_peak_flops(*p.find_lane("cpu0"), cpu, 0, 2), 1e9);
  EXPECT_DOUBLE_EQ(m.lane_peak_flops(*p.find_lane("cpu0"), cpu, 1, 2), 5e8);
  // Core 1 is off: lane cpu1 borrows core 0.
  EXPECT_DOUBLE_EQ(m.lane_peak_flops(*p.find_lane("cpu1"), cpu, 0, 1), 1e9);
  // A GPU lane has the whole GPU's online units.
  EXPECT_DOUBLE_EQ(m.lane_peak_flops(*p.find_lane("gpu0"), gpu, 0, 4), 4e10);
  EXPECT_DOUBLE_EQ(m.lane_peak_flops(*p.find_lane("gpu0"), gpu, 0, 2), 2e10);
  EXPECT_THROW(m.lane_peak_flops(*p.find_lane("gpu0"), gpu, 1, 2), sparoa::Error);
  // The explicit overload: 1e9 FLOPs at 500 MHz, or 1e9 bytes at 5 GB/s.
  Work w;
  w.effective_flops = 1e9;
  w.effective_bytes = 1e3;
  EXPECT_DOUBLE_EQ(m.predict_s(w, "cpu0", 1, 2, 10), 2.0);
  w.effective_flops = 1;
  w.effective_bytes = 1e9;
  w.overhead_s = 1e-3;
  EXPECT_DOUBLE_EQ(m.predict_s(w, "cpu0", 0, 2, 5), 0.2 + 1e-3);
  EXPECT_THROW(m.predict_s(w, "cpu9", 0, 2, 5), sparoa::Error);
}

TEST(CostModel, PredictUsesTheInitialPowerMode) {
  Platform p = tiny_platform();
  p.power_mode = "slow";  // CPU at 500 MHz, DRAM 5 GB/s, GPU with 2 of 4 SMs
  const CostModel m(p);
  EXPECT_DOUBLE_EQ(m.predict_s(demand(OpClass::elementwise, 1e9, 1), "cpu0", Kernel::dense, 1, 1), 2.0);
  EXPECT_DOUBLE_EQ(m.predict_s(demand(OpClass::elementwise, 1, 1e9), "cpu0", Kernel::dense, 1, 1), 0.2);
  EXPECT_DOUBLE_EQ(m.predict_s(demand(OpClass::elementwise, 2e10, 1), "gpu0", Kernel::dense, 1, 1), 10e-6 + 1.0);
}

TEST(CostModel, Transfers) {
  Platform p = tiny_platform();
  {
    const CostModel m(p);
    EXPECT_EQ(m.transfer_s(1e6, "cpu", "cpu"), 0);
    // One domain, copy: 5 us + read and write 1e6 bytes at 10 GB/s.
    EXPECT_DOUBLE_EQ(m.transfer_s(1e6, "cpu", "gpu"), 5e-6 + 2e6 / 1e10);
    EXPECT_DOUBLE_EQ(m.transfer_s(1e6, "gpu", "cpu"), 5e-6 + 2e6 / 1e10);
    // Across the 5 GB/s link (slower than either DRAM): 10 us + 1e6 / 5e9.
    EXPECT_DOUBLE_EQ(m.transfer_s(1e6, "cpu", "dgpu"), 10e-6 + 1e6 / 5e9);
    EXPECT_DOUBLE_EQ(m.transfer_s(1e6, "dgpu", "gpu"), 10e-6 + 1e6 / 5e9);
    EXPECT_THROW(m.transfer_s(1, "cpu", "npu"), sparoa::Error);
    EXPECT_THROW(m.transfer_s(1, "npu", "npu"), sparoa::Error);
  }
  {
    // The link is faster than DRAM in the slow mode (5 GB/s) when it is 8 GB/s.
    Platform q = p;
    q.links[0].bandwidth_GBps = 8;
    q.power_mode = "slow";
    const CostModel m(q);
    EXPECT_DOUBLE_EQ(m.transfer_s(1e6, "cpu", "dgpu"), 10e-6 + 1e6 / 5e9);
    EXPECT_DOUBLE_EQ(m.transfer_s(1e6, "cpu", "gpu"), 5e-6 + 2e6 / 5e9);
  }
  {
    Platform q = p;
    q.memory_domains[0].transfer = SharedTransfer::zero_copy;
    const CostModel m(q);
    EXPECT_DOUBLE_EQ(m.transfer_s(1e9, "cpu", "gpu"), 5e-6);
  }
  {
    Platform q = p;  // built in code, not validated: no link
    q.links.clear();
    const CostModel m(q);
    EXPECT_THROW(m.transfer_s(1, "cpu", "dgpu"), sparoa::Error);
  }
}

TEST(CostModel, DemandsOfAGraph) {
  const auto model = sparoa::test::small_cnn(1, 0.5f);
  const sparoa::graph::Graph g = sparoa::graph::import_onnx_bytes(model.bytes(), "small_cnn.onnx");
  const std::vector<OpDemand> demands = op_demands(g);
  ASSERT_EQ(demands.size(), g.operators().size());
  for (std::size_t i = 0; i < demands.size(); ++i) {
    const auto& op = g.op(i);
    const OpDemand& d = demands[i];
    SCOPED_TRACE(op.name);
    EXPECT_EQ(d.flops, op.features.flops);
    EXPECT_EQ(d.bytes, op.features.bytes);
    EXPECT_LE(d.weight_bytes, d.bytes);
    EXPECT_EQ(d.weight_sparsity, op.features.weight_sparsity);
    if (op.type == "Conv") {
      EXPECT_EQ(d.op_class, OpClass::conv);
      EXPECT_EQ(d.weight_bytes, (216 + 8) * 4);
      EXPECT_TRUE(d.sparse_capable);
      EXPECT_GT(d.weight_sparsity, 0.4);
    } else if (op.type == "Gemm") {
      EXPECT_EQ(d.op_class, OpClass::gemm);
      EXPECT_EQ(d.weight_bytes, (32 + 4) * 4);
      EXPECT_TRUE(d.sparse_capable);
    } else if (op.type == "BatchNormalization") {
      EXPECT_EQ(d.op_class, OpClass::normalization);
      EXPECT_EQ(d.weight_bytes, 4 * 8 * 4);
      EXPECT_FALSE(d.sparse_capable);
    } else if (op.type == "Relu") {
      EXPECT_EQ(d.op_class, OpClass::elementwise);
      EXPECT_EQ(d.weight_bytes, 0);
      EXPECT_FALSE(d.sparse_capable);
    }
  }
  // Every operator gets a prediction on every lane of a shipped platform.
  const Platform p = sparoa::test::tiny_platform();
  const CostModel m(p);
  for (const OpDemand& d : demands) {
    for (const char* lane : {"cpu0", "cpu1", "gpu0", "dgpu0"}) {
      const double t = m.predict_s(d, lane, Kernel::dense, 1, 1);
      EXPECT_TRUE(std::isfinite(t) && t > 0) << lane;
      if (d.sparse_capable) {
        EXPECT_GT(m.predict_s(d, lane, Kernel::sparse, 1, 1), 0);
      }
    }
  }
}

}  // namespace

#include "traces/links.hpp"

#include <gtest/gtest.h>

#include <sstream>

#include "trace_fixtures.hpp"
#include "traces/trace_csv.hpp"

namespace sparoa::traces {
namespace {

using testing::make_record;
using testing::sample_trace;

// Indices in sample_trace(): 0 conv1, 1 relu0, 2 launch gemm1, 3 reorder gemm1,
// 4 transfer conv1, 5 gemm1, 6 add1, 7 idle.
TEST(Links, TransferFromProducerAndLaunchToKernel) {
  const std::vector<Link> expected = {{LinkKind::launch, 2, 5}, {LinkKind::transfer, 0, 4}};
  EXPECT_EQ(find_links(sample_trace()), expected);
}

TEST(Links, SurviveACsvRoundTrip) {
  std::stringstream csv;
  write_trace_csv(csv, sample_trace());
  EXPECT_EQ(find_links(read_trace_csv(csv, "t.csv")), find_links(sample_trace()));
}

TEST(Links, MatchOnlyTheSameExecution) {
  Trace t;
  Record producer = make_record(RecordKind::op, "conv1", "cpu", "cpu.l0", 0, 10);
  Record other_request = producer;
  other_request.request_id = 1;
  other_request.start_us = 20;
  other_request.end_us = 30;
  Record transfer = make_record(RecordKind::transfer, "conv1", "gpu", "gpu.s0", 30, 40);
  transfer.request_id = 1;
  Record weights = make_record(RecordKind::transfer, "fc.weight", "gpu", "gpu.s0", 0, 5);
  Record hw_launch = make_record(RecordKind::launch, "conv1", "cpu", "cpu.l1", 0, 1);
  hw_launch.source = Source::hw;  // a different run's record must not link across
  t.records = {producer, other_request, transfer, weights, hw_launch};
  const std::vector<Link> expected = {{LinkKind::transfer, 1, 2}};
  EXPECT_EQ(find_links(t), expected);
  EXPECT_EQ(to_string(LinkKind::launch), "launch");
}

}  // namespace
}  // namespace sparoa::traces

#pragma once
// Schedules exactly as DESIGN.md's normative schema: placements for every operator, the
// order within each lane, the batch size and declared fusions.
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

namespace sparoa::graph {

class Graph;

inline constexpr int kScheduleSchemaVersion = 1;

struct ScheduleEntry {
  std::string op;
  std::string lane;
  std::string kernel;  // "dense" or "sparse"
  std::int64_t order = 0;  // position within its lane, 0-based
  std::optional<std::string> fuse_with;  // operator this one is fused into (same lane)
};

struct Schedule {
  int schema_version = kScheduleSchemaVersion;
  std::string model_path;
  std::string model_sha256;
  std::string platform_name;
  std::string platform_power_mode;
  std::int64_t batch = 1;
  std::vector<ScheduleEntry> entries;
};

// Kernels an operator may use: every operator has "dense"; operators with weights on a
// MAC-heavy type (Conv, ConvTranspose, Gemm, MatMul with a constant operand) also "sparse".
std::vector<std::string> kernels_for(const Graph& g, const std::string& op);

Schedule read_schedule(const std::filesystem::path& path);  // throws sparoa::Error (file, key)
Schedule parse_schedule(const std::string& yaml_text, const std::string& origin);
std::string schedule_to_yaml(const Schedule& s);
void write_schedule(const std::filesystem::path& path, const Schedule& s);  // atomic

// Checks the schedule against the graph: model hash, batch, every operator exactly once,
// names exist, kernels exist for the operator, orders form 0..n-1 per lane, each lane's
// order respects dependencies (no deadlock across lanes either), fusions legal.
// Throws sparoa::Error naming the schedule file and the entry.
void validate_schedule(const Schedule& s, const Graph& g, const std::string& origin);

}  // namespace sparoa::graph

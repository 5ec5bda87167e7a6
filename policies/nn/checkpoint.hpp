#pragma once
// Network parameters on disk: a magic, a format version, the payload's length, the payload
// (a kind such as "threshold-predictor", free-form metadata, then named matrices) and the
// SHA-256 of the payload. A truncated, corrupted or foreign file is a sparoa::Error naming
// the file; loading into a network whose parameters differ in name or shape names the
// parameter.
#include <filesystem>
#include <string>
#include <utility>
#include <vector>

#include "policies/nn/layers.hpp"

namespace sparoa::policies::nn {

inline constexpr std::uint32_t kCheckpointVersion = 1;

struct Checkpoint {
  std::string kind;  // what wrote it
  std::string meta;  // the writer's own settings (text)
  std::vector<std::pair<std::string, Matrix>> tensors;
};

std::string checkpoint_bytes(const std::string& kind, const std::string& meta, const std::vector<Param*>& params);
void save_checkpoint(const std::filesystem::path& path, const std::string& kind, const std::string& meta,
                     const std::vector<Param*>& params);  // atomic

Checkpoint parse_checkpoint(const std::string& bytes, const std::string& origin);
Checkpoint read_checkpoint(const std::filesystem::path& path);

// Copies the checkpoint's matrices into `params` (same names, same order, same shapes);
// throws sparoa::Error naming `origin` and the first mismatch.
void load_params(const Checkpoint& c, const std::vector<Param*>& params, const std::string& origin);

}  // namespace sparoa::policies::nn

#pragma once
// TensorRT's per-layer profile, as `trtexec --exportProfile=FILE` writes it: a JSON array whose
// first element is {"count": N} (the inferences timed) and whose other elements are layers,
// {"name", "timeMs" (total over the N runs), "averageMs", "percentage"} and, from TensorRT 8.4
// on, "medianMs". It lets a board user set TensorRT's layer times beside a gpu-only schedule
// of ours and feed them to calibration as profile rows of the GPU lane.
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "graph/graph.hpp"
#include "platforms/profile.hpp"

namespace sparoa::platforms {

struct TrtLayer {
  std::string name;
  double total_ms = 0;
  double average_ms = 0;
  std::optional<double> median_ms;
  double percentage = 0;
};

struct TrtProfile {
  std::int64_t count = 0;
  std::vector<TrtLayer> layers;
  std::string origin;
  double average_total_ms() const;  // sum of the layers' averages: one inference
};

// Strict: not JSON, not an array, no leading count, a layer without a name or with a missing,
// negative or non-numeric time: a sparoa::Error naming the file and the layer (index, name).
TrtProfile read_trtexec_profile(const std::filesystem::path& path);

// TensorRT names a layer after the ONNX nodes it runs, fusions joined by " + " (and
// pointwise fusions as "PWN(a, b)"). A layer counts for the first node it names in the
// model's topological order (fused activations' time included, as in our fused groups);
// layers naming no node, and the reformatting copies TensorRT inserts ("Reformatting
// CopyNode for ..."), are unmatched.
struct TrtMatch {
  std::vector<ProfileRow> rows;  // one per matched operator, times in microseconds
  std::vector<std::string> unmatched;
  double matched_ms = 0, total_ms = 0;  // average per inference
};
TrtMatch match_trtexec_layers(const TrtProfile& profile, const graph::Graph& g, const std::string& lane, const std::string& device);

}  // namespace sparoa::platforms

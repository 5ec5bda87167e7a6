#pragma once
// SparOA's threshold predictor: a Transformer-LSTM that reads the operator sequence of a
// model on a platform under a hardware state and predicts the thresholds (rho*, I*).
//
//   per-operator features (topological order)  T x F
//   -> Linear F -> 32 -> + self-attention (4 heads) over LayerNorm(.)   (residual)
//   -> LSTM 32 -> [mean over time, last state] -> Linear 64 -> 32 -> tanh -> Linear 32 -> 2
//   -> (rho*, log10(I*) / 3)
//
// Labels come from search_thresholds (the centre of the optimal region); a sample keeps its
// whole search grid, so the regret of any thresholds on it is exact (score_at - 1) without
// running the simulator again.
#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "policies/nn/layers.hpp"
#include "policies/planning.hpp"
#include "policies/search.hpp"

namespace sparoa::policies {

// The hardware state the predictor is told about: the share of each resource other work
// takes (constant over the run).
struct StateFeatures {
  double cpu_background = 0, gpu_background = 0, dram_background = 0;
};

inline constexpr int kPredictorFeatures = int(platforms::kOpClassCount) + 14;
// One row per operator: op class (one-hot), log FLOPs, bytes and intensity, rho, weight
// sparsity, a sparse kernel exists, the cost model's best CPU and GPU times (under the
// state's background load) and their ratio, sparse-over-dense on the CPU, position, state.
nn::Matrix predictor_features(const PlanningModel& m, const StateFeatures& state);

struct PredictorSample {
  std::string model, family, platform, state;
  double sparsity = 0;
  nn::Matrix features;
  ThresholdSearch search;  // its label (search.best) and grid
  double regret(const graph::Thresholds& t) const { return score_at(search, t) - 1.0; }
};

// "resnet18@w0.5" -> "resnet": the unit held out together in leave-one-family-out.
std::string model_family(const std::string& model);

struct TrainOptions {
  int epochs = 40;
  int minibatch = 8;
  double learning_rate = 2e-3;
  std::uint64_t seed = 1;
};

struct EpochStats {
  int epoch = 0;
  double loss = 0;         // mean training MSE of the epoch
  double mean_regret = 0;  // on the training samples after the epoch
  double wall_s = 0;       // since training started
};

class ThresholdPredictor {
 public:
  explicit ThresholdPredictor(std::uint64_t seed = 1);
  graph::Thresholds predict(const nn::Matrix& features);
  std::vector<EpochStats> train(const std::vector<const PredictorSample*>& samples, const TrainOptions& options);

  void save(const std::filesystem::path& path);  // atomic, with checksum
  static ThresholdPredictor load(const std::filesystem::path& path);  // throws sparoa::Error naming the file

 private:
  nn::Matrix forward(const nn::Matrix& x);  // 1 x 2
  void backward(const nn::Matrix& dy);
  std::vector<nn::Param*> params();

  nn::Rng rng_;
  nn::Linear input_;
  nn::LayerNorm norm_;
  nn::MultiHeadSelfAttention attention_;
  nn::Lstm lstm_;
  nn::Linear hidden_, output_;
  nn::Activation tanh_{nn::ActivationKind::tanh};
  Eigen::Index steps_ = 0;
};

graph::Thresholds thresholds_from_output(double rho, double log_intensity);
void output_from_thresholds(const graph::Thresholds& t, double& rho, double& log_intensity);

// The one (rho*, I*) pair, among the samples' own labels, with the least mean regret over
// `samples`: the "best single global threshold pair".
graph::Thresholds best_global_thresholds(const std::vector<const PredictorSample*>& samples);

// Samples on disk (with checksum) so that labelling, which runs the simulator, happens once.
void save_samples(const std::filesystem::path& path, const std::vector<PredictorSample>& samples);
std::vector<PredictorSample> load_samples(const std::filesystem::path& path);

}  // namespace sparoa::policies

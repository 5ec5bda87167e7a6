#include "policies/threshold_predictor.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <limits>
#include <numeric>
#include <sstream>

#include "policies/nn/checkpoint.hpp"
#include "support/error.hpp"

namespace sparoa::policies {
namespace {

constexpr int kDim = 32, kHeads = 4, kHidden = 32;
constexpr const char* kPredictorKind = "threshold-predictor";
constexpr const char* kSamplesKind = "threshold-samples";

double log_us(double seconds) { return std::log10(seconds * 1e6 + 1.0) / 4.0; }

}  // namespace

std::string model_family(const std::string& model) {
  const std::string base = model.substr(0, model.find('@'));
  if (base.rfind("mobilenet", 0) == 0) return "mobilenet";
  if (base.rfind("resnet", 0) == 0) return "resnet";
  if (base.rfind("efficientnet", 0) == 0) return "efficientnet";
  if (base.rfind("squeezenet", 0) == 0) return "squeezenet";
  if (base.rfind("vgg", 0) == 0) return "vgg";
  if (base.rfind("vit", 0) == 0) return "vit";
  if (base.rfind("bert", 0) == 0) return "bert";
  return base;
}

nn::Matrix predictor_features(const PlanningModel& m, const StateFeatures& state) {
  const std::size_t n = m.ops();
  nn::Matrix x = nn::Matrix::Zero(Eigen::Index(n), kPredictorFeatures);
  const double cpu_slow = 1.0 / (1.0 - std::clamp(state.cpu_background, 0.0, 0.95));
  const double gpu_slow = 1.0 / (1.0 - std::clamp(state.gpu_background, 0.0, 0.95));
  for (std::size_t t = 0; t < n; ++t) {
    const auto r = Eigen::Index(t);
    const graph::Features& f = m.features(t);
    int c = 0;
    x(r, c + int(m.demand(t).op_class)) = 1.0;
    c += int(platforms::kOpClassCount);
    x(r, c++) = std::log10(f.flops + 1.0) / 10.0;
    x(r, c++) = std::log10(f.bytes + 1.0) / 8.0;
    x(r, c++) = std::log10(f.intensity + 0.01) / 3.0;
    x(r, c++) = graph::rho(f, m.context().rho_source);
    x(r, c++) = f.weight_sparsity;
    x(r, c++) = m.sparse_capable(t) ? 1.0 : 0.0;
    double cpu = std::numeric_limits<double>::infinity(), gpu = cpu, cpu_dense = cpu, cpu_sparse = cpu;
    for (std::size_t d = 0; d < m.devices(); ++d) {
      const double best = m.best_device_time(t, d);
      if (m.device_kind(d) == platforms::DeviceKind::cpu) {
        cpu = std::min(cpu, best * cpu_slow);
        for (std::size_t l = 0; l < m.lanes(); ++l) {
          if (m.device_of_lane(l) != d) continue;
          cpu_dense = std::min(cpu_dense, m.time(t, l, Kernel::dense));
          if (m.sparse_capable(t)) cpu_sparse = std::min(cpu_sparse, m.time(t, l, Kernel::sparse));
        }
      } else {
        gpu = std::min(gpu, best * gpu_slow);
      }
    }
    if (!std::isfinite(gpu)) gpu = cpu * 100;  // no GPU: as if far away
    x(r, c++) = log_us(cpu);
    x(r, c++) = log_us(gpu);
    x(r, c++) = std::log10(cpu / gpu) / 2.0;
    x(r, c++) = std::isfinite(cpu_sparse) ? std::log10(cpu_sparse / cpu_dense) : 0.0;
    x(r, c++) = n > 1 ? double(t) / double(n - 1) : 0.0;
    x(r, c++) = state.cpu_background;
    x(r, c++) = state.gpu_background;
    x(r, c++) = state.dram_background;
  }
  return x;
}

// Intensity as log10(I + 0.01) / 3: zero (every operator "high") stays reachable, and
// FLOP/byte from 0.01 to 1000 spans [-2/3, 1].
graph::Thresholds thresholds_from_output(double rho, double log_intensity) {
  const double i = std::pow(10.0, 3.0 * std::clamp(log_intensity, -1.0, 1.5)) - 0.01;
  return graph::Thresholds{std::clamp(rho, 0.0, 1.2), std::max(0.0, i)};
}

void output_from_thresholds(const graph::Thresholds& t, double& rho, double& log_intensity) {
  rho = std::clamp(t.rho, 0.0, 1.2);
  log_intensity = std::log10(std::max(t.intensity, 0.0) + 0.01) / 3.0;
}

ThresholdPredictor::ThresholdPredictor(std::uint64_t seed)
    : rng_(seed),
      input_("input", kPredictorFeatures, kDim, rng_),
      norm_("norm", kDim),
      attention_("attention", kDim, kHeads, rng_),
      lstm_("lstm", kDim, kHidden, rng_),
      hidden_("head.hidden", 2 * kHidden, kDim, rng_),
      output_("head.output", kDim, 2, rng_) {}

std::vector<nn::Param*> ThresholdPredictor::params() {
  std::vector<nn::Param*> p;
  for (nn::Layer* l : std::initializer_list<nn::Layer*>{&input_, &norm_, &attention_, &lstm_, &hidden_, &output_}) {
    for (nn::Param* x : l->params()) p.push_back(x);
  }
  return p;
}

nn::Matrix ThresholdPredictor::forward(const nn::Matrix& x) {
  if (x.rows() == 0 || x.cols() != kPredictorFeatures) {
    throw Error("threshold predictor", fmt::format("expected operators x {} features, got {} x {}", kPredictorFeatures,
                                                   x.rows(), x.cols()));
  }
  const nn::Matrix h = input_.forward(x);
  const nn::Matrix h2 = h + attention_.forward(norm_.forward(h));
  const nn::Matrix l = lstm_.forward(h2);
  steps_ = l.rows();
  nn::Matrix pooled(1, 2 * kHidden);
  pooled << l.colwise().mean(), l.row(l.rows() - 1);
  return output_.forward(tanh_.forward(hidden_.forward(pooled)));
}

void ThresholdPredictor::backward(const nn::Matrix& dy) {
  const nn::Matrix dpooled = hidden_.backward(tanh_.backward(output_.backward(dy)));
  nn::Matrix dl = dpooled.leftCols(kHidden).replicate(steps_, 1) / double(steps_);
  dl.row(steps_ - 1) += dpooled.rightCols(kHidden);
  const nn::Matrix dh2 = lstm_.backward(dl);
  const nn::Matrix dh = dh2 + norm_.backward(attention_.backward(dh2));
  input_.backward(dh);
}

graph::Thresholds ThresholdPredictor::predict(const nn::Matrix& features) {
  const nn::Matrix y = forward(features);
  return thresholds_from_output(y(0, 0), y(0, 1));
}

std::vector<EpochStats> ThresholdPredictor::train(const std::vector<const PredictorSample*>& samples,
                                                  const TrainOptions& o) {
  if (samples.empty()) throw Error("threshold predictor", "no training samples");
  const auto t0 = std::chrono::steady_clock::now();
  nn::Adam adam({.learning_rate = o.learning_rate, .clip_norm = 1.0});
  const auto p = params();
  nn::Adam::zero_grad(p);
  std::vector<std::size_t> order(samples.size());
  std::iota(order.begin(), order.end(), 0);
  nn::Rng shuffle(o.seed);
  std::vector<EpochStats> curve;
  for (int epoch = 1; epoch <= o.epochs; ++epoch) {
    for (std::size_t k = order.size(); k > 1; --k) std::swap(order[k - 1], order[std::size_t(shuffle() % k)]);
    double loss = 0;
    int in_batch = 0;
    for (std::size_t k : order) {
      const PredictorSample& s = *samples[k];
      nn::Matrix target(1, 2);
      output_from_thresholds(s.search.best, target(0, 0), target(0, 1));
      nn::Matrix grad;
      loss += nn::mse_loss(forward(s.features), target, grad);
      backward(grad / double(o.minibatch));
      if (++in_batch == o.minibatch) {
        adam.step(p);
        in_batch = 0;
      }
    }
    if (in_batch > 0) adam.step(p);
    EpochStats e;
    e.epoch = epoch;
    e.loss = loss / double(samples.size());
    double regret = 0;
    for (const PredictorSample* s : samples) regret += s->regret(predict(s->features));
    e.mean_regret = regret / double(samples.size());
    e.wall_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    curve.push_back(e);
  }
  return curve;
}

void ThresholdPredictor::save(const std::filesystem::path& path) {
  nn::save_checkpoint(path, kPredictorKind, fmt::format("features={}", kPredictorFeatures), params());
}

ThresholdPredictor ThresholdPredictor::load(const std::filesystem::path& path) {
  const nn::Checkpoint c = nn::read_checkpoint(path);
  if (c.kind != kPredictorKind) throw Error(path.string(), "holds a '" + c.kind + "', not a threshold predictor");
  if (c.meta != fmt::format("features={}", kPredictorFeatures)) {
    throw Error(path.string(), "predictor made for other features (" + c.meta + "); retrain it with this build");
  }
  ThresholdPredictor p;
  nn::load_params(c, p.params(), path.string());
  return p;
}

graph::Thresholds best_global_thresholds(const std::vector<const PredictorSample*>& samples) {
  if (samples.empty()) throw Error("threshold predictor", "no samples to choose global thresholds from");
  graph::Thresholds best = samples.front()->search.best;
  double best_regret = std::numeric_limits<double>::infinity();
  for (const PredictorSample* candidate : samples) {
    double total = 0;
    for (const PredictorSample* s : samples) total += s->regret(candidate->search.best);
    if (total < best_regret) best_regret = total, best = candidate->search.best;
  }
  return best;
}

namespace {

nn::Param matrix_param(const std::string& name, nn::Matrix m) {
  nn::Param p;
  p.name = name;
  p.value = std::move(m);
  return p;
}
nn::Matrix row(const std::vector<double>& v) {
  nn::Matrix m(1, Eigen::Index(v.size()));
  for (std::size_t k = 0; k < v.size(); ++k) m(0, Eigen::Index(k)) = v[k];
  return m;
}
std::vector<double> unrow(const nn::Matrix& m) { return std::vector<double>(m.data(), m.data() + m.size()); }

}  // namespace

void save_samples(const std::filesystem::path& path, const std::vector<PredictorSample>& samples) {
  std::vector<nn::Param> store;
  std::string meta;
  for (std::size_t k = 0; k < samples.size(); ++k) {
    const auto& s = samples[k];
    const auto& q = s.search;
    meta += fmt::format("{}\t{}\t{}\t{}\t{:.17g}\t{:.17g}\t{:.17g}\t{}\n", s.model, s.family, s.platform, s.state,
                        s.sparsity, q.best.rho, q.best.intensity, q.distinct_schedules);
    const std::string p = fmt::format("s{}.", k);
    store.push_back(matrix_param(p + "features", s.features));
    store.push_back(matrix_param(p + "rho_candidates", row(q.rho_candidates)));
    store.push_back(matrix_param(p + "intensity_candidates", row(q.intensity_candidates)));
    store.push_back(matrix_param(p + "rho_values", row(q.rho_values)));
    store.push_back(matrix_param(p + "intensity_values", row(q.intensity_values)));
    store.push_back(matrix_param(p + "grid", row(q.grid_score)));
  }
  std::vector<nn::Param*> ptrs;
  for (auto& p : store) ptrs.push_back(&p);
  nn::save_checkpoint(path, kSamplesKind, meta, ptrs);
}

std::vector<PredictorSample> load_samples(const std::filesystem::path& path) {
  const nn::Checkpoint c = nn::read_checkpoint(path);
  if (c.kind != kSamplesKind) throw Error(path.string(), "holds a '" + c.kind + "', not threshold labels");
  std::vector<PredictorSample> out;
  std::istringstream lines(c.meta);
  std::string line;
  std::size_t k = 0;
  while (std::getline(lines, line)) {
    std::istringstream f(line);
    PredictorSample s;
    std::string sparsity, rho, intensity, distinct;
    std::getline(f, s.model, '\t');
    std::getline(f, s.family, '\t');
    std::getline(f, s.platform, '\t');
    std::getline(f, s.state, '\t');
    std::getline(f, sparsity, '\t');
    std::getline(f, rho, '\t');
    std::getline(f, intensity, '\t');
    std::getline(f, distinct, '\t');
    if (c.tensors.size() < 6 * (k + 1)) throw Error(path.string(), "sample " + std::to_string(k) + " has no tensors");
    try {
      s.sparsity = std::stod(sparsity);
      s.search.best = {std::stod(rho), std::stod(intensity)};
      s.search.distinct_schedules = std::stoll(distinct);
    } catch (const std::exception&) {
      throw Error(path.string(), "sample " + std::to_string(k) + ": malformed label line");
    }
    const auto* t = &c.tensors[6 * k];
    s.features = t[0].second;
    s.search.rho_candidates = unrow(t[1].second);
    s.search.intensity_candidates = unrow(t[2].second);
    s.search.rho_values = unrow(t[3].second);
    s.search.intensity_values = unrow(t[4].second);
    s.search.grid_score = unrow(t[5].second);
    if (s.features.cols() != kPredictorFeatures || s.search.rho_candidates.empty() ||
        s.search.grid_score.size() != s.search.rho_candidates.size() * s.search.intensity_candidates.size()) {
      throw Error(path.string(), "sample " + std::to_string(k) + " (" + s.model + "): inconsistent tensors");
    }
    out.push_back(std::move(s));
    ++k;
  }
  if (6 * k != c.tensors.size()) throw Error(path.string(), "labels and tensors do not match");
  return out;
}

}  // namespace sparoa::policies

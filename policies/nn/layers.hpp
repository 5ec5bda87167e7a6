#pragma once
// A small neural-network library on Eigen for the threshold predictor and the SAC agent
// (DESIGN.md: learning in C++). Double precision throughout: the networks are small, and
// finite-difference gradient checks need it.
//
// A layer maps a matrix whose rows are tokens (sequence positions) or samples to another;
// forward() keeps what backward() needs, backward() takes dLoss/dOutput, adds the parameter
// gradients to Param::grad and returns dLoss/dInput. One forward, then one backward.
#include <Eigen/Dense>

#include <cstdint>
#include <memory>
#include <random>
#include <string>
#include <vector>

namespace sparoa::policies::nn {

using Matrix = Eigen::MatrixXd;
using Rng = std::mt19937_64;

struct Param {
  std::string name;
  Matrix value, grad;
  Matrix m, v;  // Adam's moments
  void init(std::string n, Matrix w) {
    name = std::move(n);
    value = std::move(w);
    grad = Matrix::Zero(value.rows(), value.cols());
    m = grad;
    v = grad;
  }
};

// Uniform draw in [-a, a] from raw bits (std::uniform_real_distribution differs between
// standard libraries; this does not).
double uniform(Rng& rng, double a);
Matrix uniform_matrix(Rng& rng, Eigen::Index rows, Eigen::Index cols, double a);

class Layer {
 public:
  virtual ~Layer() = default;
  virtual Matrix forward(const Matrix& x) = 0;
  virtual Matrix backward(const Matrix& dy) = 0;
  virtual std::vector<Param*> params() { return {}; }
};

// y = x W + b; W is in x out, Glorot-uniform.
class Linear final : public Layer {
 public:
  Linear(const std::string& name, int in, int out, Rng& rng);
  Matrix forward(const Matrix& x) override;
  Matrix backward(const Matrix& dy) override;
  std::vector<Param*> params() override { return {&w_, &b_}; }

 private:
  Param w_, b_;
  Matrix x_;
};

enum class ActivationKind { relu, gelu, tanh, sigmoid };
class Activation final : public Layer {
 public:
  explicit Activation(ActivationKind kind) : kind_(kind) {}
  Matrix forward(const Matrix& x) override;
  Matrix backward(const Matrix& dy) override;

 private:
  ActivationKind kind_;
  Matrix x_, y_;
};

// Per row: (x - mean) / sqrt(var + eps) * gamma + beta.
class LayerNorm final : public Layer {
 public:
  LayerNorm(const std::string& name, int dim, double eps = 1e-5);
  Matrix forward(const Matrix& x) override;
  Matrix backward(const Matrix& dy) override;
  std::vector<Param*> params() override { return {&gamma_, &beta_}; }

 private:
  Param gamma_, beta_;
  double eps_;
  Matrix xhat_;
  Eigen::VectorXd inv_std_;
};

// Over the rows as time steps (one sequence): returns every hidden state, T x hidden.
// Gates i, f, g, o in that order in the weight columns; the forget bias starts at 1.
class Lstm final : public Layer {
 public:
  Lstm(const std::string& name, int in, int hidden, Rng& rng);
  Matrix forward(const Matrix& x) override;
  Matrix backward(const Matrix& dy) override;
  std::vector<Param*> params() override { return {&wx_, &wh_, &b_}; }

 private:
  int hidden_;
  Param wx_, wh_, b_;
  Matrix x_, h_, c_, gates_;  // h_, c_: T + 1 rows (row 0 the zero state)
};

// Self-attention over the rows (tokens) with `heads` heads of dim / heads each.
class MultiHeadSelfAttention final : public Layer {
 public:
  MultiHeadSelfAttention(const std::string& name, int dim, int heads, Rng& rng);
  Matrix forward(const Matrix& x) override;
  Matrix backward(const Matrix& dy) override;
  std::vector<Param*> params() override;

 private:
  int dim_, heads_;
  Linear q_, k_, v_, o_;
  Matrix qm_, km_, vm_, concat_;
  std::vector<Matrix> attention_;  // per head, T x T
};

class Sequential final : public Layer {
 public:
  Sequential& add(std::unique_ptr<Layer> layer) {
    layers_.push_back(std::move(layer));
    return *this;
  }
  Matrix forward(const Matrix& x) override;
  Matrix backward(const Matrix& dy) override;
  std::vector<Param*> params() override;

 private:
  std::vector<std::unique_ptr<Layer>> layers_;
};

// Losses return the value and fill `grad` with dLoss/dPrediction.
// Mean over all elements of (prediction - target)^2.
double mse_loss(const Matrix& prediction, const Matrix& target, Matrix& grad);
// Rows are samples, columns classes (logits); mean over samples of -log softmax[label].
double cross_entropy_loss(const Matrix& logits, const std::vector<int>& labels, Matrix& grad);

struct AdamOptions {
  double learning_rate = 1e-3, beta1 = 0.9, beta2 = 0.999, epsilon = 1e-8;
  double clip_norm = 0;  // > 0: scale all gradients so that their global norm is at most this
};
class Adam {
 public:
  explicit Adam(AdamOptions o = {}) : o_(o) {}
  void step(const std::vector<Param*>& params);  // then zeroes the gradients
  static void zero_grad(const std::vector<Param*>& params);
  std::int64_t steps() const { return t_; }

 private:
  AdamOptions o_;
  std::int64_t t_ = 0;
};

}  // namespace sparoa::policies::nn

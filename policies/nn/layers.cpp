#include "policies/nn/layers.hpp"

#include <cmath>

#include "support/error.hpp"

namespace sparoa::policies::nn {

double uniform(Rng& rng, double a) { return (double(rng() >> 11) * 0x1.0p-53 * 2.0 - 1.0) * a; }

Matrix uniform_matrix(Rng& rng, Eigen::Index rows, Eigen::Index cols, double a) {
  Matrix m(rows, cols);
  // Row-major fill order, fixed whatever Eigen's storage order.
  for (Eigen::Index r = 0; r < rows; ++r) {
    for (Eigen::Index c = 0; c < cols; ++c) m(r, c) = uniform(rng, a);
  }
  return m;
}

namespace {
void check_cols(const Matrix& x, Eigen::Index want, const char* layer) {
  if (x.cols() != want) {
    throw Error(layer, "input has " + std::to_string(x.cols()) + " features, expected " + std::to_string(want));
  }
}
}  // namespace

Linear::Linear(const std::string& name, int in, int out, Rng& rng) {
  w_.init(name + ".weight", uniform_matrix(rng, in, out, std::sqrt(6.0 / double(in + out))));
  b_.init(name + ".bias", Matrix::Zero(1, out));
}

Matrix Linear::forward(const Matrix& x) {
  check_cols(x, w_.value.rows(), "linear layer");
  x_ = x;
  return (x * w_.value).rowwise() + b_.value.row(0);
}

Matrix Linear::backward(const Matrix& dy) {
  w_.grad.noalias() += x_.transpose() * dy;
  b_.grad += dy.colwise().sum();
  return dy * w_.value.transpose();
}

Matrix Activation::forward(const Matrix& x) {
  x_ = x;
  switch (kind_) {
    case ActivationKind::relu: y_ = x.cwiseMax(0.0); break;
    case ActivationKind::tanh: y_ = x.array().tanh(); break;
    case ActivationKind::sigmoid: y_ = (1.0 / (1.0 + (-x.array()).exp())).matrix(); break;
    case ActivationKind::gelu:  // exact: x * Phi(x)
      y_ = x.unaryExpr([](double v) { return 0.5 * v * (1.0 + std::erf(v / std::sqrt(2.0))); });
      break;
  }
  return y_;
}

Matrix Activation::backward(const Matrix& dy) {
  switch (kind_) {
    case ActivationKind::relu: return dy.cwiseProduct(x_.unaryExpr([](double v) { return v > 0 ? 1.0 : 0.0; }));
    case ActivationKind::tanh: return dy.cwiseProduct((1.0 - y_.array().square()).matrix());
    case ActivationKind::sigmoid: return dy.cwiseProduct((y_.array() * (1.0 - y_.array())).matrix());
    case ActivationKind::gelu: {
      const double inv_sqrt2pi = 1.0 / std::sqrt(2.0 * M_PI);
      return dy.cwiseProduct(x_.unaryExpr([&](double v) {
        return 0.5 * (1.0 + std::erf(v / std::sqrt(2.0))) + v * inv_sqrt2pi * std::exp(-0.5 * v * v);
      }));
    }
  }
  return dy;
}

LayerNorm::LayerNorm(const std::string& name, int dim, double eps) : eps_(eps) {
  gamma_.init(name + ".gamma", Matrix::Ones(1, dim));
  beta_.init(name + ".beta", Matrix::Zero(1, dim));
}

Matrix LayerNorm::forward(const Matrix& x) {
  check_cols(x, gamma_.value.cols(), "layer norm");
  const Eigen::Index n = x.cols();
  xhat_.resize(x.rows(), n);
  inv_std_.resize(x.rows());
  for (Eigen::Index r = 0; r < x.rows(); ++r) {
    const double mean = x.row(r).mean();
    const double var = (x.row(r).array() - mean).square().sum() / double(n);
    inv_std_(r) = 1.0 / std::sqrt(var + eps_);
    xhat_.row(r) = (x.row(r).array() - mean) * inv_std_(r);
  }
  return (xhat_.array().rowwise() * gamma_.value.row(0).array()).rowwise() + beta_.value.row(0).array();
}

Matrix LayerNorm::backward(const Matrix& dy) {
  gamma_.grad += dy.cwiseProduct(xhat_).colwise().sum();
  beta_.grad += dy.colwise().sum();
  const Matrix dxhat = dy.array().rowwise() * gamma_.value.row(0).array();
  Matrix dx(dy.rows(), dy.cols());
  for (Eigen::Index r = 0; r < dy.rows(); ++r) {
    const double mean_d = dxhat.row(r).mean();
    const double mean_dx = dxhat.row(r).cwiseProduct(xhat_.row(r)).mean();
    dx.row(r) = ((dxhat.row(r).array() - mean_d) - xhat_.row(r).array() * mean_dx) * inv_std_(r);
  }
  return dx;
}

Lstm::Lstm(const std::string& name, int in, int hidden, Rng& rng) : hidden_(hidden) {
  const double a = 1.0 / std::sqrt(double(hidden));
  wx_.init(name + ".wx", uniform_matrix(rng, in, 4 * hidden, a));
  wh_.init(name + ".wh", uniform_matrix(rng, hidden, 4 * hidden, a));
  Matrix b = Matrix::Zero(1, 4 * hidden);
  b.block(0, hidden, 1, hidden).setOnes();  // forget gate open at first: gradients flow through time
  b_.init(name + ".bias", b);
}

Matrix Lstm::forward(const Matrix& x) {
  check_cols(x, wx_.value.rows(), "LSTM");
  const Eigen::Index T = x.rows(), H = hidden_;
  x_ = x;
  h_ = Matrix::Zero(T + 1, H);
  c_ = Matrix::Zero(T + 1, H);
  gates_.resize(T, 4 * H);
  const Matrix xw = (x * wx_.value).rowwise() + b_.value.row(0);
  for (Eigen::Index t = 0; t < T; ++t) {
    Eigen::RowVectorXd z = xw.row(t) + h_.row(t) * wh_.value;
    auto sig = [](double v) { return 1.0 / (1.0 + std::exp(-v)); };
    for (Eigen::Index j = 0; j < H; ++j) {
      z(j) = sig(z(j));                  // i
      z(H + j) = sig(z(H + j));          // f
      z(2 * H + j) = std::tanh(z(2 * H + j));  // g
      z(3 * H + j) = sig(z(3 * H + j));  // o
    }
    gates_.row(t) = z;
    c_.row(t + 1) = z.segment(H, H).cwiseProduct(c_.row(t)) + z.segment(0, H).cwiseProduct(z.segment(2 * H, H));
    h_.row(t + 1) = z.segment(3 * H, H).cwiseProduct(c_.row(t + 1).unaryExpr([](double v) { return std::tanh(v); }));
  }
  return h_.bottomRows(T);
}

Matrix Lstm::backward(const Matrix& dy) {
  const Eigen::Index T = x_.rows(), H = hidden_;
  Matrix dz(T, 4 * H);
  Eigen::RowVectorXd dh_next = Eigen::RowVectorXd::Zero(H), dc_next = Eigen::RowVectorXd::Zero(H);
  for (Eigen::Index t = T - 1; t >= 0; --t) {
    const auto i = gates_.row(t).segment(0, H), f = gates_.row(t).segment(H, H);
    const auto g = gates_.row(t).segment(2 * H, H), o = gates_.row(t).segment(3 * H, H);
    const Eigen::RowVectorXd tc = c_.row(t + 1).unaryExpr([](double v) { return std::tanh(v); });
    const Eigen::RowVectorXd dh = dy.row(t) + dh_next;
    const Eigen::RowVectorXd dc = dh.cwiseProduct(o).cwiseProduct((1.0 - tc.array().square()).matrix()) + dc_next;
    dz.row(t).segment(0, H) = dc.cwiseProduct(g).cwiseProduct((i.array() * (1.0 - i.array())).matrix());
    dz.row(t).segment(H, H) = dc.cwiseProduct(c_.row(t)).cwiseProduct((f.array() * (1.0 - f.array())).matrix());
    dz.row(t).segment(2 * H, H) = dc.cwiseProduct(i).cwiseProduct((1.0 - g.array().square()).matrix());
    dz.row(t).segment(3 * H, H) = dh.cwiseProduct(tc).cwiseProduct((o.array() * (1.0 - o.array())).matrix());
    dc_next = dc.cwiseProduct(f);
    dh_next = dz.row(t) * wh_.value.transpose();
  }
  wx_.grad.noalias() += x_.transpose() * dz;
  wh_.grad.noalias() += h_.topRows(T).transpose() * dz;
  b_.grad += dz.colwise().sum();
  return dz * wx_.value.transpose();
}

MultiHeadSelfAttention::MultiHeadSelfAttention(const std::string& name, int dim, int heads, Rng& rng)
    : dim_(dim), heads_(heads), q_(name + ".q", dim, dim, rng), k_(name + ".k", dim, dim, rng),
      v_(name + ".v", dim, dim, rng), o_(name + ".o", dim, dim, rng) {
  if (heads <= 0 || dim % heads != 0) throw Error("attention " + name, "dim must be a multiple of heads");
}

std::vector<Param*> MultiHeadSelfAttention::params() {
  std::vector<Param*> p;
  for (Linear* l : {&q_, &k_, &v_, &o_}) {
    for (Param* x : l->params()) p.push_back(x);
  }
  return p;
}

Matrix MultiHeadSelfAttention::forward(const Matrix& x) {
  check_cols(x, dim_, "attention");
  const Eigen::Index T = x.rows(), dk = dim_ / heads_;
  qm_ = q_.forward(x);
  km_ = k_.forward(x);
  vm_ = v_.forward(x);
  concat_.resize(T, dim_);
  attention_.assign(std::size_t(heads_), Matrix());
  const double scale = 1.0 / std::sqrt(double(dk));
  for (int h = 0; h < heads_; ++h) {
    Matrix s = qm_.middleCols(h * dk, dk) * km_.middleCols(h * dk, dk).transpose() * scale;
    for (Eigen::Index r = 0; r < T; ++r) {
      const double mx = s.row(r).maxCoeff();
      s.row(r) = (s.row(r).array() - mx).exp();
      s.row(r) /= s.row(r).sum();
    }
    concat_.middleCols(h * dk, dk) = s * vm_.middleCols(h * dk, dk);
    attention_[std::size_t(h)] = std::move(s);
  }
  return o_.forward(concat_);
}

Matrix MultiHeadSelfAttention::backward(const Matrix& dy) {
  const Eigen::Index T = dy.rows(), dk = dim_ / heads_;
  const Matrix dconcat = o_.backward(dy);
  Matrix dq(T, dim_), dkm(T, dim_), dv(T, dim_);
  const double scale = 1.0 / std::sqrt(double(dk));
  for (int h = 0; h < heads_; ++h) {
    const Matrix& a = attention_[std::size_t(h)];
    const Matrix dout = dconcat.middleCols(h * dk, dk);
    const Matrix da = dout * vm_.middleCols(h * dk, dk).transpose();
    dv.middleCols(h * dk, dk) = a.transpose() * dout;
    Matrix ds = a.cwiseProduct(da);
    const Eigen::VectorXd row_sums = ds.rowwise().sum();
    ds -= a.cwiseProduct(row_sums.replicate(1, T));
    dq.middleCols(h * dk, dk) = ds * km_.middleCols(h * dk, dk) * scale;
    dkm.middleCols(h * dk, dk) = ds.transpose() * qm_.middleCols(h * dk, dk) * scale;
  }
  return q_.backward(dq) + k_.backward(dkm) + v_.backward(dv);
}

Matrix Sequential::forward(const Matrix& x) {
  Matrix y = x;
  for (auto& l : layers_) y = l->forward(y);
  return y;
}

Matrix Sequential::backward(const Matrix& dy) {
  Matrix d = dy;
  for (auto it = layers_.rbegin(); it != layers_.rend(); ++it) d = (*it)->backward(d);
  return d;
}

std::vector<Param*> Sequential::params() {
  std::vector<Param*> p;
  for (auto& l : layers_) {
    for (Param* x : l->params()) p.push_back(x);
  }
  return p;
}

double mse_loss(const Matrix& prediction, const Matrix& target, Matrix& grad) {
  if (prediction.rows() != target.rows() || prediction.cols() != target.cols()) {
    throw Error("mse loss", "prediction and target differ in shape");
  }
  const Matrix diff = prediction - target;
  const double n = double(diff.size());
  grad = diff * (2.0 / n);
  return diff.squaredNorm() / n;
}

double cross_entropy_loss(const Matrix& logits, const std::vector<int>& labels, Matrix& grad) {
  if (Eigen::Index(labels.size()) != logits.rows()) throw Error("cross-entropy loss", "one label per row needed");
  grad.resize(logits.rows(), logits.cols());
  double loss = 0;
  const double n = double(logits.rows());
  for (Eigen::Index r = 0; r < logits.rows(); ++r) {
    const int y = labels[std::size_t(r)];
    if (y < 0 || y >= logits.cols()) throw Error("cross-entropy loss", "label out of range");
    const double mx = logits.row(r).maxCoeff();
    const Eigen::RowVectorXd e = (logits.row(r).array() - mx).exp();
    const double z = e.sum();
    loss += -(logits(r, y) - mx - std::log(z));
    grad.row(r) = e / z / n;
    grad(r, y) -= 1.0 / n;
  }
  return loss / n;
}

void Adam::zero_grad(const std::vector<Param*>& params) {
  for (Param* p : params) p->grad.setZero();
}

void Adam::step(const std::vector<Param*>& params) {
  ++t_;
  double scale = 1;
  if (o_.clip_norm > 0) {
    double sq = 0;
    for (const Param* p : params) sq += p->grad.squaredNorm();
    const double norm = std::sqrt(sq);
    if (norm > o_.clip_norm) scale = o_.clip_norm / norm;
  }
  const double c1 = 1.0 - std::pow(o_.beta1, double(t_)), c2 = 1.0 - std::pow(o_.beta2, double(t_));
  for (Param* p : params) {
    const Matrix g = p->grad * scale;
    p->m = o_.beta1 * p->m + (1 - o_.beta1) * g;
    p->v = o_.beta2 * p->v + (1 - o_.beta2) * g.cwiseProduct(g);
    p->value.array() -= o_.learning_rate * (p->m.array() / c1) / ((p->v.array() / c2).sqrt() + o_.epsilon);
    p->grad.setZero();
  }
}

}  // namespace sparoa::policies::nn

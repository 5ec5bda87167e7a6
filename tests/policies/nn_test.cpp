// The NN library: every layer's and loss's gradients against central finite differences,
// Adam on a problem with a known answer, checkpoints round-trip and refuse damage.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <functional>

#include "policies/nn/checkpoint.hpp"
#include "support/error.hpp"

namespace sparoa::policies::nn {
namespace {

// Largest relative difference between the analytic and the numeric gradient of
// L = sum(layer(x) .* r) over the input and every parameter.
double gradient_error(Layer& layer, Matrix x, Rng& rng) {
  const Matrix y0 = layer.forward(x);
  const Matrix r = uniform_matrix(rng, y0.rows(), y0.cols(), 1.0);
  Adam::zero_grad(layer.params());
  layer.forward(x);
  const Matrix dx = layer.backward(r);
  auto loss = [&] { return layer.forward(x).cwiseProduct(r).sum(); };
  const double h = 1e-6;
  double worst = 0;
  auto compare = [&](double analytic, double numeric) {
    // Relative, with a floor: some gradients are exactly 0 (attention is invariant to the key
    // bias), where the numeric one is round-off (~1e-10).
    const double err = std::abs(analytic - numeric) / std::max(1e-3, std::abs(analytic) + std::abs(numeric));
    worst = std::max(worst, err);
  };
  for (Eigen::Index i = 0; i < x.size(); ++i) {
    const double keep = x(i);
    x(i) = keep + h;
    const double up = loss();
    x(i) = keep - h;
    const double down = loss();
    x(i) = keep;
    compare(dx(i), (up - down) / (2 * h));
  }
  for (Param* p : layer.params()) {
    const Matrix analytic = p->grad;
    for (Eigen::Index i = 0; i < p->value.size(); ++i) {
      const double keep = p->value(i);
      p->value(i) = keep + h;
      const double up = loss();
      p->value(i) = keep - h;
      const double down = loss();
      p->value(i) = keep;
      compare(analytic(i), (up - down) / (2 * h));
    }
  }
  return worst;
}

constexpr double kTolerance = 1e-6;

TEST(NnGradients, Linear) {
  Rng rng(1);
  Linear l("fc", 5, 3, rng);
  EXPECT_LT(gradient_error(l, uniform_matrix(rng, 4, 5, 1), rng), kTolerance);
}

TEST(NnGradients, Activations) {
  for (ActivationKind k : {ActivationKind::relu, ActivationKind::gelu, ActivationKind::tanh, ActivationKind::sigmoid}) {
    Rng rng(2);
    Activation a(k);
    EXPECT_LT(gradient_error(a, uniform_matrix(rng, 3, 6, 2), rng), kTolerance) << int(k);
  }
}

TEST(NnGradients, LayerNorm) {
  Rng rng(3);
  LayerNorm n("ln", 6);
  // Move gamma and beta away from 1 and 0 so that their gradients are exercised.
  for (Param* p : n.params()) p->value += uniform_matrix(rng, p->value.rows(), p->value.cols(), 0.5);
  EXPECT_LT(gradient_error(n, uniform_matrix(rng, 4, 6, 2), rng), kTolerance);
}

TEST(NnGradients, LstmThroughTime) {
  Rng rng(4);
  Lstm l("lstm", 3, 4, rng);
  EXPECT_LT(gradient_error(l, uniform_matrix(rng, 6, 3, 1), rng), kTolerance);
}

TEST(NnGradients, MultiHeadSelfAttention) {
  Rng rng(5);
  MultiHeadSelfAttention a("att", 8, 2, rng);
  EXPECT_LT(gradient_error(a, uniform_matrix(rng, 5, 8, 1), rng), kTolerance);
  EXPECT_THROW(MultiHeadSelfAttention("bad", 6, 4, rng), Error);
}

TEST(NnGradients, SequentialStack) {
  Rng rng(6);
  Sequential s;
  s.add(std::make_unique<Linear>("in", 4, 8, rng));
  s.add(std::make_unique<LayerNorm>("ln", 8));
  s.add(std::make_unique<MultiHeadSelfAttention>("att", 8, 4, rng));
  s.add(std::make_unique<Activation>(ActivationKind::gelu));
  s.add(std::make_unique<Lstm>("lstm", 8, 5, rng));
  s.add(std::make_unique<Linear>("out", 5, 2, rng));
  EXPECT_LT(gradient_error(s, uniform_matrix(rng, 7, 4, 1), rng), kTolerance);
}

TEST(NnGradients, Losses) {
  Rng rng(7);
  Matrix p = uniform_matrix(rng, 3, 4, 2), t = uniform_matrix(rng, 3, 4, 2), g;
  mse_loss(p, t, g);
  const std::vector<int> labels{0, 3, 1};
  Matrix gc;
  cross_entropy_loss(p, labels, gc);
  const double h = 1e-6;
  for (Eigen::Index i = 0; i < p.size(); ++i) {
    Matrix up = p, down = p, unused;
    up(i) += h;
    down(i) -= h;
    const double num = (mse_loss(up, t, unused) - mse_loss(down, t, unused)) / (2 * h);
    EXPECT_NEAR(g(i), num, 1e-7);
    const double num_ce = (cross_entropy_loss(up, labels, unused) - cross_entropy_loss(down, labels, unused)) / (2 * h);
    EXPECT_NEAR(gc(i), num_ce, 1e-7);
  }
  EXPECT_THROW(cross_entropy_loss(p, {0, 4, 1}, g), Error);
  EXPECT_THROW(mse_loss(p, Matrix::Zero(2, 4), g), Error);
}

TEST(NnAdam, FitsALinearMap) {
  // y = x A + c is learnable exactly by one Linear layer.
  Rng rng(8);
  const Matrix a = uniform_matrix(rng, 3, 2, 1), c = uniform_matrix(rng, 1, 2, 1);
  Linear l("fc", 3, 2, rng);
  Adam adam({.learning_rate = 0.05});
  double loss = 0;
  for (int step = 0; step < 2000; ++step) {
    const Matrix x = uniform_matrix(rng, 16, 3, 1);
    const Matrix y = (x * a).rowwise() + c.row(0);
    Matrix g;
    loss = mse_loss(l.forward(x), y, g);
    l.backward(g);
    adam.step(l.params());
  }
  EXPECT_LT(loss, 1e-8);
  EXPECT_EQ(adam.steps(), 2000);
}

TEST(NnCheckpoint, RoundTripsAndRefusesDamage) {
  Rng rng(9);
  Sequential s;
  s.add(std::make_unique<Linear>("a", 3, 4, rng));
  s.add(std::make_unique<Lstm>("b", 4, 2, rng));
  const auto dir = std::filesystem::path(SPAROA_TEST_DATA_DIR) / "nn_test";
  std::filesystem::create_directories(dir);
  const auto file = dir / "net.bin";
  save_checkpoint(file, "test-net", "dim=4", s.params());
  Rng other_rng(10);
  Sequential t;
  t.add(std::make_unique<Linear>("a", 3, 4, other_rng));
  t.add(std::make_unique<Lstm>("b", 4, 2, other_rng));
  const Checkpoint c = read_checkpoint(file);
  EXPECT_EQ(c.kind, "test-net");
  EXPECT_EQ(c.meta, "dim=4");
  load_params(c, t.params(), file.string());
  const Matrix x = uniform_matrix(rng, 5, 3, 1);
  EXPECT_EQ(s.forward(x), t.forward(x));  // bit for bit

  const std::string bytes = checkpoint_bytes("test-net", "dim=4", s.params());
  auto refused = [&](const std::string& damaged, const std::string& want) {
    try {
      parse_checkpoint(damaged, "net.bin");
      ADD_FAILURE() << "accepted: " << want;
    } catch (const Error& e) {
      EXPECT_NE(std::string(e.what()).find(want), std::string::npos) << e.what();
      EXPECT_NE(std::string(e.what()).find("net.bin"), std::string::npos);
    }
  };
  std::string flipped = bytes;
  flipped[40] ^= 0x10;
  refused(flipped, "checksum");
  refused(bytes.substr(0, bytes.size() / 2), "truncated");
  refused(bytes.substr(0, 5), "bad magic");
  refused("PK\x03\x04 not a checkpoint at all", "bad magic");
  std::string version = bytes;
  version[8] = 7;
  refused(version, "version 7");
  refused(bytes + "x", "length");

  Rng r3(11);
  Sequential wrong;
  wrong.add(std::make_unique<Linear>("a", 3, 5, r3));
  wrong.add(std::make_unique<Lstm>("b", 5, 2, r3));
  try {
    load_params(c, wrong.params(), "net.bin");
    ADD_FAILURE() << "loaded into another shape";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("a.weight"), std::string::npos) << e.what();
  }
  EXPECT_THROW(read_checkpoint(dir / "missing.bin"), Error);
}

}  // namespace
}  // namespace sparoa::policies::nn

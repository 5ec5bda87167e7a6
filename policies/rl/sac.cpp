#include "policies/rl/sac.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <map>
#include <sstream>

#include "policies/nn/checkpoint.hpp"
#include "support/error.hpp"

namespace sparoa::policies::rl {
namespace {

constexpr const char* kKind = "sac-agent";

nn::Sequential make_net(const std::string& name, int hidden, nn::Rng& rng) {
  nn::Sequential s;
  s.add(std::make_unique<nn::Linear>(name + ".l1", kFeatures, hidden, rng));
  s.add(std::make_unique<nn::Activation>(nn::ActivationKind::relu));
  s.add(std::make_unique<nn::Linear>(name + ".l2", hidden, hidden, rng));
  s.add(std::make_unique<nn::Activation>(nn::ActivationKind::relu));
  s.add(std::make_unique<nn::Linear>(name + ".out", hidden, kActions, rng));
  return s;
}

void copy_params(nn::Sequential& from, nn::Sequential& to, double tau) {
  auto a = from.params();
  auto b = to.params();
  for (std::size_t i = 0; i < a.size(); ++i) b[i]->value = tau * a[i]->value + (1.0 - tau) * b[i]->value;
}

// A uniform draw in [0, 1) from raw bits (the same on every standard library).
double unit(nn::Rng& rng) { return double(rng() >> 11) * 0x1.0p-53; }

std::string meta_of(const SacConfig& c, const std::string& note) {
  return fmt::format(
      "features={} feature_version={} actions={} hidden={} gamma={:.17g} learning_rate={:.17g} batch={} tau={:.17g} "
      "initial_alpha={:.17g} target_entropy={:.17g} clip_norm={:.17g} n_step={}\n{}",
      kFeatures, kFeatureVersion, kActions, c.hidden, c.gamma, c.learning_rate, c.batch, c.tau, c.initial_alpha,
      c.target_entropy, c.clip_norm, c.n_step, note);
}

}  // namespace

std::uint8_t mask_bits(const Mask& m) {
  std::uint8_t bits = 0;
  for (int a = 0; a < kActions; ++a) bits |= m[std::size_t(a)] ? std::uint8_t(1u << a) : 0;
  return bits;
}

void masked_softmax(const double* logits, std::uint8_t mask, double* p) {
  double top = -1e300;
  for (int a = 0; a < kActions; ++a) {
    if (mask & (1u << a)) top = std::max(top, logits[a]);
  }
  double sum = 0;
  for (int a = 0; a < kActions; ++a) {
    p[a] = (mask & (1u << a)) ? std::exp(logits[a] - top) : 0.0;
    sum += p[a];
  }
  for (int a = 0; a < kActions; ++a) p[a] /= sum;
}

ReplayBuffer::ReplayBuffer(std::size_t capacity) : data_(std::max<std::size_t>(capacity, 1)) {}

void ReplayBuffer::add(const Transition& t) {
  data_[next_] = t;
  next_ = (next_ + 1) % data_.size();
  size_ = std::min(size_ + 1, data_.size());
}

SacAgent::SacAgent(const SacConfig& config, std::uint64_t seed)
    : config_(config),
      init_rng_(seed),
      actor_(make_net("actor", config.hidden, init_rng_)),
      q1_(make_net("q1", config.hidden, init_rng_)),
      q2_(make_net("q2", config.hidden, init_rng_)),
      q1t_(make_net("q1_target", config.hidden, init_rng_)),
      q2t_(make_net("q2_target", config.hidden, init_rng_)),
      actor_opt_({config.learning_rate, 0.9, 0.999, 1e-8, config.clip_norm}),
      q1_opt_({config.learning_rate, 0.9, 0.999, 1e-8, config.clip_norm}),
      q2_opt_({config.learning_rate, 0.9, 0.999, 1e-8, config.clip_norm}),
      alpha_opt_({config.learning_rate, 0.9, 0.999, 1e-8, 0}) {
  if (config.hidden < 1 || config.batch < 1 || !(config.gamma >= 0 && config.gamma <= 1) || !(config.tau > 0 && config.tau <= 1) ||
      !(config.initial_alpha > 0) || !(config.learning_rate > 0) || config.n_step < 1) {
    throw Error("sac", "invalid configuration (hidden, batch, n_step >= 1; 0 <= gamma <= 1; 0 < tau <= 1; alpha, learning "
                       "rate > 0)");
  }
  copy_params(q1_, q1t_, 1.0);
  copy_params(q2_, q2t_, 1.0);
  log_alpha_.init("log_alpha", nn::Matrix::Constant(1, 1, std::log(config.initial_alpha)));
  one_state_.resize(1, kFeatures);
}

double SacAgent::alpha() const { return std::exp(log_alpha_.value(0, 0)); }

std::vector<nn::Param*> SacAgent::all_params() {
  std::vector<nn::Param*> out;
  for (nn::Sequential* n : {&actor_, &q1_, &q2_, &q1t_, &q2t_}) {
    for (nn::Param* p : n->params()) out.push_back(p);
  }
  out.push_back(&log_alpha_);
  return out;
}

std::array<double, kActions> SacAgent::probabilities(const State& s, const Mask& m) {
  for (int i = 0; i < kFeatures; ++i) one_state_(0, i) = s[std::size_t(i)];
  const nn::Matrix logits = actor_.forward(one_state_);
  std::array<double, kActions> p{};
  masked_softmax(logits.data(), mask_bits(m), p.data());
  return p;
}

int SacAgent::act_greedy(const State& s, const Mask& m) {
  const auto p = probabilities(s, m);
  int best = -1;
  for (int a = 0; a < kActions; ++a) {
    if (m[std::size_t(a)] && (best < 0 || p[std::size_t(a)] > p[std::size_t(best)])) best = a;
  }
  return best;
}

int SacAgent::act_sample(const State& s, const Mask& m, nn::Rng& rng) {
  const auto p = probabilities(s, m);
  const double u = unit(rng);
  double acc = 0;
  int last = -1;
  for (int a = 0; a < kActions; ++a) {
    if (!m[std::size_t(a)]) continue;
    last = a;
    acc += p[std::size_t(a)];
    if (u < acc) return a;
  }
  return last;
}

UpdateStats SacAgent::update(const ReplayBuffer& buffer, nn::Rng& rng) {
  const int B = config_.batch;
  nn::Matrix s(B, kFeatures), s2(B, kFeatures);
  std::vector<std::uint8_t> a(static_cast<std::size_t>(B)), mask(static_cast<std::size_t>(B)), mask2(static_cast<std::size_t>(B));
  Eigen::VectorXd r(B), done(B), discount(B);
  for (int i = 0; i < B; ++i) {
    const Transition& t = buffer.at(std::size_t(rng() % buffer.size()));
    for (int k = 0; k < kFeatures; ++k) {
      s(i, k) = t.state[std::size_t(k)];
      s2(i, k) = t.next[std::size_t(k)];
    }
    a[std::size_t(i)] = t.action;
    mask[std::size_t(i)] = t.mask;
    mask2[std::size_t(i)] = t.done ? std::uint8_t(1) : t.next_mask;  // a terminal's next state is unused
    r(i) = t.reward;
    done(i) = t.done;
    discount(i) = t.done ? 0.0 : t.discount;
  }
  const double alpha = this->alpha();
  UpdateStats st;
  st.alpha = alpha;

  // Soft value of the next states: E_{a'~pi}[min Q'(s', a') - alpha log pi(a'|s')].
  const nn::Matrix logits2 = actor_.forward(s2);
  const nn::Matrix qt1 = q1t_.forward(s2), qt2 = q2t_.forward(s2);
  Eigen::VectorXd y(B);
  for (int i = 0; i < B; ++i) {
    double v = 0;
    if (!done(i)) {
      double lg[kActions], p[kActions];
      for (int k = 0; k < kActions; ++k) lg[k] = logits2(i, k);
      masked_softmax(lg, mask2[std::size_t(i)], p);
      for (int k = 0; k < kActions; ++k) {
        if (p[k] > 0) v += p[k] * (std::min(qt1(i, k), qt2(i, k)) - alpha * std::log(p[k]));
      }
    }
    y(i) = r(i) + discount(i) * v;
  }

  // Critics: mean squared error of Q(s, a) against y.
  for (auto [net, opt] : {std::pair{&q1_, &q1_opt_}, std::pair{&q2_, &q2_opt_}}) {
    const nn::Matrix q = net->forward(s);
    nn::Matrix dq = nn::Matrix::Zero(B, kActions);
    double loss = 0;
    for (int i = 0; i < B; ++i) {
      const double e = q(i, a[std::size_t(i)]) - y(i);
      loss += e * e;
      dq(i, a[std::size_t(i)]) = 2 * e / B;
    }
    st.q_loss += 0.5 * loss / B;
    net->backward(dq);
    opt->step(net->params());
  }

  // Policy: minimise E_s[sum_a pi(a|s) (alpha log pi(a|s) - min Q(s, a))].
  const nn::Matrix q1 = q1_.forward(s), q2 = q2_.forward(s);
  const nn::Matrix logits = actor_.forward(s);
  nn::Matrix dlogits = nn::Matrix::Zero(B, kActions);
  double entropy_gap = 0;
  for (int i = 0; i < B; ++i) {
    double lg[kActions], p[kActions], fa[kActions];
    for (int k = 0; k < kActions; ++k) lg[k] = logits(i, k);
    masked_softmax(lg, mask[std::size_t(i)], p);
    double mean_f = 0, h = 0;
    int allowed = 0;
    for (int k = 0; k < kActions; ++k) {
      if (p[k] <= 0) continue;
      ++allowed;
      const double lp = std::log(p[k]);
      fa[k] = alpha * lp - std::min(q1(i, k), q2(i, k));
      mean_f += p[k] * fa[k];
      h -= p[k] * lp;
    }
    st.policy_loss += mean_f / B;
    st.entropy += h / B;
    entropy_gap += (h - config_.target_entropy * std::log(double(std::max(allowed, 1)))) / B;
    for (int k = 0; k < kActions; ++k) {
      if (p[k] > 0) dlogits(i, k) = p[k] * (fa[k] - mean_f) / B;
    }
  }
  actor_.backward(dlogits);
  actor_opt_.step(actor_.params());

  // Temperature: J(alpha) = alpha (H - target); d/dlog alpha = alpha (H - target).
  log_alpha_.grad(0, 0) = alpha * entropy_gap;
  alpha_opt_.step({&log_alpha_});

  copy_params(q1_, q1t_, config_.tau);
  copy_params(q2_, q2t_, config_.tau);
  ++updates_;
  return st;
}

void SacAgent::save(const std::filesystem::path& path, const std::string& note) const {
  auto* self = const_cast<SacAgent*>(this);  // params() hands out mutable pointers; nothing changes
  nn::save_checkpoint(path, kKind, meta_of(config_, note), self->all_params());
}

SacAgent SacAgent::load(const std::filesystem::path& path) {
  const nn::Checkpoint c = nn::read_checkpoint(path);
  const std::string origin = path.string();
  if (c.kind != kKind) throw Error(origin, "not an rl agent (a '" + c.kind + "' checkpoint)");
  const auto eol = c.meta.find('\n');
  std::istringstream head(c.meta.substr(0, eol));
  std::map<std::string, std::string> kv;
  for (std::string tok; head >> tok;) {
    const auto eq = tok.find('=');
    if (eq != std::string::npos) kv[tok.substr(0, eq)] = tok.substr(eq + 1);
  }
  auto number = [&](const std::string& key) {
    const auto it = kv.find(key);
    if (it == kv.end()) throw Error(origin, "agent metadata lacks '" + key + "'");
    try {
      return std::stod(it->second);
    } catch (const std::exception&) {
      throw Error(origin, "agent metadata '" + key + "' is not a number");
    }
  };
  if (int(number("features")) != kFeatures || int(number("feature_version")) != kFeatureVersion ||
      int(number("actions")) != kActions) {
    throw Error(origin, fmt::format("agent made for other features (features={} version={} actions={}; this build: {} {} {}); "
                                    "retrain it with this build",
                                    kv["features"], kv["feature_version"], kv["actions"], kFeatures, kFeatureVersion, kActions));
  }
  SacConfig cfg;
  cfg.hidden = int(number("hidden"));
  cfg.gamma = number("gamma");
  cfg.learning_rate = number("learning_rate");
  cfg.batch = int(number("batch"));
  cfg.tau = number("tau");
  cfg.initial_alpha = number("initial_alpha");
  cfg.target_entropy = number("target_entropy");
  cfg.clip_norm = number("clip_norm");
  cfg.n_step = int(number("n_step"));
  if (cfg.hidden < 1 || cfg.hidden > 4096) throw Error(origin, "agent metadata 'hidden' out of range");
  SacAgent agent(cfg, 0);
  nn::load_params(c, agent.all_params(), origin);
  agent.note_ = eol == std::string::npos ? std::string() : c.meta.substr(eol + 1);
  return agent;
}

}  // namespace sparoa::policies::rl

// sparoa train thresholds: label (model, platform, state, sparsity) cases with the threshold
// search in the simulator, evaluate the Transformer-LSTM predictor leave-one-family-out
// against the best single global threshold pair, then train it on every case and save it.
#include <fmt/format.h>
#include <yaml-cpp/yaml.h>

#include <chrono>
#include <filesystem>
#include <iostream>
#include <map>
#include <mutex>
#include <set>
#include <thread>

#include "cli/commands.hpp"
#include "cli/model_source.hpp"
#include "cli/state_features.hpp"
#include "cli/yaml_config.hpp"
#include "cli/table.hpp"
#include "policies/threshold_predictor.hpp"
#include "sim/fork_evaluator.hpp"
#include "support/atomic_file.hpp"
#include "support/error.hpp"

namespace sparoa::cli {
namespace {

namespace fs = std::filesystem;

struct TrainConfig {
  std::vector<std::string> models, platforms, states{"idle"};
  std::vector<double> sparsity{0};
  std::int64_t batch = 1;
  policies::TrainOptions train;
  bool lofo = true;
};

TrainConfig read_config(const std::string& path) {
  const YAML::Node root = load_config_map(path);
  TrainConfig c;
  auto strings = [&](const YAML::Node& n, const std::string& key) { return config_strings(n, path, key); };
  try {
    for (const auto& kv : root) {
      const std::string key = kv.first.as<std::string>();
      const YAML::Node& v = kv.second;
      if (key == "models") c.models = strings(v, key);
      else if (key == "platforms") c.platforms = strings(v, key);
      else if (key == "states") c.states = strings(v, key);
      else if (key == "sparsity") {
        c.sparsity.clear();
        for (const auto& s : strings(v, key)) c.sparsity.push_back(std::stod(s));
      } else if (key == "batch") c.batch = v.as<std::int64_t>();
      else if (key == "epochs") c.train.epochs = v.as<int>();
      else if (key == "minibatch") c.train.minibatch = v.as<int>();
      else if (key == "learning_rate") c.train.learning_rate = v.as<double>();
      else if (key == "seed") c.train.seed = v.as<std::uint64_t>();
      else if (key == "evaluation") {
        const auto e = v.as<std::string>();
        if (e != "lofo" && e != "none") throw Error(path + ": evaluation", "expected lofo or none, not '" + e + "'");
        c.lofo = e == "lofo";
      } else {
        throw Error(path + ": " + key, "unknown key (keys: models, sparsity, platforms, states, batch, epochs, "
                                       "minibatch, learning_rate, seed, evaluation)");
      }
    }
  } catch (const YAML::Exception& e) {
    throw Error(path, std::string("bad value: ") + e.what());
  } catch (const std::invalid_argument&) {
    throw Error(path + ": sparsity", "expected numbers");
  }
  if (c.models.empty()) throw Error(path + ": models", "missing");
  if (c.platforms.empty()) throw Error(path + ": platforms", "missing");
  if (c.batch < 1 || c.train.epochs < 1 || c.train.minibatch < 1 || !(c.train.learning_rate > 0)) {
    throw Error(path, "batch, epochs and minibatch must be at least 1 and learning_rate positive");
  }
  for (double s : c.sparsity) {
    if (!(s >= 0 && s < 1)) throw Error(path + ": sparsity", fmt::format("{} is outside [0, 1)", s));
  }
  return c;
}

std::string case_key(const std::string& model, const std::string& platform, const std::string& state, double s) {
  return fmt::format("{}|{}|{}|{:.6f}", model, platform, state, s);
}

std::vector<policies::PredictorSample> label(const TrainConfig& c, const std::string& zoo_dir, int jobs) {
  std::vector<policies::PredictorSample> out;
  const auto t0 = std::chrono::steady_clock::now();
  std::int64_t runs = 0;
  const std::size_t total = c.models.size() * c.sparsity.size() * c.platforms.size() * c.states.size();
  for (const auto& platform_name : c.platforms) {
    const auto platform = platforms::read_platform(platforms::resolve_platform_path(platform_name));
    const platforms::CostModel cost(platform);
    for (const auto& model : c.models) {
      for (double s : c.sparsity) {
        ModelSource source;
        source.model = model;
        source.sparsity = s;
        source.batch = c.batch;
        source.zoo_dir = zoo_dir;
        const graph::Graph g = load_model(source);
        for (const auto& state_name : c.states) {
          const NamedState state = named_state(state_name, platform);
          std::optional<platforms::StateTrace> trace;
          if (!state.trace_text.empty()) trace = platforms::parse_state_trace(state.trace_text, state_name, platform);
          policies::PolicyContext ctx;
          ctx.graph = &g;
          ctx.platform = &platform;
          ctx.cost = &cost;
          const policies::PlanningModel m(ctx);
          sim::EvaluationSetting setting;
          setting.graph = &g;
          setting.platform = &platform;
          setting.state = trace ? &*trace : nullptr;
          setting.requests = trace ? 2 * c.batch : 0;  // a constant load: two batches see it settled
          setting.jobs = jobs;
          sim::ForkEvaluator ev(setting);
          policies::PredictorSample sample;
          sample.model = model;
          sample.family = policies::model_family(model);
          sample.platform = platform_name;
          sample.state = state_name;
          sample.sparsity = s;
          sample.features = policies::predictor_features(m, state.features);
          sample.search = policies::search_thresholds(ctx, policies::ThresholdUse::both, policies::MixedRule::cost, false,
                                                      ev, policies::Objective{});
          runs += ev.runs();
          out.push_back(std::move(sample));
          const double wall = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
          std::cerr << fmt::format("\rlabelled {}/{} cases, {} simulations, {:.0f} s", out.size(), total, runs, wall)
                    << std::flush;
        }
      }
    }
  }
  std::cerr << '\n';
  return out;
}

}  // namespace

void add_train_command(CLI::App& app) {
  struct Args {
    std::string config, out, labels, curve, evaluation, zoo_dir = SPAROA_DEFAULT_ZOO_DIR;
    int jobs = 0;
  };
  auto args = std::make_shared<Args>();
  auto* train = app.add_subcommand("train", "Train learned components");
  train->require_subcommand(1);
  auto* cmd = train->add_subcommand("thresholds", "Label cases with the threshold search in the simulator, evaluate the "
                                                  "Transformer-LSTM predictor leave-one-family-out, train and save it");
  cmd->add_option("--config", args->config, "training config (YAML: models, sparsity, platforms, states, ...)")->required();
  cmd->add_option("--out,-o", args->out, "predictor file to write")->required();
  cmd->add_option("--labels", args->labels, "labels file: read when it exists (same cases), else written (default: OUT.labels)");
  cmd->add_option("--curve", args->curve, "learning curve CSV (default: OUT.curve.csv)");
  cmd->add_option("--evaluation", args->evaluation,
                  "write the leave-one-family-out table as CSV (family, cases, predictor_regret, global_regret, "
                  "global_rho, global_intensity)");
  cmd->add_option("--zoo-dir", args->zoo_dir, "where zoo models are built and cached")->capture_default_str();
  cmd->add_option("--jobs,-j", args->jobs, "simulations and trainings at once (default: one per CPU)")
      ->check(CLI::NonNegativeNumber);
  add_train_rl_command(*train);
  cmd->callback([args] {
    const TrainConfig c = read_config(args->config);
    if (!args->evaluation.empty() && !c.lofo) {
      throw Error("--evaluation", "the config sets evaluation: none; the table needs evaluation: lofo");
    }
    const int jobs = args->jobs > 0 ? args->jobs : int(std::max(1u, std::thread::hardware_concurrency()));
    const fs::path labels = args->labels.empty() ? fs::path(args->out + ".labels") : fs::path(args->labels);
    const fs::path curve_file = args->curve.empty() ? fs::path(args->out + ".curve.csv") : fs::path(args->curve);

    // 1. Labels (the simulator), reused when the file holds exactly the configured cases.
    std::set<std::string> wanted;
    for (const auto& p : c.platforms) {
      for (const auto& m : c.models) {
        for (double s : c.sparsity) {
          for (const auto& st : c.states) wanted.insert(case_key(m, p, st, s));
        }
      }
    }
    std::vector<policies::PredictorSample> samples;
    const auto t_label = std::chrono::steady_clock::now();
    bool reused = false;
    if (fs::exists(labels)) {
      samples = policies::load_samples(labels);
      std::set<std::string> have;
      for (const auto& s : samples) have.insert(case_key(s.model, s.platform, s.state, s.sparsity));
      reused = have == wanted;
      if (!reused) std::cout << labels.string() << " holds other cases: labelling again\n";
    }
    if (!reused) {
      samples = label(c, args->zoo_dir, jobs);
      policies::save_samples(labels, samples);
    }
    const double label_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t_label).count();
    std::int64_t schedules = 0;
    for (const auto& s : samples) schedules += s.search.distinct_schedules;
    std::cout << fmt::format("labels: {} cases, {} simulated schedules, {} ({})\n", samples.size(), schedules,
                             reused ? "read from " + labels.string() : fmt::format("{:.1f} s", label_s),
                             reused ? "labelled earlier" : "labelling time, " + std::to_string(jobs) + " at once");

    // 2. Leave one family out: train on the others, measure regret on the family.
    if (c.lofo) {
      std::vector<std::string> families;
      for (const auto& s : samples) {
        if (std::find(families.begin(), families.end(), s.family) == families.end()) families.push_back(s.family);
      }
      struct Fold {
        std::string family;
        std::size_t cases = 0;
        double predictor = 0, predictor_max = 0, global = 0, oracle_label = 0;
        graph::Thresholds global_pair;
      };
      std::vector<Fold> folds(families.size());
      std::mutex mutex;
      std::size_t next = 0;
      auto worker = [&] {
        for (;;) {
          std::size_t f;
          {
            std::lock_guard lock(mutex);
            if (next >= families.size()) return;
            f = next++;
          }
          std::vector<const policies::PredictorSample*> train_set, test_set;
          for (const auto& s : samples) (s.family == families[f] ? test_set : train_set).push_back(&s);
          Fold& fold = folds[f];
          fold.family = families[f];
          fold.cases = test_set.size();
          if (train_set.empty()) continue;
          policies::ThresholdPredictor p(c.train.seed);
          p.train(train_set, c.train);
          fold.global_pair = policies::best_global_thresholds(train_set);
          for (const auto* s : test_set) {
            const double r = s->regret(p.predict(s->features));
            fold.predictor += r / double(test_set.size());
            fold.predictor_max = std::max(fold.predictor_max, r);
            fold.global += s->regret(fold.global_pair) / double(test_set.size());
            fold.oracle_label += s->regret(s->search.best) / double(test_set.size());
          }
        }
      };
      std::vector<std::thread> threads;
      for (int j = 0; j < std::min<int>(jobs, int(families.size())); ++j) threads.emplace_back(worker);
      for (auto& t : threads) t.join();
      Table t({"held-out family", "cases", "predictor mean regret", "max", "global pair mean regret", "global pair",
               "label's own regret"},
              {false, true, true, true, true, false, true});
      double pred = 0, glob = 0;
      std::size_t n = 0;
      for (const Fold& f : folds) {
        t.add_row({f.family, std::to_string(f.cases), fmt::format("{:.2f}%", 100 * f.predictor),
                   fmt::format("{:.2f}%", 100 * f.predictor_max), fmt::format("{:.2f}%", 100 * f.global),
                   fmt::format("rho*={:.3g} I*={:.3g}", f.global_pair.rho, f.global_pair.intensity),
                   fmt::format("{:.2f}%", 100 * f.oracle_label)});
        pred += f.predictor * double(f.cases);
        glob += f.global * double(f.cases);
        n += f.cases;
      }
      t.add_rule();
      t.add_row({"all", std::to_string(n), fmt::format("{:.2f}%", 100 * pred / double(n)), "",
                 fmt::format("{:.2f}%", 100 * glob / double(n)), "", ""});
      std::cout << "leave-one-family-out (regret = latency with the thresholds / latency with the searched ones - 1):\n";
      t.print(std::cout);
      if (!args->evaluation.empty()) {
        std::string csv = "family,cases,predictor_regret,global_regret,global_rho,global_intensity\n";
        for (const Fold& f : folds) {
          csv += fmt::format("{},{},{:.6g},{:.6g},{:.6g},{:.6g}\n", f.family, f.cases, f.predictor, f.global,
                             f.global_pair.rho, f.global_pair.intensity);
        }
        write_file_atomically(args->evaluation, csv);
      }
    }

    // 3. The predictor on every case.
    std::vector<const policies::PredictorSample*> all;
    for (const auto& s : samples) all.push_back(&s);
    policies::ThresholdPredictor p(c.train.seed);
    const auto curve = p.train(all, c.train);
    p.save(args->out);
    std::string csv = "epoch,train_loss,train_mean_regret,wall_s\n";
    for (const auto& e : curve) csv += fmt::format("{},{:.6g},{:.6g},{:.3f}\n", e.epoch, e.loss, e.mean_regret, e.wall_s);
    write_file_atomically(curve_file, csv);
    const auto global = policies::best_global_thresholds(all);
    double global_regret = 0;
    for (const auto* s : all) global_regret += s->regret(global) / double(all.size());
    std::cout << fmt::format(
        "trained on all {} cases: {} epochs in {:.1f} s (training time), final loss {:.4g}, mean regret on them "
        "{:.2f}% (best global pair rho*={:.3g} I*={:.3g}: {:.2f}%)\nwrote {}, learning curve {}\n",
        all.size(), curve.size(), curve.back().wall_s, curve.back().loss, 100 * curve.back().mean_regret, global.rho,
        global.intensity, 100 * global_regret, args->out, curve_file.string());
  });
}

}  // namespace sparoa::cli

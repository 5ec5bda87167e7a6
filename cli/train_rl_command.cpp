// sparoa train rl: the SAC scheduler trained in the simulator on a curriculum of models,
// weight sparsities, platforms and hardware-state traces, with parallel rollout workers.
#include <fmt/format.h>
#include <yaml-cpp/yaml.h>

#include <filesystem>
#include <iostream>
#include <map>
#include <memory>

#include "cli/commands.hpp"
#include "cli/model_source.hpp"
#include "cli/state_features.hpp"
#include "cli/yaml_config.hpp"
#include "policies/rl/trainer.hpp"
#include "sim/fork_rollouts.hpp"
#include "support/atomic_file.hpp"
#include "support/error.hpp"

namespace sparoa::cli {
namespace {

namespace fs = std::filesystem;
using policies::rl::TrainOptions;

struct StageSpec {
  std::string name;
  std::int64_t steps = 0;
  std::vector<std::string> models, platforms, states;
  std::vector<double> sparsity{0};
};

struct RlConfig {
  TrainOptions train;
  int state_variants = 2;
  double horizon_s = 30;
  std::vector<StageSpec> stages;
  fs::path dir;  // trace files are relative to the config's folder
};

RlConfig read_rl_config(const std::string& path) {
  const YAML::Node root = load_config_map(path);
  RlConfig c;
  c.dir = fs::path(path).parent_path();
  auto strings = [&](const YAML::Node& n, const std::string& key) { return config_strings(n, path, key); };
  std::string key;
  try {
    for (const auto& kv : root) {
      key = kv.first.as<std::string>();
      const YAML::Node& v = kv.second;
      auto& t = c.train;
      if (key == "seed") t.seed = v.as<std::uint64_t>();
      else if (key == "workers") t.workers = v.as<int>();
      else if (key == "episodes_per_job") t.episodes_per_job = v.as<int>();
      else if (key == "warmup_steps") t.warmup_steps = v.as<std::int64_t>();
      else if (key == "updates_per_step") t.updates_per_step = v.as<double>();
      else if (key == "buffer") t.buffer = v.as<std::size_t>();
      else if (key == "energy_weight_s_per_J") t.energy_weight = v.as<double>();
      else if (key == "state_variants") c.state_variants = v.as<int>();
      else if (key == "state_horizon_s") c.horizon_s = v.as<double>();
      else if (key == "sac") {
        if (!v.IsMap()) throw Error(path + ": sac", "expected a mapping");
        for (const auto& s : v) {
          const std::string k = s.first.as<std::string>();
          key = "sac." + k;
          auto& q = t.sac;
          if (k == "hidden") q.hidden = s.second.as<int>();
          else if (k == "gamma") q.gamma = s.second.as<double>();
          else if (k == "learning_rate") q.learning_rate = s.second.as<double>();
          else if (k == "batch") q.batch = s.second.as<int>();
          else if (k == "tau") q.tau = s.second.as<double>();
          else if (k == "initial_alpha") q.initial_alpha = s.second.as<double>();
          else if (k == "target_entropy") q.target_entropy = s.second.as<double>();
          else if (k == "clip_norm") q.clip_norm = s.second.as<double>();
          else if (k == "n_step") q.n_step = s.second.as<int>();
          else throw Error(path + ": sac." + k, "unknown key (keys: hidden, gamma, learning_rate, batch, tau, "
                                                "initial_alpha, target_entropy, clip_norm, n_step)");
        }
      } else if (key == "stages") {
        if (!v.IsSequence() || v.size() == 0) throw Error(path + ": stages", "expected a non-empty list");
        for (std::size_t i = 0; i < v.size(); ++i) {
          const YAML::Node& st = v[i];
          if (!st.IsMap()) throw Error(fmt::format("{}: stages[{}]", path, i), "expected a mapping");
          StageSpec s;
          s.name = fmt::format("stage{}", i + 1);
          for (const auto& f : st) {
            const std::string k = f.first.as<std::string>();
            key = fmt::format("stages[{}].{}", i, k);
            if (k == "name") s.name = f.second.as<std::string>();
            else if (k == "steps") s.steps = f.second.as<std::int64_t>();
            else if (k == "models") s.models = strings(f.second, key);
            else if (k == "platforms") s.platforms = strings(f.second, key);
            else if (k == "states") s.states = strings(f.second, key);
            else if (k == "sparsity") {
              s.sparsity.clear();
              for (const auto& x : strings(f.second, key)) s.sparsity.push_back(std::stod(x));
            } else {
              throw Error(path + ": " + key, "unknown key (keys: name, steps, models, sparsity, platforms, states)");
            }
          }
          if (s.models.empty() || s.platforms.empty() || s.states.empty()) {
            throw Error(fmt::format("{}: stages[{}]", path, i), "needs models, platforms and states");
          }
          c.stages.push_back(std::move(s));
        }
      } else {
        throw Error(path + ": " + key,
                    "unknown key (keys: seed, workers, episodes_per_job, warmup_steps, updates_per_step, buffer, "
                    "energy_weight_s_per_J, state_variants, state_horizon_s, sac, stages)");
      }
    }
  } catch (const YAML::Exception& e) {
    throw Error(path + ": " + key, std::string("bad value: ") + e.what());
  } catch (const std::invalid_argument&) {
    throw Error(path + ": " + key, "expected numbers");
  }
  if (c.stages.empty()) throw Error(path + ": stages", "missing");
  std::int64_t last = 0;
  for (const auto& s : c.stages) {
    if (s.steps <= last) throw Error(path + ": stages", "each stage's steps (counted from the start) must exceed the last one's");
    last = s.steps;
    for (double x : s.sparsity) {
      if (!(x >= 0 && x < 1)) throw Error(path + ": sparsity", fmt::format("{} is outside [0, 1)", x));
    }
  }
  if (c.train.workers < 1 || c.train.episodes_per_job < 1 || c.state_variants < 1 || c.train.buffer < 1 ||
      !(c.train.updates_per_step >= 0) || c.train.warmup_steps < 0 || !(c.horizon_s > 0) || !(c.train.energy_weight >= 0)) {
    throw Error(path, "workers, episodes_per_job, state_variants and buffer must be at least 1; updates_per_step, "
                      "warmup_steps and energy_weight_s_per_J not negative; state_horizon_s positive");
  }
  return c;
}

std::string duration(double s) {
  if (!(s >= 0) || s > 1e7) return "?";
  const auto t = std::int64_t(s);
  return t >= 3600 ? fmt::format("{}h{:02}m", t / 3600, t / 60 % 60) : fmt::format("{}m{:02}s", t / 60, t % 60);
}

// Everything the cells point into, kept alive for the run.
struct World {
  std::map<std::string, std::unique_ptr<platforms::Platform>> platforms;
  std::map<std::string, std::unique_ptr<platforms::CostModel>> costs;
  std::map<std::string, std::unique_ptr<graph::Graph>> graphs;
  std::map<std::string, std::unique_ptr<platforms::StateTrace>> traces;
  std::map<std::string, std::unique_ptr<policies::PolicyContext>> contexts;
  std::vector<sim::EvaluationSetting> settings;
  std::vector<policies::rl::TrainCell> cells;
  std::map<std::string, std::size_t> cell_index;
};

std::vector<policies::rl::Stage> build_world(const RlConfig& c, const std::string& zoo_dir, World& w) {
  std::vector<policies::rl::Stage> stages;
  for (const StageSpec& spec : c.stages) {
    policies::rl::Stage stage{spec.name, spec.steps, {}};
    for (const auto& pname : spec.platforms) {
      if (!w.platforms.count(pname)) {
        w.platforms[pname] = std::make_unique<platforms::Platform>(platforms::read_platform(platforms::resolve_platform_path(pname)));
        w.costs[pname] = std::make_unique<platforms::CostModel>(*w.platforms[pname]);
      }
      const platforms::Platform& p = *w.platforms[pname];
      for (const auto& model : spec.models) {
        for (double s : spec.sparsity) {
          const std::string gkey = fmt::format("{}|{:.6f}", model, s);
          if (!w.graphs.count(gkey)) {
            ModelSource src;
            src.model = model;
            src.sparsity = s;
            src.batch = 1;
            src.zoo_dir = zoo_dir;
            w.graphs[gkey] = std::make_unique<graph::Graph>(load_model(src));
          }
          const graph::Graph& g = *w.graphs[gkey];
          const std::string ckey = gkey + "|" + pname;
          if (!w.contexts.count(ckey)) {
            auto ctx = std::make_unique<policies::PolicyContext>();
            ctx->graph = &g;
            ctx->platform = &p;
            ctx->cost = w.costs[pname].get();
            w.contexts[ckey] = std::move(ctx);
          }
          for (const auto& state : spec.states) {
            const bool generated = is_dynamic_state(state);
            const int variants = generated && state != "idle" ? c.state_variants : 1;
            for (int v = 0; v < variants; ++v) {
              const std::string label = variants > 1 ? fmt::format("{}#{}", state, v + 1) : state;
              const std::string key = fmt::format("{}|{}", ckey, label);
              if (w.cell_index.count(key)) {
                stage.cells.push_back(w.cell_index[key]);
                continue;
              }
              const std::string tkey = label + "|" + pname;
              if (state != "idle" && !w.traces.count(tkey)) {
                if (generated) {
                  // Variants are fixed by the config's seed: the curriculum is part of the experiment.
                  const std::uint64_t seed = c.train.seed * 1000003ULL + std::hash<std::string>{}(label) % 1000003ULL;
                  w.traces[tkey] = std::make_unique<platforms::StateTrace>(
                      platforms::parse_state_trace(dynamic_state_text(state, seed, p, c.horizon_s), label, p));
                } else {
                  fs::path f = state;
                  if (f.is_relative() && !fs::exists(f)) f = c.dir / f;
                  w.traces[tkey] = std::make_unique<platforms::StateTrace>(platforms::read_state_trace(f, p));
                }
              }
              sim::EvaluationSetting set;
              set.graph = &g;
              set.platform = &p;
              set.state = state == "idle" ? nullptr : w.traces[tkey].get();
              w.cell_index[key] = w.cells.size();
              stage.cells.push_back(w.cells.size());
              w.cells.push_back({w.settings.size(), fmt::format("{} @{} on {} ({})", model, s, pname, label), w.contexts[ckey].get()});
              w.settings.push_back(set);
            }
          }
        }
      }
    }
    stages.push_back(std::move(stage));
  }
  return stages;
}

}  // namespace

void add_train_rl_command(CLI::App& train) {
  struct Args {
    std::string config, out, curve, zoo_dir = SPAROA_DEFAULT_ZOO_DIR;
    int workers = 0;
    std::uint64_t seed = 0;
    bool seed_given = false, quiet = false;
  };
  auto args = std::make_shared<Args>();
  auto* cmd = train.add_subcommand("rl", "Train the soft actor-critic scheduler in the simulator on a curriculum, with "
                                         "parallel rollout workers");
  cmd->add_option("--config", args->config, "training config (YAML: stages of models, sparsity, platforms, states; sac; ...)")
      ->required();
  cmd->add_option("--out,-o", args->out, "agent file to write")->required();
  cmd->add_option("--workers", args->workers, "rollout workers (default: the config's)")->check(CLI::PositiveNumber);
  cmd->add_option("--seed", args->seed, "seed (default: the config's)");
  cmd->add_option("--curve", args->curve, "learning curve CSV (default: OUT.curve.csv; a PNG beside it)");
  cmd->add_option("--zoo-dir", args->zoo_dir, "where zoo models are built and cached")->capture_default_str();
  cmd->add_flag("--quiet,-q", args->quiet, "no progress bar");
  cmd->callback([args, cmd] {
    RlConfig c = read_rl_config(args->config);
    if (args->workers > 0) c.train.workers = args->workers;
    if (cmd->count("--seed") > 0) c.train.seed = args->seed;
    World w;
    const auto stages = build_world(c, args->zoo_dir, w);
    std::cout << fmt::format("curriculum: {} cells ({} models x sparsities, {} platforms, {} state traces) in {} stages, "
                             "{} decisions; {} workers x {} episodes per round, seed {}\n",
                             w.cells.size(), w.graphs.size(), w.platforms.size(), w.traces.size(), stages.size(),
                             stages.back().steps, c.train.workers, c.train.episodes_per_job, c.train.seed);
    sim::ForkRollouts runner(w.settings);
    const bool tty = !args->quiet;
    auto progress = [&](const policies::rl::CurvePoint& p, std::int64_t total) {
      if (!tty) return;
      const double done = std::min(1.0, double(p.env_steps) / double(total));
      const int bar = int(done * 30);
      const double eta = done > 0 ? p.elapsed_s * (1 - done) / done : -1;
      std::cerr << fmt::format("\r[{}{}] {:3.0f}% steps {}/{} episodes {} return {:.3f} latency/bound {:.3f} [{}] "
                               "elapsed {} ETA {}   ",
                               std::string(std::size_t(bar), '#'), std::string(std::size_t(30 - bar), ' '), 100 * done,
                               p.env_steps, total, p.episodes, p.mean_return, p.mean_latency_ratio, p.stage,
                               duration(p.elapsed_s), duration(eta))
                << std::flush;
    };
    policies::rl::TrainResult r = policies::rl::train_sac(w.cells, stages, runner, c.train, progress);
    if (tty) std::cerr << '\n';
    const std::string note = fmt::format("trained by sparoa train rl --config {} (seed {}, {} workers): {} decisions, {} "
                                         "episodes, {} updates",
                                         args->config, c.train.seed, c.train.workers, r.curve.back().env_steps,
                                         r.curve.back().episodes, r.agent.updates());
    r.agent.save(args->out, note);
    const fs::path curve = args->curve.empty() ? fs::path(args->out + ".curve.csv") : fs::path(args->curve);
    write_file_atomically(curve, policies::rl::curve_csv(r.curve));
    // The last tenth of the rounds, for a steadier figure.
    const std::size_t tail = std::max<std::size_t>(1, r.curve.size() / 10);
    double ratio = 0;
    for (std::size_t i = r.curve.size() - tail; i < r.curve.size(); ++i) ratio += r.curve[i].mean_latency_ratio / double(tail);
    std::cout << fmt::format("trained: {} decisions, {} episodes, {} updates in {:.1f} s ({:.0f} decisions/s with {} "
                             "workers); latency / lower bound over the last {} rounds: {:.3f}\nwrote {}, learning curve {}\n",
                             r.curve.back().env_steps, r.curve.back().episodes, r.agent.updates(), r.wall_s,
                             double(r.curve.back().env_steps) / r.wall_s, c.train.workers, tail, ratio, args->out,
                             curve.string());
    const fs::path png = fs::path(curve).replace_extension(".png");
    const std::string plot = fmt::format("/usr/bin/python3 {} {} {} >/dev/null 2>&1",
                                         (fs::path(SPAROA_SOURCE_DIR) / "scripts/plot_learning_curve.py").string(),
                                         curve.string(), png.string());
    if (std::system(plot.c_str()) == 0) {
      std::cout << "plot " << png.string() << '\n';
    } else {
      std::cout << "(no plot: Debian's python3-matplotlib is missing; scripts/install-deps.sh installs it)\n";
    }
  });
}

}  // namespace sparoa::cli

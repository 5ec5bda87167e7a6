// sparoa demo: the tour of the whole loop on the embedded default. Each step is a sparoa
// command a user could type (it is printed); simulations run as child processes because
// SimGrid allows one engine per process.
#include <fmt/format.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <sstream>
#include <cstring>
#include <fcntl.h>

#include "cli/commands.hpp"
#include "cli/inspect_report.hpp"
#include "cli/table.hpp"
#include "graph/onnx_import.hpp"
#include "graph/zoo/zoo.hpp"
#include "support/error.hpp"

extern char** environ;

namespace sparoa::cli {

namespace {

namespace fs = std::filesystem;

// Runs this same binary (or `program`) with `args`; its stdout goes to `log` when given.
// Throws naming the step and the log when it fails.
void run_step(const std::vector<std::string>& args, const fs::path& log, const std::string& program = "") {
  std::string shown = program.empty() ? "sparoa" : program;
  for (const auto& a : args) shown += " " + a;
  std::cout << "$ " << shown << std::endl;
  const std::string exe = program.empty() ? fs::read_symlink("/proc/self/exe").string() : program;
  std::vector<std::string> full = {exe};
  full.insert(full.end(), args.begin(), args.end());
  std::vector<char*> argv;
  for (auto& a : full) argv.push_back(a.data());
  argv.push_back(nullptr);
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  if (!log.empty()) posix_spawn_file_actions_addopen(&actions, STDOUT_FILENO, log.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  pid_t pid = 0;
  const int rc = posix_spawn(&pid, exe.c_str(), &actions, nullptr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  if (rc != 0) throw Error("demo", "cannot start " + exe + ": " + std::strerror(rc));
  int status = 0;
  while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    throw Error("demo", "step failed: " + shown + (log.empty() ? "" : " (output in " + log.string() + ")"));
  }
}

// The '# key: value' lines of a sparoa validate comparison CSV.
std::map<std::string, std::string> csv_header(const fs::path& path) {
  std::map<std::string, std::string> out;
  std::ifstream f(path);
  for (std::string line; std::getline(f, line) && line.rfind("# ", 0) == 0;) {
    const auto colon = line.find(": ");
    if (colon != std::string::npos) out[line.substr(2, colon - 2)] = line.substr(colon + 2);
  }
  return out;
}

// The data row of a sparoa simulate --summary CSV, by column.
std::map<std::string, std::string> summary_row(const fs::path& path) {
  std::ifstream f(path);
  std::string head, row;
  std::getline(f, head);
  std::getline(f, row);
  std::map<std::string, std::string> out;
  std::stringstream h(head), r(row);
  for (std::string k, v; std::getline(h, k, ',') && std::getline(r, v, ',');) out[k] = v;
  return out;
}

double number(const std::map<std::string, std::string>& m, const std::string& key) { return std::stod(m.at(key)); }

}  // namespace

void add_demo_command(CLI::App& app) {
  struct Args {
    std::string zoo_dir = SPAROA_DEFAULT_ZOO_DIR;
    std::string out = std::string(SPAROA_DEFAULT_ZOO_DIR) + "/../demo";
    graph::Thresholds thresholds;
  };
  auto args = std::make_shared<Args>();
  auto* cmd = app.add_subcommand("demo", "The whole loop: workload features, placements on a simulated Jetson, "
                                         "profiling this machine, calibration and validation");
  cmd->add_option("--zoo-dir", args->zoo_dir, "where zoo models are built and cached")->capture_default_str();
  cmd->add_option("--out", args->out, "folder for the demo's files")->capture_default_str();
  cmd->add_option("--rho", args->thresholds.rho, "sparsity threshold rho*")->check(CLI::Range(0.0, 1.0))->capture_default_str();
  cmd->add_option("--intensity", args->thresholds.intensity, "intensity threshold I* (FLOP/byte)")
      ->check(CLI::NonNegativeNumber)->capture_default_str();
  cmd->callback([args] {
    const auto t0 = std::chrono::steady_clock::now();
    const fs::path out = fs::weakly_canonical(args->out);
    fs::create_directories(out);
    const std::string zoo = args->zoo_dir;

    // 1. The workload: how pruning moves MobileNetV3-Small's operators between quadrants.
    std::cout << "== 1/6 workload: MobileNetV3-Small pruned to 0%, 50% and 90% of its weights\n";
    Table quadrants({"weight sparsity", "operators", "MACs", "zero weights", "sparse/low-I", "sparse/high-I",
                     "dense/low-I", "dense/high-I"},
                    {true, true, true, true, true, true, true, true});
    for (double s : {0.0, 0.5, 0.9}) {
      const auto path = graph::zoo::build_model("mobilenetv3_small", {s, false}, zoo);
      graph::ImportOptions import;
      import.batch = 1;
      const graph::Graph g = graph::import_onnx(path, import);
      const auto tot = graph::totals(g);
      std::array<int, 4> counts{};
      for (const auto& op : g.operators()) ++counts[static_cast<std::size_t>(graph::quadrant(op.features, args->thresholds))];
      quadrants.add_row({fmt::format("{:.0f}%", s * 100), std::to_string(tot.operators), fmt::format("{:.1f} M", tot.macs / 1e6),
                         fmt::format("{:.1f}%", 100 * tot.weight_sparsity()), std::to_string(counts[0]),
                         std::to_string(counts[1]), std::to_string(counts[2]), std::to_string(counts[3])});
    }
    quadrants.print(std::cout);
    std::cout << fmt::format("(quadrants at rho* = {:.2f}, I* = {:.1f} FLOP/B; `sparoa inspect MODEL` shows every operator)\n\n",
                             args->thresholds.rho, args->thresholds.intensity);

    // 2. Placements on the simulated board.
    std::cout << "== 2/6 placements on the simulated Jetson AGX Orin 64GB (MAXN), 50% pruned, Poisson 100/s, 300 requests\n";
    Table placements({"model", "placement", "latency mean", "p99", "throughput", "energy/inference"},
                     {false, false, true, true, true, true});
    for (const std::string model : {"mobilenetv3_small", "resnet18"}) {
      for (const std::string policy : {"cpu-only", "gpu-only"}) {
        const std::string stem = fmt::format("sim-{}-{}", model, policy);
        run_step({"simulate", "-m", model, "--sparsity", "0.5", "--zoo-dir", zoo, "-p", "agx-orin-64gb-maxn", "--policy",
                  policy, "--arrivals", "poisson:100", "-n", "300", "--summary", (out / (stem + ".summary.csv")).string(),
                  "--trace", (out / (stem + ".json")).string()},
                 out / (stem + ".log"));
        const auto s = summary_row(out / (stem + ".summary.csv"));
        placements.add_row({model, policy, fmt::format("{:.2f} ms", number(s, "latency_mean_ms")),
                            fmt::format("{:.2f} ms", number(s, "latency_p99_ms")),
                            fmt::format("{:.1f}/s", number(s, "throughput_rps")),
                            fmt::format("{:.1f} mJ", 1e3 * number(s, "energy_per_inference_J"))});
      }
    }
    placements.print(std::cout);
    std::cout << '\n';

    // 3. Every policy side by side, with the oracle and the lower bound.
    std::cout << "== 3/6 a small SAC agent trained in the simulator (sparoa train rl, experiments/rl/demo.yaml), then "
                 "every policy compared (sparoa compare): latency of one inference, energy, speedups, gap to the oracle\n";
    const fs::path agent = out / "agent.bin";
    run_step({"train", "rl", "--config", (fs::path(SPAROA_SOURCE_DIR) / "experiments/rl/demo.yaml").string(), "--zoo-dir",
              zoo, "-o", agent.string(), "-q"},
             out / "train-rl.log");
    {
      std::ifstream log(out / "train-rl.log");
      for (std::string line; std::getline(log, line);) {
        if (line.rfind("trained:", 0) == 0 || line.rfind("curriculum:", 0) == 0) std::cout << line << '\n';
      }
      std::cout << '\n';
    }
    for (const auto& [model, platform] : {std::pair<std::string, std::string>{"mobilenetv3_small", "agx-orin-64gb-maxn"},
                                          std::pair<std::string, std::string>{"resnet18", "orin-nano-8gb-15w"}}) {
      const std::string stem = fmt::format("compare-{}-{}", model, platform);
      run_step({"compare", "-m", model, "--sparsity", "0.9", "--zoo-dir", zoo, "-p", platform, "--oracle-runs", "60",
                "--agent", agent.string(), "--csv", (out / (stem + ".csv")).string()},
               out / (stem + ".log"));
      std::ifstream log(out / (stem + ".log"));
      std::cout << log.rdbuf() << '\n';
    }

    // 3-5. The host loop: profile, calibrate, validate a model the fit never saw.
    std::cout << "== 4/6 profile this machine (two 1-core lanes: host-2core-2lanes): each operator timed inside "
                 "whole runs of the model, alone and with memory streaming on the other core\n";
    std::vector<std::string> calibrate = {"calibrate", "-p", "host-2core-2lanes", "-o",
                                          (out / "host-2core-2lanes-fitted.yaml").string()};
    for (const std::string model : {"mobilenetv3_small", "resnet18"}) {
      for (const bool corun : {false, true}) {
        const fs::path csv = out / fmt::format("profile-{}{}.csv", model, corun ? "-corun" : "");
        std::vector<std::string> a = {"profile", "-m", model, "--sparsity", "0.5", "--zoo-dir", zoo, "-p", "host-2core-2lanes",
                                      "--lanes", "cpu0", "--kernels", corun ? "dense" : "dense,sparse", "-r", "5",
                                      "--in-context", "-q", "-o", csv.string()};
        if (corun) a.push_back("--corun");
        run_step(a, {});
        calibrate.push_back("--profile");
        calibrate.push_back(csv.string());
      }
    }
    std::cout << "\n== 5/6 calibrate the cost model (per operator class, least squares)\n";
    run_step(calibrate, {});

    std::cout << "\n== 6/6 validate: SqueezeNet 1.1 (not profiled), operators dealt to two lanes, sparse kernels "
                 "where they exist\n";
    const fs::path model = graph::zoo::build_model("squeezenet1_1", {0.5, false}, zoo);
    const fs::path schedule = out / "squeezenet-2lanes-mixed.yaml";
    run_step({"schedule", "template", model.string(), "--platform", "host-2core-2lanes", "--lane", "cpu0,cpu1", "--kernel",
              "sparse", "-o", schedule.string()},
             out / "schedule.log");
    Table errors({"platform file", "measured", "simulated", "error", "per-op median |error|"}, {false, true, true, true, true});
    std::vector<std::string> plot = {(fs::path(SPAROA_SOURCE_DIR) / "scripts/plot_validation.py").string(),
                                     (out / "validation.png").string()};
    for (const std::string cal : {"uncalibrated", "fitted"}) {
      const std::string platform =
          cal == "fitted" ? (out / "host-2core-2lanes-fitted.yaml").string() : std::string("host-2core-2lanes");
      const fs::path csv = out / fmt::format("validate-{}.csv", cal);
      run_step({"validate", "-m", model.string(), "-p", platform, "-s", schedule.string(), "-n", "20", "--csv", csv.string(),
                "--trace", (out / fmt::format("validate-{}.json", cal)).string()},
               out / fmt::format("validate-{}.log", cal));
      const auto h = csv_header(csv);
      errors.add_row({cal, fmt::format("{:.2f} ms", number(h, "latency_mean_measured_us") / 1e3),
                      fmt::format("{:.2f} ms", number(h, "latency_mean_simulated_us") / 1e3),
                      fmt::format("{:+.1f}%", 100 * number(h, "latency_mean_error")),
                      fmt::format("{:.1f}%", 100 * number(h, "op_median_abs_error"))});
      plot.push_back(cal + "=" + csv.string());
    }
    errors.print(std::cout);
    try {
      run_step(plot, out / "plot.log", "/usr/bin/python3");
    } catch (const Error&) {
      std::cout << "(no plot: Debian's python3-matplotlib is missing; scripts/install-deps.sh installs it)\n";
    }

    const double wall = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    std::cout << fmt::format("\nFiles in {}:\n", out.string())
              << "  sim-<model>-<placement>.json    simulated timelines (open in https://ui.perfetto.dev)\n"
              << "  agent.bin, agent.bin.curve.*    the small rl agent and its learning curve (CSV, PNG)\n"
              << "  compare-<model>-<platform>.csv  every policy's latency, energy and speedups\n"
              << "  profile-*.csv                   per-operator timings of this machine\n"
              << "  host-2core-2lanes-fitted.yaml   the calibrated platform\n"
              << "  validate-<platform>.json        simulated and measured timelines side by side (Perfetto)\n"
              << "  validate-<platform>.csv         per-operator error\n"
              << "  validation.png                  simulated against measured, per operator and end to end\n"
              << fmt::format("demo wall time: {:.1f} s\n", wall);
  });
}

}  // namespace sparoa::cli

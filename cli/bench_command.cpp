// sparoa bench sim: the simulator's speed next to a bare SimGrid loop that creates and runs
// the same activities, in the same run, and its peak memory over a long run. Each
// measurement runs in its own child process (SimGrid: one engine per process), so peak
// memory is the child's own (wait4's ru_maxrss).
#include <fmt/format.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <functional>
#include <iostream>
#include <sstream>

#include "cli/commands.hpp"
#include "cli/model_source.hpp"
#include "cli/table.hpp"
#include "platforms/platform.hpp"
#include "sim/bare_loop.hpp"
#include "sim/simulation.hpp"
#include "support/error.hpp"

namespace sparoa::cli {
namespace {

struct ChildRun {
  std::vector<double> values;  // what the child reported
  double peak_rss_MB = 0;
};

// Runs `body` in a child; it returns numbers, sent back as text.
ChildRun in_child(const std::string& what, const std::function<std::vector<double>()>& body) {
  int fds[2];
  if (pipe(fds) != 0) throw Error("bench", "pipe failed");
  std::cout.flush();
  const pid_t pid = fork();
  if (pid < 0) throw Error("bench", "fork failed");
  if (pid == 0) {
    close(fds[0]);
    std::string text;
    try {
      for (double v : body()) text += fmt::format("{:.17g}\n", v);
    } catch (const std::exception& e) {
      text = std::string("ERROR ") + e.what();
    }
    if (write(fds[1], text.data(), text.size()) < 0) _exit(3);
    close(fds[1]);
    _exit(0);
  }
  close(fds[1]);
  std::string text;
  char buf[4096];
  for (ssize_t n; (n = read(fds[0], buf, sizeof buf)) > 0;) text.append(buf, std::size_t(n));
  close(fds[0]);
  int status = 0;
  struct rusage usage {};
  wait4(pid, &status, 0, &usage);
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) throw Error("bench " + what, "the measuring process crashed");
  if (text.rfind("ERROR ", 0) == 0) throw Error("bench " + what, text.substr(6));
  ChildRun r;
  std::istringstream in(text);
  for (double v; in >> v;) r.values.push_back(v);
  r.peak_rss_MB = double(usage.ru_maxrss) / 1024.0;  // kilobytes on Linux
  return r;
}

// The mixed schedule of the benchmark: operators at or above the intensity threshold on the
// GPU's first lane, the rest on the CPU's first lane, dense, in topological order. It has
// transfers wherever the placement changes device.
graph::Schedule mixed_schedule(const graph::Graph& g, const platforms::Platform& p, double intensity) {
  const platforms::Device* cpu = nullptr;
  const platforms::Device* gpu = nullptr;
  for (const auto& d : p.devices) {
    if (d.kind == platforms::DeviceKind::cpu && !cpu) cpu = &d;
    if (d.kind == platforms::DeviceKind::gpu && !gpu) gpu = &d;
  }
  if (!cpu || !gpu) throw Error(p.origin, "the benchmark needs a platform with a CPU and a GPU");
  graph::Schedule s;
  s.model_path = g.source_path;
  s.model_sha256 = g.model_sha256;
  s.platform_name = p.name;
  s.platform_power_mode = p.power_mode;
  s.batch = g.batch;
  std::int64_t n_cpu = 0, n_gpu = 0;
  for (auto id : g.topological_order()) {
    const auto& op = g.op(id);
    const bool on_gpu = op.features.intensity >= intensity;
    s.entries.push_back({op.name, on_gpu ? gpu->lanes.front().id : cpu->lanes.front().id, "dense",
                         on_gpu ? n_gpu++ : n_cpu++, std::nullopt});
  }
  return s;
}

}  // namespace

void add_bench_command(CLI::App& app) {
  struct Args {
    std::vector<std::string> models = {"resnet50", "mobilenetv3_small"};
    std::string platform = "agx-orin-64gb-maxn";
    std::int64_t inferences = 10'000;
    std::int64_t memory_inferences = 100'000;
    std::string memory_model = "mobilenetv3_small";
    double intensity = 10;
    std::string zoo_dir = SPAROA_DEFAULT_ZOO_DIR;
  };
  auto args = std::make_shared<Args>();
  auto* bench = app.add_subcommand("bench", "Benchmarks that print figures");
  bench->require_subcommand(1);
  add_bench_policy_command(*bench);
  auto* cmd = bench->add_subcommand("sim", "Simulator speed against a bare SimGrid loop, and peak memory of a long run");
  cmd->add_option("--models", args->models, "zoo models")->capture_default_str();
  cmd->add_option("--platform,-p", args->platform, "platform file or shipped name")->capture_default_str();
  cmd->add_option("--inferences,-n", args->inferences, "inferences per speed measurement")
      ->check(CLI::PositiveNumber)->capture_default_str();
  cmd->add_option("--memory-inferences", args->memory_inferences, "inferences of the peak-memory run (0: skip)")
      ->check(CLI::NonNegativeNumber)->capture_default_str();
  cmd->add_option("--memory-model", args->memory_model, "zoo model of the peak-memory run")->capture_default_str();
  cmd->add_option("--intensity", args->intensity, "operators at or above this FLOP/byte go to the GPU")
      ->capture_default_str();
  cmd->add_option("--zoo-dir", args->zoo_dir, "where zoo models are built and cached")->capture_default_str();
  cmd->callback([args] {
    const auto platform_path = platforms::resolve_platform_path(args->platform);
    const platforms::Platform platform = platforms::read_platform(platform_path);
    const std::filesystem::path tmp = std::filesystem::temp_directory_path() /
                                      fmt::format("sparoa-bench-{}", getpid());
    std::filesystem::create_directories(tmp);
    std::cout << fmt::format("platform {} ({}); {} inferences per run; mixed schedule: intensity >= {} FLOP/B on "
                             "the GPU; energy plugin on; CSV trace on, Chrome trace off\n\n",
                             platform.name, platform.power_mode, args->inferences, args->intensity);
    Table t({"model", "ops/inf", "op exec/s", "sim activities/s", "bare activities/s", "slowdown", "activities",
             "bare activities", "sim wall s", "bare wall s", "sim peak MB"},
            {false, true, true, true, true, true, true, true, true, true, true});
    auto simulate_child = [&](const std::string& model, std::int64_t inferences, bool csv) {
      return in_child("simulate " + model, [&] {
        const graph::Graph g = load_model({model, 0, 1, args->zoo_dir, {}});
        const graph::Schedule s = mixed_schedule(g, platform, args->intensity);
        sim::SimulationOptions o;
        o.graph = &g;
        o.platform = &platform;
        o.schedule = &s;
        o.requests = inferences;
        if (csv) o.csv = tmp / (model + ".csv");
        o.run_id = "bench";
        const sim::Summary r = sim::simulate(o);
        std::error_code ec;
        std::filesystem::remove(tmp / (model + ".csv"), ec);
        std::filesystem::remove(tmp / (model + ".power.csv"), ec);
        std::filesystem::remove(tmp / (model + ".state.csv"), ec);
        // Wall time of the simulation loop only (model import excluded).
        return std::vector<double>{double(r.op_executions), double(r.simgrid_activities), r.wall_s,
                                   double(g.operators().size()), r.makespan_s};
      });
    };
    for (const auto& model : args->models) {
      const ChildRun sim = simulate_child(model, args->inferences, true);
      const ChildRun bare = in_child("bare loop " + model, [&] {
        const graph::Graph g = load_model({model, 0, 1, args->zoo_dir, {}});
        const graph::Schedule s = mixed_schedule(g, platform, args->intensity);
        const sim::BareLoopResult r = sim::run_bare_loop(g, platform, s, args->inferences);
        return std::vector<double>{double(r.activities), r.wall_s};
      });
      const double sim_rate = sim.values[1] / sim.values[2];
      const double bare_rate = bare.values[0] / bare.values[1];
      t.add_row({model, fmt::format("{:.0f}", sim.values[3]), fmt::format("{:.0f}", sim.values[0] / sim.values[2]),
                 fmt::format("{:.0f}", sim_rate), fmt::format("{:.0f}", bare_rate),
                 fmt::format("{:.2f}x", bare_rate / sim_rate), fmt::format("{:.0f}", sim.values[1]),
                 fmt::format("{:.0f}", bare.values[0]), fmt::format("{:.2f}", sim.values[2]),
                 fmt::format("{:.2f}", bare.values[1]), fmt::format("{:.0f}", sim.peak_rss_MB)});
    }
    t.print(std::cout);
    if (args->memory_inferences > 0) {
      const ChildRun mem = simulate_child(args->memory_model, args->memory_inferences, true);
      std::cout << fmt::format("\npeak memory: {} inferences of {} with the CSV trace streamed: {:.0f} MB "
                               "(max RSS of the simulating process, model import included; {:.2f} s of simulation, "
                               "{:.0f} activities)\n",
                               args->memory_inferences, args->memory_model, mem.peak_rss_MB, mem.values[2],
                               mem.values[1]);
    }
    std::error_code ec;
    std::filesystem::remove_all(tmp, ec);
  });
}

}  // namespace sparoa::cli

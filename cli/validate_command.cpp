// sparoa validate: runs one schedule on this machine's kernels (hw replay) and in the
// simulator on the same platform file, and reports how far the simulator is off, end to end
// and per operator. One process, one simulation (SimGrid has one engine per process).
#include <fmt/format.h>

#include <algorithm>
#include <filesystem>
#include <iostream>
#include <numeric>
#include <sstream>

#include <unistd.h>

#include "cli/commands.hpp"
#include "cli/model_source.hpp"
#include "cli/online_args.hpp"
#include "cli/run_online.hpp"
#include "cli/table.hpp"
#include "graph/schedule.hpp"
#include "hw/host_machine.hpp"
#include "hw/replay.hpp"
#include "hw/tensor_io.hpp"
#include "platforms/reference_placements.hpp"
#include "sim/simulation.hpp"
#include "support/atomic_file.hpp"
#include "support/error.hpp"
#include "support/sha256.hpp"
#include "traces/chrome_trace.hpp"
#include "traces/compare.hpp"
#include "traces/trace_csv.hpp"

namespace sparoa::cli {

namespace {

double mean(const std::vector<double>& v) { return std::accumulate(v.begin(), v.end(), 0.0) / double(v.size()); }

std::string signed_pct(double e) { return fmt::format("{:+.1f}%", 100 * e); }

// A scratch folder removed on every exit path.
struct ScratchDir {
  std::filesystem::path path;
  ScratchDir() {
    path = std::filesystem::temp_directory_path() / fmt::format("sparoa-validate-{}", ::getpid());
    std::filesystem::create_directories(path);
  }
  ~ScratchDir() {
    std::error_code ec;
    std::filesystem::remove_all(path, ec);
  }
};

// The simulated half of both modes: runs `so` with its trace written to the scratch folder
// and read back.
std::pair<sim::Summary, traces::Trace> simulate_to_trace(sim::SimulationOptions& so, const ScratchDir& scratch,
                                                         const graph::Graph& g, const platforms::Platform& platform) {
  so.csv = scratch.path / "sim.csv";
  so.run_id = "sim-" + g.name;
  so.provenance.model_sha256 = g.model_sha256;
  so.provenance.platform_sha256 = platform.sha256;
  so.provenance.git_revision = kGitRevision;
  sim::Summary summary = sim::simulate(so);
  return {std::move(summary), traces::read_trace_files(so.csv)};
}

struct ValidateArgs {
  ModelSource model;
  std::string platform, schedule, policy;
  int warmup = 3;
  int iterations = 20;
  std::uint64_t seed = 1;
  std::string trace, csv;
  bool any_machine = false;
  OnlineArgs online;
};

// The online half of validate: the same requests, batching, policy and state trace on this
// machine and in the simulator; latency distribution, throughput and energy side by side.
void validate_online(ValidateArgs& a, bool batch_given, const platforms::Platform& platform, const hw::HostMachine& machine) {
  std::optional<graph::Schedule> schedule;
  if (!a.schedule.empty()) {
    schedule = graph::read_schedule(a.schedule);
    if (!batch_given) a.model.batch = schedule->batch;
  }
  OnlineSetup setup;
  const OnlineHwRun measured =
      run_online_hw(a.online, a.model, platform, schedule ? &*schedule : nullptr, a.schedule, a.seed, "", setup);
  const graph::Graph& g = setup.graphs.back();

  ScratchDir scratch;
  std::unique_ptr<platforms::OnlinePolicy> policy;
  if (!schedule) policy = make_policy_again(a.online, setup);
  sim::SimulationOptions so;
  so.graph = &g;
  so.platform = &platform;
  so.schedule = schedule ? &*schedule : nullptr;
  so.schedule_origin = a.schedule;
  so.policy = policy.get();
  so.arrivals = platforms::parse_arrivals(a.online.arrivals);
  so.requests = a.online.requests;
  so.batch_timeout_s = a.online.batch_timeout_us * 1e-6;
  so.max_inflight_batches = a.online.inflight;
  so.state = setup.state ? &*setup.state : nullptr;
  so.seed = a.seed;
  const auto [summary, simulated] = simulate_to_trace(so, scratch, g, platform);
  const traces::TraceComparison c = schedule ? traces::compare_op_durations(simulated, measured.result.trace)
                                             : traces::compare_op_durations_by_placement(simulated, measured.result.trace);

  const LatencyFigures hw = latency_figures(measured.result.latencies_s);
  std::cout << fmt::format("{} on {} ({}), {}, batch {}, arrivals {}{}: {} requests measured and simulated\n", g.name,
                           platform.name, platforms::to_string(platform.provenance.source), setup.placement, g.batch,
                           a.online.arrivals, a.online.state.empty() ? "" : ", state " + a.online.state, a.online.requests);
  Table t({"", "measured", "simulated", "error"}, {false, true, true, true});
  auto row = [&](const std::string& name, double m, double sv) { t.add_row({name, fixed(m, 3), fixed(sv, 3), signed_pct(sv / m - 1)}); };
  row("latency mean (ms)", hw.mean * 1e3, summary.latency_mean_s * 1e3);
  row("latency p50 (ms)", hw.p50 * 1e3, summary.latency_p50_s * 1e3);
  row("latency p95 (ms)", hw.p95 * 1e3, summary.latency_p95_s * 1e3);
  row("latency p99 (ms)", hw.p99 * 1e3, summary.latency_p99_s * 1e3);
  row("throughput (inferences/s)", measured.result.throughput_rps, summary.throughput_rps);
  double energy_hw = -1;
  std::string rail;
  if (!measured.energy.empty() && measured.energy.front().second >= 0) {
    energy_hw = measured.energy.front().second / double(measured.result.latencies_s.size());
    rail = measured.energy.front().first;
  }
  if (energy_hw > 0) {
    row("energy per inference (J, " + rail + ")", energy_hw, summary.energy_per_inference_J);
  } else {
    t.add_row({"energy per inference (J)", "not measured", fixed(summary.energy_per_inference_J, 4), "-"});
  }
  row("sum of operator medians (us)", c.measured_total_us, c.simulated_total_us);
  t.print(std::cout);
  std::cout << fmt::format("per-operator |error| over {} {}: median {:.1f}%, p90 {:.1f}%, max {:.1f}%\n", c.ops.size(),
                           schedule ? "operators" : "(operator, lane, kernel) placements seen on both sides",
                           100 * c.median_abs_error, 100 * c.p90_abs_error, 100 * c.max_abs_error);
  if (!schedule) {
    std::cout << fmt::format("placements on one side only: {} measured, {} simulated\n", c.unmatched_measured, c.unmatched_simulated);
  }
  if (measured.result.decisions > 0) {
    std::cout << fmt::format("hardware decisions: {}, {:.2f} us each (observation {:.2f} us)\n", measured.result.decisions,
                             measured.result.decision_mean_us, measured.result.observe_mean_us);
  }
  // Where each side put the operators (an online policy may decide differently on each).
  std::string lanes_hw, lanes_sim;
  std::map<std::string, std::int64_t> sim_by_lane;
  for (const auto& r : simulated.records) {
    if (r.record == traces::RecordKind::op) ++sim_by_lane[r.lane];
  }
  for (const auto& [lane, n] : measured.result.executions_by_lane) lanes_hw += fmt::format(" {} {}", lane, n);
  for (const auto& [lane, n] : sim_by_lane) lanes_sim += fmt::format(" {} {}", lane, n);
  std::cout << "operator executions by lane: measured" << lanes_hw << "; simulated" << lanes_sim << '\n';
  for (const auto& n : measured.result.notes) std::cout << "machine: " << n << '\n';

  if (!a.csv.empty()) {
    std::ostringstream out;
    out.precision(9);
    out << "# sparoa validate (online)\n# model: " << g.name << "\n# model_sha256: " << g.model_sha256 << "\n# platform: " << platform.name
        << "\n# platform_sha256: " << platform.sha256 << "\n# placement: " << setup.placement << "\n# arrivals: " << a.online.arrivals
        << "\n# state: " << a.online.state << "\n# machine: " << machine.hostname << " " << machine.cpu_model
        << "\nmetric,measured,simulated,error\n";
    auto line = [&](const std::string& name, double m, double sv) { out << name << ',' << m << ',' << sv << ',' << (sv / m - 1) << '\n'; };
    line("latency_mean_s", hw.mean, summary.latency_mean_s);
    line("latency_p50_s", hw.p50, summary.latency_p50_s);
    line("latency_p95_s", hw.p95, summary.latency_p95_s);
    line("latency_p99_s", hw.p99, summary.latency_p99_s);
    line("throughput_rps", measured.result.throughput_rps, summary.throughput_rps);
    if (energy_hw > 0) line("energy_per_inference_J", energy_hw, summary.energy_per_inference_J);
    line("op_median_sum_us", c.measured_total_us, c.simulated_total_us);
    write_file_atomically(a.csv, out.str());
    std::cout << "comparison CSV: " << a.csv << '\n';
  }
  if (!a.trace.empty()) {
    traces::write_merged_chrome_trace(a.trace, simulated, measured.result.trace);
    std::cout << "Chrome trace (simulated and measured processes; open in Perfetto): " << a.trace << '\n';
  }
}

}  // namespace

void add_validate_command(CLI::App& app) {
  using Args = ValidateArgs;
  auto args = std::make_shared<Args>();
  args->model.zoo_dir = SPAROA_DEFAULT_ZOO_DIR;
  auto* cmd = app.add_subcommand("validate", "Run a schedule on this machine and in the simulator; report the error");
  cmd->add_option("--model,-m", args->model.model, "ONNX file or zoo model name")->required();
  cmd->add_option("--sparsity", args->model.sparsity, "weight sparsity of a zoo model's pruned build")
      ->check(CLI::Range(0.0, 0.99))->capture_default_str();
  cmd->add_option("--zoo-dir", args->model.zoo_dir, "where zoo models are built and cached")->capture_default_str();
  cmd->add_option("--platform,-p", args->platform, "platform YAML (calibrated for this machine) or shipped name")
      ->required();
  cmd->add_option("--schedule,-s", args->schedule, "schedule YAML");
  cmd->add_option("--policy", args->policy,
                  "placement instead of a schedule: cpu-only or gpu-only (needs a usable GPU); an online policy "
                  "(greedy-eft, rl, ...) makes the run online");
  auto* batch = cmd->add_option("--batch,-b", args->model.batch, "batch size (default: the schedule's, else 1)")
                    ->check(CLI::PositiveNumber);
  std::vector<CLI::Option*> replay_only;
  replay_only.push_back(cmd->add_option("--warmup", args->warmup, "hardware iterations before the measured ones")
      ->check(CLI::Range(1, 100000))->capture_default_str());
  replay_only.push_back(cmd->add_option("--iterations,-n", args->iterations, "measured hardware iterations = simulated requests")
      ->check(CLI::Range(1, 1000000))->capture_default_str());
  cmd->add_option("--seed", args->seed, "seed of the random inputs and of the simulation")->capture_default_str();
  cmd->add_option("--trace", args->trace, "Chrome trace JSON with both timelines (simulated and measured processes)");
  cmd->add_option("--csv", args->csv, "per-operator comparison CSV");
  cmd->add_flag("--any-machine", args->any_machine, "accept a platform fitted on another machine");
  add_online_options(*cmd, args->online, false);
  cmd->callback([args, batch, replay_only] {
    const bool reference_policy = args->policy == "cpu-only" || args->policy == "gpu-only";
    const bool online = args->online.online() || (!args->policy.empty() && !reference_policy);
    if (!online && args->schedule.empty() == args->policy.empty()) {
      throw Error("validate", "give either --schedule FILE or --policy cpu-only|gpu-only (or an online run: --arrivals, --agent, ...)");
    }
    if (online) {
      for (const CLI::Option* opt : replay_only) {
        if (opt->count() > 0) throw Error(opt->get_name(), "applies to replays (back-to-back iterations), not to online runs");
      }
    }
    const hw::HostMachine machine = hw::describe_host();
    const auto platform_path = platforms::resolve_platform_path(args->platform);
    const platforms::Platform platform = platforms::read_platform(platform_path);
    // A fitted file describes the machine it was fitted on; elsewhere its error means nothing.
    if (platform.provenance.source == platforms::SourceLabel::fitted && !args->any_machine &&
        platform.provenance.document.find(machine.cpu_model) == std::string::npos) {
      throw Error(platform_path.string(), "was fitted on another machine (" + platform.provenance.document +
                                              "), this one is '" + machine.cpu_model +
                                              "': calibrate here, or pass --any-machine");
    }
    hw::bind_lanes(platform, machine);  // refuse what this machine cannot run before the model loads
    if (online) {
      args->online.policy = args->policy;
      validate_online(*args, batch->count() > 0, platform, machine);
      return;
    }

    graph::Schedule schedule;
    std::string schedule_origin;
    if (!args->schedule.empty()) {
      schedule = graph::read_schedule(args->schedule);
      schedule_origin = args->schedule;
      if (batch->count() == 0) args->model.batch = schedule.batch;
      if (args->model.batch != schedule.batch) {
        throw Error(args->schedule, "batch " + std::to_string(schedule.batch) + " but --batch " +
                                        std::to_string(args->model.batch) + " was given");
      }
    }
    graph::Graph g = load_model(args->model);
    if (!args->schedule.empty()) {
      if (!schedule.model_sha256.empty() && schedule.model_sha256 != g.model_sha256) {
        throw Error(args->schedule, "model: it was made for a model with SHA-256 " + schedule.model_sha256.substr(0, 12) +
                                        "..., not " + g.name + " (" + g.model_sha256.substr(0, 12) + "...)");
      }
    } else {
      // A placement that needs a GPU lane is refused by the replay when no GPU is usable here.
      const auto placement = platforms::parse_reference_placement(args->policy);
      schedule = platforms::make_reference_schedule(g, platform, placement);
      schedule_origin = "policy " + args->policy;
    }
    graph::validate_schedule(schedule, g, schedule_origin);

    // Measured.
    std::vector<hw::NamedTensor> inputs;
    std::uint64_t k = 0;
    for (const auto& name : g.input_names()) {
      const graph::Tensor& t = g.tensor(name);
      inputs.push_back({name, hw::random_tensor(t.dtype, t.shape, args->seed * 1000003ULL + k++)});
    }
    hw::ReplayOptions ro;
    ro.graph = &g;
    ro.platform = &platform;
    ro.schedule = &schedule;
    ro.schedule_origin = schedule_origin;
    for (const auto& t : inputs) ro.inputs[t.name] = t.tensor.view();
    ro.warmup = args->warmup;
    ro.iterations = args->iterations;
    ro.run_id = "hw-" + g.name;
    const hw::ReplayResult measured = hw::replay(ro);

    // Simulated: the same schedule, one batch at a time as the replay runs them.
    ScratchDir scratch;
    sim::SimulationOptions so;
    so.graph = &g;
    so.platform = &platform;
    so.schedule = &schedule;
    so.schedule_origin = schedule_origin;
    so.arrivals = platforms::parse_arrivals("closed");
    so.requests = std::int64_t(args->iterations) * schedule.batch;
    so.max_inflight_batches = 1;
    so.seed = args->seed;
    const auto [summary, simulated] = simulate_to_trace(so, scratch, g, platform);

    const traces::TraceComparison c = traces::compare_op_durations(simulated, measured.trace);
    std::vector<double> hw_lat = measured.latencies_us;
    std::sort(hw_lat.begin(), hw_lat.end());
    const double hw_mean = mean(hw_lat), hw_p50 = sim::percentile(hw_lat, 50);
    const double sim_mean = summary.latency_mean_s * 1e6, sim_p50 = summary.latency_p50_s * 1e6;
    const double e2e_error = sim_mean / hw_mean - 1;

    std::cout << fmt::format("{} on {} ({}), {}: {} measured iterations, {} simulated requests\n", g.name, platform.name,
                             platform.provenance.source == platforms::SourceLabel::fitted ? "fitted" : "uncalibrated",
                             schedule_origin, args->iterations, so.requests);
    Table t({"", "measured", "simulated", "error"}, {false, true, true, true});
    t.add_row({"latency mean (us)", fixed(hw_mean, 1), fixed(sim_mean, 1), signed_pct(e2e_error)});
    t.add_row({"latency p50 (us)", fixed(hw_p50, 1), fixed(sim_p50, 1), signed_pct(sim_p50 / hw_p50 - 1)});
    t.add_row({"sum of operator medians (us)", fixed(c.measured_total_us, 1), fixed(c.simulated_total_us, 1),
               signed_pct(c.simulated_total_us / c.measured_total_us - 1)});
    t.print(std::cout);
    std::cout << fmt::format("per-operator |error| over {} operators: median {:.1f}%, p90 {:.1f}%, max {:.1f}%\n",
                             c.ops.size(), 100 * c.median_abs_error, 100 * c.p90_abs_error, 100 * c.max_abs_error);
    // The operators that cost the most absolute error: where a better model would help.
    std::vector<const traces::OpComparison*> worst;
    for (const auto& o : c.ops) worst.push_back(&o);
    std::sort(worst.begin(), worst.end(), [](const auto* a, const auto* b) {
      return std::abs(a->simulated_us - a->measured_us) > std::abs(b->simulated_us - b->measured_us);
    });
    Table w({"largest differences", "type", "lane", "kernel", "measured us", "simulated us", "error"},
            {false, false, false, false, true, true, true});
    for (std::size_t i = 0; i < std::min<std::size_t>(5, worst.size()); ++i) {
      const auto& o = *worst[i];
      const auto id = g.find_op(o.op);
      const graph::Operator* op = id ? &g.op(*id) : nullptr;
      w.add_row({o.op, op ? op->type : "", o.lane, o.kernel, fixed(o.measured_us, 1), fixed(o.simulated_us, 1),
                 signed_pct(o.error)});
    }
    w.print(std::cout);

    if (!args->csv.empty()) {
      std::ostringstream out;
      out.precision(9);
      out << "# sparoa validate\n"
          << "# model: " << g.name << "\n# model_sha256: " << g.model_sha256 << "\n# platform: " << platform.name
          << "\n# platform_sha256: " << platform.sha256 << "\n# platform_source: "
          << platforms::to_string(platform.provenance.source) << "\n# schedule: " << schedule_origin
          << "\n# machine: " << machine.hostname << " " << machine.cpu_model << "\n# iterations: " << args->iterations
          << "\n# latency_mean_measured_us: " << hw_mean << "\n# latency_mean_simulated_us: " << sim_mean
          << "\n# latency_mean_error: " << e2e_error << "\n# op_median_abs_error: " << c.median_abs_error
          << "\n# op_p90_abs_error: " << c.p90_abs_error << '\n';
      out << "op,op_type,op_class,device,lane,kernel,measured_us,simulated_us,error\n";
      for (const auto& o : c.ops) {
        const auto id = g.find_op(o.op);
      const graph::Operator* op = id ? &g.op(*id) : nullptr;
        out << o.op << ',' << (op ? op->type : "") << ',' << (op ? std::string(platforms::to_string(platforms::op_class(*op, g))) : "")
            << ',' << o.device << ',' << o.lane << ',' << o.kernel << ',' << o.measured_us << ',' << o.simulated_us
            << ',' << o.error << '\n';
      }
      write_file_atomically(args->csv, out.str());
      std::cout << "comparison CSV: " << args->csv << '\n';
    }
    if (!args->trace.empty()) {
      traces::write_merged_chrome_trace(args->trace, simulated, measured.trace);
      std::cout << "Chrome trace (simulated and measured processes; open in Perfetto): " << args->trace << '\n';
    }
  });
}

}  // namespace sparoa::cli

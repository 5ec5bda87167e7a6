// sparoa run: replays a schedule on this machine's real kernels and reports latency, energy
// (when a power meter exists) and traces in the simulator's schema.
#include <fmt/format.h>

#include <algorithm>
#include <filesystem>
#include <iostream>
#include <numeric>

#include "cli/commands.hpp"
#include "cli/model_source.hpp"
#include "cli/online_args.hpp"
#include "cli/run_online.hpp"
#include "cli/table.hpp"
#include "graph/schedule.hpp"
#include "hw/backends.hpp"
#include "hw/cpu/fusion.hpp"
#include "hw/host_machine.hpp"
#include "hw/power/power_sampler.hpp"
#include "hw/reference_run.hpp"
#include "hw/replay.hpp"
#include "hw/tensor_io.hpp"
#include "platforms/reference_placements.hpp"
#include "support/error.hpp"
#include "support/sha256.hpp"
#include "support/stats.hpp"
#include "traces/chrome_trace.hpp"
#include "traces/trace_csv.hpp"

namespace sparoa::cli {

namespace {

double percentile(std::vector<double> v, double q) {
  std::sort(v.begin(), v.end());
  return nearest_rank_percentile(v, 100 * q);
}

// Inputs from an ONNX test-data folder: matched by name when the files carry the graph's
// input names, otherwise by position.
std::vector<hw::NamedTensor> read_inputs(const std::string& dir, const graph::Graph& g) {
  auto tensors = hw::read_tensor_folder(dir, "input");
  const auto names = g.input_names();
  if (tensors.size() != names.size()) {
    throw Error(dir, "holds " + std::to_string(tensors.size()) + " input_K.pb files, the model has " +
                         std::to_string(names.size()) + " inputs");
  }
  const bool by_name = std::all_of(tensors.begin(), tensors.end(), [&](const hw::NamedTensor& t) {
    return std::find(names.begin(), names.end(), t.name) != names.end();
  });
  if (!by_name) {
    for (std::size_t i = 0; i < names.size(); ++i) tensors[i].name = names[i];
  }
  return tensors;
}

}  // namespace

void add_run_command(CLI::App& app) {
  struct Args {
    ModelSource model;
    std::string platform;
    std::string schedule;
    int warmup = 3;
    int iterations = 20;
    std::string inputs;
    std::string outputs;
    std::string trace;
    std::string csv;
    std::uint64_t seed = 1;
    bool verify = false;
    bool fuse = false;
    bool tf32 = false;
    std::string save_inputs;
    std::string run_id;
    OnlineArgs online;
  };
  auto args = std::make_shared<Args>();
  args->model.zoo_dir = SPAROA_DEFAULT_ZOO_DIR;
  auto* cmd = app.add_subcommand("run",
                                 "Run a schedule on this machine's real kernels: latency, energy, traces; with --arrivals, "
                                 "--policy, --agent or --state, serve requests online as the simulator does");
  cmd->add_option("--model,-m", args->model.model, "ONNX file or zoo model name")->required();
  cmd->add_option("--sparsity", args->model.sparsity, "weight sparsity of a zoo model's pruned build")
      ->check(CLI::Range(0.0, 0.99))->capture_default_str();
  cmd->add_option("--zoo-dir", args->model.zoo_dir, "where zoo models are built and cached")->capture_default_str();
  cmd->add_option("--input-shape", args->model.input_shapes, "bind a whole input: name=1x3x224x224 (repeatable)");
  cmd->add_option("--platform,-p", args->platform,
                  "platform YAML file or shipped platform name whose lanes this machine runs (default: this machine, "
                  "one lane on all usable cores)");
  cmd->add_option("--schedule,-s", args->schedule, "schedule YAML (default: every operator dense on the first CPU lane)");
  auto* batch = cmd->add_option("--batch,-b", args->model.batch, "batch size (default: the schedule's, else 1)")
                    ->check(CLI::PositiveNumber);
  std::vector<CLI::Option*> replay_only;
  replay_only.push_back(cmd->add_option("--warmup", args->warmup, "iterations before the measured ones (the first also measures activation sparsity)")
      ->check(CLI::Range(1, 100000))->capture_default_str());
  replay_only.push_back(cmd->add_option("--iterations,-n", args->iterations, "measured iterations")->check(CLI::Range(1, 1000000))->capture_default_str());
  replay_only.push_back(cmd->add_option("--inputs", args->inputs, "folder of input_K.pb tensors (ONNX test-data layout; default: seeded random)"));
  replay_only.push_back(cmd->add_option("--outputs", args->outputs, "write the graph outputs there as output_K.pb"));
  cmd->add_option("--seed", args->seed, "seed of the random inputs")->capture_default_str();
  cmd->add_option("--trace", args->trace, "write a Chrome trace JSON (open in Perfetto)");
  cmd->add_option("--csv", args->csv, "write the per-operator trace CSV (+ .power.csv, .state.csv beside it)");
  replay_only.push_back(cmd->add_flag("--verify", args->verify, "also run the all-dense reference and compare the outputs"));
  replay_only.push_back(cmd->add_flag("--fuse", args->fuse,
                "declare the usual fusions in the schedule (Conv+BatchNormalization+activation, Gemm/MatMul+activation, +Add)"));
  replay_only.push_back(cmd->add_option("--save-inputs", args->save_inputs, "write the inputs used as input_K.pb (to feed another runtime)"));
  cmd->add_option("--run-id", args->run_id, "run_id of the trace records (default: hw-MODEL)");
  replay_only.push_back(
      cmd->add_flag("--tf32", args->tf32, "GPU lanes: allow TF32 Tensor Core math for float32 convolutions and GEMMs (off: FP32)"));
  add_online_options(*cmd, args->online, true);
  cmd->callback([args, batch, replay_only] {
    if (args->online.online()) {
      for (const CLI::Option* opt : replay_only) {
        if (opt->count() > 0) throw Error(opt->get_name(), "applies to replays (back-to-back iterations), not to online runs");
      }
      const hw::HostMachine machine = hw::describe_host();
      const platforms::Platform platform = args->platform.empty()
                                               ? hw::host_platform(machine)
                                               : platforms::read_platform(platforms::resolve_platform_path(args->platform));
      std::optional<graph::Schedule> schedule;
      if (!args->schedule.empty()) {
        schedule = graph::read_schedule(args->schedule);
        if (batch->count() == 0) args->model.batch = schedule->batch;
      }
      hw::bind_lanes(platform, machine);
      OnlineSetup setup;
      const OnlineHwRun run = run_online_hw(args->online, args->model, platform, schedule ? &*schedule : nullptr, args->schedule,
                                            args->seed, args->run_id, setup);
      print_online_hw(std::cout, args->online, run, setup, platform);
      write_online_outputs(args->online, run, setup, platform, args->csv, args->trace);
      return;
    }
    const hw::HostMachine machine = hw::describe_host();
    platforms::Platform platform;
    if (args->platform.empty()) {
      platform = hw::host_platform(machine);
    } else {
      platform = platforms::read_platform(platforms::resolve_platform_path(args->platform));
    }
    std::optional<graph::Schedule> schedule;
    if (!args->schedule.empty()) {
      schedule = graph::read_schedule(args->schedule);
      if (batch->count() == 0) args->model.batch = schedule->batch;
      if (args->model.batch != schedule->batch) {
        throw Error(args->schedule, "batch " + std::to_string(schedule->batch) + " but --batch " +
                                        std::to_string(args->model.batch) + " was given");
      }
    }
    // Refuse a platform this machine cannot run before spending time on the model.
    hw::bind_lanes(platform, machine);
    graph::Graph g = load_model(args->model);
    if (schedule && !schedule->model_sha256.empty() && schedule->model_sha256 != g.model_sha256) {
      throw Error(args->schedule, "model: it was made for a model with SHA-256 " + schedule->model_sha256.substr(0, 12) +
                                      "..., not " + g.name + " (" + g.model_sha256.substr(0, 12) + "...)");
    }
    if (!schedule) schedule = platforms::make_reference_schedule(g, platform, platforms::ReferencePlacement::cpu_only);
    if (args->fuse) schedule = hw::fuse_schedule(g, *schedule);

    std::vector<hw::NamedTensor> inputs;
    if (!args->inputs.empty()) {
      inputs = read_inputs(args->inputs, g);
    } else {
      std::uint64_t k = 0;
      for (const auto& name : g.input_names()) {
        const graph::Tensor& t = g.tensor(name);
        inputs.push_back({name, hw::random_tensor(t.dtype, t.shape, args->seed * 1000003ULL + k++)});
      }
    }
    if (!args->save_inputs.empty()) {
      std::filesystem::create_directories(args->save_inputs);
      for (std::size_t k = 0; k < inputs.size(); ++k) {
        hw::write_tensor_pb(std::filesystem::path(args->save_inputs) / ("input_" + std::to_string(k) + ".pb"),
                            inputs[k].tensor.view(), inputs[k].name);
      }
    }
    hw::ReplayOptions o;
    o.graph = &g;
    o.platform = &platform;
    o.schedule = &*schedule;
    o.schedule_origin = args->schedule.empty() ? "default schedule" : args->schedule;
    for (const auto& t : inputs) o.inputs[t.name] = t.tensor.view();
    o.warmup = args->warmup;
    o.iterations = args->iterations;
    o.run_id = args->run_id.empty() ? "hw-" + g.name : args->run_id;
    o.allow_tf32 = args->tf32;

    hw::PowerMeterSearch meters = hw::find_power_meters();
    std::unique_ptr<hw::PowerSampler> sampler;
    if (!meters.meters.empty()) {
      sampler = std::make_unique<hw::PowerSampler>(std::move(meters.meters));
      sampler->start();
    }
    hw::ReplayResult r = hw::replay(o);
    if (sampler) sampler->stop();
    hw::apply_activation_sparsity(g, r.activation_sparsity,
                                  args->inputs.empty() ? graph::SparsityProvenance::synthetic : graph::SparsityProvenance::measured);

    // Energy per iteration over the measured window, per rail. Rails are not summed: they may
    // overlap (a Jetson's VIN_SYS_5V0 includes other rails, a RAPL package its cores).
    std::string energy_text;
    if (sampler) {
      for (std::size_t rail = 0; rail < sampler->rails().size(); ++rail) {
        auto e = sampler->energy_J(rail, r.window_begin_s, r.window_end_s);
        energy_text += (energy_text.empty() ? "" : ", ") +
                       (e ? fmt::format("{:.4f} J", *e / double(args->iterations)) : std::string("not covered")) + " on " +
                       sampler->rails()[rail];
      }
      energy_text += " per iteration";
      for (const auto& s : sampler->samples()) {
        traces::PowerSample p;
        p.run_id = o.run_id;
        p.time_us = std::max(0.0, (s.time_s - r.window_begin_s) * 1e6);
        p.rail = sampler->rails()[s.rail];
        p.watts = s.watts;
        if (s.time_s >= r.window_begin_s && s.time_s <= r.window_end_s) r.trace.power.push_back(p);
      }
    }

    std::optional<std::string> verify_line;
    if (args->verify) {
      const auto reference = hw::run_reference(g, o.inputs, {.threads = int(machine.cpus.size())});
      std::string problems;
      for (const auto& [name, tensor] : r.outputs) {
        // Whole models accumulate rounding differently per kernel (blocked vs plain, sparse
        // vs dense): a looser tolerance than the per-operator conformance one.
        const std::string diff = hw::compare_tensors(tensor.view(), reference.at(name).view(), 1e-3, 1e-4);
        if (!diff.empty()) problems += (problems.empty() ? "" : "; ") + name + ": " + diff;
      }
      if (!problems.empty()) throw Error("--verify", "outputs differ from the all-dense reference: " + problems);
      verify_line = "outputs match the all-dense reference (rtol 1e-3, atol 1e-4)";
    }

    if (!args->outputs.empty()) {
      std::filesystem::create_directories(args->outputs);
      std::size_t k = 0;
      for (const auto& name : g.output_names()) {
        hw::write_tensor_pb(std::filesystem::path(args->outputs) / ("output_" + std::to_string(k++) + ".pb"),
                            r.outputs.at(name).view(), name);
      }
    }
    traces::Provenance& prov = r.trace.provenance;
    prov.model_sha256 = g.model_sha256;
    prov.platform_sha256 = platform.sha256;
    if (!args->schedule.empty()) prov.schedule_sha256 = sha256_file_hex(args->schedule);
    prov.git_revision = kGitRevision;
    prov.onednn_version = hw::onednn_version();
    prov.power_mode = platform.power_mode;
    prov.seed = args->inputs.empty() ? std::optional<std::uint64_t>(args->seed) : std::nullopt;
    prov.extra.push_back({"machine", machine.hostname + " " + machine.cpu_model});
    prov.extra.push_back({"inputs", args->inputs.empty() ? "random" : "file"});
    if (!args->csv.empty()) traces::write_trace_files(args->csv, r.trace);
    if (!args->trace.empty()) traces::write_chrome_trace(args->trace, r.trace);

    const double mean = std::accumulate(r.latencies_us.begin(), r.latencies_us.end(), 0.0) / double(r.latencies_us.size());
    std::cout << fmt::format("{} on {} ({}), {}, batch {}\n", g.name, platform.name, machine.cpu_model,
                             (args->schedule.empty() ? "all dense on " + schedule->entries.front().lane : args->schedule) +
                                 (args->fuse ? ", fused" : ""),
                             g.batch);
    Table t({"metric", "value"}, {false, true});
    t.add_row({"iterations", fmt::format("{} measured after {} warm-up", args->iterations, std::max(1, args->warmup))});
    t.add_row({"latency mean", fmt::format("{:.3f} ms", mean / 1e3)});
    t.add_row({"latency p50", fmt::format("{:.3f} ms", percentile(r.latencies_us, 0.5) / 1e3)});
    t.add_row({"latency p99", fmt::format("{:.3f} ms", percentile(r.latencies_us, 0.99) / 1e3)});
    t.add_row({"latency min", fmt::format("{:.3f} ms", *std::min_element(r.latencies_us.begin(), r.latencies_us.end()) / 1e3)});
    t.add_row({"throughput", fmt::format("{:.1f} inferences/s", double(g.batch) * 1e6 / mean)});
    t.add_row({"energy", sampler ? energy_text : std::string("not measured (no power meter found)")});
    t.add_row({"activation memory", fmt::format("{:.1f} MiB ({:.1f} MiB without reuse)", double(r.buffer_bytes) / 1048576.0,
                                                double(r.unshared_bytes) / 1048576.0)});
    t.print(std::cout);
    for (const auto& lane : r.lanes) {
      std::string cpus;
      for (int c : lane.cpus) cpus += (cpus.empty() ? "" : ",") + std::to_string(c);
      const platforms::Lane* pl = platform.find_lane(lane.id);
      if (pl && pl->stream >= 0) {
        std::cout << fmt::format("lane {}: CUDA stream, launched from cores {} ({}), FP32{}\n", lane.id, cpus,
                                 lane.pinning.empty() ? "pinned" : "not pinned (" + lane.pinning + ")", args->tf32 ? " with TF32" : "");
        continue;
      }
      std::cout << fmt::format("lane {}: cores {}, {} OpenMP threads, {}\n", lane.id, cpus, lane.omp_threads,
                               lane.pinning.empty() ? "pinned" : "not pinned (" + lane.pinning + ")");
    }
    if (!r.memory_kinds.empty()) {
      std::string kinds;
      for (const auto& [domain, kind] : r.memory_kinds) kinds += (kinds.empty() ? "" : ", ") + domain + " " + kind;
      std::cout << fmt::format("GPU: memory {}; event times on the host clock within +-{:.1f} us\n", kinds, r.gpu_clock_uncertainty_us);
    }
    if (!r.activation_sparsity.empty()) {
      double sum = 0;
      for (const auto& [op, v] : r.activation_sparsity) sum += v;
      std::cout << fmt::format("activation sparsity: {} operators measured, mean {:.3f} ({} inputs; in the trace's args)\n",
                               r.activation_sparsity.size(), sum / double(r.activation_sparsity.size()),
                               args->inputs.empty() ? "synthetic: seeded random" : "measured: given");
    }
    if (verify_line) std::cout << *verify_line << '\n';
    for (const auto& note : meters.notes) std::cout << "power: " << note << '\n';
  });
}

}  // namespace sparoa::cli

// sparoa profile: times each operator in isolation on this machine's lanes, per kernel and
// batch size, for calibrating the cost model.
#include <fmt/format.h>

#include <chrono>
#include <ctime>
#include <iostream>
#include <set>
#include <sstream>

#include "cli/commands.hpp"
#include "cli/model_source.hpp"
#include "hw/backends.hpp"
#include "hw/gpu/gpu_runtime.hpp"
#include "hw/host_machine.hpp"
#include "hw/profiler.hpp"
#include "support/date.hpp"
#include "support/error.hpp"

namespace sparoa::cli {

namespace {

std::vector<std::string> split_list(const std::string& text) {
  std::vector<std::string> out;
  std::stringstream in(text);
  for (std::string item; std::getline(in, item, ',');) {
    if (!item.empty()) out.push_back(item);
  }
  return out;
}


}  // namespace

void add_profile_command(CLI::App& app) {
  struct Args {
    ModelSource model;
    std::string platform;
    std::string kernels = "dense";
    std::string batches = "1";
    std::string lanes;
    std::string devices;
    int repetitions = 15;
    bool cold_cache = false;
    bool corun = false;
    bool in_context = false;
    std::string output;
    bool quiet = false;
  };
  auto args = std::make_shared<Args>();
  args->model.zoo_dir = SPAROA_DEFAULT_ZOO_DIR;
  auto* cmd = app.add_subcommand("profile", "Time each operator in isolation on this machine (for calibration)");
  cmd->add_option("--model,-m", args->model.model, "ONNX file or zoo model name")->required();
  cmd->add_option("--sparsity", args->model.sparsity, "weight sparsity of a zoo model's pruned build")
      ->check(CLI::Range(0.0, 0.99))->capture_default_str();
  cmd->add_option("--zoo-dir", args->model.zoo_dir, "where zoo models are built and cached")->capture_default_str();
  cmd->add_option("--platform,-p", args->platform, "platform YAML file or shipped name (default: this machine, one lane)");
  cmd->add_option("--kernels", args->kernels, "comma-separated: dense, sparse (operators without a kernel skip it)")
      ->capture_default_str();
  cmd->add_option("--batch,-b", args->batches, "comma-separated batch sizes")->capture_default_str();
  cmd->add_option("--lanes", args->lanes, "comma-separated lane ids of the platform (default: its first CPU lane)");
  cmd->add_option("--devices", args->devices,
                  "comma-separated device kinds, cpu and/or gpu: the first lane of each such device (instead of --lanes)");
  cmd->add_option("--repetitions,-r", args->repetitions, "timed runs per operator (median and spread)")
      ->check(CLI::Range(1, 100000))->capture_default_str();
  cmd->add_flag("--cold-cache", args->cold_cache, "sweep a 64 MiB buffer before each timed run");
  cmd->add_flag("--corun", args->corun, "time while the platform's other lanes' cores stream through memory");
  cmd->add_flag("--in-context", args->in_context,
                "time each operator inside whole runs of the model on the lane (caches as when the model runs) "
                "instead of alone on hot caches");
  cmd->add_option("--output,-o", args->output, "profile CSV to write")->required();
  cmd->add_flag("--quiet,-q", args->quiet, "no progress lines");
  cmd->callback([args] {
    const hw::HostMachine machine = hw::describe_host();
    const platforms::Platform platform = args->platform.empty()
                                             ? hw::host_platform(machine)
                                             : platforms::read_platform(platforms::resolve_platform_path(args->platform));
    const auto lane_cpus = hw::bind_lanes(platform, machine);
    hw::ProfileOptions o;
    o.kernels.clear();
    for (const auto& k : split_list(args->kernels)) {
      if (k == "dense") {
        o.kernels.push_back(hw::KernelChoice::dense);
      } else if (k == "sparse") {
        o.kernels.push_back(hw::KernelChoice::sparse);
      } else {
        throw Error("--kernels", "unknown kernel '" + k + "' (dense, sparse)");
      }
    }
    if (o.kernels.empty()) throw Error("--kernels", "no kernel given");
    std::vector<std::int64_t> batches;
    for (const auto& b : split_list(args->batches)) {
      std::size_t used = 0;
      long long v = 0;
      try {
        v = std::stoll(b, &used);
      } catch (const std::exception&) {
        used = 0;
      }
      if (used != b.size() || v < 1) throw Error("--batch", "'" + b + "' is not a positive batch size");
      batches.push_back(v);
    }
    if (batches.empty()) throw Error("--batch", "no batch size given");
    std::vector<std::string> lanes = split_list(args->lanes);
    if (!lanes.empty() && !args->devices.empty()) throw Error("--devices", "give --lanes or --devices, not both");
    for (const auto& kind : split_list(args->devices)) {
      if (kind != "cpu" && kind != "gpu") throw Error("--devices", "unknown device kind '" + kind + "' (cpu, gpu)");
      const auto want = kind == "gpu" ? platforms::DeviceKind::gpu : platforms::DeviceKind::cpu;
      const std::size_t before = lanes.size();
      for (const auto& d : platform.devices) {
        if (d.kind == want && !d.lanes.empty()) lanes.push_back(d.lanes.front().id);
      }
      if (lanes.size() == before) throw Error("--devices", "platform " + platform.name + " has no " + kind + " device");
    }
    if (lanes.empty()) lanes.push_back(platform.host_device().lanes.at(0).id);
    for (const auto& l : lanes) {
      if (!lane_cpus.count(l)) throw Error("--lanes", "lane '" + l + "' is not a lane of platform " + platform.name);
      if (platform.device_of_lane(l)->kind == platforms::DeviceKind::gpu) {
        if (const std::string why = hw::gpu::unavailable_reason(); !why.empty()) {
          throw Error("--lanes", "lane '" + l + "' is on GPU device '" + platform.device_of_lane(l)->id + "', but " + why);
        }
      }
    }
    o.repetitions = args->repetitions;
    o.cold_cache = args->cold_cache;

    std::vector<hw::ProfileRow> rows;
    std::string model_sha;
    std::set<int> all_cpus;
    for (const auto& [id, cpus] : lane_cpus) all_cpus.insert(cpus.begin(), cpus.end());
    for (std::int64_t batch : batches) {
      ModelSource source = args->model;
      source.batch = batch;
      const graph::Graph g = load_model(source);
      model_sha = g.model_sha256;
      for (const auto& l : lanes) {
        hw::ProfileLane lane{l, platform.device_of_lane(l)->id, lane_cpus.at(l),
                             platform.device_of_lane(l)->kind == platforms::DeviceKind::gpu};
        o.corun_cpus.clear();
        if (args->corun) {
          for (int c : all_cpus) {
            if (std::find(lane.cpus.begin(), lane.cpus.end(), c) == lane.cpus.end()) o.corun_cpus.push_back(c);
          }
          if (o.corun_cpus.empty()) {
            throw Error("--corun", "lane '" + l + "' uses every core of platform " + platform.name +
                                       ": co-running needs another lane's cores (e.g. --platform host-2core-2lanes --lanes cpu0)");
          }
        }
        const auto show = [&](const hw::ProfileRow& r) {
          if (!args->quiet) {
            std::cout << fmt::format("{} b{} {} {} {}: {:.1f} us (p10 {:.1f}, p90 {:.1f})\n", r.lane, r.batch, r.kernel,
                                     r.op, r.op_type, r.median_us, r.p10_us, r.p90_us);
          }
        };
        auto part = args->in_context ? hw::profile_graph_in_context(g, platform, lane, o, show)
                                     : hw::profile_graph(g, lane, o, show);
        rows.insert(rows.end(), part.begin(), part.end());
      }
    }
    hw::ProfileHeader h;
    h.machine = machine.hostname + " " + machine.cpu_model;
    h.cpu_model = machine.cpu_model;
    h.timing = args->in_context ? "in-context" : "isolated";
    h.date = utc_date_today();
    h.platform = platform.name;
    h.power_mode = platform.power_mode;
    h.clocks = hw::cpu_clocks(std::vector<int>(all_cpus.begin(), all_cpus.end()));
    h.git_revision = kGitRevision;
    h.onednn_version = hw::onednn_version();
    h.model_sha256 = model_sha;
    hw::write_profile_csv(args->output, h, rows);
    std::cout << fmt::format("wrote {} rows to {}\n", rows.size(), args->output);
  });
}

}  // namespace sparoa::cli

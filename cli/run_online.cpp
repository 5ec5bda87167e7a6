// sparoa run, online: requests served on this machine's kernels as the simulator serves them
// (hw/online_engine.hpp), with a static schedule or an online policy, under background work.
#include <fmt/format.h>

#include <iostream>

#include "cli/commands.hpp"
#include "cli/online_args.hpp"
#include "cli/run_online.hpp"
#include "cli/table.hpp"
#include "graph/schedule.hpp"
#include "hw/backends.hpp"
#include "hw/host_machine.hpp"
#include "hw/power/power_sampler.hpp"
#include "support/atomic_file.hpp"
#include "support/error.hpp"
#include "support/sha256.hpp"
#include "traces/chrome_trace.hpp"
#include "traces/trace_csv.hpp"

namespace sparoa::cli {

OnlineHwRun run_online_hw(const OnlineArgs& a, const ModelSource& model, const platforms::Platform& platform,
                          const graph::Schedule* schedule, const std::string& schedule_origin, std::uint64_t seed,
                          const std::string& run_id, OnlineSetup& setup) {
  if (schedule != nullptr && (!a.policy.empty() || !a.policy_args.agent.empty())) {
    throw Error("--schedule", "give either a schedule or an online policy (--policy/--agent), not both");
  }
  if (schedule == nullptr && a.policy.empty() && a.policy_args.agent.empty()) {
    throw Error("online run", "give --schedule FILE, --policy NAME or --agent FILE");
  }
  hw::OnlineOptions o;
  prepare_online(a, model, platform, seed, setup, o);
  if (schedule) {
    const graph::Graph& g = setup.graphs.back();
    if (!schedule->model_sha256.empty() && schedule->model_sha256 != g.model_sha256) {
      throw Error(schedule_origin, "model: it was made for a model with SHA-256 " + schedule->model_sha256.substr(0, 12) +
                                       "..., not " + g.name + " (" + g.model_sha256.substr(0, 12) + "...)");
    }
    o.schedule = schedule;
    o.schedule_origin = schedule_origin;
    setup.placement = "schedule " + schedule_origin;
  }
  o.run_id = run_id.empty() ? "hw-" + setup.graphs.back().name : run_id;
  OnlineHwRun run;
  hw::PowerMeterSearch meters = hw::find_power_meters();
  run.meter_notes = meters.notes;
  std::unique_ptr<hw::PowerSampler> sampler;
  if (!meters.meters.empty()) {
    sampler = std::make_unique<hw::PowerSampler>(std::move(meters.meters));
    sampler->start();
  }
  run.result = hw::run_online(o);
  if (sampler) {
    sampler->stop();
    for (std::size_t rail = 0; rail < sampler->rails().size(); ++rail) {
      auto e = sampler->energy_J(rail, run.result.window_begin_s, run.result.window_end_s);
      run.energy.push_back({sampler->rails()[rail], e ? *e : -1});
    }
    for (const auto& s : sampler->samples()) {
      if (s.time_s < run.result.window_begin_s || s.time_s > run.result.window_end_s) continue;
      run.result.trace.power.push_back({o.run_id, (s.time_s - run.result.window_begin_s) * 1e6, sampler->rails()[s.rail], s.watts});
    }
  }
  traces::Provenance& prov = run.result.trace.provenance;
  prov.model_sha256 = setup.graphs.back().model_sha256;
  prov.platform_sha256 = platform.sha256;
  prov.git_revision = kGitRevision;
  prov.onednn_version = hw::onednn_version();
  prov.power_mode = platform.power_mode;
  prov.seed = seed;
  const hw::HostMachine machine = hw::describe_host();
  prov.extra.push_back({"machine", machine.hostname + " " + machine.cpu_model});
  prov.extra.push_back({"placement", setup.placement});
  prov.extra.push_back({"arrivals", a.arrivals});
  if (!a.state.empty()) prov.extra.push_back({"state", a.state});
  return run;
}

void print_online_hw(std::ostream& out, const OnlineArgs& a, const OnlineHwRun& run, const OnlineSetup& setup,
                     const platforms::Platform& platform) {
  const hw::OnlineResult& r = run.result;
  const graph::Graph& g = setup.graphs.back();
  const LatencyFigures f = latency_figures(r.latencies_s);
  out << fmt::format("{} on {} ({}), {}, batch {}, arrivals {}{}, measured on this machine\n", g.name, platform.name,
                     platform.power_mode, setup.placement, g.batch, a.arrivals, a.state.empty() ? "" : ", state " + a.state);
  Table t({"metric", "value"}, {false, true});
  t.add_row({"requests", std::to_string(r.latencies_s.size())});
  t.add_row({"batches", fmt::format("{} ({} partial)", r.batches, r.partial_batches)});
  t.add_row({"run time", fmt::format("{:.3f} ms", r.makespan_s * 1e3)});
  t.add_row({"latency mean", fmt::format("{:.3f} ms", f.mean * 1e3)});
  t.add_row({"latency p50", fmt::format("{:.3f} ms", f.p50 * 1e3)});
  t.add_row({"latency p95", fmt::format("{:.3f} ms", f.p95 * 1e3)});
  t.add_row({"latency p99", fmt::format("{:.3f} ms", f.p99 * 1e3)});
  t.add_row({"latency max", fmt::format("{:.3f} ms", f.max * 1e3)});
  t.add_row({"throughput", fmt::format("{:.1f} inferences/s", r.throughput_rps)});
  std::string energy;
  for (const auto& [rail, joules] : run.energy) {
    energy += (energy.empty() ? "" : ", ") +
              (joules >= 0 ? fmt::format("{:.4f} J", joules / double(r.latencies_s.size())) : std::string("not covered")) + " on " + rail;
  }
  t.add_row({"energy per inference", energy.empty() ? std::string("not measured (no power meter found)") : energy});
  if (r.decisions > 0) {
    t.add_row({"decisions", fmt::format("{}, {:.2f} us each (observation {:.2f} us), max {:.1f} us", r.decisions, r.decision_mean_us,
                                        r.observe_mean_us, r.decision_max_us)});
    t.add_row({"machine readings", fmt::format("{} (/proc/stat, cpufreq)", r.machine_refreshes)});
  }
  if (r.arrival_delay_max_us > 0) {
    t.add_row({"arrival thread lateness", fmt::format("mean {:.1f} us, max {:.1f} us (inside the latencies)", r.arrival_delay_mean_us,
                                                      r.arrival_delay_max_us)});
  }
  t.add_row({"setup", fmt::format("{:.2f} s ({} kernels for batch sizes 1..{}, warmed)", r.setup_s, r.kernels_built, g.batch)});
  t.print(out);
  for (const auto& lane : r.lanes) {
    std::string cpus;
    for (int c : lane.cpus) cpus += (cpus.empty() ? "" : ",") + std::to_string(c);
    out << fmt::format("lane {}: cores {}, {} OpenMP threads, {}, {} operator executions\n", lane.id, cpus, lane.omp_threads,
                       lane.pinning.empty() ? "pinned" : "not pinned (" + lane.pinning + ")", r.executions_by_lane.at(lane.id));
  }
  for (const auto& [domain, gbps] : r.stream_GBps) {
    out << fmt::format("background streaming on {}: {:.1f} GB/s while active\n", domain, gbps);
  }
  for (const auto& n : r.notes) out << "machine: " << n << '\n';
  for (const auto& n : run.meter_notes) out << "power: " << n << '\n';
}

void write_online_outputs(const OnlineArgs& a, const OnlineHwRun& run, const OnlineSetup& setup, const platforms::Platform& platform,
                          const std::string& csv, const std::string& trace) {
  const hw::OnlineResult& r = run.result;
  if (!csv.empty()) traces::write_trace_files(csv, r.trace);
  if (!trace.empty()) traces::write_chrome_trace(trace, r.trace);
  if (!a.summary.empty()) {
    const LatencyFigures f = latency_figures(r.latencies_s);
    double energy = -1;
    if (!run.energy.empty() && run.energy.front().second >= 0) energy = run.energy.front().second / double(r.latencies_s.size());
    write_file_atomically(
        a.summary,
        fmt::format("model,platform,power_mode,placement,batch,requests,latency_mean_ms,latency_p50_ms,latency_p95_ms,"
                    "latency_p99_ms,throughput_rps,energy_per_inference_J\n{},{},{},{},{},{},{},{},{},{},{},{}\n",
                    setup.graphs.back().name, platform.name, platform.power_mode, setup.placement, setup.graphs.back().batch,
                    r.latencies_s.size(), f.mean * 1e3, f.p50 * 1e3, f.p95 * 1e3, f.p99 * 1e3, r.throughput_rps,
                    energy >= 0 ? fmt::format("{}", energy) : std::string()));
  }
}

}  // namespace sparoa::cli

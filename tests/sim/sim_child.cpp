#include "tests/sim/sim_child.hpp"

#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <sstream>

#include <fmt/format.h>

namespace sparoa::test {
namespace {

std::string serialize(const sim::Summary& s) {
  std::ostringstream out;
  auto num = [&](const char* key, double v) { out << key << ' ' << fmt::format("{:.17g}", v) << '\n'; };
  num("requests", double(s.requests));
  num("batches", double(s.batches));
  num("makespan_s", s.makespan_s);
  num("latency_mean_s", s.latency_mean_s);
  num("latency_p50_s", s.latency_p50_s);
  num("latency_p95_s", s.latency_p95_s);
  num("latency_p99_s", s.latency_p99_s);
  num("latency_max_s", s.latency_max_s);
  num("throughput_rps", s.throughput_rps);
  num("energy_J", s.energy_J);
  num("static_energy_J", s.static_energy_J);
  num("energy_per_inference_J", s.energy_per_inference_J);
  num("op_executions", double(s.op_executions));
  num("transfers", double(s.transfers));
  num("launches", double(s.launches));
  num("simgrid_activities", double(s.simgrid_activities));
  for (const auto& d : s.devices) {
    out << "device " << d.id << ' ' << fmt::format("{:.17g} {:.17g} {:.17g} {}", d.utilisation, d.energy_J,
                                                   d.attributed_J, d.executions)
        << '\n';
  }
  out << "power_mode_end " << s.power_mode_end << '\n';
  return out.str();
}

sim::Summary deserialize(const std::string& text) {
  sim::Summary s;
  std::istringstream in(text);
  std::string key;
  while (in >> key) {
    if (key == "device") {
      sim::DeviceSummary d;
      in >> d.id >> d.utilisation >> d.energy_J >> d.attributed_J >> d.executions;
      s.devices.push_back(d);
      continue;
    }
    if (key == "power_mode_end") {
      in >> s.power_mode_end;
      continue;
    }
    double v = 0;
    in >> v;
    if (key == "requests") s.requests = std::int64_t(v);
    else if (key == "batches") s.batches = std::int64_t(v);
    else if (key == "makespan_s") s.makespan_s = v;
    else if (key == "latency_mean_s") s.latency_mean_s = v;
    else if (key == "latency_p50_s") s.latency_p50_s = v;
    else if (key == "latency_p95_s") s.latency_p95_s = v;
    else if (key == "latency_p99_s") s.latency_p99_s = v;
    else if (key == "latency_max_s") s.latency_max_s = v;
    else if (key == "throughput_rps") s.throughput_rps = v;
    else if (key == "energy_J") s.energy_J = v;
    else if (key == "static_energy_J") s.static_energy_J = v;
    else if (key == "energy_per_inference_J") s.energy_per_inference_J = v;
    else if (key == "op_executions") s.op_executions = std::int64_t(v);
    else if (key == "transfers") s.transfers = std::int64_t(v);
    else if (key == "launches") s.launches = std::int64_t(v);
    else if (key == "simgrid_activities") s.simgrid_activities = std::int64_t(v);
  }
  return s;
}

}  // namespace

ChildResult run_in_child(const std::function<sim::Summary()>& body) {
  int fds[2];
  if (pipe(fds) != 0) return {false, "pipe failed", {}};
  std::fflush(nullptr);
  const pid_t pid = fork();
  if (pid < 0) return {false, "fork failed", {}};
  if (pid == 0) {
    close(fds[0]);
    std::string message;
    try {
      message = "OK\n" + serialize(body());
    } catch (const std::exception& e) {
      message = std::string("ERROR\n") + e.what();
    }
    std::size_t off = 0;
    while (off < message.size()) {
      const ssize_t n = write(fds[1], message.data() + off, message.size() - off);
      if (n <= 0) break;
      off += std::size_t(n);
    }
    close(fds[1]);
    _exit(0);
  }
  close(fds[1]);
  std::string text;
  char buf[4096];
  for (;;) {
    const ssize_t n = read(fds[0], buf, sizeof buf);
    if (n <= 0) break;
    text.append(buf, std::size_t(n));
  }
  close(fds[0]);
  int status = 0;
  waitpid(pid, &status, 0);
  ChildResult r;
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    r.error = "the simulation child crashed (status " + std::to_string(status) + ")";
    return r;
  }
  if (text.rfind("OK\n", 0) == 0) {
    r.ok = true;
    r.summary = deserialize(text.substr(3));
  } else if (text.rfind("ERROR\n", 0) == 0) {
    r.error = text.substr(6);
  } else {
    r.error = "no answer from the simulation child";
  }
  return r;
}

}  // namespace sparoa::test

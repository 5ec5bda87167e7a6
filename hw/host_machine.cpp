#include "hw/host_machine.hpp"

#include <sched.h>
#include <sys/utsname.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>

#include "hw/backends.hpp"
#include "support/error.hpp"

namespace sparoa::hw {

HostMachine describe_host() {
  HostMachine m;
  struct utsname u {};
  if (uname(&u) == 0) {
    m.arch = u.machine;
    m.hostname = u.nodename;
  }
  std::ifstream cpuinfo("/proc/cpuinfo");
  for (std::string line; std::getline(cpuinfo, line);) {
    // x86 says "model name", arm64 kernels may only say "CPU part"/"Hardware".
    if (line.rfind("model name", 0) == 0 || line.rfind("Hardware", 0) == 0) {
      const auto colon = line.find(':');
      if (colon != std::string::npos) m.cpu_model = line.substr(line.find_first_not_of(" \t", colon + 1));
      break;
    }
  }
  if (m.cpu_model.empty()) m.cpu_model = m.arch;
  m.cpus = current_thread_cpus();
  for (const auto& b : backends()) {
    if (b.name == "gpu" && b.available) m.gpus = 1;  // at least one; the GPU backend counts them
  }
  return m;
}

platforms::Platform host_platform(const HostMachine& m) {
  platforms::Platform p;
  p.name = "host";
  p.power_mode = "default";
  p.provenance.source = platforms::SourceLabel::measured;
  p.provenance.document = m.hostname + ": " + m.cpu_model;
  p.provenance.notes = "built by sparoa run from this machine's usable cores; no cost model";
  platforms::MemoryDomain dram;
  dram.id = "dram";
  p.memory_domains.push_back(dram);
  platforms::Device cpu;
  cpu.id = "cpu";
  cpu.kind = platforms::DeviceKind::cpu;
  cpu.memory_domain = "dram";
  cpu.units = int(m.cpus.size());
  cpu.unit_name = "core";
  platforms::Lane lane;
  lane.id = "cpu0";
  for (int i = 0; i < cpu.units; ++i) lane.cores.push_back(i);
  cpu.lanes.push_back(lane);
  p.devices.push_back(cpu);
  if (m.gpus > 0) add_host_gpu(p, gpu::device_properties());
  return p;
}

void add_host_gpu(platforms::Platform& p, const gpu::DeviceProperties& props) {
  platforms::Device g;
  g.id = "gpu";
  g.kind = platforms::DeviceKind::gpu;
  g.units = 1;
  g.unit_name = "GPU";
  if (props.integrated) {
    // A Jetson: the GPU shares the CPU's DRAM and reads mapped host memory in place.
    g.memory_domain = p.devices.front().memory_domain;
    for (auto& d : p.memory_domains) {
      if (d.id == g.memory_domain) d.transfer = platforms::SharedTransfer::zero_copy;
    }
  } else {
    platforms::MemoryDomain vram;
    vram.id = "gpu_memory";
    p.memory_domains.push_back(vram);
    g.memory_domain = vram.id;
    platforms::Link link;
    link.id = "pcie";
    link.from = p.devices.front().memory_domain;
    link.to = vram.id;
    p.links.push_back(link);
  }
  platforms::Lane lane;
  lane.id = "gpu0";
  lane.stream = 0;
  lane.launch_lane = p.devices.front().lanes.front().id;
  g.lanes.push_back(lane);
  p.devices.push_back(g);
  p.provenance.notes += "; GPU: " + props.name;
}

std::map<std::string, std::vector<int>> bind_lanes(const platforms::Platform& p, const HostMachine& m) {
  const std::string where = "platform " + (p.origin.empty() ? p.name : p.origin);
  std::map<std::string, std::vector<int>> out;
  std::size_t offset = 0;
  for (const auto& d : p.devices) {
    if (d.kind == platforms::DeviceKind::gpu) continue;  // bound below, to their launch lanes
    if (d.units < 1) throw Error(where, "device '" + d.id + "' has no cores");
    if (offset + std::size_t(d.units) > m.cpus.size()) {
      throw Error(where, "device '" + d.id + "' needs cores " + std::to_string(offset) + ".." +
                             std::to_string(offset + std::size_t(d.units) - 1) + " of the CPU devices together, this machine offers " +
                             std::to_string(m.cpus.size()) + " usable cores");
    }
    for (const auto& lane : d.lanes) {
      if (lane.cores.empty()) throw Error(where, "lane '" + lane.id + "' has no cores");
      std::vector<int> cpus;
      for (int c : lane.cores) {
        if (c < 0 || c >= d.units) throw Error(where, "lane '" + lane.id + "': core " + std::to_string(c) + " is not on device '" + d.id + "'");
        cpus.push_back(m.cpus[offset + std::size_t(c)]);
      }
      out[lane.id] = cpus;
    }
    offset += std::size_t(d.units);
  }
  // A GPU lane's host thread (it enqueues the lane's work) runs on the cores of the CPU lane
  // that pays its launches, as the simulator charges them there.
  for (const auto& d : p.devices) {
    if (d.kind != platforms::DeviceKind::gpu) continue;
    for (const auto& lane : d.lanes) {
      auto it = lane.launch_lane.empty() ? out.begin() : out.find(lane.launch_lane);
      if (it == out.end()) {
        throw Error(where, "GPU lane '" + lane.id + "': launch lane '" + lane.launch_lane + "' is not a CPU lane of the platform");
      }
      out[lane.id] = it->second;
    }
  }
  return out;
}

std::string pin_current_thread(const std::vector<int>& cpus) {
  cpu_set_t set;
  CPU_ZERO(&set);
  for (int c : cpus) CPU_SET(c, &set);
  if (sched_setaffinity(0, sizeof(set), &set) != 0) return std::string("sched_setaffinity: ") + std::strerror(errno);
  return "";
}

std::vector<int> current_thread_cpus() {
  cpu_set_t set;
  CPU_ZERO(&set);
  std::vector<int> out;
  if (sched_getaffinity(0, sizeof(set), &set) != 0) {
    const long n = sysconf(_SC_NPROCESSORS_ONLN);
    for (int i = 0; i < n; ++i) out.push_back(i);
    return out;
  }
  for (int i = 0; i < CPU_SETSIZE; ++i) {
    if (CPU_ISSET(i, &set)) out.push_back(i);
  }
  return out;
}

}  // namespace sparoa::hw

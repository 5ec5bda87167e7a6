#include "platforms/simgrid_layout.hpp"

#include <fmt/format.h>

#include "support/text.hpp"

namespace sparoa::platforms {

std::string unit_host_name(const Device& d, int unit) { return d.id + "." + d.unit_name + std::to_string(unit); }

std::string memory_host_name(const std::string& domain) { return "mem." + domain; }

std::string dram_link_name(const std::string& domain) { return "dram." + domain; }

std::string port_link_name(const Device& d) { return "port." + d.id; }

bool has_ports(const MemoryDomain& m) { return m.contention < 1; }

double dram_link_bandwidth_Bps(const MemoryDomain& m, double bandwidth_Bps) {
  // Two streams of two devices get half of this each: bw / (1 + k), a slowdown of 1 + k.
  return has_ports(m) ? bandwidth_Bps * 2 / (1 + m.contention) : bandwidth_Bps;
}

namespace {

std::string xfer_link_name(const std::string& domain) { return "xfer." + domain; }
std::string link_name(const Link& l) { return "link." + l.id; }

// Shortest text that reads back to the same double: SimGrid parses it with strtod.

}  // namespace

SimgridLayout simgrid_layout(const Platform& p) {
  SimgridLayout layout;

  // One host per compute unit, devices in platform order, units in index order.
  for (const Device& d : p.devices) {
    const double units = double(d.units);
    std::vector<double> speeds;
    std::string wattage;
    for (const PState& s : d.pstates) {
      speeds.push_back(s.freq_MHz * 1e6 * d.flops_per_cycle_per_unit);
      if (!wattage.empty()) wattage += ", ";
      wattage += shortest_number(s.idle_W / units) + ":" + shortest_number(s.epsilon_W / units) + ":" + shortest_number(s.full_W / units);
    }
    for (int u = 0; u < d.units; ++u) {
      layout.hosts.push_back({unit_host_name(d, u), speeds, wattage, shortest_number(d.off_W / units), d.id, u});
    }
  }
  // The far end of every operator's DRAM traffic: computes nothing, draws nothing.
  for (const MemoryDomain& m : p.memory_domains) {
    layout.hosts.push_back({memory_host_name(m.id), {1.0}, "0:0:0", "0", "", -1});
  }

  for (const MemoryDomain& m : p.memory_domains) {
    layout.links.push_back({dram_link_name(m.id), dram_link_bandwidth_Bps(m, m.bandwidth_GBps * 1e9), 0.0});
    layout.links.push_back({xfer_link_name(m.id), kUnlimitedBandwidth, m.transfer_latency_us * 1e-6});
    if (!has_ports(m)) continue;
    for (const Device& d : p.devices) {
      if (d.memory_domain == m.id) layout.links.push_back({port_link_name(d), m.bandwidth_GBps * 1e9, 0.0});
    }
  }
  for (const Link& l : p.links) layout.links.push_back({link_name(l), l.bandwidth_GBps * 1e9, l.latency_us * 1e-6});

  // Every unit reaches its own DRAM, through its device's port when the domain has ports.
  for (const Device& d : p.devices) {
    std::vector<std::string> links = {dram_link_name(d.memory_domain)};
    if (has_ports(p.memory_domain(d.memory_domain))) links.insert(links.begin(), port_link_name(d));
    for (int u = 0; u < d.units; ++u) {
      layout.routes.push_back({unit_host_name(d, u), memory_host_name(d.memory_domain), links});
    }
  }
  // Units of different devices: each unordered pair once, from the device listed first.
  for (std::size_t a = 0; a < p.devices.size(); ++a) {
    const Device& da = p.devices[a];
    for (std::size_t b = a + 1; b < p.devices.size(); ++b) {
      const Device& db = p.devices[b];
      std::vector<std::string> links;
      if (da.memory_domain == db.memory_domain) {
        links = {dram_link_name(da.memory_domain), xfer_link_name(da.memory_domain)};
      } else if (const Link* l = p.link_between(da.memory_domain, db.memory_domain)) {
        links = {dram_link_name(da.memory_domain), link_name(*l), dram_link_name(db.memory_domain)};
      } else {
        continue;  // validation rejects platforms whose devices cannot reach each other
      }
      for (int ua = 0; ua < da.units; ++ua) {
        for (int ub = 0; ub < db.units; ++ub) {
          layout.routes.push_back({unit_host_name(da, ua), unit_host_name(db, ub), links});
        }
      }
    }
  }
  // Memory hosts of linked domains, in link order.
  for (const Link& l : p.links) {
    layout.routes.push_back(
        {memory_host_name(l.from), memory_host_name(l.to), {dram_link_name(l.from), link_name(l), dram_link_name(l.to)}});
  }
  return layout;
}

}  // namespace sparoa::platforms

#include "sim/board.hpp"

#include <simgrid/plugins/energy.h>
#include <simgrid/s4u.hpp>

#include <map>

#include "platforms/simgrid_layout.hpp"
#include "support/error.hpp"

namespace sg4 = simgrid::s4u;

namespace sparoa::sim {

void configure_engine(sg4::Engine& engine) {
  engine.set_config("host/model:ptask_L07");
  // ptask_L07 caps a transfer's rate at TCP-gamma / (2 x route latency) (a TCP window
  // model); our links are DRAM and PCIe, not TCP: lift the cap so that a copy runs at the
  // bandwidth the cost model predicts.
  engine.set_config("network/TCP-gamma:1e30");
  sg_host_energy_plugin_init();
}

Board::Board(const platforms::Platform& p) : platform_(&p) {
  const platforms::SimgridLayout layout = platforms::simgrid_layout(p);
  sg4::NetZone* zone = sg4::create_full_zone(p.name.empty() ? "board" : p.name);

  std::map<std::string, sg4::Host*> hosts;
  for (const auto& h : layout.hosts) {
    sg4::Host* host = zone->create_host(h.name, h.speeds);
    host->set_property("wattage_per_state", h.wattage_per_state);
    host->set_property("wattage_off", h.wattage_off);
    hosts[h.name] = host;
  }
  std::map<std::string, sg4::Link*> links;
  for (const auto& l : layout.links) {
    sg4::Link* link = zone->create_link(l.name, l.bandwidth_Bps > 0 ? l.bandwidth_Bps : platforms::kUnlimitedBandwidth);
    link->set_latency(l.latency_s);
    link->seal();
    links[l.name] = link;
  }
  for (const auto& r : layout.routes) {
    std::vector<sg4::LinkInRoute> route;
    for (const auto& name : r.links) route.emplace_back(links.at(name));
    zone->add_route(hosts.at(r.src)->get_netpoint(), hosts.at(r.dst)->get_netpoint(), nullptr, nullptr, route, true);
  }
  for (auto& [name, host] : hosts) host->seal();
  zone->seal();

  for (const auto& d : p.memory_domains) {
    DomainRuntime rt;
    rt.spec = &d;
    rt.memory_host = hosts.at(platforms::memory_host_name(d.id));
    rt.dram = links.at(platforms::dram_link_name(d.id));
    rt.bandwidth_Bps = d.bandwidth_GBps * 1e9;
    rt.dram_capacity_Bps = platforms::dram_link_bandwidth_Bps(d, rt.bandwidth_Bps);
    domains_.push_back(rt);
  }
  for (const auto& d : p.devices) {
    DeviceRuntime rt;
    rt.spec = &d;
    for (int u = 0; u < d.units; ++u) rt.units.push_back(hosts.at(platforms::unit_host_name(d, u)));
    rt.running_on_unit.assign(std::size_t(d.units), 0);
    rt.pending_off.assign(std::size_t(d.units), false);
    rt.domain = domain_index(d.memory_domain);
    if (platforms::has_ports(*domains_[rt.domain].spec)) rt.port = links.at(platforms::port_link_name(d));
    rt.online_units = d.units;
    devices_.push_back(std::move(rt));
  }
  apply_power_mode(p.power_mode);
}

std::size_t Board::device_index(const std::string& id) const {
  for (std::size_t i = 0; i < devices_.size(); ++i) {
    if (devices_[i].spec->id == id) return i;
  }
  throw Error(platform_->origin, "no device '" + id + "'");
}

std::size_t Board::domain_index(const std::string& id) const {
  for (std::size_t i = 0; i < domains_.size(); ++i) {
    if (domains_[i].spec->id == id) return i;
  }
  throw Error(platform_->origin, "no memory domain '" + id + "'");
}

void Board::set_pstate(std::size_t device, std::size_t pstate) {
  DeviceRuntime& d = devices_.at(device);
  if (pstate >= d.spec->pstates.size()) {
    throw Error(d.spec->id, "pstate " + std::to_string(pstate) + " does not exist");
  }
  d.pstate = pstate;
  // A unit that is off keeps its pstate setting for when it comes back.
  for (sg4::Host* h : d.units) {
    if (h->is_on()) h->set_pstate(pstate);
  }
}

void Board::apply_power_mode(const std::string& name) {
  const platforms::PowerMode& mode = platform_->mode(name);
  for (const auto& md : mode.devices) {
    const std::size_t di = device_index(md.id);
    DeviceRuntime& d = devices_[di];
    set_pstate(di, md.pstate);
    d.online_units = md.online_units;
    for (int u = 0; u < d.spec->units; ++u) {
      sg4::Host* h = d.units[std::size_t(u)];
      const bool want_on = u < md.online_units;
      d.pending_off[std::size_t(u)] = false;
      if (want_on && !h->is_on()) {
        h->turn_on();
        h->set_pstate(md.pstate);
      } else if (!want_on && h->is_on()) {
        if (d.running_on_unit[std::size_t(u)] > 0) {
          d.pending_off[std::size_t(u)] = true;
        } else {
          h->turn_off();
        }
      }
    }
  }
  for (auto& dom : domains_) {
    double bw = dom.spec->bandwidth_GBps * 1e9;
    for (const auto& mdom : mode.memory_domains) {
      if (mdom.id == dom.spec->id) bw = mdom.bandwidth_GBps * 1e9;
    }
    if (bw != dom.bandwidth_Bps) {
      // The EMC clock scales every path to this DRAM alike: the ports keep the domain's
      // bandwidth and the dram link its 2 / (1 + contention) multiple of it, so that the
      // solo time and the co-run slowdown stay what the platform says.
      dom.bandwidth_Bps = bw;
      dom.dram_capacity_Bps = platforms::dram_link_bandwidth_Bps(*dom.spec, bw);
      dom.dram->set_bandwidth(dom.dram_capacity_Bps);
      for (const auto& d : devices_) {
        if (d.port != nullptr && &domains_[d.domain] == &dom) d.port->set_bandwidth(bw);
      }
    }
  }
  const double now = sg4::Engine::get_clock();
  static_J_ += static_W_ * (now - static_since_);
  static_since_ = now;
  power_mode_ = name;
  static_W_ = mode.static_W;
}

void Board::acquire(std::size_t device, const std::vector<int>& units) {
  DeviceRuntime& d = devices_[device];
  for (int u : units) ++d.running_on_unit[std::size_t(u)];
}

// The energy plugin bills the time since a host's last update at the host's load when it
// updates. It updates a host when a sequential activity starts on it, when any activity on
// it ends, and when its speed or state changes; not when a parallel task starts on it, nor
// when contention on a DRAM link changes a running task's rate. These fill the gaps, so that
// every interval is billed at the load it really had (SimGrid re-solves rates only at its
// next step, so an update in the same instant still sees the old loads).
void Board::update_energy(std::size_t device, const std::vector<int>& units) const {
  for (int u : units) sg_host_get_consumed_energy(devices_[device].units[std::size_t(u)]);
}

void Board::update_energy_of_busy_units() const {
  for (const auto& d : devices_) {
    for (std::size_t u = 0; u < d.units.size(); ++u) {
      if (d.running_on_unit[u] > 0) sg_host_get_consumed_energy(d.units[u]);
    }
  }
}

void Board::release(std::size_t device, const std::vector<int>& units) {
  DeviceRuntime& d = devices_[device];
  for (int u : units) {
    const auto i = std::size_t(u);
    if (--d.running_on_unit[i] == 0 && d.pending_off[i]) {
      d.pending_off[i] = false;
      d.units[i]->turn_off();
    }
  }
}

std::vector<int> Board::lane_units(std::size_t device, const platforms::Lane& lane) const {
  const DeviceRuntime& d = devices_[device];
  std::vector<int> units;
  if (d.spec->kind == platforms::DeviceKind::gpu) {
    for (int u = 0; u < d.online_units; ++u) units.push_back(u);
    return units;
  }
  for (int c : lane.cores) {
    if (c < d.online_units) units.push_back(c);
  }
  if (units.empty()) units.push_back(0);
  return units;
}

double Board::consumed_energy_J(std::size_t device) const {
  double joules = 0;
  for (const sg4::Host* h : devices_[device].units) joules += sg_host_get_consumed_energy(h);
  return joules;
}

}  // namespace sparoa::sim

namespace sparoa::sim {
double Board::static_energy_J() const {
  return static_J_ + static_W_ * (sg4::Engine::get_clock() - static_since_);
}
}  // namespace sparoa::sim

#pragma once
// The board as SimGrid resources (built from platforms::simgrid_layout, so that the XML
// export and the simulator agree) plus its mutable hardware state: pstates, the power mode,
// which units are on, and background load. Units of a device are per-unit hosts: a power mode
// turns the highest-numbered ones off; one that is running an operator when its mode goes
// away is turned off when it becomes idle (Linux migrates the thread off a core being
// unplugged; SimGrid would kill the activity instead).
#include <cstddef>
#include <string>
#include <vector>

#include <simgrid/forward.h>

#include "platforms/platform.hpp"

namespace sparoa::sim {

struct DeviceRuntime {
  const platforms::Device* spec = nullptr;
  std::vector<simgrid::s4u::Host*> units;
  std::vector<int> running_on_unit;  // activities using each unit now
  std::vector<bool> pending_off;     // off as soon as its running count reaches 0
  std::size_t domain = 0;            // index into Board::domains
  std::size_t pstate = 0;
  int online_units = 0;
  double background_load = 0;  // 0..1, set by the state trace
  // Its own path to its memory domain (bandwidth = the domain's), only when the domain's
  // contention is below 1 (see platforms/simgrid_layout.hpp); nullptr otherwise.
  simgrid::s4u::Link* port = nullptr;
};

struct DomainRuntime {
  const platforms::MemoryDomain* spec = nullptr;
  simgrid::s4u::Host* memory_host = nullptr;
  simgrid::s4u::Link* dram = nullptr;
  // The domain's bandwidth now (power modes change it): what one operator alone gets, and
  // what the cost model predicts with.
  double bandwidth_Bps = 0;
  // The dram link's capacity now: bandwidth_Bps, or bandwidth_Bps x 2 / (1 + contention)
  // when the domain's devices have ports. DRAM utilisation is measured against it.
  double dram_capacity_Bps = 0;
  double background_load = 0;  // 0..1
};

class Board {
 public:
  // Builds the zone and seals it; call once, after the engine exists and before run().
  explicit Board(const platforms::Platform& p);

  const platforms::Platform& platform() const { return *platform_; }
  std::vector<DeviceRuntime>& devices() { return devices_; }
  const std::vector<DeviceRuntime>& devices() const { return devices_; }
  std::vector<DomainRuntime>& domains() { return domains_; }
  const std::vector<DomainRuntime>& domains() const { return domains_; }
  std::size_t device_index(const std::string& id) const;  // throws sparoa::Error
  std::size_t domain_index(const std::string& id) const;
  const std::string& power_mode() const { return power_mode_; }
  // Where actors live: a host that never turns off.
  simgrid::s4u::Host* actor_host() const { return domains_.front().memory_host; }

  // Hardware state changes (the state trace and power modes).
  void set_pstate(std::size_t device, std::size_t pstate);
  void apply_power_mode(const std::string& mode);
  // Bookkeeping of which units run something, for deferred turn-off.
  void acquire(std::size_t device, const std::vector<int>& units);
  void release(std::size_t device, const std::vector<int>& units);
  // Bring the energy plugin up to date (see board.cpp for when it is needed): a parallel
  // task's own units just before it starts, and every busy unit when DRAM sharing changes.
  void update_energy(std::size_t device, const std::vector<int>& units) const;
  void update_energy_of_busy_units() const;

  // The units a CPU lane runs on now: its cores that are online, or, when none is, the
  // device's unit 0 (always online: a power mode keeps at least one unit), shared.
  std::vector<int> lane_units(std::size_t device, const platforms::Lane& lane) const;
  // Energy of a device so far, from SimGrid's host energy plugin (J).
  double consumed_energy_J(std::size_t device) const;
  // Current static power of the board in its power mode (W).
  double static_W() const { return static_W_; }
  // Static energy of the board since the start of the run, power modes included (J).
  double static_energy_J() const;

 private:
  const platforms::Platform* platform_;
  std::vector<DeviceRuntime> devices_;
  std::vector<DomainRuntime> domains_;
  std::string power_mode_;
  double static_W_ = 0;
  double static_J_ = 0;
  double static_since_ = 0;
};

// Must be called before the engine loads a platform: selects ptask_L07 (operators are
// parallel tasks over unit hosts and the DRAM link) and starts the host energy plugin.
void configure_engine(simgrid::s4u::Engine& engine);

}  // namespace sparoa::sim

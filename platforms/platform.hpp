#pragma once
// A board in one power mode, exactly as DESIGN.md's normative platform schema: devices with
// their compute units, pstates and power, lanes, memory domains and links, the power modes
// the board can switch to, the cost model and a static power term. Every block says where
// its numbers come from (`source`). Loading validates everything; errors name the file and
// the key ("agx.yaml: devices[1].pstates[2].full_W: ...").
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "platforms/cost_params.hpp"

namespace sparoa::platforms {

inline constexpr int kPlatformSchemaVersion = 1;

// Where a number comes from. DESIGN.md lists datasheet|measured|fitted; `estimated` marks
// numbers we derived (e.g. watts split between rails) and that a calibration should replace.
enum class SourceLabel { datasheet, measured, estimated, fitted };
std::string_view to_string(SourceLabel s);

struct Provenance {
  SourceLabel source = SourceLabel::estimated;
  std::string date;      // YYYY-MM-DD
  std::string document;  // machine or document the numbers come from
  std::string notes;

  bool operator==(const Provenance&) const = default;
};

enum class DeviceKind { cpu, gpu };
std::string_view to_string(DeviceKind k);

// One performance state. Watts are for the whole device with all its units online, in
// SimGrid's host energy semantics: idle (no unit runs anything), epsilon (every unit runs an
// activity that computes nothing), full (every unit computes at full speed); a unit's power
// is linear in its load between epsilon and full, and the device's is the sum over its units.
struct PState {
  double freq_MHz = 0;
  double idle_W = 0;
  double epsilon_W = 0;
  double full_W = 0;

  bool operator==(const PState&) const = default;
};

struct Lane {
  std::string id;
  std::vector<int> cores;   // CPU lane: the device's core (unit) indices it runs on
  int stream = -1;          // GPU lane: CUDA stream number
  std::string launch_lane;  // GPU lane: the CPU lane whose time pays each kernel launch

  bool operator==(const Lane&) const = default;
};

struct Device {
  std::string id;
  DeviceKind kind = DeviceKind::cpu;
  std::string memory_domain;
  // Compute units: CPU cores, or GPU SM groups (TPCs on Orin): the granularity at which a
  // power mode turns compute on and off. Peak FLOP/s = units x freq x flops_per_cycle_per_unit.
  int units = 1;
  std::string unit_name;  // "core", "TPC", ...
  double flops_per_cycle_per_unit = 0;
  std::vector<PState> pstates;  // fastest first
  double off_W = 0;             // power of the whole device with every unit off (power modes)
  std::string rail;             // power rail that measures it on a board; "" for none
  std::vector<Lane> lanes;
  SourceLabel source = SourceLabel::estimated;
  std::string note;

  bool operator==(const Device&) const = default;

  double peak_flops(std::size_t pstate, int online_units) const {
    return double(online_units) * pstates.at(pstate).freq_MHz * 1e6 * flops_per_cycle_per_unit;
  }
};

// How a tensor moves between two devices of one memory domain: `copy` is a DRAM-to-DRAM copy
// (the bytes are read and written once each, through the domain's bandwidth), `zero_copy`
// maps the producer's buffer (no traffic; only the synchronisation latency).
enum class SharedTransfer { copy, zero_copy };
std::string_view to_string(SharedTransfer t);

struct MemoryDomain {
  std::string id;
  double bandwidth_GBps = 0;       // sustained DRAM bandwidth, shared by all devices in it
  SharedTransfer transfer = SharedTransfer::copy;
  double transfer_latency_us = 0;  // per transfer between two devices of this domain
  // How much a memory-bound operator slows down while one memory-bound stream of another
  // device runs: it takes (1 + contention) times as long. 1: the two share the bandwidth
  // equally (each alone could use all of it); 0: they do not disturb each other. Fitted from
  // `sparoa profile --corun` rows by calibration; dimensionless, in [0, 1].
  double contention = 1;
  SourceLabel source = SourceLabel::estimated;
  std::string note;

  bool operator==(const MemoryDomain&) const = default;
};

// A link between two memory domains (PCIe between host DRAM and a discrete GPU's HBM).
struct Link {
  std::string id;
  std::string from;  // memory domain ids; links are symmetric
  std::string to;
  double bandwidth_GBps = 0;
  double latency_us = 0;
  SourceLabel source = SourceLabel::estimated;
  std::string note;

  bool operator==(const Link&) const = default;
};

// A power mode (nvpmodel): clocks, online units and memory bandwidth change together.
struct PowerModeDevice {
  std::string id;
  int online_units = 0;  // units 0..online_units-1 are on
  std::size_t pstate = 0;  // index into the device's pstates (the file gives freq_MHz)

  bool operator==(const PowerModeDevice&) const = default;
};
struct PowerModeDomain {
  std::string id;
  double bandwidth_GBps = 0;

  bool operator==(const PowerModeDomain&) const = default;
};
struct PowerMode {
  std::string name;
  std::vector<PowerModeDevice> devices;  // every device once
  std::vector<PowerModeDomain> memory_domains;  // domains whose bandwidth changes; others keep theirs
  double static_W = 0;  // board power outside the devices' models (SoC, DRAM refresh, regulators)
  SourceLabel source = SourceLabel::estimated;
  std::string note;

  bool operator==(const PowerMode&) const = default;
};

struct Platform {
  int schema_version = kPlatformSchemaVersion;
  std::string name;
  std::string power_mode;  // the initial mode: one of power_modes
  Provenance provenance;
  std::vector<MemoryDomain> memory_domains;
  std::vector<Device> devices;
  std::vector<Link> links;
  std::vector<PowerMode> power_modes;
  CostParams cost_model;
  std::string origin;      // file it was read from (messages); not part of the schema
  std::string sha256;      // of the file's bytes; empty when built in code

  const Device& device(std::string_view id) const;  // throws sparoa::Error
  const Device* find_device(std::string_view id) const;
  const MemoryDomain& memory_domain(std::string_view id) const;
  const PowerMode& mode(std::string_view name) const;
  const PowerMode& initial_mode() const { return mode(power_mode); }
  // The device that owns a lane, and the lane itself; nullptr when unknown.
  const Device* device_of_lane(std::string_view lane) const;
  const Lane* find_lane(std::string_view lane) const;
  // The link between two domains, or nullptr (same domain, or none declared).
  const Link* link_between(std::string_view a, std::string_view b) const;
  // Where graph inputs arrive and outputs are delivered: the first CPU device.
  const Device& host_device() const;
  // A domain's bandwidth in a power mode: the mode's override, else the domain's own.
  double bandwidth_GBps(std::string_view domain, const PowerMode& mode) const;
  // The power mode's entry for a device; throws sparoa::Error when it has none.
  const PowerModeDevice& mode_device(const PowerMode& mode, std::string_view device) const;

  // Compares every field, origin and sha256 included (clear them to compare contents).
  bool operator==(const Platform&) const = default;
};

// Reading validates (see platforms/README.md for every rule) and throws sparoa::Error whose
// where() is "file: key".
Platform read_platform(const std::filesystem::path& path);
Platform parse_platform(const std::string& yaml_text, const std::string& origin);
std::string platform_to_yaml(const Platform& p);  // reads back to an equal Platform
void validate_platform(const Platform& p);        // what read_platform checks after parsing

// Resolves a --platform argument: an existing file, or the name of a file in the
// platforms folder shipped with the source tree ("agx-orin-64gb-maxn" -> platforms/<name>.yaml).
std::filesystem::path resolve_platform_path(const std::string& name_or_path);
std::vector<std::filesystem::path> shipped_platform_files();  // sorted

// SimGrid platform XML (DTD 4.1) describing the same hosts, links and routes the simulator
// builds in C++ (see sim/README.md for the mapping); pstates, wattages and core counts as
// host properties.
std::string platform_to_simgrid_xml(const Platform& p);

}  // namespace sparoa::platforms

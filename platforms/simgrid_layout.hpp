#pragma once
// How a platform becomes SimGrid resources, as plain data, so that the simulator (which
// builds it with s4u) and the XML export (which prints it) can never disagree:
//  * one host per compute unit, "<device>.<unit_name><i>" (a CPU core, a GPU TPC), with
//    the device's pstates as host speeds (FLOP/s of one unit) and its watts divided by units;
//  * one host per memory domain, "mem.<domain>", that computes nothing and draws nothing:
//    the far end of every operator's DRAM traffic;
//  * one link per memory domain, "dram.<domain>", with the domain's bandwidth: every operator
//    sends its bytes through it, so co-running memory-bound operators share it (contention);
//  * per memory domain one "xfer.<domain>" link (latency of a transfer inside the domain,
//    unlimited bandwidth) and per declared link "link.<id>";
//  * routes: unit -> mem.<its domain> = [dram]; unit of A -> unit of B on another device =
//    [dram.A, xfer.A] in one domain, [dram.A, link, dram.B] across domains.
#include <string>
#include <vector>

#include "platforms/platform.hpp"

namespace sparoa::platforms {

struct LayoutHost {
  std::string name;
  std::vector<double> speeds;  // FLOP/s per pstate
  std::string wattage_per_state;  // "idle:epsilon:full, ..." per pstate
  std::string wattage_off;
  std::string device;  // "" for memory hosts
  int unit = -1;
};
struct LayoutLink {
  std::string name;
  double bandwidth_Bps = 0;  // 0 means unlimited (FATPIPE-like, very large)
  double latency_s = 0;
};
struct LayoutRoute {
  std::string src, dst;
  std::vector<std::string> links;
};

struct SimgridLayout {
  std::vector<LayoutHost> hosts;
  std::vector<LayoutLink> links;
  std::vector<LayoutRoute> routes;  // symmetric
};

// Bandwidth used for "unlimited" links (bytes/s).
inline constexpr double kUnlimitedBandwidth = 1e15;

SimgridLayout simgrid_layout(const Platform& p);
std::string unit_host_name(const Device& d, int unit);
std::string memory_host_name(const std::string& domain);
std::string dram_link_name(const std::string& domain);

}  // namespace sparoa::platforms

#pragma once
// How a platform becomes SimGrid resources, as plain data, so that the simulator (which
// builds it with s4u) and the XML export (which prints it) can never disagree:
//  * one host per compute unit, "<device>.<unit_name><i>" (a CPU core, a GPU TPC), with
//    the device's pstates as host speeds (FLOP/s of one unit) and its watts divided by units;
//  * one host per memory domain, "mem.<domain>", that computes nothing and draws nothing:
//    the far end of every operator's DRAM traffic;
//  * one link per memory domain, "dram.<domain>": every operator sends its bytes through it,
//    so co-running memory-bound operators share it (contention). Its capacity depends on the
//    domain's `contention` k:
//      - k = 1 (the default): the domain's bandwidth bw, and nothing else: two memory-bound
//        operators each get bw/2 (a slowdown of 2);
//      - k < 1: bw x 2 / (1 + k), and every device of the domain gets its own link
//        "port.<device>" of bandwidth bw in front of it. One operator alone is held to bw by
//        its port (the cost model's solo time is unchanged); two on two devices share the
//        DRAM link and each get bw / (1 + k): a slowdown of exactly 1 + k, as calibration
//        measures it with `sparoa profile --corun`. Two on lanes of the SAME device share
//        its port as well and each get bw/2 (a slowdown of 2): a device's own streams
//        compete for its one path to memory, which k does not describe;
//  * per memory domain one "xfer.<domain>" link (latency of a transfer inside the domain,
//    unlimited bandwidth) and per declared link "link.<id>";
//  * routes: unit -> mem.<its domain> = [dram] (k = 1) or [port.<device>, dram] (k < 1);
//    unit of A -> unit of B on another device = [dram.A, xfer.A] in one domain,
//    [dram.A, link, dram.B] across domains, whatever k (transfers do not cross ports).
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
std::string port_link_name(const Device& d);
// Whether the domain's devices get ports (contention < 1); at 1 the layout is the one-link
// layout that predates the key, so existing simulations stay bit-identical.
bool has_ports(const MemoryDomain& m);
// Capacity of the dram link (bytes/s) for a domain bandwidth (bytes/s, power modes change
// it) and its contention: bandwidth x 2 / (1 + k) with ports, exactly the bandwidth without.
double dram_link_bandwidth_Bps(const MemoryDomain& m, double bandwidth_Bps);

}  // namespace sparoa::platforms

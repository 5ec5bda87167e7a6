// Tests of platforms/simgrid_layout.cpp and simgrid_xml.cpp: the layout on the tiny platform
// by hand, and the XML of a shipped platform loaded by SimGrid itself (one engine per
// process: ctest runs each test in its own process).
#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>

#include "platform_fixtures.hpp"
#include "platforms/simgrid_layout.hpp"

#ifdef SPAROA_TEST_HAVE_SIMGRID
#include <simgrid/plugins/energy.h>
#include <simgrid/s4u/Engine.hpp>
#include <simgrid/s4u/Host.hpp>
#include <simgrid/s4u/Link.hpp>
#include <xbt/config.hpp>
#endif

namespace {

namespace fs = std::filesystem;
using namespace sparoa::platforms;

const LayoutHost* host(const SimgridLayout& l, const std::string& name) {
  auto it = std::find_if(l.hosts.begin(), l.hosts.end(), [&](const auto& h) { return h.name == name; });
  return it == l.hosts.end() ? nullptr : &*it;
}
const LayoutLink* link(const SimgridLayout& l, const std::string& name) {
  auto it = std::find_if(l.links.begin(), l.links.end(), [&](const auto& k) { return k.name == name; });
  return it == l.links.end() ? nullptr : &*it;
}
const LayoutRoute* route(const SimgridLayout& l, const std::string& src, const std::string& dst) {
  auto it = std::find_if(l.routes.begin(), l.routes.end(), [&](const auto& r) { return r.src == src && r.dst == dst; });
  return it == l.routes.end() ? nullptr : &*it;
}

TEST(SimgridLayout, Names) {
  const Platform p = sparoa::test::tiny_platform();
  EXPECT_EQ(unit_host_name(p.device("gpu"), 3), "gpu.SM3");
  EXPECT_EQ(memory_host_name("dram"), "mem.dram");
  EXPECT_EQ(dram_link_name("dram"), "dram.dram");
}

TEST(SimgridLayout, TinyPlatformByHand) {
  const Platform p = sparoa::test::tiny_platform();
  const SimgridLayout l = simgrid_layout(p);
  std::vector<std::string> names;
  for (const auto& h : l.hosts) names.push_back(h.name);
  EXPECT_EQ(names, (std::vector<std::string>{"cpu.core0", "cpu.core1", "gpu.SM0", "gpu.SM1", "gpu.SM2", "gpu.SM3",
                                             "dgpu.X0", "mem.dram", "mem.hbm"}));
  const LayoutHost* core1 = host(l, "cpu.core1");
  ASSERT_NE(core1, nullptr);
  EXPECT_EQ(core1->speeds, (std::vector<double>{1e9, 5e8}));
  // Watts per unit: 1:2:5 and 0.5:1:2 over 2 cores.
  EXPECT_EQ(core1->wattage_per_state, "0.5:1:2.5, 0.25:0.5:1");
  EXPECT_EQ(core1->wattage_off, "0");
  EXPECT_EQ(core1->device, "cpu");
  EXPECT_EQ(core1->unit, 1);
  const LayoutHost* sm = host(l, "gpu.SM2");
  ASSERT_NE(sm, nullptr);
  EXPECT_EQ(sm->speeds, std::vector<double>{1e10});
  EXPECT_EQ(sm->wattage_per_state, "0.5:1:5");
  EXPECT_EQ(sm->wattage_off, "0.1");
  const LayoutHost* mem = host(l, "mem.hbm");
  ASSERT_NE(mem, nullptr);
  EXPECT_EQ(mem->speeds, std::vector<double>{1});
  EXPECT_EQ(mem->wattage_per_state, "0:0:0");
  EXPECT_EQ(mem->wattage_off, "0");
  EXPECT_EQ(mem->device, "");
  EXPECT_EQ(mem->unit, -1);

  ASSERT_EQ(l.links.size(), 5u);
  EXPECT_EQ(link(l, "dram.dram")->bandwidth_Bps, 1e10);
  EXPECT_EQ(link(l, "dram.dram")->latency_s, 0);
  EXPECT_EQ(link(l, "dram.hbm")->bandwidth_Bps, 1e11);
  EXPECT_EQ(link(l, "xfer.dram")->bandwidth_Bps, kUnlimitedBandwidth);
  EXPECT_DOUBLE_EQ(link(l, "xfer.dram")->latency_s, 5e-6);
  EXPECT_EQ(link(l, "link.pcie")->bandwidth_Bps, 5e9);
  EXPECT_DOUBLE_EQ(link(l, "link.pcie")->latency_s, 10e-6);

  // 7 unit -> memory routes, 8 + 2 + 4 unit pairs, 1 memory pair.
  EXPECT_EQ(l.routes.size(), 7u + 14u + 1u);
  ASSERT_NE(route(l, "cpu.core0", "mem.dram"), nullptr);
  EXPECT_EQ(route(l, "cpu.core0", "mem.dram")->links, std::vector<std::string>{"dram.dram"});
  EXPECT_EQ(route(l, "dgpu.X0", "mem.hbm")->links, std::vector<std::string>{"dram.hbm"});
  ASSERT_NE(route(l, "cpu.core1", "gpu.SM3"), nullptr);
  EXPECT_EQ(route(l, "cpu.core1", "gpu.SM3")->links, (std::vector<std::string>{"dram.dram", "xfer.dram"}));
  EXPECT_EQ(route(l, "gpu.SM3", "cpu.core1"), nullptr);  // each pair once, from the first device
  ASSERT_NE(route(l, "gpu.SM0", "dgpu.X0"), nullptr);
  EXPECT_EQ(route(l, "gpu.SM0", "dgpu.X0")->links, (std::vector<std::string>{"dram.dram", "link.pcie", "dram.hbm"}));
  ASSERT_NE(route(l, "mem.dram", "mem.hbm"), nullptr);
  EXPECT_EQ(route(l, "mem.dram", "mem.hbm")->links, (std::vector<std::string>{"dram.dram", "link.pcie", "dram.hbm"}));
  EXPECT_EQ(route(l, "cpu.core0", "cpu.core1"), nullptr);
  // Deterministic.
  const SimgridLayout again = simgrid_layout(p);
  ASSERT_EQ(again.routes.size(), l.routes.size());
  for (std::size_t i = 0; i < l.routes.size(); ++i) EXPECT_EQ(again.routes[i].src + again.routes[i].dst, l.routes[i].src + l.routes[i].dst);
}

// The tiny platform with a contention on its shared "dram" domain (cpu and gpu in it; the
// discrete GPU's "hbm" keeps the default 1).
Platform tiny_with_contention(double k) {
  Platform p = sparoa::test::tiny_platform();
  p.memory_domains[0].contention = k;
  return p;
}

TEST(SimgridLayout, ContentionBelowOneGivesEachDeviceOfTheDomainAPort) {
  const SimgridLayout l = simgrid_layout(tiny_with_contention(0.5));
  EXPECT_EQ(port_link_name(sparoa::test::tiny_platform().device("gpu")), "port.gpu");
  // dram.dram and xfer.dram, then the domain's ports in device order; dgpu (hbm) has none.
  std::vector<std::string> names;
  for (const auto& k : l.links) names.push_back(k.name);
  EXPECT_EQ(names, (std::vector<std::string>{"dram.dram", "xfer.dram", "port.cpu", "port.gpu", "dram.hbm", "xfer.hbm",
                                             "link.pcie"}));
  // 10 GB/s x 2 / 1.5: two streams of two devices get 6.67 GB/s each, one alone its port's 10.
  EXPECT_DOUBLE_EQ(link(l, "dram.dram")->bandwidth_Bps, 1e10 * 2 / 1.5);
  EXPECT_EQ(link(l, "dram.dram")->latency_s, 0);
  EXPECT_EQ(link(l, "port.cpu")->bandwidth_Bps, 1e10);
  EXPECT_EQ(link(l, "port.cpu")->latency_s, 0);
  EXPECT_EQ(link(l, "port.gpu")->bandwidth_Bps, 1e10);
  EXPECT_EQ(link(l, "port.dgpu"), nullptr);
  EXPECT_EQ(link(l, "dram.hbm")->bandwidth_Bps, 1e11);
  // Unit -> memory crosses the device's port; both cores of the CPU share one port.
  EXPECT_EQ(route(l, "cpu.core0", "mem.dram")->links, (std::vector<std::string>{"port.cpu", "dram.dram"}));
  EXPECT_EQ(route(l, "cpu.core1", "mem.dram")->links, (std::vector<std::string>{"port.cpu", "dram.dram"}));
  EXPECT_EQ(route(l, "gpu.SM3", "mem.dram")->links, (std::vector<std::string>{"port.gpu", "dram.dram"}));
  EXPECT_EQ(route(l, "dgpu.X0", "mem.hbm")->links, std::vector<std::string>{"dram.hbm"});
  // Transfers between devices keep their routes.
  EXPECT_EQ(route(l, "cpu.core1", "gpu.SM3")->links, (std::vector<std::string>{"dram.dram", "xfer.dram"}));
  EXPECT_EQ(route(l, "gpu.SM0", "dgpu.X0")->links, (std::vector<std::string>{"dram.dram", "link.pcie", "dram.hbm"}));
  EXPECT_EQ(route(l, "mem.dram", "mem.hbm")->links, (std::vector<std::string>{"dram.dram", "link.pcie", "dram.hbm"}));
  EXPECT_EQ(l.routes.size(), 7u + 14u + 1u);
  // k = 0: twice the bandwidth on the DRAM link, so two devices do not disturb each other.
  EXPECT_EQ(link(simgrid_layout(tiny_with_contention(0)), "dram.dram")->bandwidth_Bps, 2e10);
  EXPECT_DOUBLE_EQ(link(simgrid_layout(tiny_with_contention(0.3)), "dram.dram")->bandwidth_Bps, 1e10 * 2 / 1.3);
  // The helpers the simulator uses for power modes agree with the layout.
  const Platform p = tiny_with_contention(0.5);
  EXPECT_TRUE(has_ports(p.memory_domains[0]));
  EXPECT_FALSE(has_ports(p.memory_domains[1]));
  EXPECT_EQ(dram_link_bandwidth_Bps(p.memory_domains[0], 5e9), 5e9 * 2 / 1.5);
  EXPECT_EQ(dram_link_bandwidth_Bps(p.memory_domains[1], 5e9), 5e9);
}

TEST(SimgridLayout, ContentionOneKeepsTheOneLinkLayout) {
  // Written explicitly or left out, k = 1 gives the layout (and the XML) that predates the key.
  const Platform plain = sparoa::test::tiny_platform();
  const Platform explicit_one = tiny_with_contention(1);
  const SimgridLayout a = simgrid_layout(plain);
  const SimgridLayout b = simgrid_layout(explicit_one);
  ASSERT_EQ(a.links.size(), b.links.size());
  for (std::size_t i = 0; i < a.links.size(); ++i) {
    EXPECT_EQ(a.links[i].name, b.links[i].name);
    EXPECT_EQ(a.links[i].bandwidth_Bps, b.links[i].bandwidth_Bps);
    EXPECT_EQ(a.links[i].latency_s, b.links[i].latency_s);
    EXPECT_EQ(a.links[i].name.rfind("port.", 0), std::string::npos) << a.links[i].name;
  }
  ASSERT_EQ(a.routes.size(), b.routes.size());
  for (std::size_t i = 0; i < a.routes.size(); ++i) {
    EXPECT_EQ(a.routes[i].src, b.routes[i].src);
    EXPECT_EQ(a.routes[i].dst, b.routes[i].dst);
    EXPECT_EQ(a.routes[i].links, b.routes[i].links);
  }
  EXPECT_EQ(link(b, "dram.dram")->bandwidth_Bps, 1e10);
  EXPECT_EQ(route(b, "cpu.core0", "mem.dram")->links, std::vector<std::string>{"dram.dram"});
  EXPECT_EQ(platform_to_simgrid_xml(plain), platform_to_simgrid_xml(explicit_one));
  EXPECT_EQ(platform_to_simgrid_xml(plain).find("port."), std::string::npos);
}

TEST(SimgridXml, PortsOfADomainWithContention) {
  const std::string xml = platform_to_simgrid_xml(tiny_with_contention(0.5));
  for (const char* needle : {"<link id=\"port.cpu\" bandwidth=\"1e+10Bps\" latency=\"0s\"/>",
                             "<link id=\"port.gpu\" bandwidth=\"1e+10Bps\" latency=\"0s\"/>",
                             "<link id=\"dram.dram\" bandwidth=\"1.3333333333333334e+10Bps\" latency=\"0s\"/>",
                             "<route src=\"cpu.core0\" dst=\"mem.dram\" symmetrical=\"YES\"><link_ctn id=\"port.cpu\"/>"
                             "<link_ctn id=\"dram.dram\"/></route>",
                             "<route src=\"dgpu.X0\" dst=\"mem.hbm\" symmetrical=\"YES\"><link_ctn id=\"dram.hbm\"/></route>",
                             "dram (contention 0.5)", "1 + contention"}) {
    EXPECT_NE(xml.find(needle), std::string::npos) << needle;
  }
  EXPECT_EQ(xml.find("port.dgpu"), std::string::npos);
  const auto begin = xml.find("<!--");
  const auto end = xml.find("-->");
  EXPECT_EQ(xml.substr(begin + 4, end - begin - 4).find("--"), std::string::npos);
}

TEST(SimgridXml, Structure) {
  const Platform p = read_platform(resolve_platform_path("agx-orin-64gb-30w"));
  const std::string xml = platform_to_simgrid_xml(p);
  EXPECT_EQ(xml.rfind("<?xml version='1.0'?>\n<!DOCTYPE platform SYSTEM \"https://simgrid.org/simgrid.dtd\">\n", 0), 0u);
  for (const char* needle : {"<platform version=\"4.1\">", "<zone id=\"jetson-agx-orin-64gb\" routing=\"Full\">",
                             "ptask_L07", "cfg=host/model:ptask_L07", "power mode 30W", "agx-orin-64gb-30w.yaml",
                             "<config>\n    <prop id=\"host/model\" value=\"ptask_L07\"/>\n  </config>\n",
                             "<host id=\"cpu.core0\" speed=\"3.52256e+10f, ", "core=\"1\" pstate=\"1\"",
                             "<prop id=\"wattage_per_state\" value=\"", "<prop id=\"wattage_off\" value=\"0\"/>",
                             "<link id=\"dram.dram\" bandwidth=\"2.048e+11Bps\" latency=\"0s\"/>",
                             "<route src=\"cpu.core0\" dst=\"mem.dram\" symmetrical=\"YES\"><link_ctn id=\"dram.dram\"/></route>",
                             "turn off cpu.core8 to cpu.core11", "</zone>\n</platform>\n"}) {
    EXPECT_NE(xml.find(needle), std::string::npos) << needle;
  }
  // The comment is a valid XML comment.
  const auto begin = xml.find("<!--");
  const auto end = xml.find("-->");
  ASSERT_NE(begin, std::string::npos);
  EXPECT_EQ(xml.substr(begin + 4, end - begin - 4).find("--"), std::string::npos);
}

#ifdef SPAROA_TEST_HAVE_SIMGRID
TEST(SimgridXml, LoadsInSimGrid) {
  const Platform p = read_platform(resolve_platform_path("agx-orin-64gb-maxn"));
  const fs::path path = fs::temp_directory_path() / ("sparoa-platform-" + std::to_string(::getpid()) + ".xml");
  {
    std::ofstream out(path);
    out << platform_to_simgrid_xml(p);
  }
  std::string arg0 = "platforms_test", arg1 = "--log=root.thresh:critical";
  char* argv[] = {arg0.data(), arg1.data(), nullptr};
  int argc = 2;
  sg_host_energy_plugin_init();  // parses wattage_per_state: malformed values fail here
  simgrid::s4u::Engine e(&argc, argv);
  e.load_platform(path.string());
  fs::remove(path);

  EXPECT_EQ(e.get_host_count(), 12u + 8u + 1u);
  EXPECT_NE(simgrid::s4u::Link::by_name_or_null("xfer.dram"), nullptr);
  // The XML's config block selects the model the simulator uses.
  EXPECT_EQ(simgrid::config::get_value<std::string>("host/model"), "ptask_L07");
  const simgrid::s4u::Host* core = simgrid::s4u::Host::by_name("cpu.core5");
  ASSERT_EQ(core->get_pstate_count(), 5u);
  const Device& cpu = p.device("cpu");
  for (unsigned long k = 0; k < 5; ++k) {
    EXPECT_DOUBLE_EQ(core->get_pstate_speed(k), cpu.pstates[k].freq_MHz * 1e6 * 16) << k;
  }
  EXPECT_EQ(core->get_pstate(), 0u);  // MAXN runs the CPU at its fastest pstate
  const simgrid::s4u::Host* tpc = simgrid::s4u::Host::by_name("gpu.TPC7");
  ASSERT_EQ(tpc->get_pstate_count(), 4u);
  EXPECT_DOUBLE_EQ(tpc->get_pstate_speed(0), 1300.5e6 * 512);
  EXPECT_DOUBLE_EQ(tpc->get_pstate_speed(3), 408e6 * 512);
  EXPECT_DOUBLE_EQ(sg_host_get_wattmax_at(core, 0), 15.2 / 12);
  EXPECT_DOUBLE_EQ(sg_host_get_wattmax_at(tpc, 1), 15.4 / 8);
  EXPECT_DOUBLE_EQ(simgrid::s4u::Link::by_name("dram.dram")->get_bandwidth(), 204.8e9);
  EXPECT_NE(simgrid::s4u::Host::by_name_or_null("mem.dram"), nullptr);
  // A route from a CPU core to a TPC crosses the DRAM and the in-domain transfer link.
  std::vector<simgrid::s4u::Link*> links;
  double latency = 0;
  core->route_to(tpc, links, &latency);
  ASSERT_EQ(links.size(), 2u);
  EXPECT_EQ(links[0]->get_name(), "dram.dram");
  EXPECT_EQ(links[1]->get_name(), "xfer.dram");
  EXPECT_DOUBLE_EQ(latency, 15e-6);
}
#else
TEST(SimgridXml, LoadsInSimGrid) { GTEST_SKIP() << "built without SimGrid"; }
#endif

}  // namespace

// Tests of platforms/platform.cpp: the schema reader, the validator (every rule names the
// file and the key), the writer (round trip) and the shipped files.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <set>

#include "platform_fixtures.hpp"
#include "platforms/platform.hpp"
#include "support/error.hpp"
#include "support/sha256.hpp"

namespace {

namespace fs = std::filesystem;
using namespace sparoa::platforms;
using sparoa::test::tiny_platform;
using sparoa::test::tiny_platform_yaml;

// Parses the tiny platform with `from` replaced by `to` (exactly once).
Platform parse_mutated(const std::string& from, const std::string& to) {
  std::string text = tiny_platform_yaml();
  const auto pos = text.find(from);
  EXPECT_NE(pos, std::string::npos) << "fixture has no '" << from << "'";
  if (pos == std::string::npos) return {};
  EXPECT_EQ(text.find(from, pos + 1), std::string::npos) << "'" << from << "' occurs twice in the fixture";
  text.replace(pos, from.size(), to);
  return parse_platform(text, "bad.yaml");
}

// The error names the file and the key path (where()), and says what is wrong.
void expect_error(const std::string& from, const std::string& to, const std::string& key,
                  const std::vector<std::string>& message) {
  SCOPED_TRACE(from + " -> " + to);
  try {
    parse_mutated(from, to);
    ADD_FAILURE() << "no error";
  } catch (const sparoa::Error& e) {
    EXPECT_EQ(e.where(), key.empty() ? "bad.yaml" : "bad.yaml: " + key) << e.what();
    for (const auto& m : message) EXPECT_NE(std::string(e.what()).find(m), std::string::npos) << e.what();
    EXPECT_EQ(std::string(e.what()).find('\n'), std::string::npos) << "not one line: " << e.what();
  }
}

Platform without_identity(Platform p) {
  p.origin.clear();
  p.sha256.clear();
  return p;
}

TEST(Platform, ReadsTheTinyPlatform) {
  const Platform p = tiny_platform();
  EXPECT_EQ(p.name, "tiny");
  EXPECT_EQ(p.power_mode, "fast");
  EXPECT_EQ(p.origin, "tiny.yaml");
  EXPECT_EQ(p.sha256, sparoa::sha256_hex(tiny_platform_yaml()));
  EXPECT_EQ(p.provenance.source, SourceLabel::estimated);
  EXPECT_EQ(p.provenance.date, "2026-01-01");
  ASSERT_EQ(p.memory_domains.size(), 2u);
  EXPECT_EQ(p.memory_domains[0].bandwidth_GBps, 10);
  EXPECT_EQ(p.memory_domains[0].transfer, SharedTransfer::copy);
  EXPECT_EQ(p.memory_domains[0].transfer_latency_us, 5);
  EXPECT_EQ(p.memory_domains[1].transfer_latency_us, 0);  // default
  EXPECT_EQ(p.memory_domains[1].source, SourceLabel::datasheet);
  ASSERT_EQ(p.devices.size(), 3u);
  const Device& cpu = p.device("cpu");
  EXPECT_EQ(cpu.kind, DeviceKind::cpu);
  EXPECT_EQ(cpu.units, 2);
  EXPECT_EQ(cpu.rail, "VDD_CPU");
  ASSERT_EQ(cpu.pstates.size(), 2u);
  EXPECT_EQ(cpu.pstates[1].freq_MHz, 500);
  EXPECT_EQ(cpu.pstates[1].idle_W, 0.5);
  EXPECT_DOUBLE_EQ(cpu.peak_flops(0, 2), 2e9);
  EXPECT_EQ(p.device("gpu").off_W, 0.4);
  EXPECT_EQ(p.device("gpu").rail, "");
  EXPECT_EQ(p.find_lane("gpu0")->launch_lane, "cpu0");
  EXPECT_EQ(p.find_lane("gpu0")->stream, 0);
  EXPECT_EQ(p.find_lane("cpu1")->cores, std::vector<int>{1});
  EXPECT_EQ(p.find_lane("cpu1")->stream, -1);
  EXPECT_EQ(p.device_of_lane("dgpu0")->id, "dgpu");
  EXPECT_EQ(p.device_of_lane("nope"), nullptr);
  EXPECT_EQ(p.find_lane("nope"), nullptr);
  ASSERT_NE(p.link_between("hbm", "dram"), nullptr);
  EXPECT_EQ(p.link_between("hbm", "dram")->id, "pcie");
  EXPECT_EQ(p.link_between("dram", "dram"), nullptr);
  EXPECT_EQ(p.host_device().id, "cpu");
  const PowerMode& slow = p.mode("slow");
  EXPECT_EQ(p.mode_device(slow, "cpu").pstate, 1u);  // freq_MHz 500 is pstate 1
  EXPECT_EQ(p.mode_device(slow, "cpu").online_units, 1);
  EXPECT_EQ(p.bandwidth_GBps("dram", slow), 5);
  EXPECT_EQ(p.bandwidth_GBps("hbm", slow), 100);  // not overridden
  EXPECT_EQ(p.bandwidth_GBps("dram", p.initial_mode()), 10);
  EXPECT_EQ(p.initial_mode().static_W, 1);
  ASSERT_EQ(p.cost_model.entries.size(), 5u);
  EXPECT_EQ(p.cost_model.entries[0].source, "estimated");  // from cost_model.source
  EXPECT_EQ(p.cost_model.entries[0].compute_efficiency_max, 1);  // defaults to compute_efficiency
  EXPECT_EQ(p.cost_model.entries[4].source, "fitted");
  EXPECT_EQ(p.cost_model.entries[4].batch_exponent, 0.5);
  EXPECT_THROW(p.device("tpu"), sparoa::Error);
  EXPECT_THROW(p.mode("turbo"), sparoa::Error);
  EXPECT_THROW(p.memory_domain("l2"), sparoa::Error);
}

TEST(Platform, TinyPlatformRoundTrips) {
  const Platform p = tiny_platform();
  const std::string yaml = platform_to_yaml(p);
  const Platform back = parse_platform(yaml, "back.yaml");
  EXPECT_EQ(without_identity(back), without_identity(p)) << yaml;
  EXPECT_EQ(platform_to_yaml(back), yaml);
}

TEST(Platform, StringsThatLookLikeOtherTypesRoundTrip) {
  Platform p = tiny_platform();
  p.name = "1.5";
  p.provenance.notes = "yes: \"quoted\"\nsecond line, # not a comment";
  p.devices[0].note = "on";
  p.power_modes[1].note = "";
  const Platform back = parse_platform(platform_to_yaml(p), "back.yaml");
  EXPECT_EQ(without_identity(back), without_identity(p));
}

TEST(Platform, ShippedFilesAreTheExpectedOnes) {
  std::set<std::string> names;
  for (const auto& f : shipped_platform_files()) names.insert(f.stem().string());
  for (const char* n : {"agx-orin-64gb-maxn", "agx-orin-64gb-50w", "agx-orin-64gb-30w", "agx-orin-64gb-15w",
                        "orin-nano-8gb-15w", "orin-nano-8gb-7w", "h100-server"}) {
    EXPECT_TRUE(names.count(n)) << n;
  }
  const auto files = shipped_platform_files();
  EXPECT_TRUE(std::is_sorted(files.begin(), files.end()));
}

TEST(Platform, EveryShippedFileLoadsAndRoundTrips) {
  for (const auto& f : shipped_platform_files()) {
    SCOPED_TRACE(f.string());
    const Platform p = read_platform(f);
    EXPECT_EQ(p.origin, f.string());
    EXPECT_EQ(p.sha256, sparoa::sha256_file_hex(f));
    EXPECT_NO_THROW(validate_platform(p));
    const Platform back = parse_platform(platform_to_yaml(p), "back.yaml");
    EXPECT_EQ(without_identity(back), without_identity(p));
    // Every block says where its numbers come from.
    for (const auto& d : p.devices) EXPECT_FALSE(d.note.empty()) << d.id;
    for (const auto& m : p.memory_domains) EXPECT_FALSE(m.note.empty()) << m.id;
    for (const auto& m : p.power_modes) EXPECT_FALSE(m.note.empty()) << m.name;
    for (const auto& e : p.cost_model.entries) EXPECT_FALSE(e.note.empty()) << e.op_class;
  }
}

TEST(Platform, AgxFilesDifferOnlyInTheirInitialMode) {
  const Platform maxn = read_platform(resolve_platform_path("agx-orin-64gb-maxn"));
  for (const auto& [file, mode] : std::vector<std::pair<std::string, std::string>>{
           {"agx-orin-64gb-50w", "50W"}, {"agx-orin-64gb-30w", "30W"}, {"agx-orin-64gb-15w", "15W"}}) {
    Platform p = read_platform(resolve_platform_path(file));
    EXPECT_EQ(p.power_mode, mode);
    p.power_mode = "MAXN";
    EXPECT_EQ(without_identity(p), without_identity(maxn)) << file;
  }
  const Platform nano = read_platform(resolve_platform_path("orin-nano-8gb-7w"));
  EXPECT_EQ(nano.power_mode, "7W");
  Platform nano15 = read_platform(resolve_platform_path("orin-nano-8gb-15w"));
  nano15.power_mode = "7W";
  EXPECT_EQ(without_identity(nano15), without_identity(nano));
}

TEST(Platform, ShippedNumbersMatchTheReference) {
  const Platform agx = read_platform(resolve_platform_path("agx-orin-64gb-maxn"));
  EXPECT_EQ(agx.name, "jetson-agx-orin-64gb");
  // 5.3 FP32 TFLOPs at 1300.5 MHz with 8 TPCs (REFERENCE.md).
  EXPECT_NEAR(agx.device("gpu").peak_flops(0, 8), 5.3e12, 0.05e12);
  EXPECT_EQ(agx.memory_domain("dram").bandwidth_GBps, 204.8);
  const PowerMode& m15 = agx.mode("15W");
  EXPECT_EQ(agx.mode_device(m15, "cpu").online_units, 4);
  EXPECT_EQ(agx.device("cpu").pstates[agx.mode_device(m15, "cpu").pstate].freq_MHz, 1113.6);
  EXPECT_EQ(agx.mode_device(m15, "gpu").online_units, 3);
  EXPECT_EQ(agx.device("gpu").pstates[agx.mode_device(m15, "gpu").pstate].freq_MHz, 408);
  EXPECT_EQ(agx.bandwidth_GBps("dram", m15), 136.5);
  const PowerMode& m30 = agx.mode("30W");
  EXPECT_EQ(agx.mode_device(m30, "cpu").online_units, 8);
  EXPECT_EQ(agx.mode_device(m30, "gpu").online_units, 4);
  const Platform h100 = read_platform(resolve_platform_path("h100-server"));
  EXPECT_NEAR(h100.device("gpu").peak_flops(0, 1), 67e12, 0.5e12);
  EXPECT_NE(h100.link_between("host_dram", "hbm"), nullptr);
}

TEST(Platform, ResolvesNamesAndPaths) {
  const fs::path shipped = resolve_platform_path("agx-orin-64gb-maxn");
  EXPECT_EQ(shipped.filename(), "agx-orin-64gb-maxn.yaml");
  EXPECT_TRUE(fs::is_regular_file(shipped));
  EXPECT_EQ(resolve_platform_path("agx-orin-64gb-maxn.yaml"), shipped);
  EXPECT_EQ(resolve_platform_path(shipped.string()), shipped);
  try {
    resolve_platform_path("agx-orin-1tb");
    ADD_FAILURE() << "no error";
  } catch (const sparoa::Error& e) {
    EXPECT_EQ(e.where(), "agx-orin-1tb");
    EXPECT_NE(std::string(e.what()).find("agx-orin-64gb-maxn"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("h100-server"), std::string::npos) << e.what();
  }
}

TEST(Platform, ReadingMissingFilesFails) {
  EXPECT_THROW(read_platform("/nonexistent/platform.yaml"), sparoa::Error);
  EXPECT_THROW(read_platform(fs::temp_directory_path()), sparoa::Error);
}

TEST(PlatformErrors, UnknownKey) {
  expect_error("name: tiny\n", "name: tiny\ncolour: blue\n", "colour", {"unknown key 'colour'", "(line 3)"});
  expect_error("{id: cpu0, cores: [0]}", "{id: cpu0, cores: [0], threads: 2}", "devices[0].lanes[0].threads",
               {"unknown key 'threads'"});
  expect_error("document: \"unit test\"", "document: \"unit test\", author: me", "provenance.author",
               {"unknown key 'author'"});
}

TEST(PlatformErrors, MissingUnit) {
  expect_error("bandwidth_GBps: 10,", "bandwidth: 10,", "memory_domains[0].bandwidth",
               {"key 'bandwidth' has no unit: write bandwidth_GBps"});
  expect_error("{freq_MHz: 500,", "{freq: 500,", "devices[0].pstates[1].freq",
               {"key 'freq' has no unit: write freq_MHz"});
  expect_error("idle_W: 2,", "idle: 2,", "devices[1].pstates[0].idle", {"key 'idle' has no unit: write idle_W"});
  expect_error("static_W: 1\n", "static_power: 1\n", "power_modes[0].static_power",
               {"key 'static_power' has no unit: write static_W"});
  expect_error("latency_us: 10,", "latency: 10,", "links[0].latency", {"key 'latency' has no unit: write latency_us"});
  expect_error("transfer_latency_us: 5,", "latency: 5,", "memory_domains[0].latency",
               {"write transfer_latency_us"});
  expect_error("off_W: 0.4", "off: 0.4", "devices[1].off", {"write off_W"});
  expect_error("compute_efficiency: 1, memory_efficiency: 1, overhead_us: 10}",
               "compute_efficiency: 1, memory_efficiency: 1, overhead: 10}", "cost_model.entries[2].overhead",
               {"write overhead_us"});
  // Another unit than the schema's.
  expect_error("{freq_MHz: 500,", "{freq_GHz: 0.5,", "devices[0].pstates[1].freq_GHz", {"write freq_MHz"});
  expect_error("bandwidth_GBps: 10,", "bandwidth_MBps: 10000,", "memory_domains[0].bandwidth_MBps",
               {"write bandwidth_GBps"});
}

TEST(PlatformErrors, ZeroOrNegativeBandwidth) {
  expect_error("bandwidth_GBps: 10,", "bandwidth_GBps: 0,", "memory_domains[0].bandwidth_GBps",
               {"must be positive, not 0 GB/s", "(line 6)"});
  expect_error("bandwidth_GBps: 10,", "bandwidth_GBps: -10,", "memory_domains[0].bandwidth_GBps",
               {"must be positive, not -10 GB/s"});
  expect_error("bandwidth_GBps: 5, latency_us", "bandwidth_GBps: -5, latency_us", "links[0].bandwidth_GBps",
               {"must be positive"});
  expect_error("{id: dram, bandwidth_GBps: 5}", "{id: dram, bandwidth_GBps: 0}",
               "power_modes[1].memory_domains[0].bandwidth_GBps", {"must be positive"});
}

TEST(PlatformErrors, WattsThatDoNotMatchFrequencies) {
  expect_error("{freq_MHz: 500, idle_W: 0.5, epsilon_W: 1, full_W: 2}",
               "{freq_MHz: 500, idle_W: 0.5, epsilon_W: 1, full_W: 6}", "devices[0].pstates[1].full_W",
               {"6 W at 500 MHz is not below 5 W at 1000 MHz", "watts must fall with its frequency", "(line 17)"});
  expect_error("{freq_MHz: 500, idle_W: 0.5, epsilon_W: 1, full_W: 2}",
               "{freq_MHz: 500, idle_W: 0.5, epsilon_W: 1, full_W: 5}", "devices[0].pstates[1].full_W",
               {"is not below"});
  expect_error("{freq_MHz: 500,", "{freq_MHz: 1500,", "devices[0].pstates[1].freq_MHz",
               {"1500 MHz is not below 1000 MHz", "fastest to the slowest"});
  expect_error("idle_W: 0.5, epsilon_W: 1,", "idle_W: 1.5, epsilon_W: 1,", "devices[0].pstates[1].epsilon_W",
               {"below idle_W"});
  expect_error("epsilon_W: 4, full_W: 20", "epsilon_W: 40, full_W: 20", "devices[1].pstates[0].full_W",
               {"below epsilon_W"});
  expect_error("idle_W: 2,", "idle_W: -2,", "devices[1].pstates[0].idle_W", {"must not be negative"});
}

TEST(PlatformErrors, Lanes) {
  expect_error("launch_lane: cpu1", "launch_lane: cpu7", "devices[2].lanes[0].launch_lane",
               {"unknown lane 'cpu7'", "CPU lanes: cpu0, cpu1"});
  expect_error("launch_lane: cpu1", "launch_lane: gpu0", "devices[2].lanes[0].launch_lane",
               {"must name a CPU lane"});
  expect_error("{id: cpu1, cores: [1]}", "{id: cpu1, cores: [0]}", "devices[0].lanes[1].cores[0]",
               {"core 0 is in two lanes: 'cpu0' and 'cpu1'"});
  expect_error("{id: cpu1, cores: [1]}", "{id: cpu1, cores: [2]}", "devices[0].lanes[1].cores[0]",
               {"core 2 does not exist", "cores 0..1"});
  expect_error("{id: cpu1, cores: [1]}", "{id: cpu1, cores: []}", "devices[0].lanes[1].cores", {"at least one core"});
  expect_error("{id: cpu1, cores: [1]}", "{id: cpu1, cores: [1], stream: 1}", "devices[0].lanes[1].stream",
               {"a CPU lane has cores, not a stream"});
  expect_error("{id: gpu0, stream: 0, launch_lane: cpu0}", "{id: gpu0, cores: [0], stream: 0, launch_lane: cpu0}",
               "devices[1].lanes[0].cores", {"a GPU lane has a stream, not cores"});
  expect_error("{id: gpu0, stream: 0, launch_lane: cpu0}", "{id: gpu0, launch_lane: cpu0}",
               "devices[1].lanes[0].stream", {"needs a stream"});
  expect_error("{id: gpu0, stream: 0, launch_lane: cpu0}", "{id: gpu0, stream: 0}",
               "devices[1].lanes[0].launch_lane", {"needs the CPU lane"});
  expect_error("{id: gpu0, stream: 0, launch_lane: cpu0}",
               "{id: gpu0, stream: 0, launch_lane: cpu0}\n      - {id: gpu1, stream: 0, launch_lane: cpu0}",
               "devices[1].lanes[1].stream", {"stream 0 is used by two lanes"});
  expect_error("{id: dgpu0,", "{id: gpu0,", "devices[2].lanes[0].id", {"duplicate lane id 'gpu0'"});
  expect_error("      - {id: gpu0, stream: 0, launch_lane: cpu0}\n", "      []\n", "devices[1].lanes",
               {"at least one lane"});
}

TEST(PlatformErrors, PowerModes) {
  expect_error("{id: cpu, online_units: 1, freq_MHz: 500}", "{id: cpu, online_units: 1, freq_MHz: 700}",
               "power_modes[1].devices[0].freq_MHz", {"700 MHz is not a pstate of device 'cpu'", "1000, 500"});
  expect_error("{id: cpu, online_units: 2, freq_MHz: 1000}", "{id: cpu, online_units: 3, freq_MHz: 1000}",
               "power_modes[0].devices[0].online_units", {"3 units online", "has 2"});
  expect_error("{id: cpu, online_units: 2, freq_MHz: 1000}", "{id: cpu, online_units: 0, freq_MHz: 1000}",
               "power_modes[0].devices[0].online_units", {"0 units online"});
  expect_error("      - {id: dgpu, online_units: 1, freq_MHz: 1000}\n  - name: slow",
               "  - name: slow", "power_modes[0].devices", {"does not list device 'dgpu'"});
  expect_error("{id: cpu, online_units: 2, freq_MHz: 1000}", "{id: npu, online_units: 2, freq_MHz: 1000}",
               "power_modes[0].devices[0].id", {"unknown device 'npu'"});
  expect_error("{id: cpu, online_units: 2, freq_MHz: 1000}",
               "{id: cpu, online_units: 2, freq_MHz: 1000}\n      - {id: cpu, online_units: 2, freq_MHz: 1000}",
               "power_modes[0].devices[1].id", {"listed twice"});
  expect_error("name: slow", "name: fast", "power_modes[1].name", {"duplicate power mode 'fast'"});
  expect_error("power_mode: fast", "power_mode: turbo", "power_mode", {"unknown power mode 'turbo'", "fast, slow"});
  expect_error("{id: dram, bandwidth_GBps: 5}", "{id: l3, bandwidth_GBps: 5}",
               "power_modes[1].memory_domains[0].id", {"unknown memory domain 'l3'"});
  expect_error("static_W: 1\n", "static_W: -1\n", "power_modes[0].static_W", {"must not be negative"});
}

TEST(PlatformErrors, DomainsDevicesAndLinks) {
  expect_error("memory_domain: hbm", "memory_domain: hbm2", "devices[2].memory_domain",
               {"unknown memory domain 'hbm2'", "dram, hbm"});
  expect_error("{id: hbm,", "{id: dram,", "memory_domains[1].id", {"duplicate memory domain id 'dram'"});
  expect_error("  - id: dgpu\n", "  - id: gpu\n", "devices[2].id", {"duplicate device id 'gpu'"});
  expect_error("    units: 4\n", "    units: 0\n", "devices[1].units", {"at least 1"});
  expect_error("flops_per_cycle_per_unit: 10\n", "flops_per_cycle_per_unit: 0\n", "devices[1].flops_per_cycle_per_unit",
               {"must be positive"});
  expect_error("kind: gpu\n    memory_domain: dram", "kind: npu\n    memory_domain: dram", "devices[1].kind",
               {"kind must be cpu or gpu"});
  expect_error("from: dram, to: hbm", "from: dram, to: dram", "links[0].to", {"two different memory domains"});
  expect_error("from: dram, to: hbm", "from: dram, to: l2", "links[0].to", {"unknown memory domain 'l2'"});
  expect_error("  - {id: pcie, from: dram, to: hbm, bandwidth_GBps: 5, latency_us: 10, source: estimated}\n",
               "  - {id: pcie, from: dram, to: hbm, bandwidth_GBps: 5, latency_us: 10, source: estimated}\n"
               "  - {id: nvlink, from: hbm, to: dram, bandwidth_GBps: 50, latency_us: 1, source: estimated}\n",
               "links[1]", {"a second link"});
  expect_error("links:\n  - {id: pcie, from: dram, to: hbm, bandwidth_GBps: 5, latency_us: 10, source: estimated}\n",
               "links: []\n", "links", {"cannot exchange tensors", "declare a link"});
  expect_error("transfer: copy", "transfer: dma", "memory_domains[0].transfer", {"copy or zero_copy"});
}

TEST(PlatformErrors, NumbersTypesAndStructure) {
  expect_error("flops_per_cycle_per_unit: 10\n", "flops_per_cycle_per_unit: ten\n", "devices[1].flops_per_cycle_per_unit",
               {"must be a number, not 'ten'"});
  expect_error("bandwidth_GBps: 10,", "bandwidth_GBps: \"10\",", "memory_domains[0].bandwidth_GBps",
               {"must be a number", "the quoted string '10'"});
  expect_error("bandwidth_GBps: 10,", "bandwidth_GBps: 10 GB/s,", "memory_domains[0].bandwidth_GBps",
               {"the unit is in the key's name", "'10 GB/s'"});
  expect_error("full_W: 100}", "full_W: inf}", "devices[2].pstates[0].full_W", {"finite"});
  expect_error("full_W: 100}", "full_W: .nan}", "devices[2].pstates[0].full_W", {"must be a number"});
  expect_error("    units: 4\n", "    units: 4.5\n", "devices[1].units", {"integer"});
  expect_error("    units: 4\n", "    units: four\n", "devices[1].units", {"integer", "'four'"});
  expect_error("schema_version: 1", "schema_version: 2", "schema_version", {"unsupported schema_version 2"});
  expect_error("    unit_name: SM\n", "", "devices[1]", {"missing required key 'unit_name'"});
  expect_error("name: tiny\n", "", "", {"missing required key 'name'"});
  expect_error("source: datasheet, note", "source: guessed, note", "memory_domains[1].source",
               {"datasheet, measured, estimated or fitted"});
  expect_error("date: 2026-01-01", "date: yesterday", "provenance.date", {"YYYY-MM-DD"});
  expect_error("name: tiny\n", "name: [tiny]\n", "name", {"must be a string, not a list"});
  expect_error("name: tiny\n", "name: ti ny\n", "name", {"not a valid platform name"});
  expect_error("cores: [1]}", "cores: 1}", "devices[0].lanes[1].cores", {"must be a list of core indices"});
  expect_error("provenance: {source: estimated, date: 2026-01-01, document: \"unit test\"}", "provenance: [1]",
               "provenance", {"must be a mapping"});
  expect_error("name: tiny\n", "name: tiny\nname: again\n", "name", {"duplicate key 'name'"});
  expect_error("name: tiny\n", "name: {tiny\n", "", {"malformed YAML", "line"});
  EXPECT_THROW(parse_platform("", "empty.yaml"), sparoa::Error);
  EXPECT_THROW(parse_platform("- 1\n- 2\n", "list.yaml"), sparoa::Error);
  EXPECT_THROW(parse_platform(tiny_platform_yaml() + "---\nname: x\n", "two.yaml"), sparoa::Error);
}

TEST(PlatformErrors, CostModel) {
  const std::string gpu_sparse =
      "    - {class: default, device_kind: gpu, kernel: sparse, compute_efficiency: 0.1, memory_efficiency: 0.5, "
      "overhead_us: 20, index_bytes_per_nonzero: 4}\n";
  expect_error(gpu_sparse, "", "cost_model.entries",
               {"no entry for class default, device_kind gpu, kernel sparse"});
  expect_error("{class: conv,", "{class: convolution,", "cost_model.entries[4].class",
               {"unknown operator class 'convolution'", "depthwise_conv"});
  expect_error("{class: conv,", "{class: default,", "cost_model.entries[4]", {"a second entry"});
  expect_error("compute_efficiency: 0.1,", "compute_efficiency: 1.5,", "cost_model.entries[3].compute_efficiency",
               {"(0, 1]"});
  expect_error("compute_efficiency: 0.1,", "compute_efficiency: 0,", "cost_model.entries[3].compute_efficiency",
               {"(0, 1]"});
  expect_error("compute_efficiency_max: 0.8", "compute_efficiency_max: 0.4", "cost_model.entries[4].compute_efficiency_max",
               {"[0.5, 1]"});
  expect_error("memory_efficiency: 0.5, overhead_us: 20", "memory_efficiency: 1.5, overhead_us: 20",
               "cost_model.entries[3].memory_efficiency", {"(0, 1]"});
  expect_error("memory_efficiency: 0.5, overhead_us: 20", "memory_efficiency: 0.5, cache_efficiency: 65, overhead_us: 20",
               "cost_model.entries[3].cache_efficiency", {"(0, 64]"});
  expect_error("memory_efficiency: 0.5, overhead_us: 20", "memory_efficiency: 0.5, cache_MB: -1, overhead_us: 20",
               "cost_model.entries[3].cache_MB", {});
  expect_error("overhead_us: 20,", "overhead_us: -20,", "cost_model.entries[3].overhead_us", {"must not be negative"});
  expect_error("overhead_us: 20, index_bytes_per_nonzero: 4", "overhead_us: 20",
               "cost_model.entries[3].index_bytes_per_nonzero", {"sparse entry needs"});
  expect_error("batch_exponent: 0.5", "batch_exponent: -0.5", "cost_model.entries[4].batch_exponent",
               {"must not be negative"});
  expect_error("device_kind: gpu, kernel: sparse", "device_kind: npu, kernel: sparse", "cost_model.entries[3].device_kind",
               {"cpu or gpu"});
  expect_error("device_kind: gpu, kernel: sparse", "device_kind: gpu, kernel: sparse2", "cost_model.entries[3].kernel",
               {"dense or sparse"});
}

TEST(PlatformErrors, ValidateNamesTheFileOrThePlatform) {
  Platform p = tiny_platform();
  p.memory_domains[0].bandwidth_GBps = -1;
  try {
    validate_platform(p);
    ADD_FAILURE() << "no error";
  } catch (const sparoa::Error& e) {
    EXPECT_EQ(e.where(), "tiny.yaml: memory_domains[0].bandwidth_GBps");
  }
  p.origin.clear();
  p.memory_domains[0].bandwidth_GBps = std::numeric_limits<double>::quiet_NaN();
  try {
    validate_platform(p);
    ADD_FAILURE() << "no error";
  } catch (const sparoa::Error& e) {
    EXPECT_EQ(e.where(), "platform 'tiny': memory_domains[0].bandwidth_GBps");
  }
  p = tiny_platform();
  p.power_modes[0].devices[0].pstate = 7;
  EXPECT_THROW(validate_platform(p), sparoa::Error);
}

}  // namespace

namespace {

using namespace sparoa::platforms;
using sparoa::test::tiny_platform;
using sparoa::test::tiny_platform_yaml;

TEST(Platform, ContentionDefaultsToOneAndReadsInFlowAndBlockStyle) {
  EXPECT_EQ(tiny_platform().memory_domains[0].contention, 1);
  std::string text = tiny_platform_yaml();
  const std::string flow = "  - {id: dram, bandwidth_GBps: 10, transfer: copy, transfer_latency_us: 5, source: estimated}\n";
  ASSERT_NE(text.find(flow), std::string::npos);
  text.replace(text.find(flow), flow.size(),
               "  - id: dram\n    bandwidth_GBps: 10\n    transfer: copy\n    transfer_latency_us: 5\n"
               "    contention: 0.35\n    source: estimated\n");
  const std::string hbm = "{id: hbm, bandwidth_GBps: 100,";
  ASSERT_NE(text.find(hbm), std::string::npos);
  text.replace(text.find(hbm), hbm.size(), "{id: hbm, bandwidth_GBps: 100, contention: 0,");
  const Platform p = parse_platform(text, "styles.yaml");
  EXPECT_EQ(p.memory_domain("dram").contention, 0.35);
  EXPECT_EQ(p.memory_domain("hbm").contention, 0);
}

TEST(Platform, ContentionRoundTrips) {
  Platform p = tiny_platform();
  // The default is not written: files without the key keep their round trip.
  EXPECT_EQ(platform_to_yaml(p).find("contention"), std::string::npos);
  p.memory_domains[0].contention = 0.3;
  const std::string yaml = platform_to_yaml(p);
  EXPECT_NE(yaml.find("contention: 0.3"), std::string::npos) << yaml;
  const Platform back = parse_platform(yaml, "back.yaml");
  EXPECT_EQ(back.memory_domains[0].contention, 0.3);
  EXPECT_EQ(back.memory_domains[1].contention, 1);
  EXPECT_EQ(without_identity(back), without_identity(p)) << yaml;
  EXPECT_EQ(platform_to_yaml(back), yaml);
}

TEST(PlatformErrors, ContentionOutsideZeroToOneOrNotANumber) {
  // One error each, naming the file and memory_domains[0].contention (and its line).
  const std::string from = "transfer_latency_us: 5,";
  const std::string key = "memory_domains[0].contention";
  for (const auto& [value, message] : std::vector<std::pair<std::string, std::string>>{
           {"-0.1", "must be between 0 and 1 (a slowdown of 1 + contention), not -0.1"},
           {"1.5", "must be between 0 and 1 (a slowdown of 1 + contention), not 1.5"},
           {"abc", "must be a number, not 'abc'"},
           {"\"0.5\"", "must be a number"},
           {".nan", "must be a number"}}) {
    SCOPED_TRACE(value);
    std::string text = tiny_platform_yaml();
    text.replace(text.find(from), from.size(), from + " contention: " + value + ",");
    try {
      parse_platform(text, "x.yaml");
      ADD_FAILURE() << "no error";
    } catch (const sparoa::Error& e) {
      EXPECT_EQ(e.where(), "x.yaml: " + key) << e.what();
      EXPECT_NE(std::string(e.what()).find(message), std::string::npos) << e.what();
      EXPECT_NE(std::string(e.what()).find("(line 6)"), std::string::npos) << e.what();
    }
  }
  // The validator says the same of a platform built in code.
  Platform p = tiny_platform();
  p.memory_domains[1].contention = 2;
  try {
    validate_platform(p);
    ADD_FAILURE() << "no error";
  } catch (const sparoa::Error& e) {
    EXPECT_EQ(e.where(), "tiny.yaml: memory_domains[1].contention") << e.what();
  }
  p.memory_domains[1].contention = 0;
  EXPECT_NO_THROW(validate_platform(p));
  p.memory_domains[1].contention = 1;
  EXPECT_NO_THROW(validate_platform(p));
}

}  // namespace

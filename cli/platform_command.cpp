#include <fmt/format.h>

#include <iostream>

#include "cli/commands.hpp"
#include "cli/table.hpp"
#include "platforms/platform.hpp"
#include "support/atomic_file.hpp"
#include "support/error.hpp"

namespace sparoa::cli {
namespace {

using platforms::Platform;

std::string num(double v) { return fmt::format("{}", v); }

std::string join(const std::vector<std::string>& items, const char* sep = ", ") {
  std::string out;
  for (const auto& i : items) out += (out.empty() ? "" : sep) + i;
  return out;
}

// "0-7", "0,2,4", "0-3,8": lanes list their cores compactly.
std::string core_ranges(const std::vector<int>& cores) {
  std::vector<std::string> parts;
  for (std::size_t i = 0; i < cores.size();) {
    std::size_t j = i;
    while (j + 1 < cores.size() && cores[j + 1] == cores[j] + 1) ++j;
    parts.push_back(j == i ? std::to_string(cores[i]) : fmt::format("{}-{}", cores[i], cores[j]));
    i = j + 1;
  }
  return join(parts, ",");
}

void section(const std::string& title) { std::cout << '\n' << title << '\n'; }

void show(const Platform& p, bool notes) {
  std::vector<std::string> modes;
  for (const auto& m : p.power_modes) modes.push_back(m.name);
  std::cout << fmt::format("platform {} (schema {})\n", p.name, p.schema_version);
  std::cout << fmt::format("file: {}\nsha256: {}\n", p.origin, p.sha256);
  std::cout << fmt::format("power mode: {} (modes: {})\n", p.power_mode, join(modes));
  std::cout << fmt::format("provenance: {}, {}: {}\n", platforms::to_string(p.provenance.source), p.provenance.date,
                           p.provenance.document);
  if (!p.provenance.notes.empty()) std::cout << "  " << p.provenance.notes << '\n';

  section("memory domains");
  Table domains({"domain", "GB/s", "transfer", "transfer us", "source"}, {false, true, false, true, false});
  for (const auto& m : p.memory_domains) {
    domains.add_row({m.id, num(m.bandwidth_GBps), std::string(platforms::to_string(m.transfer)),
                     num(m.transfer_latency_us), std::string(platforms::to_string(m.source))});
  }
  domains.print(std::cout);

  section("devices (peak and watts with every unit on)");
  Table devices({"device", "kind", "domain", "units", "FLOP/cycle/unit", "pstate", "MHz", "peak GFLOP/s", "idle W",
                 "epsilon W", "full W", "off W", "rail", "source"},
                {false, false, false, true, true, true, true, true, true, true, true, true, false, false});
  for (const auto& d : p.devices) {
    for (std::size_t k = 0; k < d.pstates.size(); ++k) {
      const auto& s = d.pstates[k];
      const bool first = k == 0;
      devices.add_row({first ? d.id : "", first ? std::string(platforms::to_string(d.kind)) : "",
                       first ? d.memory_domain : "", first ? fmt::format("{} {}", d.units, d.unit_name) : "",
                       first ? num(d.flops_per_cycle_per_unit) : "", std::to_string(k), num(s.freq_MHz),
                       fixed(d.peak_flops(k, d.units) / 1e9, 1), num(s.idle_W), num(s.epsilon_W), num(s.full_W),
                       first ? num(d.off_W) : "", first ? (d.rail.empty() ? "-" : d.rail) : "",
                       first ? std::string(platforms::to_string(d.source)) : ""});
    }
  }
  devices.print(std::cout);

  section("lanes");
  Table lanes({"lane", "device", "cores", "stream", "launch lane"});
  for (const auto& d : p.devices) {
    for (const auto& l : d.lanes) {
      lanes.add_row({l.id, d.id, l.cores.empty() ? "-" : core_ranges(l.cores),
                     l.stream >= 0 ? std::to_string(l.stream) : "-", l.launch_lane.empty() ? "-" : l.launch_lane});
    }
  }
  lanes.print(std::cout);

  section("links");
  if (p.links.empty()) {
    std::cout << "(none: every device shares one memory domain)\n";
  } else {
    Table links({"link", "from", "to", "GB/s", "latency us", "source"}, {false, false, false, true, true, false});
    for (const auto& l : p.links) {
      links.add_row({l.id, l.from, l.to, num(l.bandwidth_GBps), num(l.latency_us),
                     std::string(platforms::to_string(l.source))});
    }
    links.print(std::cout);
  }

  section("power modes");
  Table power({"mode", "device", "online units", "MHz", "peak GFLOP/s", "memory", "static W", "source"},
              {false, false, true, true, true, false, true, false});
  for (const auto& m : p.power_modes) {
    std::vector<std::string> bandwidths;
    for (const auto& dom : p.memory_domains) {
      bandwidths.push_back(fmt::format("{} {} GB/s", dom.id, num(p.bandwidth_GBps(dom.id, m))));
    }
    for (std::size_t i = 0; i < m.devices.size(); ++i) {
      const auto& md = m.devices[i];
      const auto& d = p.device(md.id);
      const bool first = i == 0;
      power.add_row({first ? m.name + (m.name == p.power_mode ? " *" : "") : "", d.id,
                     fmt::format("{} of {}", md.online_units, d.units), num(d.pstates.at(md.pstate).freq_MHz),
                     fixed(d.peak_flops(md.pstate, md.online_units) / 1e9, 1), first ? join(bandwidths) : "",
                     first ? num(m.static_W) : "", first ? std::string(platforms::to_string(m.source)) : ""});
    }
  }
  power.print(std::cout);
  std::cout << "(* the initial power mode)\n";

  section(fmt::format("cost model ({})", p.cost_model.source));
  Table cost({"class", "device", "kernel", "efficiency", "max", "batch exp", "memory eff", "overhead us",
              "index B/nnz", "source"},
             {false, false, false, true, true, true, true, true, true, false});
  for (const auto& e : p.cost_model.entries) {
    cost.add_row({e.op_class, e.device_kind, e.kernel, num(e.compute_efficiency), num(e.compute_efficiency_max),
                  num(e.batch_exponent), num(e.memory_efficiency), num(e.overhead_us),
                  e.kernel == "sparse" ? num(e.index_bytes_per_nonzero) : "-", e.source});
  }
  cost.print(std::cout);

  if (notes) {
    section("notes");
    for (const auto& m : p.memory_domains) {
      if (!m.note.empty()) std::cout << "memory domain " << m.id << ": " << m.note << '\n';
    }
    for (const auto& d : p.devices) {
      if (!d.note.empty()) std::cout << "device " << d.id << ": " << d.note << '\n';
    }
    for (const auto& l : p.links) {
      if (!l.note.empty()) std::cout << "link " << l.id << ": " << l.note << '\n';
    }
    for (const auto& m : p.power_modes) {
      if (!m.note.empty()) std::cout << "power mode " << m.name << ": " << m.note << '\n';
    }
    for (const auto& e : p.cost_model.entries) {
      if (!e.note.empty()) std::cout << fmt::format("cost {} {} {}: {}\n", e.op_class, e.device_kind, e.kernel, e.note);
    }
  }
}

void list() {
  Table table({"platform", "name", "power mode", "devices", "source"});
  for (const auto& f : platforms::shipped_platform_files()) {
    const Platform p = platforms::read_platform(f);
    std::vector<std::string> devices;
    for (const auto& d : p.devices) devices.push_back(fmt::format("{} {}x {}", d.id, d.units, d.unit_name));
    table.add_row({f.stem().string(), p.name, p.power_mode, join(devices), std::string(platforms::to_string(p.provenance.source))});
  }
  table.print(std::cout);
}

}  // namespace

void add_platform_command(CLI::App& app) {
  auto* platform = app.add_subcommand("platform", "Platform files (DESIGN.md's YAML schema): show, list, export to SimGrid XML");
  platform->require_subcommand(1);

  platform->add_subcommand("list", "List the platform files shipped with sparoa")->callback(list);

  struct ShowArgs {
    std::string platform;
    bool notes = false;
  };
  auto show_args = std::make_shared<ShowArgs>();
  auto* s = platform->add_subcommand("show", "Print a platform: devices, pstates, lanes, links, power modes, cost model");
  s->add_option("platform", show_args->platform, "platform file, or the name of a shipped one (sparoa platform list)")
      ->required();
  s->add_flag("--notes", show_args->notes, "also print where each block's numbers come from");
  s->callback([show_args] {
    show(platforms::read_platform(platforms::resolve_platform_path(show_args->platform)), show_args->notes);
  });

  struct XmlArgs {
    std::string platform, out;
  };
  auto xml_args = std::make_shared<XmlArgs>();
  auto* x = platform->add_subcommand("export-xml", "Write the platform as SimGrid platform XML (DTD 4.1), the hosts, "
                                                   "links and routes the simulator builds");
  x->add_option("platform", xml_args->platform, "platform file, or the name of a shipped one")->required();
  x->add_option("--out,-o", xml_args->out, "XML file to write (default: standard output)");
  x->callback([xml_args] {
    const Platform p = platforms::read_platform(platforms::resolve_platform_path(xml_args->platform));
    const std::string xml = platforms::platform_to_simgrid_xml(p);
    if (xml_args->out.empty()) {
      std::cout << xml;
    } else {
      write_file_atomically(xml_args->out, xml);
      std::cout << fmt::format("{}: SimGrid platform of {} in power mode {}\n", xml_args->out, p.name, p.power_mode);
    }
  });
}

}  // namespace sparoa::cli

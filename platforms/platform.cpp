#include "platforms/platform.hpp"

#include <fmt/format.h>
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <cerrno>
#include <charconv>
#include <cmath>
#include <cstring>
#include <fstream>
#include <limits>
#include <map>
#include <regex>
#include <set>
#include <sstream>
#include <tuple>

#include "platforms/op_class.hpp"
#include "support/error.hpp"
#include "support/read_file.hpp"
#include "support/yaml_load.hpp"
#include "support/text.hpp"
#include "support/yaml_text.hpp"
#include "support/sha256.hpp"

#ifndef SPAROA_PLATFORMS_DIR
#error "SPAROA_PLATFORMS_DIR must be defined by platforms/CMakeLists.txt"
#endif

namespace sparoa::platforms {

std::string_view to_string(SourceLabel s) {
  switch (s) {
    case SourceLabel::datasheet: return "datasheet";
    case SourceLabel::measured: return "measured";
    case SourceLabel::estimated: return "estimated";
    case SourceLabel::fitted: return "fitted";
  }
  return "?";
}

std::string_view to_string(DeviceKind k) { return k == DeviceKind::cpu ? "cpu" : "gpu"; }

std::string_view to_string(SharedTransfer t) { return t == SharedTransfer::copy ? "copy" : "zero_copy"; }

namespace {

constexpr std::array<SourceLabel, 4> kSourceLabels = {SourceLabel::datasheet, SourceLabel::measured,
                                                      SourceLabel::estimated, SourceLabel::fitted};

bool parse_source(std::string_view text, SourceLabel& out) {
  for (SourceLabel s : kSourceLabels) {
    if (to_string(s) == text) {
      out = s;
      return true;
    }
  }
  return false;
}

// Where messages about a platform point: its file, or its name when it was built in code.
std::string label_of(const Platform& p) {
  if (!p.origin.empty()) return p.origin;
  return "platform '" + p.name + "'";
}

std::string join_names(const std::vector<std::string>& names) {
  std::string out;
  for (const auto& n : names) out += (out.empty() ? "" : ", ") + n;
  return out.empty() ? "(none)" : out;
}

// Shortest text that reads back to the same double.

}  // namespace

// ---------------------------------------------------------------------------------------
// Platform accessors

const Device* Platform::find_device(std::string_view id) const {
  for (const auto& d : devices) {
    if (d.id == id) return &d;
  }
  return nullptr;
}

const Device& Platform::device(std::string_view id) const {
  if (const Device* d = find_device(id)) return *d;
  std::vector<std::string> ids;
  for (const auto& d : devices) ids.push_back(d.id);
  throw Error(label_of(*this), "unknown device '" + std::string(id) + "' (devices: " + join_names(ids) + ")");
}

const MemoryDomain& Platform::memory_domain(std::string_view id) const {
  for (const auto& m : memory_domains) {
    if (m.id == id) return m;
  }
  std::vector<std::string> ids;
  for (const auto& m : memory_domains) ids.push_back(m.id);
  throw Error(label_of(*this),
              "unknown memory domain '" + std::string(id) + "' (memory domains: " + join_names(ids) + ")");
}

const PowerMode& Platform::mode(std::string_view name) const {
  for (const auto& m : power_modes) {
    if (m.name == name) return m;
  }
  std::vector<std::string> names;
  for (const auto& m : power_modes) names.push_back(m.name);
  throw Error(label_of(*this), "unknown power mode '" + std::string(name) + "' (power modes: " + join_names(names) + ")");
}

const Device* Platform::device_of_lane(std::string_view lane) const {
  for (const auto& d : devices) {
    for (const auto& l : d.lanes) {
      if (l.id == lane) return &d;
    }
  }
  return nullptr;
}

const Lane* Platform::find_lane(std::string_view lane) const {
  for (const auto& d : devices) {
    for (const auto& l : d.lanes) {
      if (l.id == lane) return &l;
    }
  }
  return nullptr;
}

const Link* Platform::link_between(std::string_view a, std::string_view b) const {
  if (a == b) return nullptr;
  for (const auto& l : links) {
    if ((l.from == a && l.to == b) || (l.from == b && l.to == a)) return &l;
  }
  return nullptr;
}

const Device& Platform::host_device() const {
  for (const auto& d : devices) {
    if (d.kind == DeviceKind::cpu) return d;
  }
  throw Error(label_of(*this), "the platform has no cpu device to deliver graph inputs and outputs");
}

double Platform::bandwidth_GBps(std::string_view domain, const PowerMode& mode) const {
  for (const auto& m : mode.memory_domains) {
    if (m.id == domain) return m.bandwidth_GBps;
  }
  return memory_domain(domain).bandwidth_GBps;
}

const PowerModeDevice& Platform::mode_device(const PowerMode& mode, std::string_view device) const {
  for (const auto& d : mode.devices) {
    if (d.id == device) return d;
  }
  throw Error(label_of(*this),
              "power mode '" + mode.name + "' has no entry for device '" + std::string(device) + "'");
}

// ---------------------------------------------------------------------------------------
// Reading

namespace {

using LineMap = std::map<std::string, int>;  // key path -> 1-based line in the file

std::string line_suffix(int line) { return line > 0 ? " (line " + std::to_string(line) + ")" : ""; }

int line_of(const YAML::Mark& mark) { return (mark.is_null() || mark.line < 0) ? 0 : mark.line + 1; }


// Units the schema writes into key names, with what they mean (messages).
struct UnitSuffix {
  std::string_view suffix;
  std::string_view meaning;
};
constexpr std::array<UnitSuffix, 4> kUnits = {{{"_GBps", "GB/s, 1e9 bytes per second"},
                                               {"_MHz", "MHz"},
                                               {"_W", "watts"},
                                               {"_us", "microseconds"}}};

// Names people write for a quantity without its unit, beyond the bare stem of a unit key.
const std::map<std::string, std::string, std::less<>>& unit_aliases() {
  static const std::map<std::string, std::string, std::less<>> kAliases = {
      {"static_power", "static_W"}, {"frequency", "freq_MHz"},   {"latency", "transfer_latency_us"},
      {"off_power", "off_W"},       {"idle_power", "idle_W"},    {"full_power", "full_W"},
      {"epsilon_power", "epsilon_W"}, {"power", "full_W"},       {"overhead", "overhead_us"},
      {"clock", "freq_MHz"},        {"clock_MHz", "freq_MHz"},   {"frequency_MHz", "freq_MHz"},
  };
  return kAliases;
}

std::string_view unit_of(std::string_view key, std::string_view* meaning = nullptr) {
  for (const auto& u : kUnits) {
    if (key.size() > u.suffix.size() && key.substr(key.size() - u.suffix.size()) == u.suffix) {
      if (meaning != nullptr) *meaning = u.meaning;
      return u.suffix;
    }
  }
  return {};
}

// Parses one platform document. Structure, types and units are checked here; every rule
// between values is validate_platform's, which gets the line of each key path from `lines`.
class Reader {
 public:
  Reader(std::string origin, LineMap& lines) : origin_(std::move(origin)), lines_(lines) {}

  Platform read(const YAML::Node& root) {
    if (!root.IsMap()) fail("", root, "a platform must be a mapping of keys, not " + yaml_describe(root));
    check_keys(root, "",
               {"schema_version", "name", "power_mode", "provenance", "memory_domains", "devices", "links",
                "power_modes", "cost_model"});
    Platform p;
    const YAML::Node version = require(root, "", "schema_version");
    const std::int64_t schema_version = read_int(version, "schema_version", 0);
    if (schema_version != kPlatformSchemaVersion) {
      fail("schema_version", version,
           "unsupported schema_version " + std::to_string(schema_version) + " (this build reads " +
               std::to_string(kPlatformSchemaVersion) + ")");
    }
    p.schema_version = kPlatformSchemaVersion;
    p.name = read_string(require(root, "", "name"), "name", false);
    p.power_mode = read_string(require(root, "", "power_mode"), "power_mode", false);

    const YAML::Node prov = require_map(root, "", "provenance");
    check_keys(prov, "provenance", {"source", "date", "document", "notes"});
    p.provenance.source = read_source(require(prov, "provenance", "source"), "provenance.source");
    p.provenance.date = read_string(require(prov, "provenance", "date"), "provenance.date", false);
    p.provenance.document = read_string(require(prov, "provenance", "document"), "provenance.document", false);
    p.provenance.notes = optional_string(prov, "provenance", "notes");

    for_each(require_list(root, "", "memory_domains"), "memory_domains",
             [&](const YAML::Node& n, const std::string& path) { p.memory_domains.push_back(read_domain(n, path)); });
    for_each(require_list(root, "", "devices"), "devices",
             [&](const YAML::Node& n, const std::string& path) { p.devices.push_back(read_device(n, path)); });
    if (const YAML::Node links = root["links"]) {
      if (!links.IsSequence()) fail("links", links, "must be a list, not " + yaml_describe(links));
      note("links", links);
      for_each(links, "links", [&](const YAML::Node& n, const std::string& path) { p.links.push_back(read_link(n, path)); });
    }
    for_each(require_list(root, "", "power_modes"), "power_modes", [&](const YAML::Node& n, const std::string& path) {
      p.power_modes.push_back(read_mode(n, path, p));
    });

    const YAML::Node cost = require_map(root, "", "cost_model");
    check_keys(cost, "cost_model", {"source", "entries"});
    const YAML::Node cost_source = require(cost, "cost_model", "source");
    read_source(cost_source, "cost_model.source");
    p.cost_model.source = cost_source.Scalar();
    for_each(require_list(cost, "cost_model", "entries"), "cost_model.entries",
             [&](const YAML::Node& n, const std::string& path) {
               p.cost_model.entries.push_back(read_entry(n, path, p.cost_model.source));
             });
    return p;
  }

 private:
  [[noreturn]] void fail(const std::string& path, const YAML::Node& at, const std::string& what) const {
    throw Error(path.empty() ? origin_ : origin_ + ": " + path, what + line_suffix(line_of(at.Mark())));
  }

  void note(const std::string& path, const YAML::Node& node) const {
    if (const int line = line_of(node.Mark()); line > 0) lines_[path] = line;
  }

  static std::string join(const std::string& path, const std::string& key) {
    return path.empty() ? key : path + "." + key;
  }

  // Rejects unknown and non-scalar keys, and says so specially when a known quantity is
  // written without its unit or with another one: a platform number whose unit is guessed is
  // worse than none. (A key given twice never gets here: load_yaml refuses it.)
  void check_keys(const YAML::Node& map, const std::string& path,
                  std::initializer_list<std::string_view> allowed) const {
    note(path, map);
    for (auto it = map.begin(); it != map.end(); ++it) {
      const YAML::Node key = it->first;
      if (!key.IsScalar()) fail(path, key, "keys must be plain names, not " + yaml_describe(key));
      const std::string& name = key.Scalar();
      const bool known = std::find(allowed.begin(), allowed.end(), name) != allowed.end();
      if (!known) unknown_key(key, name, path, allowed);
    }
  }

  [[noreturn]] void unknown_key(const YAML::Node& key, const std::string& name, const std::string& path,
                                std::initializer_list<std::string_view> allowed) const {
    const std::string where = join(path, name);
    const auto& aliases = unit_aliases();
    if (auto alias = aliases.find(name); alias != aliases.end()) {
      if (std::find(allowed.begin(), allowed.end(), alias->second) != allowed.end()) {
        std::string_view meaning;
        unit_of(alias->second, &meaning);
        fail(where, key,
             "key '" + name + "' has no unit: write " + alias->second + " (in " + std::string(meaning) + ")");
      }
    }
    for (std::string_view a : allowed) {
      std::string_view meaning;
      const std::string_view unit = unit_of(a, &meaning);
      if (unit.empty()) continue;
      const std::string_view stem = a.substr(0, a.size() - unit.size());
      if (name == stem) {
        fail(where, key, "key '" + name + "' has no unit: write " + std::string(a) + " (in " + std::string(meaning) + ")");
      }
      // Same quantity, another unit (freq_GHz, bandwidth_MBps, latency_ms): we take one unit per key.
      if (name.size() > stem.size() + 1 && name.compare(0, stem.size(), stem) == 0 && name[stem.size()] == '_') {
        fail(where, key,
             "key '" + name + "' gives " + std::string(stem) + " in '" + name.substr(stem.size() + 1) +
                 "', which this schema does not take: write " + std::string(a) + " (in " + std::string(meaning) + ")");
      }
    }
    std::string expected;
    for (auto a : allowed) expected += (expected.empty() ? "" : ", ") + std::string(a);
    fail(where, key, "unknown key '" + name + "' (expected: " + expected + ")");
  }

  YAML::Node require(const YAML::Node& map, const std::string& path, const std::string& key) const {
    const YAML::Node value = map[key];
    if (!value) fail(path, map, "missing required key '" + key + "'");
    note(join(path, key), value);
    return value;
  }

  YAML::Node require_map(const YAML::Node& map, const std::string& path, const std::string& key) const {
    const YAML::Node value = require(map, path, key);
    if (!value.IsMap()) fail(join(path, key), value, "must be a mapping, not " + yaml_describe(value));
    return value;
  }

  YAML::Node require_list(const YAML::Node& map, const std::string& path, const std::string& key) const {
    const YAML::Node value = require(map, path, key);
    if (!value.IsSequence()) fail(join(path, key), value, "must be a list, not " + yaml_describe(value));
    return value;
  }

  template <typename F>
  void for_each(const YAML::Node& list, const std::string& path, F&& f) const {
    for (std::size_t i = 0; i < list.size(); ++i) {
      const std::string item = path + "[" + std::to_string(i) + "]";
      note(item, list[i]);
      f(list[i], item);
    }
  }

  std::string read_string(const YAML::Node& node, const std::string& path, bool allow_empty) const {
    if (!node.IsScalar()) fail(path, node, "must be a string, not " + yaml_describe(node));
    if (!allow_empty && node.Scalar().empty()) fail(path, node, "must not be empty");
    return node.Scalar();
  }

  std::string optional_string(const YAML::Node& map, const std::string& path, const std::string& key) const {
    const YAML::Node value = map[key];
    if (!value) return "";
    note(join(path, key), value);
    return read_string(value, join(path, key), true);
  }

  std::int64_t read_int(const YAML::Node& node, const std::string& path, std::int64_t minimum) const {
    const std::string what = minimum == 0 ? "a non-negative integer"
                             : minimum == 1 ? "a positive integer"
                                            : "an integer >= " + std::to_string(minimum);
    if (!node.IsScalar() || node.Tag() == "!") fail(path, node, "must be " + what + ", not " + yaml_describe(node));
    std::string_view text = node.Scalar();
    if (!text.empty() && text.front() == '+') text.remove_prefix(1);
    std::int64_t value = 0;
    auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
    if (text.empty() || ec != std::errc() || end != text.data() + text.size()) {
      fail(path, node, "must be " + what + ", not " + yaml_describe(node));
    }
    if (value < minimum) fail(path, node, "must be " + what + ", not " + std::to_string(value));
    if (value > std::numeric_limits<int>::max()) fail(path, node, "is too large: " + std::to_string(value));
    return value;
  }

  int read_small_int(const YAML::Node& node, const std::string& path, std::int64_t minimum) const {
    return static_cast<int>(read_int(node, path, minimum));
  }

  // A plain decimal number. The unit is in the key's name, so "10 GB/s" is a mistake too.
  double read_number(const YAML::Node& node, const std::string& path) const {
    std::string_view key = path;
    if (auto dot = key.rfind('.'); dot != std::string_view::npos) key.remove_prefix(dot + 1);
    std::string_view meaning;
    const std::string unit = unit_of(key, &meaning).empty() ? "" : " (in " + std::string(meaning) + ": the unit is in the key's name)";
    if (!node.IsScalar() || node.Tag() == "!") fail(path, node, "must be a number" + unit + ", not " + yaml_describe(node));
    std::string_view text = node.Scalar();
    if (!text.empty() && text.front() == '+') text.remove_prefix(1);
    double value = 0;
    auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
    if (text.empty() || ec != std::errc() || end != text.data() + text.size()) {
      fail(path, node, "must be a number" + unit + ", not " + yaml_describe(node));
    }
    if (!std::isfinite(value)) fail(path, node, "must be a finite number, not " + yaml_describe(node));
    return value;
  }

  double require_number(const YAML::Node& map, const std::string& path, const std::string& key) const {
    return read_number(require(map, path, key), join(path, key));
  }

  double optional_number(const YAML::Node& map, const std::string& path, const std::string& key, double fallback) const {
    const YAML::Node value = map[key];
    if (!value) return fallback;
    note(join(path, key), value);
    return read_number(value, join(path, key));
  }

  SourceLabel read_source(const YAML::Node& node, const std::string& path) const {
    const std::string text = read_string(node, path, false);
    SourceLabel s{};
    if (!parse_source(text, s)) {
      fail(path, node, "source must be datasheet, measured, estimated or fitted, not '" + text + "'");
    }
    return s;
  }

  MemoryDomain read_domain(const YAML::Node& n, const std::string& path) const {
    if (!n.IsMap()) fail(path, n, "a memory domain must be a mapping, not " + yaml_describe(n));
    check_keys(n, path, {"id", "bandwidth_GBps", "transfer", "transfer_latency_us", "contention", "source", "note"});
    MemoryDomain m;
    m.id = read_string(require(n, path, "id"), join(path, "id"), false);
    m.bandwidth_GBps = require_number(n, path, "bandwidth_GBps");
    if (const YAML::Node t = n["transfer"]) {
      note(join(path, "transfer"), t);
      const std::string text = read_string(t, join(path, "transfer"), false);
      if (text == "copy") {
        m.transfer = SharedTransfer::copy;
      } else if (text == "zero_copy") {
        m.transfer = SharedTransfer::zero_copy;
      } else {
        fail(join(path, "transfer"), t, "transfer must be copy or zero_copy, not '" + text + "'");
      }
    }
    m.transfer_latency_us = optional_number(n, path, "transfer_latency_us", 0);
    m.contention = optional_number(n, path, "contention", 1);
    m.source = read_source(require(n, path, "source"), join(path, "source"));
    m.note = optional_string(n, path, "note");
    return m;
  }

  Device read_device(const YAML::Node& n, const std::string& path) const {
    if (!n.IsMap()) fail(path, n, "a device must be a mapping, not " + yaml_describe(n));
    check_keys(n, path,
               {"id", "kind", "memory_domain", "units", "unit_name", "flops_per_cycle_per_unit", "pstates", "off_W",
                "rail", "source", "note", "lanes"});
    Device d;
    d.id = read_string(require(n, path, "id"), join(path, "id"), false);
    const YAML::Node kind = require(n, path, "kind");
    const std::string kind_text = read_string(kind, join(path, "kind"), false);
    if (kind_text == "cpu") {
      d.kind = DeviceKind::cpu;
    } else if (kind_text == "gpu") {
      d.kind = DeviceKind::gpu;
    } else {
      fail(join(path, "kind"), kind, "kind must be cpu or gpu, not '" + kind_text + "'");
    }
    d.memory_domain = read_string(require(n, path, "memory_domain"), join(path, "memory_domain"), false);
    d.units = read_small_int(require(n, path, "units"), join(path, "units"), 0);
    d.unit_name = read_string(require(n, path, "unit_name"), join(path, "unit_name"), false);
    d.flops_per_cycle_per_unit = require_number(n, path, "flops_per_cycle_per_unit");
    for_each(require_list(n, path, "pstates"), join(path, "pstates"), [&](const YAML::Node& s, const std::string& sp) {
      if (!s.IsMap()) fail(sp, s, "a pstate must be a mapping, not " + yaml_describe(s));
      check_keys(s, sp, {"freq_MHz", "idle_W", "epsilon_W", "full_W"});
      PState ps;
      ps.freq_MHz = require_number(s, sp, "freq_MHz");
      ps.idle_W = require_number(s, sp, "idle_W");
      ps.epsilon_W = require_number(s, sp, "epsilon_W");
      ps.full_W = require_number(s, sp, "full_W");
      d.pstates.push_back(ps);
    });
    d.off_W = optional_number(n, path, "off_W", 0);
    d.rail = optional_string(n, path, "rail");
    if (d.rail == "none") d.rail.clear();
    d.source = read_source(require(n, path, "source"), join(path, "source"));
    d.note = optional_string(n, path, "note");
    for_each(require_list(n, path, "lanes"), join(path, "lanes"), [&](const YAML::Node& l, const std::string& lp) {
      if (!l.IsMap()) fail(lp, l, "a lane must be a mapping, not " + yaml_describe(l));
      check_keys(l, lp, {"id", "cores", "stream", "launch_lane"});
      Lane lane;
      lane.id = read_string(require(l, lp, "id"), join(lp, "id"), false);
      if (const YAML::Node cores = l["cores"]) {
        note(join(lp, "cores"), cores);
        if (!cores.IsSequence()) fail(join(lp, "cores"), cores, "must be a list of core indices, not " + yaml_describe(cores));
        for (std::size_t i = 0; i < cores.size(); ++i) {
          const std::string cp = join(lp, "cores") + "[" + std::to_string(i) + "]";
          note(cp, cores[i]);
          lane.cores.push_back(read_small_int(cores[i], cp, 0));
        }
      }
      if (const YAML::Node stream = l["stream"]) {
        note(join(lp, "stream"), stream);
        lane.stream = read_small_int(stream, join(lp, "stream"), 0);
      }
      lane.launch_lane = optional_string(l, lp, "launch_lane");
      d.lanes.push_back(std::move(lane));
    });
    return d;
  }

  Link read_link(const YAML::Node& n, const std::string& path) const {
    if (!n.IsMap()) fail(path, n, "a link must be a mapping, not " + yaml_describe(n));
    check_keys(n, path, {"id", "from", "to", "bandwidth_GBps", "latency_us", "source", "note"});
    Link l;
    l.id = read_string(require(n, path, "id"), join(path, "id"), false);
    l.from = read_string(require(n, path, "from"), join(path, "from"), false);
    l.to = read_string(require(n, path, "to"), join(path, "to"), false);
    l.bandwidth_GBps = require_number(n, path, "bandwidth_GBps");
    l.latency_us = require_number(n, path, "latency_us");
    l.source = read_source(require(n, path, "source"), join(path, "source"));
    l.note = optional_string(n, path, "note");
    return l;
  }

  PowerMode read_mode(const YAML::Node& n, const std::string& path, const Platform& p) const {
    if (!n.IsMap()) fail(path, n, "a power mode must be a mapping, not " + yaml_describe(n));
    check_keys(n, path, {"name", "static_W", "source", "note", "devices", "memory_domains"});
    PowerMode m;
    m.name = read_string(require(n, path, "name"), join(path, "name"), false);
    m.static_W = require_number(n, path, "static_W");
    m.source = read_source(require(n, path, "source"), join(path, "source"));
    m.note = optional_string(n, path, "note");
    for_each(require_list(n, path, "devices"), join(path, "devices"), [&](const YAML::Node& e, const std::string& ep) {
      if (!e.IsMap()) fail(ep, e, "a power mode's device must be a mapping, not " + yaml_describe(e));
      check_keys(e, ep, {"id", "online_units", "freq_MHz"});
      PowerModeDevice md;
      const YAML::Node id = require(e, ep, "id");
      md.id = read_string(id, join(ep, "id"), false);
      md.online_units = read_small_int(require(e, ep, "online_units"), join(ep, "online_units"), 0);
      const YAML::Node freq = require(e, ep, "freq_MHz");
      // The file names the clock; we keep the pstate it selects, once the devices are valid.
      pending_.push_back({p.power_modes.size(), m.devices.size(), read_number(freq, join(ep, "freq_MHz")),
                          join(ep, "freq_MHz"), line_of(freq.Mark())});
      m.devices.push_back(md);
    });
    if (const YAML::Node domains = n["memory_domains"]) {
      note(join(path, "memory_domains"), domains);
      if (!domains.IsSequence()) fail(join(path, "memory_domains"), domains, "must be a list, not " + yaml_describe(domains));
      for_each(domains, join(path, "memory_domains"), [&](const YAML::Node& e, const std::string& ep) {
        if (!e.IsMap()) fail(ep, e, "a power mode's memory domain must be a mapping, not " + yaml_describe(e));
        check_keys(e, ep, {"id", "bandwidth_GBps"});
        PowerModeDomain md;
        md.id = read_string(require(e, ep, "id"), join(ep, "id"), false);
        md.bandwidth_GBps = require_number(e, ep, "bandwidth_GBps");
        m.memory_domains.push_back(md);
      });
    }
    return m;
  }

  CostEntry read_entry(const YAML::Node& n, const std::string& path, const std::string& default_source) const {
    if (!n.IsMap()) fail(path, n, "a cost-model entry must be a mapping, not " + yaml_describe(n));
    check_keys(n, path,
               {"class", "device_kind", "kernel", "compute_efficiency", "compute_efficiency_max", "batch_exponent",
                "memory_efficiency", "cache_MB", "cache_efficiency", "overhead_us", "index_bytes_per_nonzero", "source",
                "note"});
    CostEntry e;
    e.op_class = read_string(require(n, path, "class"), join(path, "class"), false);
    e.device_kind = read_string(require(n, path, "device_kind"), join(path, "device_kind"), false);
    e.kernel = read_string(require(n, path, "kernel"), join(path, "kernel"), false);
    e.compute_efficiency = require_number(n, path, "compute_efficiency");
    // Without batch scaling the cap is the batch-1 efficiency itself.
    e.compute_efficiency_max = optional_number(n, path, "compute_efficiency_max", e.compute_efficiency);
    e.batch_exponent = optional_number(n, path, "batch_exponent", 0);
    e.memory_efficiency = require_number(n, path, "memory_efficiency");
    e.cache_MB = optional_number(n, path, "cache_MB", 0);
    e.cache_efficiency = optional_number(n, path, "cache_efficiency", 0);
    e.overhead_us = require_number(n, path, "overhead_us");
    e.index_bytes_per_nonzero = optional_number(n, path, "index_bytes_per_nonzero", 0);
    if (const YAML::Node s = n["source"]) {
      note(join(path, "source"), s);
      read_source(s, join(path, "source"));
      e.source = s.Scalar();
    } else {
      e.source = default_source;
    }
    e.note = optional_string(n, path, "note");
    return e;
  }

  std::string origin_;
  LineMap& lines_;

 public:
  // A power mode's freq_MHz, turned into a pstate index after the devices were validated.
  struct PendingFreq {
    std::size_t mode = 0, entry = 0;
    double freq_MHz = 0;
    std::string path;
    int line = 0;
  };
  const std::vector<PendingFreq>& pending() const { return pending_; }

 private:
  mutable std::vector<PendingFreq> pending_;
};

// Selects the pstates the power modes name by frequency.
void resolve_mode_freqs(Platform& p, const std::vector<Reader::PendingFreq>& pending, const std::string& origin) {
  for (const auto& f : pending) {
    PowerModeDevice& md = p.power_modes.at(f.mode).devices.at(f.entry);
    const Device* d = p.find_device(md.id);
    if (d == nullptr) continue;  // the validator names the unknown device
    bool found = false;
    for (std::size_t k = 0; k < d->pstates.size() && !found; ++k) {
      const double pf = d->pstates[k].freq_MHz;
      if (pf == f.freq_MHz || std::fabs(pf - f.freq_MHz) <= 1e-9 * std::max(std::fabs(pf), std::fabs(f.freq_MHz))) {
        md.pstate = k;
        found = true;
      }
    }
    if (!found) {
      std::vector<std::string> freqs;
      for (const auto& ps : d->pstates) freqs.push_back(shortest_number(ps.freq_MHz));
      throw Error(origin + ": " + f.path, shortest_number(f.freq_MHz) + " MHz is not a pstate of device '" + d->id +
                                              "' (its pstates: " + join_names(freqs) + " MHz)" + line_suffix(f.line));
    }
  }
}

// ---------------------------------------------------------------------------------------
// Validation

bool is_identifier(const std::string& s, bool allow_dot) {
  if (s.empty()) return false;
  return std::all_of(s.begin(), s.end(), [&](unsigned char c) {
    return std::isalnum(c) != 0 || c == '_' || c == '-' || (allow_dot && c == '.');
  });
}

class Validator {
 public:
  Validator(const Platform& p, const LineMap* lines) : p_(p), origin_(label_of(p)), lines_(lines) {}

  void run() {
    run_before_modes();
    run_rest();
  }

  // What must hold before the power modes' clocks can be turned into pstates.
  void run_before_modes() {
    if (p_.schema_version != kPlatformSchemaVersion) {
      fail("schema_version", "unsupported schema_version " + std::to_string(p_.schema_version) +
                                 " (this build reads " + std::to_string(kPlatformSchemaVersion) + ")");
    }
    if (!is_identifier(p_.name, true)) {
      fail("name", "'" + p_.name + "' is not a valid platform name (letters, digits, '.', '_', '-')");
    }
    static const std::regex kDate("[0-9]{4}-[0-9]{2}-[0-9]{2}");
    if (!std::regex_match(p_.provenance.date, kDate)) {
      fail("provenance.date", "'" + p_.provenance.date + "' is not a date written YYYY-MM-DD");
    }
    if (p_.provenance.document.empty()) fail("provenance.document", "must name the machine or document");
    domains();
    devices();
    links();
  }

  void run_rest() {
    modes();
    cost_model();
  }

 private:
  [[noreturn]] void fail(const std::string& path, const std::string& what) const {
    int line = 0;
    if (lines_ != nullptr) {
      // The key itself, else the closest enclosing one that was in the file.
      std::string at = path;
      while (!at.empty()) {
        if (auto it = lines_->find(at); it != lines_->end()) {
          line = it->second;
          break;
        }
        const auto cut = at.find_last_of(".[");
        at = cut == std::string::npos ? std::string() : at.substr(0, cut);
      }
    }
    throw Error(path.empty() ? origin_ : origin_ + ": " + path, what + line_suffix(line));
  }

  static std::string at(const std::string& list, std::size_t i) { return list + "[" + std::to_string(i) + "]"; }

  void positive(double v, const std::string& path, const std::string& what_unit) const {
    if (!std::isfinite(v) || v <= 0) fail(path, "must be positive, not " + shortest_number(v) + what_unit);
  }
  void non_negative(double v, const std::string& path, const std::string& what_unit) const {
    if (!std::isfinite(v) || v < 0) fail(path, "must not be negative, not " + shortest_number(v) + what_unit);
  }

  void domains() {
    if (p_.memory_domains.empty()) fail("memory_domains", "a platform needs at least one memory domain");
    std::set<std::string> ids;
    for (std::size_t i = 0; i < p_.memory_domains.size(); ++i) {
      const MemoryDomain& m = p_.memory_domains[i];
      const std::string path = at("memory_domains", i);
      if (!is_identifier(m.id, false)) fail(path + ".id", "'" + m.id + "' is not a valid id (letters, digits, '_', '-')");
      if (!ids.insert(m.id).second) fail(path + ".id", "duplicate memory domain id '" + m.id + "'");
      positive(m.bandwidth_GBps, path + ".bandwidth_GBps", " GB/s");
      non_negative(m.transfer_latency_us, path + ".transfer_latency_us", " us");
      // A fraction of the bandwidth lost to one co-running stream: below 0 the other device
      // would speed it up, above 1 two streams would get less than half each, which sharing
      // one bus cannot explain.
      if (!(m.contention >= 0 && m.contention <= 1)) {
        fail(path + ".contention", "must be between 0 and 1 (a slowdown of 1 + contention), not " + shortest_number(m.contention));
      }
    }
  }

  bool domain_exists(const std::string& id) const {
    return std::any_of(p_.memory_domains.begin(), p_.memory_domains.end(), [&](const auto& m) { return m.id == id; });
  }

  std::vector<std::string> domain_ids() const {
    std::vector<std::string> ids;
    for (const auto& m : p_.memory_domains) ids.push_back(m.id);
    return ids;
  }

  void devices() {
    if (p_.devices.empty()) fail("devices", "a platform needs at least one device");
    std::set<std::string> ids, lane_ids;
    std::vector<std::string> cpu_lanes;
    for (const auto& d : p_.devices) {
      if (d.kind != DeviceKind::cpu) continue;
      for (const auto& l : d.lanes) cpu_lanes.push_back(l.id);
    }
    for (std::size_t i = 0; i < p_.devices.size(); ++i) {
      const Device& d = p_.devices[i];
      const std::string path = at("devices", i);
      if (!is_identifier(d.id, false)) fail(path + ".id", "'" + d.id + "' is not a valid id (letters, digits, '_', '-')");
      if (!ids.insert(d.id).second) fail(path + ".id", "duplicate device id '" + d.id + "'");
      if (!domain_exists(d.memory_domain)) {
        fail(path + ".memory_domain",
             "unknown memory domain '" + d.memory_domain + "' (memory domains: " + join_names(domain_ids()) + ")");
      }
      if (d.units < 1) fail(path + ".units", "must be at least 1, not " + std::to_string(d.units));
      if (!is_identifier(d.unit_name, false)) {
        fail(path + ".unit_name", "'" + d.unit_name + "' is not a valid unit name (letters, digits, '_', '-')");
      }
      positive(d.flops_per_cycle_per_unit, path + ".flops_per_cycle_per_unit", "");
      non_negative(d.off_W, path + ".off_W", " W");
      pstates(d, path);
      lanes(d, path, lane_ids, cpu_lanes);
    }
  }

  void pstates(const Device& d, const std::string& path) const {
    if (d.pstates.empty()) fail(path + ".pstates", "a device needs at least one pstate");
    for (std::size_t k = 0; k < d.pstates.size(); ++k) {
      const PState& s = d.pstates[k];
      const std::string sp = at(path + ".pstates", k);
      positive(s.freq_MHz, sp + ".freq_MHz", " MHz");
      non_negative(s.idle_W, sp + ".idle_W", " W");
      non_negative(s.epsilon_W, sp + ".epsilon_W", " W");
      non_negative(s.full_W, sp + ".full_W", " W");
      if (s.epsilon_W < s.idle_W) {
        fail(sp + ".epsilon_W", shortest_number(s.epsilon_W) + " W is below idle_W " + shortest_number(s.idle_W) +
                                    " W: a device running something cannot draw less than one running nothing");
      }
      if (s.full_W < s.epsilon_W) {
        fail(sp + ".full_W", shortest_number(s.full_W) + " W is below epsilon_W " + shortest_number(s.epsilon_W) +
                                 " W: computing at full speed cannot draw less than computing nothing");
      }
      if (k == 0) continue;
      const PState& prev = d.pstates[k - 1];
      if (!(s.freq_MHz < prev.freq_MHz)) {
        fail(sp + ".freq_MHz", shortest_number(s.freq_MHz) + " MHz is not below " + shortest_number(prev.freq_MHz) +
                                   " MHz of the pstate before: pstates go from the fastest to the slowest");
      }
      if (!(s.full_W < prev.full_W)) {
        fail(sp + ".full_W", shortest_number(s.full_W) + " W at " + shortest_number(s.freq_MHz) + " MHz is not below " + shortest_number(prev.full_W) +
                                 " W at " + shortest_number(prev.freq_MHz) +
                                 " MHz: a pstate's watts must fall with its frequency (the watts do not match the "
                                 "frequencies)");
      }
    }
  }

  void lanes(const Device& d, const std::string& path, std::set<std::string>& lane_ids,
             const std::vector<std::string>& cpu_lanes) const {
    if (d.lanes.empty()) fail(path + ".lanes", "a device needs at least one lane");
    std::map<int, std::string> core_owner;  // core -> lane
    std::map<int, std::string> stream_owner;
    for (std::size_t j = 0; j < d.lanes.size(); ++j) {
      const Lane& l = d.lanes[j];
      const std::string lp = at(path + ".lanes", j);
      if (!is_identifier(l.id, false)) fail(lp + ".id", "'" + l.id + "' is not a valid lane id (letters, digits, '_', '-')");
      if (!lane_ids.insert(l.id).second) fail(lp + ".id", "duplicate lane id '" + l.id + "' (lane ids are unique across the platform)");
      if (d.kind == DeviceKind::cpu) {
        if (l.stream >= 0) fail(lp + ".stream", "a CPU lane has cores, not a stream");
        if (!l.launch_lane.empty()) fail(lp + ".launch_lane", "a CPU lane has no launch_lane (only GPU lanes do)");
        if (l.cores.empty()) fail(lp + ".cores", "a CPU lane needs at least one core");
        for (std::size_t c = 0; c < l.cores.size(); ++c) {
          const int core = l.cores[c];
          const std::string cp = lp + ".cores[" + std::to_string(c) + "]";
          if (core < 0 || core >= d.units) {
            fail(cp, "core " + std::to_string(core) + " does not exist: device '" + d.id + "' has cores 0.." +
                         std::to_string(d.units - 1));
          }
          auto [it, inserted] = core_owner.emplace(core, l.id);
          if (!inserted) {
            fail(cp, it->second == l.id ? "core " + std::to_string(core) + " is listed twice in lane '" + l.id + "'"
                                        : "core " + std::to_string(core) + " is in two lanes: '" + it->second +
                                              "' and '" + l.id + "'");
          }
        }
      } else {
        if (!l.cores.empty()) fail(lp + ".cores", "a GPU lane has a stream, not cores");
        if (l.stream < 0) fail(lp + ".stream", "a GPU lane needs a stream number (0, 1, ...)");
        auto [it, inserted] = stream_owner.emplace(l.stream, l.id);
        if (!inserted) {
          fail(lp + ".stream",
               "stream " + std::to_string(l.stream) + " is used by two lanes: '" + it->second + "' and '" + l.id + "'");
        }
        if (l.launch_lane.empty()) {
          fail(lp + ".launch_lane", "a GPU lane needs the CPU lane that launches its kernels (CPU lanes: " +
                                        join_names(cpu_lanes) + ")");
        }
        if (std::find(cpu_lanes.begin(), cpu_lanes.end(), l.launch_lane) == cpu_lanes.end()) {
          fail(lp + ".launch_lane", "unknown lane '" + l.launch_lane + "': a GPU lane's launch_lane must name a CPU lane (CPU lanes: " +
                                        join_names(cpu_lanes) + ")");
        }
      }
    }
  }

  void links() {
    std::set<std::string> ids;
    std::set<std::pair<std::string, std::string>> pairs;
    for (std::size_t i = 0; i < p_.links.size(); ++i) {
      const Link& l = p_.links[i];
      const std::string path = at("links", i);
      if (!is_identifier(l.id, false)) fail(path + ".id", "'" + l.id + "' is not a valid id (letters, digits, '_', '-')");
      if (!ids.insert(l.id).second) fail(path + ".id", "duplicate link id '" + l.id + "'");
      for (const auto& [key, end] : {std::pair<const char*, const std::string*>{"from", &l.from}, {"to", &l.to}}) {
        if (!domain_exists(*end)) {
          fail(path + "." + key,
               "unknown memory domain '" + *end + "' (memory domains: " + join_names(domain_ids()) + ")");
        }
      }
      if (l.from == l.to) fail(path + ".to", "a link connects two different memory domains, not '" + l.from + "' with itself");
      auto key = std::minmax(l.from, l.to);
      if (!pairs.emplace(key.first, key.second).second) {
        fail(path, "a second link between '" + l.from + "' and '" + l.to + "' (at most one link per pair of domains)");
      }
      positive(l.bandwidth_GBps, path + ".bandwidth_GBps", " GB/s");
      non_negative(l.latency_us, path + ".latency_us", " us");
    }
    // Tensors must be able to move between any two devices.
    for (std::size_t a = 0; a < p_.devices.size(); ++a) {
      for (std::size_t b = a + 1; b < p_.devices.size(); ++b) {
        const std::string& da = p_.devices[a].memory_domain;
        const std::string& db = p_.devices[b].memory_domain;
        if (da == db || p_.link_between(da, db) != nullptr) continue;
        fail("links", "devices '" + p_.devices[a].id + "' (memory domain '" + da + "') and '" + p_.devices[b].id +
                          "' (memory domain '" + db + "') cannot exchange tensors: declare a link between '" + da +
                          "' and '" + db + "'");
      }
    }
  }

  void modes() {
    if (p_.power_modes.empty()) fail("power_modes", "a platform needs at least one power mode");
    std::set<std::string> names;
    for (std::size_t i = 0; i < p_.power_modes.size(); ++i) {
      const PowerMode& m = p_.power_modes[i];
      const std::string path = at("power_modes", i);
      if (!is_identifier(m.name, true)) {
        fail(path + ".name", "'" + m.name + "' is not a valid power mode name (letters, digits, '.', '_', '-')");
      }
      if (!names.insert(m.name).second) fail(path + ".name", "duplicate power mode '" + m.name + "'");
      non_negative(m.static_W, path + ".static_W", " W");
      std::set<std::string> listed;
      for (std::size_t j = 0; j < m.devices.size(); ++j) {
        const PowerModeDevice& md = m.devices[j];
        const std::string ep = at(path + ".devices", j);
        const Device* d = p_.find_device(md.id);
        if (d == nullptr) fail(ep + ".id", "unknown device '" + md.id + "'");
        if (!listed.insert(md.id).second) fail(ep + ".id", "device '" + md.id + "' is listed twice");
        if (md.online_units < 1 || md.online_units > d->units) {
          fail(ep + ".online_units", std::to_string(md.online_units) + " units online, but device '" + d->id + "' has " +
                                         std::to_string(d->units) + " (1.." + std::to_string(d->units) + ")");
        }
        if (md.pstate >= d->pstates.size()) {
          fail(ep + ".freq_MHz", "pstate " + std::to_string(md.pstate) + " does not exist: device '" + d->id +
                                     "' has " + std::to_string(d->pstates.size()) + " pstates");
        }
      }
      for (const auto& d : p_.devices) {
        if (!listed.count(d.id)) {
          fail(path + ".devices", "power mode '" + m.name + "' does not list device '" + d.id +
                                      "' (every device once, with online_units and freq_MHz)");
        }
      }
      std::set<std::string> domains_listed;
      for (std::size_t j = 0; j < m.memory_domains.size(); ++j) {
        const PowerModeDomain& md = m.memory_domains[j];
        const std::string ep = at(path + ".memory_domains", j);
        if (!domain_exists(md.id)) {
          fail(ep + ".id", "unknown memory domain '" + md.id + "' (memory domains: " + join_names(domain_ids()) + ")");
        }
        if (!domains_listed.insert(md.id).second) fail(ep + ".id", "memory domain '" + md.id + "' is listed twice");
        positive(md.bandwidth_GBps, ep + ".bandwidth_GBps", " GB/s");
      }
    }
    if (!names.count(p_.power_mode)) {
      fail("power_mode", "unknown power mode '" + p_.power_mode + "' (power modes: " +
                             join_names(std::vector<std::string>(names.begin(), names.end())) + ")");
    }
  }

  void cost_model() {
    SourceLabel unused{};
    if (!parse_source(p_.cost_model.source, unused)) {
      fail("cost_model.source", "source must be datasheet, measured, estimated or fitted, not '" + p_.cost_model.source + "'");
    }
    std::set<std::tuple<std::string, std::string, std::string>> seen;
    const auto classes = op_class_names();
    for (std::size_t i = 0; i < p_.cost_model.entries.size(); ++i) {
      const CostEntry& e = p_.cost_model.entries[i];
      const std::string path = at("cost_model.entries", i);
      if (e.op_class != "default" && std::find(classes.begin(), classes.end(), e.op_class) == classes.end()) {
        std::string list;
        for (auto c : classes) list += std::string(c) + ", ";
        fail(path + ".class", "unknown operator class '" + e.op_class + "' (classes: " + list + "default)");
      }
      if (e.device_kind != "cpu" && e.device_kind != "gpu") {
        fail(path + ".device_kind", "device_kind must be cpu or gpu, not '" + e.device_kind + "'");
      }
      if (e.kernel != "dense" && e.kernel != "sparse") {
        fail(path + ".kernel", "kernel must be dense or sparse, not '" + e.kernel + "'");
      }
      if (!std::isfinite(e.compute_efficiency) || e.compute_efficiency <= 0 || e.compute_efficiency > 1) {
        fail(path + ".compute_efficiency", "must be in (0, 1], not " + shortest_number(e.compute_efficiency));
      }
      if (!std::isfinite(e.compute_efficiency_max) || e.compute_efficiency_max < e.compute_efficiency ||
          e.compute_efficiency_max > 1) {
        fail(path + ".compute_efficiency_max", "must be in [compute_efficiency, 1] = [" + shortest_number(e.compute_efficiency) +
                                                   ", 1], not " + shortest_number(e.compute_efficiency_max));
      }
      non_negative(e.batch_exponent, path + ".batch_exponent", "");
      if (!std::isfinite(e.memory_efficiency) || e.memory_efficiency <= 0 || e.memory_efficiency > 1) {
        fail(path + ".memory_efficiency", "must be in (0, 1], not " + shortest_number(e.memory_efficiency));
      }
      non_negative(e.cache_MB, path + ".cache_MB", " MB");
      if (!std::isfinite(e.cache_efficiency) || e.cache_efficiency < 0 || e.cache_efficiency > kMaxCacheEfficiency) {
        fail(path + ".cache_efficiency", "must be in (0, 64] (or 0: the memory efficiency), not " + shortest_number(e.cache_efficiency));
      }
      non_negative(e.overhead_us, path + ".overhead_us", " us");
      non_negative(e.index_bytes_per_nonzero, path + ".index_bytes_per_nonzero", " bytes");
      if (e.kernel == "sparse" && !(e.index_bytes_per_nonzero > 0)) {
        fail(path + ".index_bytes_per_nonzero",
             "a sparse entry needs the index bytes each stored non-zero carries (4 for 32-bit CSR column indices)");
      }
      if (!parse_source(e.source, unused)) {
        fail(path + ".source", "source must be datasheet, measured, estimated or fitted, not '" + e.source + "'");
      }
      if (!seen.emplace(e.op_class, e.device_kind, e.kernel).second) {
        fail(path, "a second entry for class " + e.op_class + ", device_kind " + e.device_kind + ", kernel " + e.kernel);
      }
    }
    std::set<std::string> kinds;
    for (const auto& d : p_.devices) kinds.insert(std::string(to_string(d.kind)));
    for (const auto& kind : kinds) {
      for (const char* kernel : {"dense", "sparse"}) {
        if (!seen.count({"default", kind, kernel})) {
          fail("cost_model.entries", "no entry for class default, device_kind " + kind + ", kernel " + kernel +
                                         ": every device kind present needs a default entry for dense and for sparse");
        }
      }
    }
  }

  const Platform& p_;
  std::string origin_;
  const LineMap* lines_;
};

}  // namespace

void validate_platform(const Platform& p) { Validator(p, nullptr).run(); }

Platform parse_platform(const std::string& yaml_text, const std::string& origin) {
  const std::vector<YAML::Node> documents = load_yaml_all(yaml_text, origin);  // limits, libyaml
  if (documents.empty() || documents.front().IsNull()) {
    throw Error(origin, "empty platform file: expected a mapping with schema_version, name, power_mode, provenance, "
                        "memory_domains, devices, power_modes, cost_model");
  }
  if (documents.size() > 1) {
    throw Error(origin, "a platform file holds one YAML document, this one holds " + std::to_string(documents.size()) +
                            line_suffix(line_of(documents[1].Mark())));
  }
  LineMap lines;
  Platform p;
  Reader reader(origin, lines);
  try {
    p = reader.read(documents.front());
  } catch (const YAML::Exception& e) {
    throw Error(origin, "malformed platform" + line_suffix(line_of(e.mark)) + ": " + e.msg);
  }
  p.origin = origin;
  p.sha256 = sha256_hex(yaml_text);
  Validator(p, &lines).run_before_modes();
  resolve_mode_freqs(p, reader.pending(), origin);
  Validator(p, &lines).run_rest();
  return p;
}

Platform read_platform(const std::filesystem::path& path) {
  std::error_code ec;
  if (std::filesystem::is_directory(path, ec)) throw Error(path.string(), "is a directory, not a platform file");
  return parse_platform(read_text_file(path, kMaxYamlBytes, "platform file"), path.string());
}

// ---------------------------------------------------------------------------------------
// Writing

namespace {


std::string note_field(const std::string& note) { return note.empty() ? "" : ", note: " + yaml_quote(note); }

}  // namespace

std::string platform_to_yaml(const Platform& p) {
  std::ostringstream out;
  out << "schema_version: " << p.schema_version << '\n';
  out << "name: " << yaml_quote(p.name) << '\n';
  out << "power_mode: " << yaml_quote(p.power_mode) << '\n';
  out << "provenance:\n";
  out << "  source: " << to_string(p.provenance.source) << '\n';
  out << "  date: " << yaml_quote(p.provenance.date) << '\n';
  out << "  document: " << yaml_quote(p.provenance.document) << '\n';
  if (!p.provenance.notes.empty()) out << "  notes: " << yaml_quote(p.provenance.notes) << '\n';

  out << "memory_domains:\n";
  for (const auto& m : p.memory_domains) {
    out << "  - {id: " << yaml_quote(m.id) << ", bandwidth_GBps: " << shortest_number(m.bandwidth_GBps)
        << ", transfer: " << to_string(m.transfer) << ", transfer_latency_us: " << shortest_number(m.transfer_latency_us)
        // Only when fitted: 1 is the default, so files written before the key existed stay as they were.
        << (m.contention != 1 ? ", contention: " + shortest_number(m.contention) : std::string())
        << ", source: " << to_string(m.source) << note_field(m.note) << "}\n";
  }

  out << "devices:\n";
  for (const auto& d : p.devices) {
    out << "  - id: " << yaml_quote(d.id) << '\n';
    out << "    kind: " << to_string(d.kind) << '\n';
    out << "    memory_domain: " << yaml_quote(d.memory_domain) << '\n';
    out << "    units: " << d.units << '\n';
    out << "    unit_name: " << yaml_quote(d.unit_name) << '\n';
    out << "    flops_per_cycle_per_unit: " << shortest_number(d.flops_per_cycle_per_unit) << '\n';
    out << "    pstates:\n";
    for (const auto& s : d.pstates) {
      out << "      - {freq_MHz: " << shortest_number(s.freq_MHz) << ", idle_W: " << shortest_number(s.idle_W)
          << ", epsilon_W: " << shortest_number(s.epsilon_W) << ", full_W: " << shortest_number(s.full_W) << "}\n";
    }
    out << "    off_W: " << shortest_number(d.off_W) << '\n';
    if (!d.rail.empty()) out << "    rail: " << yaml_quote(d.rail) << '\n';
    out << "    source: " << to_string(d.source) << '\n';
    if (!d.note.empty()) out << "    note: " << yaml_quote(d.note) << '\n';
    out << "    lanes:\n";
    for (const auto& l : d.lanes) {
      out << "      - {id: " << yaml_quote(l.id);
      if (!l.cores.empty()) {
        out << ", cores: [";
        for (std::size_t c = 0; c < l.cores.size(); ++c) out << (c ? ", " : "") << l.cores[c];
        out << "]";
      }
      if (l.stream >= 0) out << ", stream: " << l.stream;
      if (!l.launch_lane.empty()) out << ", launch_lane: " << yaml_quote(l.launch_lane);
      out << "}\n";
    }
  }

  if (p.links.empty()) {
    out << "links: []\n";
  } else {
    out << "links:\n";
    for (const auto& l : p.links) {
      out << "  - {id: " << yaml_quote(l.id) << ", from: " << yaml_quote(l.from) << ", to: " << yaml_quote(l.to)
          << ", bandwidth_GBps: " << shortest_number(l.bandwidth_GBps) << ", latency_us: " << shortest_number(l.latency_us)
          << ", source: " << to_string(l.source) << note_field(l.note) << "}\n";
    }
  }

  out << "power_modes:\n";
  for (const auto& m : p.power_modes) {
    out << "  - name: " << yaml_quote(m.name) << '\n';
    out << "    static_W: " << shortest_number(m.static_W) << '\n';
    out << "    source: " << to_string(m.source) << '\n';
    if (!m.note.empty()) out << "    note: " << yaml_quote(m.note) << '\n';
    out << "    devices:\n";
    for (const auto& md : m.devices) {
      const Device& d = p.device(md.id);
      if (md.pstate >= d.pstates.size()) {
        throw Error(label_of(p), "power mode '" + m.name + "': pstate " + std::to_string(md.pstate) +
                                     " of device '" + d.id + "' does not exist");
      }
      out << "      - {id: " << yaml_quote(md.id) << ", online_units: " << md.online_units
          << ", freq_MHz: " << shortest_number(d.pstates[md.pstate].freq_MHz) << "}\n";
    }
    if (!m.memory_domains.empty()) {
      out << "    memory_domains:\n";
      for (const auto& md : m.memory_domains) {
        out << "      - {id: " << yaml_quote(md.id) << ", bandwidth_GBps: " << shortest_number(md.bandwidth_GBps) << "}\n";
      }
    }
  }

  out << "cost_model:\n";
  out << "  source: " << yaml_quote(p.cost_model.source) << '\n';
  if (p.cost_model.entries.empty()) {
    out << "  entries: []\n";
  } else {
    out << "  entries:\n";
    for (const auto& e : p.cost_model.entries) {
      out << "    - {class: " << yaml_quote(e.op_class) << ", device_kind: " << yaml_quote(e.device_kind)
          << ", kernel: " << yaml_quote(e.kernel) << ", compute_efficiency: " << shortest_number(e.compute_efficiency)
          << ", compute_efficiency_max: " << shortest_number(e.compute_efficiency_max)
          << ", batch_exponent: " << shortest_number(e.batch_exponent) << ", memory_efficiency: " << shortest_number(e.memory_efficiency)
          << ", overhead_us: " << shortest_number(e.overhead_us);
      if (e.cache_MB != 0) out << ", cache_MB: " << shortest_number(e.cache_MB);
      if (e.cache_efficiency != 0) out << ", cache_efficiency: " << shortest_number(e.cache_efficiency);
      if (e.index_bytes_per_nonzero != 0) out << ", index_bytes_per_nonzero: " << shortest_number(e.index_bytes_per_nonzero);
      out << ", source: " << yaml_quote(e.source) << note_field(e.note) << "}\n";
    }
  }
  return out.str();
}

// ---------------------------------------------------------------------------------------
// Shipped files

std::vector<std::filesystem::path> shipped_platform_files() {
  std::vector<std::filesystem::path> files;
  std::error_code ec;
  for (std::filesystem::directory_iterator it(SPAROA_PLATFORMS_DIR, ec), end; !ec && it != end; it.increment(ec)) {
    if (it->path().extension() == ".yaml" && it->is_regular_file(ec)) files.push_back(it->path());
  }
  std::sort(files.begin(), files.end());
  return files;
}

std::filesystem::path resolve_platform_path(const std::string& name_or_path) {
  namespace fs = std::filesystem;
  std::error_code ec;
  if (name_or_path.empty()) throw Error("--platform", "empty platform name");
  if (fs::is_regular_file(name_or_path, ec)) return name_or_path;
  // A bare name ("agx-orin-64gb-maxn", with or without ".yaml") of a shipped file.
  if (name_or_path.find('/') == std::string::npos) {
    std::string file = name_or_path;
    if (fs::path(file).extension() != ".yaml") file += ".yaml";
    const fs::path shipped = fs::path(SPAROA_PLATFORMS_DIR) / file;
    if (fs::is_regular_file(shipped, ec)) return shipped;
  }
  std::vector<std::string> names;
  for (const auto& f : shipped_platform_files()) names.push_back(f.stem().string());
  throw Error(name_or_path, "no such platform file, nor a shipped platform (shipped: " + join_names(names) + ")");
}

}  // namespace sparoa::platforms

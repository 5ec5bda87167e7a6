#include "experiments/experiment.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <fstream>
#include <set>
#include <sstream>

#include "platforms/perturb.hpp"
#include "support/error.hpp"
#include "support/read_file.hpp"
#include "support/yaml_load.hpp"
#include "support/sha256.hpp"

namespace sparoa::experiments {
namespace fs = std::filesystem;

namespace {

constexpr int kSchemaVersion = 1;
// A matrix beyond this is almost surely a mistake (a list pasted twice into every factor);
// one can still sweep it by splitting the file.
constexpr std::size_t kMaxCells = 1'000'000;

std::string scalar(const YAML::Node& n, const std::string& where) {
  if (!n.IsScalar()) throw Error(where, "expected a single value (a string or a number)");
  const std::string v = n.Scalar();
  if (v.empty()) throw Error(where, "empty value");
  if (v.find_first_of("\n\r") != std::string::npos) throw Error(where, "a value must be one line");
  return v;
}

// A list or repeated key may be given as a YAML list: it is kept as one value, joined by ','
// for a list (the flag takes a,b,c) and by ';' for a repeated flag (split again when the
// command line is built).
std::string fixed_value(const YAML::Node& n, const KeySpec& k, const std::string& where) {
  if (n.IsSequence() && (k.kind == KeyKind::list || k.kind == KeyKind::repeated)) {
    if (n.size() == 0) throw Error(where, "empty list");
    std::string out;
    for (std::size_t i = 0; i < n.size(); ++i) {
      if (i) out += k.kind == KeyKind::list ? ',' : ';';
      out += scalar(n[i], fmt::format("{}[{}]", where, i));
    }
    return out;
  }
  return scalar(n, where);
}

const KeySpec* find_key(const CommandSpec& c, const std::string& key) {
  for (const auto& k : c.keys) {
    if (k.key == key) return &k;
  }
  return nullptr;
}

std::string key_names(const CommandSpec& c) {
  std::string s;
  for (const auto& k : c.keys) s += (s.empty() ? "" : ", ") + k.key;
  return s;
}

// A mapping's key as text (a key given twice never gets here: load_yaml refuses it).
// `prefix` names the mapping in messages: "FILE: ", "FILE: matrix.", "FILE: fixed.".
std::string key_of(const YAML::const_iterator::value_type& kv, const std::string& prefix) {
  if (!kv.first.IsScalar()) throw Error(prefix + "?", "expected a key name, not a list or mapping");
  return kv.first.Scalar();
}

void check_value(const KeySpec& k, const std::string& v, const std::string& where) {
  if (k.key == "perturb") platforms::check_perturb_spec(v, where);
  if (k.kind == KeyKind::negated && v != "true" && v != "false") throw Error(where, "expected true or false, not '" + v + "'");
  if (k.key == "seed" && v.find_first_not_of("0123456789") != std::string::npos) {
    throw Error(where, "a seed is a non-negative integer, not '" + v + "'");
  }
}

}  // namespace

Experiment parse_experiment(const std::string& text, const fs::path& file) {
  const std::string f = file.string();
  const YAML::Node root = load_yaml(text, f);
  if (!root.IsMap()) throw Error(f, "expected a mapping of keys (name, command, matrix, fixed, metrics, report)");
  Experiment e;
  e.file = file;
  e.dir = file.has_parent_path() ? file.parent_path() : fs::path(".");
  e.text = text;
  e.sha256 = sha256_hex(text);
  static const std::set<std::string> top = {"schema_version", "name", "description", "command", "matrix",
                                            "fixed", "metrics", "report"};
  for (const auto& kv : root) {
    const std::string key = key_of(kv, f + ": ");
    if (!top.count(key)) {
      throw Error(f + ": " + key, "unknown key (expected schema_version, name, description, command, matrix, fixed, "
                                  "metrics, report)");
    }
  }
  if (!root["schema_version"]) throw Error(f, "schema_version: missing (this reader knows 1)");
  const std::string version = scalar(root["schema_version"], f + ": schema_version");
  if (version != std::to_string(kSchemaVersion)) {
    throw Error(f + ": schema_version", "is " + version + "; this reader knows " + std::to_string(kSchemaVersion));
  }
  if (!root["name"]) throw Error(f, "name: missing");
  e.name = scalar(root["name"], f + ": name");
  if (e.name.find_first_not_of("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_.") != std::string::npos ||
      e.name.front() == '.') {
    throw Error(f + ": name", "use letters, digits, '-', '_' and '.' only, not first a '.' (it names folders and jobs)");
  }
  if (root["description"]) e.description = scalar(root["description"], f + ": description");
  if (!root["command"]) throw Error(f, "command: missing");
  e.command = scalar(root["command"], f + ": command");
  const CommandSpec& spec = command_spec(e.command, f + ": command");

  std::set<std::string> seen;
  const YAML::Node matrix = root["matrix"];
  if (!matrix || !matrix.IsMap() || matrix.size() == 0) {
    throw Error(f + ": matrix", "expected a mapping of factors to lists of levels (at least one factor)");
  }
  for (const auto& kv : matrix) {
    const std::string key = key_of(kv, f + ": matrix.");
    const std::string where = f + ": matrix." + key;
    const KeySpec* k = find_key(spec, key);
    if (!k) throw Error(where, fmt::format("command {} takes no key '{}' (it takes: {})", e.command, key, key_names(spec)));
    Setting s{key, {}};
    if (kv.second.IsSequence()) {
      if (kv.second.size() == 0) throw Error(where, "empty list: a factor needs at least one level");
      for (std::size_t i = 0; i < kv.second.size(); ++i) {
        const std::string w = fmt::format("{}[{}]", where, i);
        // A level that is itself a list is the value of a list key (policies: [[a, b], [c]]).
        const std::string v = kv.second[i].IsSequence() ? fixed_value(kv.second[i], *k, w) : scalar(kv.second[i], w);
        check_value(*k, v, w);
        if (std::find(s.values.begin(), s.values.end(), v) != s.values.end()) throw Error(w, "level '" + v + "' twice");
        s.values.push_back(v);
      }
    } else {
      s.values.push_back(scalar(kv.second, where));
      check_value(*k, s.values.back(), where);
    }
    seen.insert(key);
    e.matrix.push_back(std::move(s));
  }
  if (const YAML::Node fixed = root["fixed"]) {
    if (!fixed.IsMap()) throw Error(f + ": fixed", "expected a mapping of keys to values");
    for (const auto& kv : fixed) {
      const std::string key = key_of(kv, f + ": fixed.");
      const std::string where = f + ": fixed." + key;
      const KeySpec* k = find_key(spec, key);
      if (!k) throw Error(where, fmt::format("command {} takes no key '{}' (it takes: {})", e.command, key, key_names(spec)));
      if (seen.count(key)) throw Error(where, "is also a factor of the matrix");
      const std::string v = fixed_value(kv.second, *k, where);
      check_value(*k, v, where);
      seen.insert(key);
      e.fixed.push_back({key, {v}});
    }
  }
  if (const YAML::Node metrics = root["metrics"]) {
    if (!metrics.IsSequence() || metrics.size() == 0) throw Error(f + ": metrics", "expected a non-empty list of columns");
    for (std::size_t i = 0; i < metrics.size(); ++i) {
      const std::string m = scalar(metrics[i], fmt::format("{}: metrics[{}]", f, i));
      if (std::find(spec.columns.begin(), spec.columns.end(), m) == spec.columns.end()) {
        std::string cols;
        for (const auto& c : spec.columns) cols += (cols.empty() ? "" : ", ") + c;
        throw Error(fmt::format("{}: metrics[{}]", f, i), fmt::format("{} writes no column '{}' (it writes: {})", e.command, m, cols));
      }
      e.metrics.push_back(m);
    }
  }
  if (root["report"]) {
    e.report = root["report"];
    if (!e.report.IsMap()) throw Error(f + ": report", "expected a mapping (figure, title, paper, ...)");
  }
  std::size_t cells = 1;
  for (const auto& s : e.matrix) {
    cells *= s.values.size();
    if (cells > kMaxCells) throw Error(f + ": matrix", fmt::format("more than {} cells; split the experiment", kMaxCells));
  }
  return e;
}

Experiment read_experiment(const fs::path& file) {
  return parse_experiment(read_text_file(file, kMaxYamlBytes, "experiment file"), file);
}

const std::string& Cell::get(const std::string& key) const {
  static const std::string none;
  for (const auto& [k, v] : settings) {
    if (k == key) return v;
  }
  return none;
}

std::string cell_seed(const Cell& c, const CommandSpec& spec) {
  const std::string& s = c.get("seed");
  return s.empty() ? spec.default_seed : s;
}

std::vector<Cell> expand_cells(const Experiment& e) {
  std::size_t total = 1;
  for (const auto& s : e.matrix) total *= s.values.size();
  std::vector<Cell> cells;
  cells.reserve(total);
  for (std::size_t i = 0; i < total; ++i) {
    Cell c;
    c.index = i;
    std::size_t rest = i;
    std::vector<std::string> picked(e.matrix.size());
    for (std::size_t f = e.matrix.size(); f-- > 0;) {  // last factor varies fastest
      picked[f] = e.matrix[f].values[rest % e.matrix[f].values.size()];
      rest /= e.matrix[f].values.size();
    }
    for (std::size_t f = 0; f < e.matrix.size(); ++f) c.settings.emplace_back(e.matrix[f].key, picked[f]);
    for (const auto& s : e.fixed) c.settings.emplace_back(s.key, s.values.front());
    // The id covers what the cell runs, not where the file lives or how it is laid out, so
    // adding a level to a factor keeps every finished cell.
    auto sorted = c.settings;
    std::sort(sorted.begin(), sorted.end());
    std::string canon = "sparoa-cell-v1\n" + e.command + "\n";
    for (const auto& [k, v] : sorted) canon += k + "=" + v + "\n";
    c.id = sha256_hex(canon).substr(0, 16);
    cells.push_back(std::move(c));
  }
  return cells;
}

}  // namespace sparoa::experiments

#include "graph/schedule.hpp"

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <cerrno>
#include <charconv>
#include <cstring>
#include <fstream>
#include <map>
#include <regex>
#include <set>
#include <sstream>
#include <string_view>

#include "graph/graph.hpp"
#include "support/atomic_file.hpp"
#include "support/error.hpp"
#include "support/read_file.hpp"
#include "support/yaml_load.hpp"
#include "support/yaml_text.hpp"

namespace sparoa::graph {
namespace {

// ---------------------------------------------------------------------------------------
// Reading

std::string line_suffix(const YAML::Mark& mark) {
  if (mark.is_null() || mark.line < 0) return "";
  return " (line " + std::to_string(mark.line + 1) + ")";
}


// Parses one schedule document and reports every problem as sparoa::Error whose `where` is
// "<origin>: <key path>" and whose message ends with the line, so that a user can jump there.
class Reader {
 public:
  explicit Reader(std::string origin) : origin_(std::move(origin)) {}

  Schedule read(const YAML::Node& root) {
    if (!root.IsMap()) fail("", root, "a schedule must be a mapping of keys, not " + yaml_describe(root));
    check_keys(root, "", {"schema_version", "model", "platform", "batch", "entries"});

    Schedule s;
    const YAML::Node version = require(root, "", "schema_version");
    const std::int64_t schema_version = read_int(version, "schema_version", 0);
    if (schema_version != kScheduleSchemaVersion) {
      fail("schema_version", version,
           "unsupported schema_version " + std::to_string(schema_version) + " (this build reads " +
               std::to_string(kScheduleSchemaVersion) + ")");
    }
    s.schema_version = kScheduleSchemaVersion;

    const YAML::Node model = require_map(root, "", "model");
    check_keys(model, "model", {"path", "sha256"});
    s.model_path = read_string(require(model, "model", "path"), "model.path", true);
    const YAML::Node sha = require(model, "model", "sha256");
    s.model_sha256 = read_string(sha, "model.sha256", false);
    if (s.model_sha256.size() != 64 ||
        !std::all_of(s.model_sha256.begin(), s.model_sha256.end(),
                     [](unsigned char c) { return std::isxdigit(c) != 0; })) {
      fail("model.sha256", sha, "must be 64 hexadecimal characters (a SHA-256), got '" + s.model_sha256 + "'");
    }
    // Stored lower-case, as every hash we write (trace provenance included).
    std::transform(s.model_sha256.begin(), s.model_sha256.end(), s.model_sha256.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });

    const YAML::Node platform = require_map(root, "", "platform");
    check_keys(platform, "platform", {"name", "power_mode"});
    s.platform_name = read_string(require(platform, "platform", "name"), "platform.name", true);
    s.platform_power_mode =
        read_string(require(platform, "platform", "power_mode"), "platform.power_mode", true);

    s.batch = read_int(require(root, "", "batch"), "batch", 1);

    const YAML::Node entries = require(root, "", "entries");
    if (!entries.IsSequence()) fail("entries", entries, "must be a list of entries, not " + yaml_describe(entries));
    s.entries.reserve(entries.size());
    for (std::size_t i = 0; i < entries.size(); ++i) {
      s.entries.push_back(read_entry(entries[i], "entries[" + std::to_string(i) + "]"));
    }
    return s;
  }

 private:
  [[noreturn]] void fail(const std::string& path, const YAML::Node& at, const std::string& what) const {
    throw Error(path.empty() ? origin_ : origin_ + ": " + path, what + line_suffix(at.Mark()));
  }

  static std::string join(const std::string& path, const std::string& key) {
    return path.empty() ? key : path + "." + key;
  }

  // Rejects unknown and non-scalar keys: a typo must never be silently ignored. (A key given
  // twice never gets here: load_yaml refuses it.)
  void check_keys(const YAML::Node& map, const std::string& path,
                  std::initializer_list<std::string_view> allowed) const {
    for (auto it = map.begin(); it != map.end(); ++it) {
      const YAML::Node key = it->first;
      if (!key.IsScalar()) fail(path, key, "keys must be plain names, not " + yaml_describe(key));
      const std::string& name = key.Scalar();
      if (std::find(allowed.begin(), allowed.end(), name) == allowed.end()) {
        std::string expected;
        for (auto a : allowed) expected += (expected.empty() ? "" : ", ") + std::string(a);
        fail(join(path, name), key, "unknown key '" + name + "' (expected: " + expected + ")");
      }
    }
  }

  YAML::Node require(const YAML::Node& map, const std::string& path, const std::string& key) const {
    const YAML::Node value = map[key];
    if (!value) {
      fail(path, map, "missing required key '" + key + "'");
    }
    return value;
  }

  YAML::Node require_map(const YAML::Node& map, const std::string& path, const std::string& key) const {
    const YAML::Node value = require(map, path, key);
    if (!value.IsMap()) fail(join(path, key), value, "must be a mapping, not " + yaml_describe(value));
    return value;
  }

  std::string read_string(const YAML::Node& node, const std::string& path, bool allow_empty) const {
    if (!node.IsScalar()) fail(path, node, "must be a string, not " + yaml_describe(node));
    if (!allow_empty && node.Scalar().empty()) fail(path, node, "must not be empty");
    return node.Scalar();
  }

  // Decimal integers only, written plainly: "3" in quotes is a string, 1.5 and 1e3 are not
  // integers, and out-of-range values are reported rather than wrapped.
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
    return value;
  }

  ScheduleEntry read_entry(const YAML::Node& node, const std::string& path) const {
    if (!node.IsMap()) fail(path, node, "an entry must be a mapping, not " + yaml_describe(node));
    check_keys(node, path, {"op", "lane", "kernel", "order", "fuse_with"});
    ScheduleEntry e;
    e.op = read_string(require(node, path, "op"), path + ".op", false);
    e.lane = read_string(require(node, path, "lane"), path + ".lane", false);
    const YAML::Node kernel = require(node, path, "kernel");
    e.kernel = read_string(kernel, path + ".kernel", false);
    if (e.kernel != "dense" && e.kernel != "sparse") {
      fail(path + ".kernel", kernel, "kernel must be 'dense' or 'sparse', not '" + e.kernel + "'");
    }
    e.order = read_int(require(node, path, "order"), path + ".order", 0);
    if (const YAML::Node fuse = node["fuse_with"]) {
      e.fuse_with = read_string(fuse, path + ".fuse_with", false);
    }
    return e;
  }

  std::string origin_;
};

// ---------------------------------------------------------------------------------------
// Writing


// ---------------------------------------------------------------------------------------
// Validation helpers

bool equal_ignoring_case(const std::string& a, const std::string& b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](unsigned char x, unsigned char y) {
           return std::tolower(x) == std::tolower(y);
         });
}

std::string short_hash(const std::string& h) {
  if (h.empty()) return "(none)";
  return h.substr(0, 12);
}

std::string entry_where(const std::string& origin, std::size_t index) {
  return origin + ": entries[" + std::to_string(index) + "]";
}

}  // namespace

std::vector<std::string> kernels_for(const Graph& g, const std::string& op_name) {
  auto id = g.find_op(op_name);
  if (!id) throw Error("operator '" + op_name + "'", "unknown operator");
  const Operator& op = g.op(*id);
  auto is_weight = [&](std::size_t input) {
    if (input >= op.inputs.size() || op.inputs[input].empty()) return false;
    const Tensor* t = g.find_tensor(op.inputs[input]);
    return t != nullptr && t->role == TensorRole::weight;
  };
  bool sparse = false;
  if (op.type == "Conv" || op.type == "ConvTranspose") {
    sparse = is_weight(1);
  } else if (op.type == "Gemm" || op.type == "MatMul") {
    // A constant A operand works too: the sparse kernel then computes (B^T A^T)^T.
    sparse = is_weight(0) || is_weight(1);
  }
  if (sparse) return {"dense", "sparse"};
  return {"dense"};
}

Schedule parse_schedule(const std::string& yaml_text, const std::string& origin) {
  const std::vector<YAML::Node> documents = load_yaml_all(yaml_text, origin);  // limits, libyaml
  if (documents.empty() || documents.front().IsNull()) {
    throw Error(origin, "empty schedule: expected a mapping with schema_version, model, platform, batch, entries");
  }
  if (documents.size() > 1) {
    throw Error(origin, "a schedule file holds one YAML document, this one holds " +
                            std::to_string(documents.size()) + line_suffix(documents[1].Mark()));
  }
  try {
    return Reader(origin).read(documents.front());
  } catch (const YAML::Exception& e) {
    // Conversions inside yaml-cpp should not throw after the checks above; keep the promise
    // that only sparoa::Error leaves this function anyway.
    throw Error(origin, "malformed schedule" + line_suffix(e.mark) + ": " + e.msg);
  }
}

Schedule read_schedule(const std::filesystem::path& path) {
  return parse_schedule(read_text_file(path, kMaxYamlBytes, "schedule"), path.string());
}

std::string schedule_to_yaml(const Schedule& s) {
  std::ostringstream out;
  out << "schema_version: " << s.schema_version << '\n';
  out << "model: {path: " << yaml_quote(s.model_path) << ", sha256: " << yaml_quote(s.model_sha256) << "}\n";
  out << "platform: {name: " << yaml_quote(s.platform_name) << ", power_mode: " << yaml_quote(s.platform_power_mode)
      << "}\n";
  out << "batch: " << s.batch << '\n';
  if (s.entries.empty()) {
    out << "entries: []\n";
    return out.str();
  }
  out << "entries:\n";
  for (const auto& e : s.entries) {
    out << "  - {op: " << yaml_quote(e.op) << ", lane: " << yaml_quote(e.lane) << ", kernel: " << yaml_quote(e.kernel)
        << ", order: " << e.order;
    if (e.fuse_with) out << ", fuse_with: " << yaml_quote(*e.fuse_with);
    out << "}\n";
  }
  return out.str();
}

void write_schedule(const std::filesystem::path& path, const Schedule& s) {
  write_file_atomically(path, schedule_to_yaml(s));
}

void validate_schedule(const Schedule& s, const Graph& g, const std::string& origin) {
  if (!g.finalized()) throw Error(origin, "cannot validate against a graph that was not finalized");
  if (s.schema_version != kScheduleSchemaVersion) {
    throw Error(origin + ": schema_version", "unsupported schema_version " + std::to_string(s.schema_version) +
                                                 " (this build reads " + std::to_string(kScheduleSchemaVersion) + ")");
  }
  if (!g.model_sha256.empty() && !equal_ignoring_case(s.model_sha256, g.model_sha256)) {
    throw Error(origin + ": model.sha256",
                "the schedule belongs to another model: it was made for " + short_hash(s.model_sha256) +
                    (s.model_path.empty() ? std::string() : " (" + s.model_path + ")") +
                    ", but the model given has SHA-256 " + short_hash(g.model_sha256) +
                    (g.source_path.empty() ? std::string() : " (" + g.source_path + ")"));
  }
  if (s.batch != g.batch) {
    throw Error(origin + ": batch", "batch " + std::to_string(s.batch) + " does not match the model's batch " +
                                        std::to_string(g.batch) +
                                        " (its shapes are bound to that batch: import the model at batch " +
                                        std::to_string(s.batch) + " or change the schedule)");
  }

  // Every entry names a distinct operator of the graph with a kernel it has.
  const std::size_t n = g.operators().size();
  std::vector<std::optional<std::size_t>> entry_of(n);  // operator -> its entry
  std::vector<OpId> op_of(s.entries.size());             // entry -> its operator
  for (std::size_t i = 0; i < s.entries.size(); ++i) {
    const ScheduleEntry& e = s.entries[i];
    auto id = g.find_op(e.op);
    if (!id) throw Error(entry_where(origin, i), "unknown operator '" + e.op + "': the model has no such operator");
    if (entry_of[*id]) {
      throw Error(entry_where(origin, i), "operator '" + e.op + "' is placed twice (also entries[" +
                                              std::to_string(*entry_of[*id]) + "])");
    }
    entry_of[*id] = i;
    op_of[i] = *id;
    if (e.lane.empty()) throw Error(entry_where(origin, i), "operator '" + e.op + "' has no lane");
    const auto kernels = kernels_for(g, e.op);
    if (std::find(kernels.begin(), kernels.end(), e.kernel) == kernels.end()) {
      std::string available;
      for (const auto& k : kernels) available += (available.empty() ? "" : ", ") + k;
      throw Error(entry_where(origin, i), "kernel '" + e.kernel + "' is not available for operator '" + e.op +
                                              "' (" + g.op(*id).type + "); available: " + available);
    }
    if (e.order < 0) {
      throw Error(entry_where(origin, i),
                  "operator '" + e.op + "' has a negative order " + std::to_string(e.order));
    }
  }
  std::size_t missing = 0;
  std::optional<OpId> first_missing;
  for (OpId id = 0; id < n; ++id) {
    if (entry_of[id]) continue;
    ++missing;
    if (!first_missing) first_missing = id;
  }
  if (first_missing) {
    std::string what = "operator '" + g.op(*first_missing).name + "' is not placed";
    if (missing > 1) {
      what += ", nor are " + std::to_string(missing - 1) + " more (" + std::to_string(missing) +
              " operators have no entry)";
    }
    throw Error(origin, what);
  }

  // Per lane, the orders are exactly 0..k-1. std::map: lanes are checked in name order, so
  // the error reported for a schedule is always the same.
  std::map<std::string, std::vector<std::size_t>> lanes;  // lane -> entries, sorted by order
  for (std::size_t i = 0; i < s.entries.size(); ++i) lanes[s.entries[i].lane].push_back(i);
  for (auto& [lane, members] : lanes) {
    std::stable_sort(members.begin(), members.end(),
                     [&](std::size_t a, std::size_t b) { return s.entries[a].order < s.entries[b].order; });
    for (std::size_t k = 0; k < members.size(); ++k) {
      const ScheduleEntry& e = s.entries[members[k]];
      if (e.order == static_cast<std::int64_t>(k)) continue;
      if (k > 0 && s.entries[members[k - 1]].order == e.order) {
        throw Error(entry_where(origin, members[k]),
                    "operators '" + s.entries[members[k - 1]].op + "' and '" + e.op + "' both have order " +
                        std::to_string(e.order) + " on lane '" + lane + "'");
      }
      throw Error(entry_where(origin, members[k]),
                  "lane '" + lane + "' has no operator at order " + std::to_string(k) + " (its " +
                      std::to_string(members.size()) + " operators must have orders 0.." +
                      std::to_string(members.size() - 1) + "; the next one is '" + e.op + "' at order " +
                      std::to_string(e.order) + ")");
    }
  }

  // Dependencies within a lane: a lane runs its operators one at a time in order, so an
  // operator placed before one of its producers on the same lane can never start.
  for (std::size_t i = 0; i < s.entries.size(); ++i) {
    const ScheduleEntry& e = s.entries[i];
    for (OpId p : g.predecessors(op_of[i])) {
      const ScheduleEntry& pe = s.entries[*entry_of[p]];
      if (pe.lane == e.lane && pe.order > e.order) {
        throw Error(entry_where(origin, i),
                    "lane order of '" + e.op + "' on lane '" + e.lane + "' conflicts with its dependency on '" +
                        pe.op + "': '" + e.op + "' is at order " + std::to_string(e.order) +
                        " but consumes an output of '" + pe.op + "' at order " + std::to_string(pe.order));
      }
    }
  }

  // Across lanes: data edges plus lane-order edges must stay acyclic, otherwise lanes wait
  // on each other forever. Iterative DFS (models have thousands of operators).
  std::vector<std::optional<OpId>> lane_next(n);
  for (const auto& [lane, members] : lanes) {
    for (std::size_t k = 0; k + 1 < members.size(); ++k) lane_next[op_of[members[k]]] = op_of[members[k + 1]];
  }
  std::vector<std::vector<OpId>> next(n);
  for (OpId id = 0; id < n; ++id) {
    next[id] = g.successors(id);
    if (lane_next[id] && std::find(next[id].begin(), next[id].end(), *lane_next[id]) == next[id].end()) {
      next[id].push_back(*lane_next[id]);
    }
  }
  enum class Color : unsigned char { white, grey, black };
  std::vector<Color> color(n, Color::white);
  std::vector<std::pair<OpId, std::size_t>> stack;  // (operator, next edge to follow)
  for (OpId start = 0; start < n; ++start) {
    if (color[start] != Color::white) continue;
    stack.emplace_back(start, 0);
    color[start] = Color::grey;
    while (!stack.empty()) {
      auto& [u, edge] = stack.back();
      if (edge == next[u].size()) {
        color[u] = Color::black;
        stack.pop_back();
        continue;
      }
      OpId v = next[u][edge++];
      if (color[v] == Color::white) {
        color[v] = Color::grey;
        stack.emplace_back(v, 0);
        continue;
      }
      if (color[v] == Color::black) continue;
      // Cycle v -> ... -> u -> v. It holds a lane edge that is not also a data edge (the data
      // graph alone is acyclic); name that one: its source waits on its lane for an operator
      // that, through the rest of the cycle, waits for the source.
      std::vector<OpId> cycle;
      auto from = std::find_if(stack.begin(), stack.end(), [&](const auto& f) { return f.first == v; });
      for (auto it = from; it != stack.end(); ++it) cycle.push_back(it->first);
      const auto data_edge = [&](OpId a, OpId b) {
        const auto succ = g.successors(a);
        return std::binary_search(succ.begin(), succ.end(), b);
      };
      for (std::size_t k = 0; k < cycle.size(); ++k) {
        OpId a = cycle[k];
        OpId b = cycle[(k + 1) % cycle.size()];
        if (lane_next[a] != b || data_edge(a, b)) continue;
        std::string path = "'" + g.op(b).name + "'";
        for (std::size_t j = 1; j < cycle.size(); ++j) {
          OpId from_op = cycle[(k + j) % cycle.size()];
          OpId to_op = cycle[(k + j + 1) % cycle.size()];
          const bool by_lane = lane_next[from_op] == to_op && !data_edge(from_op, to_op);
          path += std::string(by_lane ? " -lane-> '" : " -> '") + g.op(to_op).name + "'";
        }
        const ScheduleEntry& ea = s.entries[*entry_of[a]];
        throw Error(entry_where(origin, *entry_of[a]),
                    "lane order of '" + ea.op + "' on lane '" + ea.lane + "' conflicts with its dependency on '" +
                        g.op(b).name + "': '" + ea.op + "' comes before '" + g.op(b).name +
                        "' on that lane but waits for it through other lanes (deadlock: " + path + ")");
      }
      // Unreachable: a cycle made of data edges only would have failed Graph::finalize().
      throw Error(origin, "dependency cycle through operator '" + g.op(v).name + "'");
    }
  }

  // Fusions: a group is a root plus the operators fused into it, forming a producer-consumer
  // chain that runs back to back on the root's lane.
  std::map<std::size_t, std::vector<std::size_t>> groups;  // root entry -> member entries
  for (std::size_t i = 0; i < s.entries.size(); ++i) {
    const ScheduleEntry& e = s.entries[i];
    if (!e.fuse_with) continue;
    const std::string& root = *e.fuse_with;
    if (root == e.op) throw Error(entry_where(origin, i), "operator '" + e.op + "' cannot be fused with itself");
    auto root_id = g.find_op(root);
    if (!root_id) {
      throw Error(entry_where(origin, i),
                  "operator '" + e.op + "' is fused with unknown operator '" + root + "'");
    }
    const std::size_t ri = *entry_of[*root_id];
    const ScheduleEntry& re = s.entries[ri];
    if (re.lane != e.lane) {
      throw Error(entry_where(origin, i), "operator '" + e.op + "' on lane '" + e.lane + "' is fused with '" + root +
                                              "' on lane '" + re.lane + "': fused operators share one lane");
    }
    if (re.fuse_with) {
      throw Error(entry_where(origin, i), "operator '" + e.op + "' is fused with '" + root +
                                              "', which is itself fused with '" + *re.fuse_with +
                                              "': fuse with the group's root '" + *re.fuse_with + "' instead");
    }
    groups[ri].push_back(i);
  }
  for (const auto& [ri, members] : groups) {
    const ScheduleEntry& re = s.entries[ri];
    std::set<OpId> in_group = {op_of[ri]};
    for (std::size_t m : members) in_group.insert(op_of[m]);
    for (std::size_t m : members) {
      const auto preds = g.predecessors(op_of[m]);
      if (std::none_of(preds.begin(), preds.end(), [&](OpId p) { return in_group.count(p) != 0; })) {
        throw Error(entry_where(origin, m),
                    "operator '" + s.entries[m].op + "' is fused with '" + re.op + "' but consumes no output of '" +
                        re.op + "' or of another operator of its group (a fusion group is a producer-consumer chain)");
      }
    }
    // The group occupies orders root, root+1, ..., root+|members| of its lane.
    const auto& lane = lanes.at(re.lane);  // sorted by order, orders are 0..k-1
    std::vector<std::size_t> by_order = members;
    std::sort(by_order.begin(), by_order.end(),
              [&](std::size_t a, std::size_t b) { return s.entries[a].order < s.entries[b].order; });
    for (std::size_t k = 0; k < by_order.size(); ++k) {
      const std::int64_t expected = re.order + 1 + static_cast<std::int64_t>(k);
      const ScheduleEntry& me = s.entries[by_order[k]];
      if (me.order == expected) continue;
      std::string what = "fusion group of '" + re.op + "' must occupy consecutive orders " +
                         std::to_string(re.order) + ".." + std::to_string(re.order + static_cast<std::int64_t>(members.size())) +
                         " on lane '" + re.lane + "' starting with '" + re.op + "', but '" + me.op + "' is at order " +
                         std::to_string(me.order);
      if (me.order > expected && static_cast<std::size_t>(expected) < lane.size()) {
        what += " and '" + s.entries[lane[static_cast<std::size_t>(expected)]].op + "' (not in the group) is at order " +
                std::to_string(expected);
      }
      throw Error(entry_where(origin, by_order[k]), what);
    }
  }
}

}  // namespace sparoa::graph

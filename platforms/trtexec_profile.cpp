#include "platforms/trtexec_profile.hpp"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cmath>
#include <fstream>
#include <map>
#include <sstream>

#include "platforms/cost_model.hpp"
#include "platforms/op_class.hpp"
#include "support/error.hpp"
#include "support/read_file.hpp"

namespace sparoa::platforms {

double TrtProfile::average_total_ms() const {
  double s = 0;
  for (const auto& l : layers) s += l.average_ms;
  return s;
}

TrtProfile read_trtexec_profile(const std::filesystem::path& path) {
  const std::string origin = path.string();
  const std::string text = read_text_file(path, kMaxTextInputBytes, "trtexec profile");
  nlohmann::json j;
  try {
    j = nlohmann::json::parse(text);
  } catch (const nlohmann::json::exception& e) {
    std::string what = e.what();
    throw Error(origin, "not JSON (" + what.substr(what.find(' ') + 1) + ")");
  }
  if (!j.is_array() || j.empty()) throw Error(origin, "expected a JSON array as trtexec --exportProfile writes it");
  if (!j[0].is_object() || !j[0].contains("count") || !j[0]["count"].is_number_integer() || j[0]["count"].get<std::int64_t>() < 1) {
    throw Error(origin, "the first element must be {\"count\": N} with N >= 1");
  }
  TrtProfile p;
  p.origin = origin;
  p.count = j[0]["count"].get<std::int64_t>();
  for (std::size_t i = 1; i < j.size(); ++i) {
    const auto& e = j[i];
    const std::string where = origin + ": layer " + std::to_string(i);
    if (!e.is_object()) throw Error(where, "not an object");
    if (!e.contains("name") || !e["name"].is_string() || e["name"].get<std::string>().empty()) throw Error(where, "no \"name\"");
    TrtLayer l;
    l.name = e["name"].get<std::string>();
    auto number = [&](const char* key, bool required) -> std::optional<double> {
      if (!e.contains(key)) {
        if (required) throw Error(where + " ('" + l.name + "')", std::string("no \"") + key + "\"");
        return std::nullopt;
      }
      if (!e[key].is_number()) throw Error(where + " ('" + l.name + "')", std::string("\"") + key + "\" is not a number");
      const double v = e[key].get<double>();
      if (!(v >= 0) || v > 1e12) throw Error(where + " ('" + l.name + "')", std::string("\"") + key + "\" must be a finite time >= 0");
      return v;
    };
    l.total_ms = *number("timeMs", true);
    l.average_ms = *number("averageMs", true);
    l.median_ms = number("medianMs", false);
    l.percentage = number("percentage", false).value_or(0);
    p.layers.push_back(std::move(l));
  }
  if (p.layers.empty()) throw Error(origin, "no layers after the count");
  return p;
}

namespace {

// The node names a layer name mentions: split at " + ", unwrap "PWN(...)" and split its
// comma-separated list.
std::vector<std::string> names_in(const std::string& layer) {
  std::vector<std::string> out;
  std::string rest = layer;
  std::size_t at = 0;
  std::vector<std::string> parts;
  for (std::size_t next; (next = rest.find(" + ", at)) != std::string::npos; at = next + 3) parts.push_back(rest.substr(at, next - at));
  parts.push_back(rest.substr(at));
  for (std::string part : parts) {
    while (part.rfind("PWN(", 0) == 0 && part.size() > 5 && part.back() == ')') part = part.substr(4, part.size() - 5);
    std::stringstream list(part);
    for (std::string name; std::getline(list, name, ',');) {
      const auto b = name.find_first_not_of(' ');
      const auto e = name.find_last_not_of(' ');
      if (b != std::string::npos) out.push_back(name.substr(b, e - b + 1));
    }
  }
  return out;
}

}  // namespace

TrtMatch match_trtexec_layers(const TrtProfile& profile, const graph::Graph& g, const std::string& lane, const std::string& device) {
  std::map<std::string, std::size_t> position;  // node name -> topological position
  const auto order = g.topological_order();
  for (std::size_t i = 0; i < order.size(); ++i) position[g.op(order[i]).name] = i;
  std::map<std::size_t, std::pair<double, std::string>> by_op;  // position -> (average ms, layer names)
  TrtMatch m;
  for (const auto& l : profile.layers) {
    m.total_ms += l.average_ms;
    std::optional<std::size_t> first;
    // Layers TensorRT inserts itself name the nodes they feed ("Reformatting CopyNode for
    // Input Tensor 0 to conv1 + relu1"): not the nodes' own work.
    const bool inserted = l.name.rfind("Reformatting ", 0) == 0;
    for (const auto& n : inserted ? std::vector<std::string>{} : names_in(l.name)) {
      auto it = position.find(n);
      if (it != position.end() && (!first || it->second < *first)) first = it->second;
    }
    if (!first) {
      m.unmatched.push_back(l.name);
      continue;
    }
    auto& slot = by_op[*first];
    slot.first += l.median_ms.value_or(l.average_ms);
    slot.second += (slot.second.empty() ? "" : "; ") + l.name;
    m.matched_ms += l.average_ms;
  }
  const auto demands = op_demands(g);
  for (const auto& [pos, time] : by_op) {
    const graph::OpId id = order[pos];
    const graph::Operator& op = g.op(id);
    ProfileRow row;
    row.model = g.name;
    row.op = op.name;
    row.op_type = op.type;
    row.op_class = std::string(to_string(op_class(op, g)));
    row.kernel = "dense";
    row.implementation = "tensorrt: " + time.second;
    row.batch = g.batch;
    row.lane = lane;
    row.device = device;
    row.threads = 1;  // the host thread that launches
    row.flops = op.features.flops;
    row.bytes = op.features.bytes;
    row.weight_bytes = demands[id].weight_bytes;
    row.weight_sparsity = op.features.weight_sparsity;
    row.repetitions = int(std::min<std::int64_t>(profile.count, 1 << 30));
    // trtexec reports no spread: every quantile is its median (or average before 8.4).
    const double us = std::max(0.001, std::round(time.first * 1e7) / 1e4);  // ms -> us, to 0.1 ns
    row.median_us = row.p10_us = row.p90_us = row.min_us = us;
    m.rows.push_back(row);
  }
  return m;
}

}  // namespace sparoa::platforms

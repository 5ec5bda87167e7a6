#include "platforms/profile.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <fstream>
#include <map>
#include <sstream>

#include "platforms/op_class.hpp"
#include "support/atomic_file.hpp"
#include "support/error.hpp"
#include "support/read_file.hpp"
#include "support/sha256.hpp"

namespace sparoa::platforms {

namespace {

constexpr std::array<std::string_view, 21> kColumns = {
    "model",     "op",          "op_type",    "op_class", "kernel", "implementation", "batch",
    "lane",      "device",      "threads",    "flops",    "bytes",  "weight_bytes",   "weight_sparsity",
    "cold_cache", "corun",      "repetitions", "median_us", "p10_us", "p90_us",        "min_us"};

std::string csv_field(const std::string& s) {
  if (s.find_first_of(",\"\n\r") == std::string::npos) return s;
  std::string out = "\"";
  for (char c : s) {
    if (c == '"') out += '"';
    out += c;
  }
  return out + "\"";
}

std::string one_line(std::string s) {
  for (char& c : s) {
    if (c == '\n' || c == '\r') c = ' ';
  }
  return s;
}

// Splits one CSV line (RFC 4180 quotes, no embedded newlines: our writer never emits them).
std::vector<std::string> split_csv(const std::string& line, const std::string& where) {
  std::vector<std::string> out(1);
  bool quoted = false;
  for (std::size_t i = 0; i < line.size(); ++i) {
    const char c = line[i];
    if (quoted) {
      if (c == '"' && i + 1 < line.size() && line[i + 1] == '"') {
        out.back() += '"';
        ++i;
      } else if (c == '"') {
        quoted = false;
      } else {
        out.back() += c;
      }
    } else if (c == '"') {
      quoted = true;
    } else if (c == ',') {
      out.emplace_back();
    } else {
      out.back() += c;
    }
  }
  if (quoted) throw Error(where, "unterminated quoted field");
  return out;
}

double to_number(const std::string& text, const std::string& where, std::string_view column) {
  double v = 0;
  const char* end = text.data() + text.size();
  const auto [ptr, ec] = std::from_chars(text.data(), end, v);
  if (text.empty() || ec != std::errc() || ptr != end || !std::isfinite(v)) {
    throw Error(where, fmt::format("column {}: '{}' is not a number", column, text));
  }
  return v;
}

std::int64_t to_integer(const std::string& text, const std::string& where, std::string_view column) {
  std::int64_t v = 0;
  const char* end = text.data() + text.size();
  const auto [ptr, ec] = std::from_chars(text.data(), end, v);
  if (text.empty() || ec != std::errc() || ptr != end) {
    throw Error(where, fmt::format("column {}: '{}' is not an integer", column, text));
  }
  return v;
}

bool to_flag(const std::string& text, const std::string& where, std::string_view column) {
  if (text == "0") return false;
  if (text == "1") return true;
  throw Error(where, fmt::format("column {}: '{}' is not 0 or 1", column, text));
}

}  // namespace

std::string profile_csv_text(const ProfileHeader& h, const std::vector<ProfileRow>& rows) {
  std::ostringstream out;
  out << "# sparoa profile\n";
  const std::array<const std::string*, kProfileHeaderKeys.size()> values = {
      &h.machine, &h.cpu_model, &h.date, &h.platform, &h.power_mode, &h.clocks, &h.git_revision, &h.onednn_version,
      &h.model_sha256, &h.timing};
  for (std::size_t i = 0; i < values.size(); ++i) out << "# " << kProfileHeaderKeys[i] << ": " << one_line(*values[i]) << '\n';
  for (std::size_t i = 0; i < kColumns.size(); ++i) out << (i ? "," : "") << kColumns[i];
  out << '\n';
  // Shortest text that reads back to the same double: a profile round-trips exactly.
  for (const auto& r : rows) {
    out << fmt::format("{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{}\n", csv_field(r.model),
                       csv_field(r.op), csv_field(r.op_type), r.op_class, r.kernel, csv_field(r.implementation), r.batch,
                       csv_field(r.lane), csv_field(r.device), r.threads, r.flops, r.bytes, r.weight_bytes,
                       r.weight_sparsity, r.cold_cache ? 1 : 0, r.corun ? 1 : 0, r.repetitions, r.median_us, r.p10_us,
                       r.p90_us, r.min_us);
  }
  return out.str();
}

void write_profile_csv(const std::filesystem::path& path, const ProfileHeader& header, const std::vector<ProfileRow>& rows) {
  write_file_atomically(path, profile_csv_text(header, rows));
}

Profile parse_profile_csv(const std::string& text, const std::string& origin) {
  Profile p;
  p.origin = origin;
  p.sha256 = sha256_hex(text);
  std::istringstream in(text);
  std::string line;
  std::size_t line_no = 0;
  auto at = [&] { return fmt::format("{}:{}", origin, line_no); };

  if (!std::getline(in, line) || (++line_no, line != "# sparoa profile")) {
    throw Error(origin + ":1", "not a sparoa profile (the first line must be '# sparoa profile')");
  }
  std::map<std::string, std::string> header;
  bool have_columns = false;
  while (std::getline(in, line)) {
    ++line_no;
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (line.rfind("# ", 0) == 0) {
      const auto colon = line.find(": ");
      const std::string key = line.substr(2, colon == std::string::npos ? std::string::npos : colon - 2);
      if (colon == std::string::npos && line.size() > 2 && line.back() == ':') {
        header[line.substr(2, line.size() - 3)] = "";
        continue;
      }
      if (colon == std::string::npos) throw Error(at(), "header line '" + line + "' is not '# key: value'");
      if (std::find(kProfileHeaderKeys.begin(), kProfileHeaderKeys.end(), key) == kProfileHeaderKeys.end()) {
        throw Error(at(), "unknown header key '" + key + "'");
      }
      header[key] = line.substr(colon + 2);
      continue;
    }
    const auto fields = split_csv(line, at());
    if (fields.size() != kColumns.size() ||
        !std::equal(fields.begin(), fields.end(), kColumns.begin(), [](const std::string& a, std::string_view b) { return a == b; })) {
      throw Error(at(), fmt::format("the column row must be {}", fmt::join(kColumns, ",")));
    }
    have_columns = true;
    break;
  }
  if (!have_columns) throw Error(origin, "no column row: the profile is empty or truncated");
  for (std::string_view key : kProfileHeaderKeys) {
    // Clocks are empty where the machine does not expose them; every other key must be there.
    if (!header.count(std::string(key))) throw Error(origin, fmt::format("header key '{}' is missing", key));
    if (key != "clocks" && key != "git_revision" && header[std::string(key)].empty()) {
      throw Error(origin, fmt::format("header key '{}' is empty", key));
    }
  }
  ProfileHeader& h = p.header;
  h.machine = header["machine"];
  h.cpu_model = header["cpu_model"];
  h.date = header["date"];
  h.platform = header["platform"];
  h.power_mode = header["power_mode"];
  h.clocks = header["clocks"];
  h.git_revision = header["git_revision"];
  h.onednn_version = header["onednn_version"];
  h.model_sha256 = header["model_sha256"];
  h.timing = header["timing"];
  if (h.timing != "isolated" && h.timing != "in-context") {
    throw Error(origin, "header key 'timing': '" + h.timing + "' is not isolated or in-context");
  }

  while (std::getline(in, line)) {
    ++line_no;
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (line.empty()) continue;
    const std::string where = at();
    const auto f = split_csv(line, where);
    if (f.size() != kColumns.size()) {
      throw Error(where, fmt::format("{} fields, the header has {} columns", f.size(), kColumns.size()));
    }
    ProfileRow r;
    r.model = f[0];
    r.op = f[1];
    r.op_type = f[2];
    r.op_class = f[3];
    OpClass cls{};
    if (!parse_op_class(r.op_class, cls)) throw Error(where, "column op_class: unknown class '" + r.op_class + "'");
    r.kernel = f[4];
    if (r.kernel != "dense" && r.kernel != "sparse") throw Error(where, "column kernel: '" + r.kernel + "' is not dense or sparse");
    r.implementation = f[5];
    r.batch = to_integer(f[6], where, "batch");
    if (r.batch < 1) throw Error(where, "column batch: must be at least 1");
    r.lane = f[7];
    r.device = f[8];
    if (r.op.empty() || r.lane.empty() || r.device.empty()) throw Error(where, "columns op, lane and device must not be empty");
    r.threads = int(to_integer(f[9], where, "threads"));
    if (r.threads < 1) throw Error(where, "column threads: must be at least 1");
    r.flops = to_number(f[10], where, "flops");
    r.bytes = to_number(f[11], where, "bytes");
    r.weight_bytes = to_number(f[12], where, "weight_bytes");
    r.weight_sparsity = to_number(f[13], where, "weight_sparsity");
    if (r.flops < 0 || r.bytes < 0 || r.weight_bytes < 0 || r.weight_bytes > r.bytes) {
      throw Error(where, "columns flops, bytes, weight_bytes: must be non-negative with weight_bytes <= bytes");
    }
    if (r.weight_sparsity < 0 || r.weight_sparsity > 1) throw Error(where, "column weight_sparsity: must be in [0, 1]");
    r.cold_cache = to_flag(f[14], where, "cold_cache");
    r.corun = to_flag(f[15], where, "corun");
    r.repetitions = int(to_integer(f[16], where, "repetitions"));
    if (r.repetitions < 1) throw Error(where, "column repetitions: must be at least 1");
    r.median_us = to_number(f[17], where, "median_us");
    r.p10_us = to_number(f[18], where, "p10_us");
    r.p90_us = to_number(f[19], where, "p90_us");
    r.min_us = to_number(f[20], where, "min_us");
    if (!(r.median_us > 0) || !(r.min_us > 0) || r.min_us > r.median_us) {
      throw Error(where, "columns median_us, min_us: times must be positive with min_us <= median_us");
    }
    p.rows.push_back(std::move(r));
  }
  if (p.rows.empty()) throw Error(origin, "no rows: the profile holds no measurement");
  return p;
}

Profile read_profile_csv(const std::filesystem::path& path) {
  return parse_profile_csv(read_text_file(path, kMaxTextInputBytes, "profile"), path.string());
}

}  // namespace sparoa::platforms

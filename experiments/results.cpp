#include "experiments/results.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <set>

#include "support/atomic_file.hpp"
#include "support/error.hpp"

namespace sparoa::experiments {
namespace fs = std::filesystem;

std::vector<std::string> kept_output_columns(const Experiment& e) {
  const CommandSpec& spec = command_spec(e.command, e.file.string());
  // An output named like a setting of this experiment repeats it (the key column wins).
  std::set<std::string> keys;
  for (const auto& s : e.matrix) keys.insert(s.key);
  for (const auto& s : e.fixed) keys.insert(s.key);
  std::vector<std::string> out;
  for (const auto& c : spec.columns) {
    if (keys.count(c)) continue;
    if (!e.metrics.empty() && std::find(e.metrics.begin(), e.metrics.end(), c) == e.metrics.end()) continue;
    out.push_back(c);
  }
  return out;
}

std::vector<std::string> results_header(const Experiment& e) {
  std::vector<std::string> h = kLeadColumns;
  for (const auto& s : e.matrix) h.push_back(s.key);
  for (const auto& s : e.fixed) h.push_back(s.key);
  for (const auto& c : kept_output_columns(e)) h.push_back(c);
  h.insert(h.end(), kProvenanceColumns.begin(), kProvenanceColumns.end());
  return h;
}

std::string csv_field(const std::string& s) {
  if (s.find_first_of(",\"\r\n") == std::string::npos && (s.empty() || s.front() != ' ')) return s;
  std::string q = "\"";
  for (char c : s) {
    if (c == '"') q += '"';
    q += (c == '\n' || c == '\r') ? ' ' : c;
  }
  return q + "\"";
}

std::string csv_line(const std::vector<std::string>& fields) {
  std::string line;
  for (std::size_t i = 0; i < fields.size(); ++i) {
    if (i) line += ',';
    line += csv_field(fields[i]);
  }
  return line + "\n";
}

std::vector<std::string> split_csv_line(const std::string& line, const std::string& where) {
  std::vector<std::string> out;
  std::string cur;
  bool quoted = false, was_quoted = false;
  for (std::size_t i = 0; i < line.size(); ++i) {
    const char c = line[i];
    if (quoted) {
      if (c == '"' && i + 1 < line.size() && line[i + 1] == '"') {
        cur += '"';
        ++i;
      } else if (c == '"') {
        quoted = false;
      } else {
        cur += c;
      }
    } else if (c == '"' && cur.empty() && !was_quoted) {
      quoted = was_quoted = true;
    } else if (c == ',') {
      out.push_back(std::move(cur));
      cur.clear();
      was_quoted = false;
    } else if (c != '\r') {
      cur += c;
    }
  }
  if (quoted) throw Error(where, "unterminated quoted field");
  out.push_back(std::move(cur));
  return out;
}

ResultsFile read_results(const fs::path& file, const std::vector<std::string>& header) {
  ResultsFile r;
  std::ifstream in(file, std::ios::binary);
  if (!in) return r;
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  if (text.empty()) return r;
  std::size_t pos = 0, line_no = 0;
  bool have_header = false;
  std::vector<std::vector<std::string>> rows;
  while (pos < text.size()) {
    const std::size_t nl = text.find('\n', pos);
    if (nl == std::string::npos) {  // a write cut short by a kill: not a record
      ++r.dropped_rows;
      break;
    }
    const std::string line = text.substr(pos, nl - pos);
    pos = nl + 1;
    ++line_no;
    const std::string where = file.string() + ":" + std::to_string(line_no);
    if (!have_header) {
      if (split_csv_line(line, where) != header) {
        throw Error(file.string(), "its columns differ from this experiment's: it was written by another experiment "
                                   "or another version of sparoa (use another --out folder)");
      }
      have_header = true;
      continue;
    }
    auto fields = split_csv_line(line, where);
    if (fields.size() != header.size()) {
      ++r.dropped_rows;
      continue;
    }
    rows.push_back(std::move(fields));
  }
  // Group consecutive rows into cells (a block is contiguous: one writer per file).
  std::set<std::string> seen;
  for (std::size_t i = 0; i < rows.size();) {
    const std::string id = rows[i][0];
    std::size_t n = 0;
    try {
      n = std::stoul(rows[i][2]);
    } catch (const std::exception&) {
      n = 0;
    }
    std::size_t j = i;
    while (j < rows.size() && rows[j][0] == id && j - i < n && rows[j][1] == std::to_string(j - i)) ++j;
    if (n == 0 || j - i != n) {
      r.dropped_rows += std::max<std::size_t>(1, j - i);
      i = std::max(j, i + 1);
      continue;
    }
    if (seen.insert(id).second) {
      CellRows c;
      c.id = id;
      c.ok = rows[i][3] == "ok";
      c.rows.assign(rows.begin() + std::ptrdiff_t(i), rows.begin() + std::ptrdiff_t(j));
      r.cells.push_back(std::move(c));
    } else {
      ++r.duplicate_cells;
    }
    i = j;
  }
  return r;
}

void write_results(const fs::path& file, const std::vector<std::string>& header, const std::vector<CellRows>& cells) {
  AtomicFile f(file);
  f.stream() << csv_line(header);
  for (const auto& c : cells) {
    for (const auto& row : c.rows) f.stream() << csv_line(row);
  }
  f.commit();
}

void append_block(const fs::path& file, const std::vector<std::string>& header, const std::string& block) {
  if (file.has_parent_path()) fs::create_directories(file.parent_path());
  const int fd = ::open(file.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
  if (fd < 0) throw Error(file.string(), std::string("cannot open for appending: ") + std::strerror(errno));
  struct stat st {};
  std::string data = block;
  if (::fstat(fd, &st) == 0 && st.st_size == 0) data = csv_line(header) + block;
  std::size_t done = 0;
  while (done < data.size()) {
    const ssize_t n = ::write(fd, data.data() + done, data.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      const int err = errno;
      ::close(fd);
      throw Error(file.string(), std::string("cannot append: ") + std::strerror(err));
    }
    done += std::size_t(n);
  }
  ::fsync(fd);
  ::close(fd);
}

std::map<std::string, CellRows> recorded_cells(const fs::path& dir, const std::vector<std::string>& header, bool repair) {
  std::vector<fs::path> files = {dir / "results.csv"};
  std::error_code ec;
  if (fs::is_directory(dir / "shards", ec)) {
    std::vector<fs::path> shards;
    for (const auto& entry : fs::directory_iterator(dir / "shards")) {
      if (entry.path().extension() == ".csv") shards.push_back(entry.path());
    }
    std::sort(shards.begin(), shards.end());
    files.insert(files.end(), shards.begin(), shards.end());
  }
  std::map<std::string, CellRows> out;
  for (const auto& f : files) {
    ResultsFile r = read_results(f, header);
    // Shard files may still have a writer (a running array task): only results.csv, which
    // has one writer at a time, is ever rewritten.
    if (repair && f == files.front() && (r.dropped_rows > 0 || r.duplicate_cells > 0)) write_results(f, header, r.cells);
    for (auto& c : r.cells) {
      auto it = out.find(c.id);
      if (it == out.end() || (!it->second.ok && c.ok)) out[c.id] = std::move(c);
    }
  }
  return out;
}

}  // namespace sparoa::experiments

#include "experiments/results.hpp"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <iostream>
#include <map>
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
    std::vector<std::string> fields;
    try {
      fields = split_csv_line(line, where);
    } catch (const Error&) {  // a line that a cut write joined to the next: not a record
      ++r.dropped_rows;
      continue;
    }
    if (fields.size() != header.size()) {
      ++r.dropped_rows;
      continue;
    }
    rows.push_back(std::move(fields));
  }
  // Records: the rows 0..n-1 of one cell, in order. A row 0 opens a record; a record that does
  // not reach n rows (cut short by a kill) is dropped. Rows need not be adjacent, so a record
  // survives another writer's rows between its lines.
  std::map<std::string, std::vector<std::vector<std::string>>> open;
  std::map<std::string, std::size_t> index;  // cell id -> position in r.cells
  auto row_number = [](const std::string& s) -> long {
    if (s.empty() || s.size() > 9 || s.find_first_not_of("0123456789") != std::string::npos) return -1;
    return std::stol(s);
  };
  for (auto& row : rows) {
    const std::string id = row[0];
    const long k = row_number(row[1]), n = row_number(row[2]);
    auto it = open.find(id);
    if (k < 0 || n <= 0 || k >= n) {
      ++r.dropped_rows;
      continue;
    }
    if (k == 0) {
      if (it != open.end()) {
        r.dropped_rows += it->second.size();
        open.erase(it);
      }
      it = open.emplace(id, std::vector<std::vector<std::string>>{}).first;
    } else if (it == open.end() || long(it->second.size()) != k || it->second.front()[2] != row[2]) {
      ++r.dropped_rows;
      continue;
    }
    it->second.push_back(std::move(row));
    if (long(it->second.size()) < n) continue;
    CellRows c;
    c.id = id;
    c.ok = it->second.front()[3] == "ok";
    c.rows = std::move(it->second);
    open.erase(it);
    const auto seen = index.find(id);
    if (seen == index.end()) {
      index[id] = r.cells.size();
      r.cells.push_back(std::move(c));
    } else {
      // A later record of a cell (a retry): it replaces a failed one, else it is redundant.
      ++r.duplicate_cells;
      if (!r.cells[seen->second].ok && c.ok) r.cells[seen->second] = std::move(c);
    }
  }
  for (const auto& [id, rest] : open) r.dropped_rows += rest.size();
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
  const int fd = ::open(file.c_str(), O_RDWR | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
  if (fd < 0) throw Error(file.string(), std::string("cannot open for appending: ") + std::strerror(errno));
  struct stat st {};
  std::string data = block;
  if (::fstat(fd, &st) == 0 && st.st_size == 0) {
    data = csv_line(header) + block;
  } else if (st.st_size > 0) {
    // A torn last line (a writer killed mid-write) must not swallow this block's first row.
    char last = '\n';
    if (::pread(fd, &last, 1, st.st_size - 1) == 1 && last != '\n') data = "\n" + block;
  }
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

FolderLock::FolderLock(const fs::path& dir) {
  fs::create_directories(dir);
  const fs::path f = dir / ".lock";
  fd_ = ::open(f.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if (fd_ < 0) throw Error(f.string(), std::string("cannot open: ") + std::strerror(errno));
  if (::flock(fd_, LOCK_EX | LOCK_NB) != 0) {
    ::close(fd_);
    fd_ = -1;
    throw Error(dir.string(), "another sparoa sweep, collect or submission is using this folder; wait for it to end");
  }
}

FolderLock::~FolderLock() {
  if (fd_ >= 0) ::close(fd_);  // closing releases the lock
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
    if (repair && f == files.front() && (r.dropped_rows > 0 || r.duplicate_cells > 0)) {
      // Rows dropped: say so, and keep the file as it was (never a silent loss). Records
      // superseded by a later one of the same cell (a retry) go without a word.
      if (r.dropped_rows > 0) {
        fs::copy_file(f, fs::path(f.string() + ".bak"), fs::copy_options::overwrite_existing);
        std::cerr << "sparoa: " << f.string() << ": dropped " << r.dropped_rows
                  << " rows of cells cut short (those cells run again); the file as it was is in " << f.string()
                  << ".bak\n";
      }
      write_results(f, header, r.cells);
    }
    for (auto& c : r.cells) {
      auto it = out.find(c.id);
      if (it == out.end() || (!it->second.ok && c.ok)) out[c.id] = std::move(c);
    }
  }
  return out;
}

}  // namespace sparoa::experiments

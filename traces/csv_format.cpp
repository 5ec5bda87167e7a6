#include "traces/csv_format.hpp"

#include <array>
#include <charconv>
#include <cmath>
#include <system_error>

#include "support/error.hpp"

namespace sparoa::traces::detail {

std::string format_number(double v) {
  std::array<char, 64> buffer{};
  auto [end, ec] = std::to_chars(buffer.data(), buffer.data() + buffer.size(), v);
  // 64 characters hold any double's shortest form; failure would be a library bug.
  if (ec != std::errc()) throw Error("", "cannot format a number");
  return std::string(buffer.data(), end);
}

std::string format_number(std::int64_t v) { return std::to_string(v); }

void append_field(std::string& line, std::string_view value) {
  if (value.find_first_of(",\"\r\n") == std::string_view::npos) {
    line += value;
    return;
  }
  line += '"';
  for (char c : value) {
    if (c == '"') line += '"';
    line += c;
  }
  line += '"';
}

std::string join_fields(std::span<const std::string_view> values) {
  std::string line;
  for (std::size_t i = 0; i < values.size(); ++i) {
    if (i > 0) line += ',';
    append_field(line, values[i]);
  }
  return line;
}

std::optional<double> parse_double(std::string_view text) {
  double v = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (text.empty() || ec != std::errc() || end != text.data() + text.size()) return std::nullopt;
  return v;
}

std::optional<std::int64_t> parse_int64(std::string_view text) {
  std::int64_t v = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (text.empty() || ec != std::errc() || end != text.data() + text.size()) return std::nullopt;
  return v;
}

SplitLine split_line(std::string_view line) {
  SplitLine out;
  std::size_t i = 0;
  const std::size_t n = line.size();
  while (true) {
    std::string field;
    const std::size_t index = out.fields.size();
    if (i < n && line[i] == '"') {
      ++i;
      bool closed = false;
      while (i < n) {
        if (line[i] == '"') {
          if (i + 1 < n && line[i + 1] == '"') {
            field += '"';
            i += 2;
            continue;
          }
          ++i;
          closed = true;
          break;
        }
        field += line[i++];
      }
      if (!closed) {
        out.error = "unterminated quoted field";
        out.error_field = index;
        return out;
      }
      if (i < n && line[i] != ',') {
        out.error = "text after the closing quote of a quoted field";
        out.error_field = index;
        return out;
      }
    } else {
      const std::size_t comma = line.find(',', i);
      const std::size_t stop = comma == std::string_view::npos ? n : comma;
      field.assign(line.substr(i, stop - i));
      i = stop;
      if (field.find('"') != std::string::npos) {
        out.error = "a quote in an unquoted field (RFC 4180: quote the whole field, double the quote)";
        out.error_field = index;
        return out;
      }
    }
    out.fields.push_back(std::move(field));
    if (i >= n) return out;
    ++i;  // the comma; a comma at the very end starts one more, empty field
    if (i == n) {
      out.fields.emplace_back();
      return out;
    }
  }
}

std::string quoted_for_message(std::string_view text) {
  constexpr std::size_t kMax = 60;
  if (text.size() <= kMax) return "'" + std::string(text) + "'";
  return "'" + std::string(text.substr(0, kMax)) + "...'";
}

CsvInput::CsvInput(std::istream& in, std::string name, std::span<const std::string_view> columns)
    : in_(in), name_(std::move(name)), columns_(columns) {
  std::string line;
  while (true) {
    if (!read_line(line)) {
      fail_at(line_ + 1, "missing the header line (expected: " + join_fields(columns_) + ")");
    }
    if (line.empty()) fail_at(line_, "empty line before the header");
    if (line.front() != '#') break;
    comments_.push_back({line_, line.substr(1)});
  }
  SplitLine header = split_line(line);
  if (!header.error.empty()) fail_at(line_, "header: " + header.error);
  const auto& got = header.fields;
  const std::string expected = " (expected header: " + join_fields(columns_) + ")";
  for (std::size_t i = 0; i < got.size() && i < columns_.size(); ++i) {
    if (got[i] != columns_[i]) {
      fail(columns_[i], "the header has " + quoted_for_message(got[i]) + " in its place, position " +
                            std::to_string(i + 1) + expected);
    }
  }
  if (got.size() < columns_.size()) fail(columns_[got.size()], "missing from the header" + expected);
  if (got.size() > columns_.size()) fail(got[columns_.size()], "not a column of this file" + expected);
}

bool CsvInput::read_line(std::string& line) {
  if (!std::getline(in_, line)) return false;
  ++line_;
  if (line_ == 1 && line.starts_with("\xEF\xBB\xBF")) line.erase(0, 3);  // spreadsheet BOM
  if (!line.empty() && line.back() == '\r') line.pop_back();  // CRLF, as RFC 4180 writes it
  return true;
}

bool CsvInput::next_row() {
  std::string line;
  if (!read_line(line)) {
    if (in_.bad()) fail_at(line_ + 1, "read error");
    return false;
  }
  if (line.empty()) fail_at(line_, "empty line");
  SplitLine split = split_line(line);
  if (!split.error.empty()) {
    fail(std::min(split.error_field, columns_.size() - 1), split.error);
  }
  fields_ = std::move(split.fields);
  if (fields_.size() < columns_.size()) {
    fail(fields_.size(), "missing: the line has " + std::to_string(fields_.size()) + " of " +
                             std::to_string(columns_.size()) + " fields (truncated line?)");
  }
  if (fields_.size() > columns_.size()) {
    fail(columns_.size() - 1, "the line has " + std::to_string(fields_.size()) +
                                  " fields, the header " + std::to_string(columns_.size()) +
                                  " (unquoted comma?)");
  }
  return true;
}

double CsvInput::number(std::size_t column) const {
  const std::string& t = fields_[column];
  auto v = parse_double(t);
  if (!v) fail(column, quoted_for_message(t) + " is not a number");
  if (!std::isfinite(*v)) fail(column, quoted_for_message(t) + " is not a finite number");
  return *v;
}

std::int64_t CsvInput::integer(std::size_t column) const {
  const std::string& t = fields_[column];
  auto v = parse_int64(t);
  if (!v) fail(column, quoted_for_message(t) + " is not an integer");
  return *v;
}

void CsvInput::fail(std::size_t column, const std::string& message) const {
  fail(columns_[column], message);
}

void CsvInput::fail(std::string_view column, const std::string& message) const {
  throw Error(name_ + ":" + std::to_string(line_), "column '" + std::string(column) + "': " + message);
}

void CsvInput::fail_at(std::size_t line, const std::string& message) const {
  throw Error(name_ + ":" + std::to_string(line), message);
}

}  // namespace sparoa::traces::detail

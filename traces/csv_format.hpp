#pragma once
// Internal to traces/: the CSV dialect all three trace CSVs share. RFC 4180 quoting, one
// record per physical line (line breaks inside values are refused by the writers), '#' lines
// allowed only before the header, numbers in the shortest form that reads back bit for bit.
#include <cstddef>
#include <cstdint>
#include <istream>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace sparoa::traces::detail {

// Shortest text that parses back to exactly `v` (std::to_chars), e.g. 1500, 0.1, 1e-07.
std::string format_number(double v);
std::string format_number(std::int64_t v);

// Appends `value` as one CSV field, quoted only when it holds a comma or a quote.
void append_field(std::string& line, std::string_view value);
std::string join_fields(std::span<const std::string_view> values);

// Whole-text parses: no spaces, no '+', nothing left over.
std::optional<double> parse_double(std::string_view text);
std::optional<std::int64_t> parse_int64(std::string_view text);

struct SplitLine {
  std::vector<std::string> fields;
  std::string error;            // empty when the line was well formed
  std::size_t error_field = 0;  // index of the field the error is in
};
SplitLine split_line(std::string_view line);

// Reads one of our CSVs: leading comment lines, then a header that must equal `columns`
// exactly, then rows of exactly that many fields. Every error is a sparoa::Error whose
// where() is "name:line" and whose message starts with the column it is about.
class CsvInput {
 public:
  struct Comment {
    std::size_t line;
    std::string text;  // what follows the '#'
  };

  CsvInput(std::istream& in, std::string name, std::span<const std::string_view> columns);

  const std::vector<Comment>& comments() const { return comments_; }
  const std::string& name() const { return name_; }

  // Reads the next row; false at the end of the input.
  bool next_row();
  std::size_t line() const { return line_; }
  const std::string& text(std::size_t column) const { return fields_[column]; }
  double number(std::size_t column) const;        // any finite number
  std::int64_t integer(std::size_t column) const;

  [[noreturn]] void fail(std::size_t column, const std::string& message) const;
  [[noreturn]] void fail(std::string_view column, const std::string& message) const;
  [[noreturn]] void fail_at(std::size_t line, const std::string& message) const;

 private:
  bool read_line(std::string& line);

  std::istream& in_;
  std::string name_;
  std::span<const std::string_view> columns_;
  std::vector<Comment> comments_;
  std::vector<std::string> fields_;
  std::size_t line_ = 0;
};

// For messages: the value as the user wrote it, cut short when long.
std::string quoted_for_message(std::string_view text);

}  // namespace sparoa::traces::detail

#pragma once
// The profile CSV: per-operator timings measured by `sparoa profile` on one machine, the
// input of calibration. It lives here, beside the cost model it calibrates, so that fitting
// can run anywhere (no hardware backend needed) and the writer and the reader share one
// column list.
//
// Layout: '# sparoa profile', then '# key: value' header lines (kProfileHeaderKeys, in
// order), then a header row of kProfileColumns and one row per operator x kernel x batch x
// lane. Times are microseconds; flops and bytes are the operator's at the row's batch.
#include <array>
#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

namespace sparoa::platforms {

struct ProfileRow {
  std::string model;
  std::string op;
  std::string op_type;
  std::string op_class;    // platforms::op_class of the operator
  std::string kernel;      // dense | sparse
  std::string implementation;
  std::int64_t batch = 1;  // the batch the graph was bound to when timed
  std::string lane;
  std::string device;
  int threads = 1;
  double flops = 0;
  double bytes = 0;         // inputs + weights + outputs
  double weight_bytes = 0;  // part of `bytes` that is weights (does not scale with the batch)
  double weight_sparsity = 0;
  bool cold_cache = false;
  bool corun = false;       // another lane streamed through memory meanwhile
  int repetitions = 0;
  double median_us = 0;
  double p10_us = 0;
  double p90_us = 0;
  double min_us = 0;

  bool operator==(const ProfileRow&) const = default;
};

struct ProfileHeader {
  std::string machine;      // hostname and CPU model
  std::string cpu_model;    // CPU model alone: what a fitted platform is tied to
  std::string date;         // YYYY-MM-DD
  std::string platform;     // name
  std::string power_mode;
  std::string clocks;       // "cpu0=2096MHz,..." when readable, else ""
  std::string git_revision;
  std::string onednn_version;
  std::string model_sha256;
  // isolated: each operator timed alone, repeatedly, on hot caches; in-context: each operator
  // timed inside whole runs of the model on one lane (the replay engine), so its caches hold
  // what the previous operators left, as when the model runs.
  std::string timing = "isolated";

  bool operator==(const ProfileHeader&) const = default;
};

inline constexpr std::array<std::string_view, 10> kProfileHeaderKeys = {
    "machine",        "cpu_model",    "date",  "platform", "power_mode", "clocks", "git_revision",
    "onednn_version", "model_sha256", "timing"};

struct Profile {
  ProfileHeader header;
  std::vector<ProfileRow> rows;
  std::string origin;  // file it was read from
  std::string sha256;  // of the file's bytes
};

std::string profile_csv_text(const ProfileHeader& header, const std::vector<ProfileRow>& rows);
// Written atomically: a reader never sees half a profile.
void write_profile_csv(const std::filesystem::path& path, const ProfileHeader& header, const std::vector<ProfileRow>& rows);

// Strict: a missing header key, an unknown or missing column, a malformed number, an unknown
// kernel or operator class, a non-positive time or batch is a sparoa::Error whose where() is
// "file:line" and whose message names the column.
Profile read_profile_csv(const std::filesystem::path& path);
Profile parse_profile_csv(const std::string& text, const std::string& origin);

}  // namespace sparoa::platforms

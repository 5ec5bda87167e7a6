#include "hw/machine_state.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cstring>
#include <set>

#include "support/error.hpp"

namespace sparoa::hw {

namespace {

bool parse_u64(std::string_view& text, std::uint64_t& v) {
  while (!text.empty() && text.front() == ' ') text.remove_prefix(1);
  const auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (ec != std::errc()) return false;
  text.remove_prefix(std::size_t(ptr - text.data()));
  return true;
}

}  // namespace

std::vector<CpuTimes> parse_proc_stat(std::string_view text, const std::string& origin) {
  std::vector<CpuTimes> out;
  std::size_t line_no = 0;
  while (!text.empty()) {
    const auto nl = text.find('\n');
    std::string_view line = text.substr(0, nl);
    text.remove_prefix(nl == std::string_view::npos ? text.size() : nl + 1);
    ++line_no;
    // Per-CPU lines come first; the aggregate "cpu " line is skipped, anything else ends them.
    if (line.rfind("cpu", 0) != 0) break;
    if (line.size() > 3 && line[3] == ' ') continue;
    std::string_view rest = line.substr(3);
    std::uint64_t id = 0;
    CpuTimes t;
    if (!parse_u64(rest, id)) throw Error(origin + ":" + std::to_string(line_no), "malformed CPU line '" + std::string(line) + "'");
    t.cpu = int(id);
    std::uint64_t fields[10] = {};
    int n = 0;
    while (n < 10) {
      std::string_view probe = rest;
      while (!probe.empty() && probe.front() == ' ') probe.remove_prefix(1);
      if (probe.empty()) break;
      if (!parse_u64(rest, fields[n])) throw Error(origin + ":" + std::to_string(line_no), "malformed CPU line '" + std::string(line) + "'");
      ++n;
    }
    if (n < 4) throw Error(origin + ":" + std::to_string(line_no), "CPU line with fewer than 4 fields");
    // guest and guest_nice (fields 8, 9) are already inside user and nice.
    for (int i = 0; i < std::min(n, 8); ++i) t.total += fields[i];
    const std::uint64_t idle = fields[3] + (n > 4 ? fields[4] : 0);
    t.busy = t.total - idle;
    out.push_back(t);
  }
  return out;
}

MachineState::MachineState(std::vector<CpuGroup> groups, MachineStateOptions options)
    : groups_(std::move(groups)), options_(std::move(options)) {
  std::set<int> ids;
  for (const auto& g : groups_) ids.insert(g.cpus.begin(), g.cpus.end());
  cpu_ids_.assign(ids.begin(), ids.end());
  const auto stat = options_.root / "proc/stat";
  stat_fd_ = ::open(stat.c_str(), O_RDONLY | O_CLOEXEC);
  if (stat_fd_ < 0) throw Error(stat.string(), std::string("not readable (") + std::strerror(errno) + ")");
  // The per-CPU lines come first; 160 bytes each is generous (ten 20-digit counters).
  buffer_.resize(256 + 160 * std::size_t(cpu_ids_.empty() ? 1 : cpu_ids_.back() + 1));
  int unreadable = 0;
  for (int c : cpu_ids_) {
    const auto f = options_.root / ("sys/devices/system/cpu/cpu" + std::to_string(c) + "/cpufreq/scaling_cur_freq");
    const int fd = ::open(f.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) ++unreadable;
    freq_fds_.push_back(fd);
  }
  if (unreadable > 0) {
    notes_.push_back(std::to_string(unreadable) + " of " + std::to_string(cpu_ids_.size()) +
                     " CPUs have no readable cpufreq scaling_cur_freq: their frequency reads 0 (the platform's pstate is used)");
  }
  readings_.resize(groups_.size());
  for (std::size_t i = 0; i < groups_.size(); ++i) readings_[i].device = groups_[i].device;
  refresh(std::chrono::steady_clock::now());
}

MachineState::~MachineState() {
  if (stat_fd_ >= 0) ::close(stat_fd_);
  for (int fd : freq_fds_) {
    if (fd >= 0) ::close(fd);
  }
}

MachineState::Snapshot MachineState::take_snapshot(std::chrono::steady_clock::time_point now) {
  // Kept open and read from offset 0: procfs regenerates the content on every read.
  const ssize_t got = ::pread(stat_fd_, buffer_.data(), buffer_.size(), 0);
  const std::string origin = (options_.root / "proc/stat").string();
  if (got < 0) throw Error(origin, std::string("read failed (") + std::strerror(errno) + ")");
  const auto times = parse_proc_stat(std::string_view(buffer_.data(), std::size_t(got)), origin);
  Snapshot s;
  s.time = now;
  s.own_cpu_s = options_.own_cpu_s ? options_.own_cpu_s() : std::vector<double>();
  s.own_cpu_s.resize(groups_.size(), 0);
  s.busy.resize(cpu_ids_.size());
  s.total.resize(cpu_ids_.size());
  for (std::size_t i = 0; i < cpu_ids_.size(); ++i) {
    auto it = std::find_if(times.begin(), times.end(), [&](const CpuTimes& t) { return t.cpu == cpu_ids_[i]; });
    if (it == times.end()) throw Error(origin, "has no line for CPU " + std::to_string(cpu_ids_[i]));
    s.busy[i] = it->busy;
    s.total[i] = it->total;
  }
  return s;
}

void MachineState::refresh(std::chrono::steady_clock::time_point now) {
  history_.push_back(take_snapshot(now));
  // Keep the newest snapshot that is at least a window old, and everything after it.
  while (history_.size() > 2 && now - history_[1].time >= options_.window) history_.pop_front();
  const Snapshot& old = history_.front();
  const Snapshot& cur = history_.back();
  const bool known = now - old.time >= options_.window;
  char text[32];
  const double dt = std::chrono::duration<double>(cur.time - old.time).count();
  for (std::size_t g = 0; g < groups_.size(); ++g) {
    DeviceReading& r = readings_[g];
    std::uint64_t busy = 0, total = 0;
    double freq_kHz = 0;
    int freq_n = 0;
    for (int c : groups_[g].cpus) {
      const auto i = std::size_t(std::lower_bound(cpu_ids_.begin(), cpu_ids_.end(), c) - cpu_ids_.begin());
      busy += cur.busy[i] - old.busy[i];
      total += cur.total[i] - old.total[i];
      if (freq_fds_[i] >= 0) {
        const ssize_t got = ::pread(freq_fds_[i], text, sizeof text - 1, 0);
        std::uint64_t khz = 0;
        std::string_view v(text, got > 0 ? std::size_t(got) : 0);
        if (got > 0 && parse_u64(v, khz)) {
          freq_kHz += double(khz);
          ++freq_n;
        }
      }
    }
    r.load_known = known && total > 0;
    r.load = r.load_known ? double(busy) / double(total) : 0;
    const double cores = double(std::max<std::size_t>(1, groups_[g].cpus.size()));
    const double own = dt > 0 ? (cur.own_cpu_s[g] - old.own_cpu_s[g]) / (dt * cores) : 0;
    r.other_load = r.load_known ? std::clamp(r.load - own, 0.0, 1.0) : 0;
    r.freq_MHz = freq_n > 0 ? freq_kHz / freq_n / 1e3 : 0;
  }
  last_refresh_ = now;
  ++refreshes_;
}

const std::vector<DeviceReading>& MachineState::read(std::chrono::steady_clock::time_point now) {
  if (now - last_refresh_ >= options_.refresh) refresh(now);
  return readings_;
}

}  // namespace sparoa::hw

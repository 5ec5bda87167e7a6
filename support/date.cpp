#include "support/date.hpp"

#include <ctime>

namespace sparoa {

namespace {

std::string utc_now(const char* format) {
  const std::time_t now = std::time(nullptr);
  std::tm tm{};
  gmtime_r(&now, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, format, &tm);
  return buf;
}

}  // namespace

std::string utc_date_today() { return utc_now("%Y-%m-%d"); }
std::string utc_timestamp_now() { return utc_now("%Y-%m-%dT%H:%M:%SZ"); }

}  // namespace sparoa

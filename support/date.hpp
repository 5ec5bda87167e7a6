#pragma once
// Dates written into provenance blocks.
#include <string>

namespace sparoa {

// Today's date in UTC, YYYY-MM-DD.
std::string utc_date_today();

// Now in UTC, YYYY-MM-DDTHH:MM:SSZ.
std::string utc_timestamp_now();

}  // namespace sparoa

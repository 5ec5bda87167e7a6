#pragma once
// Chrome trace JSON (the "Trace Event Format"), as Perfetto and chrome://tracing read it:
//  * ts/dur in microseconds, the trace's own unit;
//  * one process per device (pid) and one thread per lane (tid), named by process_name /
//    thread_name metadata; ids are assigned in sorted name order, so they are deterministic;
//  * one X slice per record, every column and the record's args in `args`;
//  * C counters: power per rail (W) in a "power" process, and every state sample key
//    (freq_MHz, busy_fraction, ...) on its device's process;
//  * s/f flow pairs for the links of links.hpp (producer -> transfer, launch -> kernel),
//    each end at the start of its record's slice and bound to it ("bp":"e").
// Slices of one thread always nest or are disjoint: a record that partially overlaps
// another on its lane (which a well-formed trace never has) goes to an extra thread
// "<lane> (overlap k)" rather than producing a slice stack the viewers would mangle.
// The same input gives byte-identical output.
#include <filesystem>
#include <ostream>
#include <span>
#include <string>

#include "traces/record.hpp"

namespace sparoa::traces {

struct ChromeTracePart {
  std::string label;  // prefixes process names ("sim" -> "sim:gpu"); empty: no prefix
  const Trace* trace = nullptr;
};

// Several traces in one file, each with its own processes, in the order given; labels must
// differ. `name` only labels error messages.
void write_chrome_trace(std::ostream& out, std::span<const ChromeTracePart> parts,
                        const std::string& name = "chrome trace");
void write_chrome_trace(const std::filesystem::path& path, std::span<const ChromeTracePart> parts);

void write_chrome_trace(std::ostream& out, const Trace& trace);
void write_chrome_trace(const std::filesystem::path& path, const Trace& trace);

// A simulated and a measured run of the same schedule side by side: processes "sim:<device>"
// and "hw:<device>".
void write_merged_chrome_trace(std::ostream& out, const Trace& sim, const Trace& hw);
void write_merged_chrome_trace(const std::filesystem::path& path, const Trace& sim,
                               const Trace& hw);

}  // namespace sparoa::traces

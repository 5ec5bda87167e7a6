// sparoa calibrate: fits a platform's cost model to measured profiles and writes the fitted
// platform file. The fitting is platforms::calibrate; this file reads, prints and writes.
#include <fmt/format.h>

#include <ctime>
#include <iostream>

#include "cli/commands.hpp"
#include "cli/table.hpp"
#include "platforms/calibration.hpp"
#include "support/atomic_file.hpp"
#include "support/date.hpp"
#include "support/error.hpp"

namespace sparoa::cli {

namespace {


std::string pct(double v) { return fmt::format("{:.1f}%", 100 * v); }

// "0.41 (fitted)", "1 (at bound)", "0.5 (kept)"
std::string value(const platforms::ParameterFit& p) {
  const std::string tag = p.status.rfind("kept", 0) == 0 ? "kept" : p.status;
  return fmt::format("{:.4g} {}", p.after, tag == "fitted" ? "" : "(" + tag + ")");
}

}  // namespace

void add_calibrate_command(CLI::App& app) {
  struct Args {
    std::vector<std::string> profiles;
    std::string platform;
    std::string output;
    std::size_t min_rows = 3;
  };
  auto args = std::make_shared<Args>();
  auto* cmd = app.add_subcommand("calibrate", "Fit a platform's cost model to profiles measured with sparoa profile");
  cmd->add_option("--profile", args->profiles, "profile CSV (repeat for several models, or with and without --corun)")
      ->required();
  cmd->add_option("--platform,-p", args->platform, "platform YAML file or shipped name the profiles were measured with")
      ->required();
  cmd->add_option("--output,-o", args->output, "fitted platform YAML to write")->required();
  cmd->add_option("--min-rows", args->min_rows, "rows a class needs for an entry of its own (fewer: the default entry)")
      ->check(CLI::Range(std::size_t(3), std::size_t(1000000)))->capture_default_str();
  cmd->callback([args] {
    const platforms::Platform base = platforms::read_platform(platforms::resolve_platform_path(args->platform));
    std::vector<platforms::Profile> profiles;
    for (const auto& path : args->profiles) profiles.push_back(platforms::read_profile_csv(path));
    platforms::CalibrationOptions o;
    o.min_rows = args->min_rows;
    o.date = utc_date_today();
    const platforms::CalibrationResult r = platforms::calibrate(base, profiles, o);

    std::cout << fmt::format("calibrating {} ({}) from {} rows of {} profile(s)\n", base.name, base.power_mode, r.rows,
                             profiles.size());
    Table t({"entry", "rows", "overhead_us", "compute_eff", "memory_eff", "batch_exp", "cache_MB", "cache_eff",
             "median err before", "after", "rms log before", "after"},
            {false, true, true, true, true, true, true, true, true, true, true, true});
    for (const auto& e : r.entries) {
      t.add_row({fmt::format("{} {} {}", e.op_class, e.device_kind, e.kernel), std::to_string(e.rows),
                 value(e.parameters[0]), value(e.parameters[1]), value(e.parameters[2]), value(e.parameters[3]),
                 value(e.parameters[4]), value(e.parameters[5]), pct(e.median_error_before), pct(e.median_error_after), fmt::format("{:.3f}", e.rms_log_before),
                 fmt::format("{:.3f}", e.rms_log_after)});
    }
    for (const auto& c : r.contention) {
      t.add_rule();
      t.add_row({fmt::format("contention of {} (--corun rows)", c.op_class), std::to_string(c.rows), "", "", "", "", "",
                 "", pct(c.median_error_before), pct(c.median_error_after), fmt::format("{:.3f}", c.rms_log_before),
                 fmt::format("{:.3f}", c.rms_log_after)});
      t.add_row({fmt::format("  contention {:.3g} -> {}", c.parameters[0].before, value(c.parameters[0])), "", "", "",
                 "", "", "", "", "", "", "", ""});
    }
    t.print(std::cout);
    for (const auto& e : r.entries) {
      for (const auto& p : e.parameters) {
        if (p.status.rfind("kept", 0) == 0) {
          std::cout << fmt::format("  {} {} {}: {} {}\n", e.op_class, e.device_kind, e.kernel, p.name, p.status);
        }
      }
    }
    for (const auto& removed : r.removed) std::cout << "  dropped " << removed << '\n';
    if (r.contention.empty()) std::cout << "  contention: kept (no --corun rows in the profiles)\n";
    std::cout << fmt::format("{} parameters fitted from {} rows; median per-operator error over the solo rows: {} "
                             "uncalibrated -> {} fitted\n",
                             r.parameters, r.rows, pct(r.median_error_before), pct(r.median_error_after));
    write_file_atomically(args->output, platforms::platform_to_yaml(r.fitted));
    std::cout << "fitted platform: " << args->output << '\n';
  });
}

}  // namespace sparoa::cli

// sparoa: the command line. It parses arguments, calls the libraries and prints; errors in
// the input become one line on stderr and exit code 1, usage errors exit code 2.
#include <CLI/CLI.hpp>

#include <iostream>

#include "cli/commands.hpp"
#include "hw/backends.hpp"
#include "support/error.hpp"

namespace {

// Errors are one line: names taken from a model may contain line breaks.
std::string one_line(std::string s) {
  for (char& c : s) {
    if (c == '\n' || c == '\r') c = ' ';
  }
  return s;
}

void print_version() {
  std::cout << "sparoa " << SPAROA_VERSION << '\n';
  std::cout << "  simulator: " << (SPAROA_HAVE_SIMGRID_BUILD ? "SimGrid " SPAROA_SIMGRID_VERSION " (sparoa simulate)" : "not built") << '\n';
  for (const auto& b : sparoa::hw::backends()) {
    std::cout << "  backend " << b.name << ": " << b.library << " - "
              << (b.available ? "available: " : "unavailable: ") << b.detail << '\n';
  }
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"sparoa: sparsity- and intensity-aware CPU-GPU operator placement for edge boards"};
  app.require_subcommand(1);
  app.fallthrough(false);
  bool version = false;
  app.add_flag("--version", version, "print the version and the backends built in");
  sparoa::cli::add_inspect_command(app);
  sparoa::cli::add_zoo_command(app);
  sparoa::cli::add_schedule_command(app);
  sparoa::cli::add_platform_command(app);
  sparoa::cli::add_run_command(app);
  sparoa::cli::add_profile_command(app);
  sparoa::cli::add_import_command(app);
  sparoa::cli::add_calibrate_command(app);
  sparoa::cli::add_sweep_command(app);
  sparoa::cli::add_report_command(app);
#if SPAROA_HAVE_SIMGRID_BUILD
  sparoa::cli::add_simulate_command(app);
  sparoa::cli::add_bench_command(app);
  sparoa::cli::add_validate_command(app);
  sparoa::cli::add_compare_command(app);
  sparoa::cli::add_tune_command(app);
  sparoa::cli::add_train_command(app);
  sparoa::cli::add_demo_command(app);  // runs simulations and validations
#endif
  app.preparse_callback([&](std::size_t) {
    for (int i = 1; i < argc; ++i) {
      if (std::string(argv[i]) == "--version") {
        print_version();
        std::exit(0);
      }
    }
  });
  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    // Callbacks run inside parse(): our own errors arrive here wrapped only if CLI11 threw them.
    app.exit(e);
    return 2;
  } catch (const sparoa::cli::ExitWith& e) {
    return e.code;
  } catch (const sparoa::Error& e) {
    std::cerr << "sparoa: error: " << one_line(e.what()) << '\n';
    return 1;
  } catch (const std::exception& e) {
    std::cerr << "sparoa: error: " << one_line(e.what()) << '\n';
    return 1;
  }
  return 0;
}

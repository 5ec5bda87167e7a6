// NVIDIA GPUs through NVML, loaded at run time with dlopen so that the project builds and runs
// without the driver (no nvml.h is needed: the few entry points are declared below with the
// types of NVML's C API, whose ABI is stable across drivers).
//
// Which reading: nvmlDeviceGetTotalEnergyConsumption (millijoules since the driver loaded,
// Volta and newer) when the GPU supports it, power derived from its difference between reads;
// otherwise nvmlDeviceGetPowerUsage (milliwatts). The counter is preferred because on Ampere
// (except GA100) and newer GPUs nvmlDeviceGetPowerUsage is an average over the last second,
// far too smooth to attribute energy to one inference.
#include <dlfcn.h>

#include <functional>
#include <memory>
#include <span>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include "hw/power/meter_finders.hpp"
#include "support/error.hpp"

namespace sparoa::hw::power_detail {

namespace {

// NVML's C types: nvmlReturn_t is an enum (0 = NVML_SUCCESS), nvmlDevice_t an opaque pointer.
using NvmlReturn = int;
struct NvmlDeviceOpaque;
using NvmlDevice = NvmlDeviceOpaque*;
constexpr NvmlReturn kNvmlSuccess = 0;
constexpr unsigned kNvmlNameBufferSize = 96;  // NVML_DEVICE_NAME_V2_BUFFER_SIZE

using InitFn = NvmlReturn (*)();
using ShutdownFn = NvmlReturn (*)();
using GetCountFn = NvmlReturn (*)(unsigned int*);
using GetHandleFn = NvmlReturn (*)(unsigned int, NvmlDevice*);
using GetPowerFn = NvmlReturn (*)(NvmlDevice, unsigned int*);
using GetEnergyFn = NvmlReturn (*)(NvmlDevice, unsigned long long*);
using GetNameFn = NvmlReturn (*)(NvmlDevice, char*, unsigned int);
using ErrorStringFn = const char* (*)(NvmlReturn);

// The loaded library, initialised; shared by the meters of all GPUs so that NVML is shut down
// and unloaded after the last of them is gone.
class NvmlLibrary {
 public:
  // nullptr and a note when the library or one of the entry points is missing or
  // nvmlInit_v2 fails.
  static std::shared_ptr<NvmlLibrary> open(PowerMeterSearch& search) {
    void* handle = ::dlopen("libnvidia-ml.so.1", RTLD_NOW | RTLD_LOCAL);
    if (handle == nullptr) {
      const char* why = ::dlerror();
      search.notes.push_back(std::string("nvml: libnvidia-ml.so.1 not loadable (") + (why ? why : "unknown reason") +
                             ")");
      return nullptr;
    }
    std::shared_ptr<NvmlLibrary> lib(new NvmlLibrary(handle));
    const char* missing = nullptr;
    auto need = [&](auto& fn, const char* symbol) {
      fn = reinterpret_cast<std::remove_reference_t<decltype(fn)>>(::dlsym(handle, symbol));
      if (fn == nullptr && missing == nullptr) missing = symbol;
    };
    need(lib->init, "nvmlInit_v2");
    need(lib->shutdown, "nvmlShutdown");
    need(lib->get_count, "nvmlDeviceGetCount_v2");
    need(lib->get_handle, "nvmlDeviceGetHandleByIndex_v2");
    need(lib->get_power, "nvmlDeviceGetPowerUsage");
    need(lib->get_name, "nvmlDeviceGetName");
    if (missing != nullptr) {
      search.notes.push_back(std::string("nvml: libnvidia-ml.so.1 lacks ") + missing);
      return nullptr;
    }
    // Optional: older drivers lack them.
    lib->get_energy = reinterpret_cast<GetEnergyFn>(::dlsym(handle, "nvmlDeviceGetTotalEnergyConsumption"));
    lib->error_string = reinterpret_cast<ErrorStringFn>(::dlsym(handle, "nvmlErrorString"));
    const NvmlReturn r = lib->init();
    if (r != kNvmlSuccess) {
      search.notes.push_back("nvml: nvmlInit_v2 failed (" + lib->describe(r) + ")");
      return nullptr;
    }
    lib->initialised_ = true;
    return lib;
  }

  ~NvmlLibrary() {
    if (initialised_) shutdown();
    ::dlclose(handle_);
  }
  NvmlLibrary(const NvmlLibrary&) = delete;
  NvmlLibrary& operator=(const NvmlLibrary&) = delete;

  std::string describe(NvmlReturn r) const {
    const char* text = error_string != nullptr ? error_string(r) : nullptr;
    return std::string(text != nullptr ? text : "error") + ", code " + std::to_string(r);
  }

  InitFn init = nullptr;
  ShutdownFn shutdown = nullptr;
  GetCountFn get_count = nullptr;
  GetHandleFn get_handle = nullptr;
  GetPowerFn get_power = nullptr;
  GetEnergyFn get_energy = nullptr;
  GetNameFn get_name = nullptr;
  ErrorStringFn error_string = nullptr;

 private:
  explicit NvmlLibrary(void* handle) : handle_(handle) {}
  void* handle_;
  bool initialised_ = false;
};

class NvmlMeter final : public PowerMeter {
 public:
  NvmlMeter(std::shared_ptr<NvmlLibrary> lib, NvmlDevice device, unsigned index, const std::string& device_name,
            bool use_energy, std::function<double()> clock)
      : lib_(std::move(lib)),
        device_(device),
        name_("nvml GPU " + std::to_string(index) + " (" + device_name + ")"),
        rails_{"gpu" + std::to_string(index)},
        use_energy_(use_energy),
        clock_(std::move(clock)) {
    if (use_energy_) {
      previous_s_ = clock_();
      previous_mj_ = read_energy_mj();
    }
  }

  std::string name() const override { return name_; }
  const std::vector<std::string>& rails() const override { return rails_; }
  bool reports_interval_average() const override { return use_energy_; }
  std::vector<double> read_watts() override {
    std::vector<double> out(1);
    read_watts_into(out);
    return out;
  }
  void read_watts_into(std::span<double> out) override {
    if (!use_energy_) {
      unsigned int mw = 0;
      const NvmlReturn r = lib_->get_power(device_, &mw);
      if (r != kNvmlSuccess) throw Error(name_, "nvmlDeviceGetPowerUsage failed (" + lib_->describe(r) + ")");
      out[0] = static_cast<double>(mw) / 1e3;
      return;
    }
    const double now = clock_();
    const unsigned long long mj = read_energy_mj();
    if (mj < previous_mj_) {
      throw Error(name_, "energy counter went back from " + std::to_string(previous_mj_) + " to " +
                             std::to_string(mj) + " mJ (driver reloaded?)");
    }
    const double dt = now - previous_s_;
    if (dt > 0) {
      watts_ = static_cast<double>(mj - previous_mj_) * 1e-3 / dt;
      previous_s_ = now;
      previous_mj_ = mj;
    }
    out[0] = watts_;
  }

 private:
  unsigned long long read_energy_mj() const {
    unsigned long long mj = 0;
    const NvmlReturn r = lib_->get_energy(device_, &mj);
    if (r != kNvmlSuccess) throw Error(name_, "nvmlDeviceGetTotalEnergyConsumption failed (" + lib_->describe(r) + ")");
    return mj;
  }

  std::shared_ptr<NvmlLibrary> lib_;
  NvmlDevice device_;
  std::string name_;
  std::vector<std::string> rails_;
  bool use_energy_;
  std::function<double()> clock_;
  double previous_s_ = 0;
  unsigned long long previous_mj_ = 0;
  double watts_ = 0;
};

}  // namespace

void find_nvml_meters(const PowerMeterOptions& options, PowerMeterSearch& search) {
  if (!options.nvml) {
    search.notes.push_back("nvml: not tried (disabled in the options)");
    return;
  }
  auto lib = NvmlLibrary::open(search);
  if (!lib) return;
  unsigned int count = 0;
  if (const NvmlReturn r = lib->get_count(&count); r != kNvmlSuccess) {
    search.notes.push_back("nvml: nvmlDeviceGetCount_v2 failed (" + lib->describe(r) + ")");
    return;
  }
  if (count == 0) search.notes.push_back("nvml: no GPU");
  for (unsigned int i = 0; i < count; ++i) {
    const std::string what = "nvml GPU " + std::to_string(i);
    NvmlDevice device = nullptr;
    if (const NvmlReturn r = lib->get_handle(i, &device); r != kNvmlSuccess) {
      search.notes.push_back(what + ": nvmlDeviceGetHandleByIndex_v2 failed (" + lib->describe(r) + "), skipped");
      continue;
    }
    char name[kNvmlNameBufferSize] = {};
    if (lib->get_name(device, name, sizeof(name)) != kNvmlSuccess) name[0] = '\0';
    const std::string device_name = name[0] != '\0' ? std::string(name) : "unknown";
    unsigned long long mj = 0;
    const bool use_energy = lib->get_energy != nullptr && lib->get_energy(device, &mj) == kNvmlSuccess;
    if (!use_energy) {
      unsigned int mw = 0;
      if (const NvmlReturn r = lib->get_power(device, &mw); r != kNvmlSuccess) {
        search.notes.push_back(what + " (" + device_name + "): neither an energy counter nor power readings (" +
                               lib->describe(r) + "), skipped");
        continue;
      }
    }
    try {
      search.meters.push_back(std::make_unique<NvmlMeter>(lib, device, i, device_name, use_energy, clock_of(options)));
    } catch (const std::exception& e) {
      search.notes.push_back(what + ": " + e.what() + ", skipped");
    }
  }
}

}  // namespace sparoa::hw::power_detail

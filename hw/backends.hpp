#pragma once
// Which execution backends this build contains and what each can see on this machine.
#include <string>
#include <vector>

namespace sparoa::hw {

struct BackendInfo {
  std::string name;     // "cpu", "gpu"
  std::string library;  // "oneDNN 2.6.3", "CUDA runtime 13.0, cuDNN 9.19.0"
  bool available = false;  // a device is present and usable now
  std::string detail;   // devices seen, or why none is usable
};

std::vector<BackendInfo> backends();
std::string onednn_version();  // "2.6.3"

}  // namespace sparoa::hw

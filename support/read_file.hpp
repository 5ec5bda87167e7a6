#pragma once
// Reading a whole input file under a size limit, so that a huge file, or a device such as
// /dev/zero given as a file, is refused with the limit named instead of eating memory.
#include <cstddef>
#include <filesystem>
#include <string>

namespace sparoa {

inline constexpr std::size_t kMaxYamlBytes = std::size_t(256) << 20;       // platform, schedule, experiment, config
inline constexpr std::size_t kMaxTextInputBytes = std::size_t(256) << 20;  // profiles, state traces, trtexec JSON
inline constexpr std::size_t kMaxCheckpointBytes = std::size_t(1) << 30;   // network checkpoints

// The whole file, refused past `max_bytes` (from its size when it has one, else while reading);
// `what` names the file's kind in errors ("platform file"). Throws sparoa::Error.
std::string read_text_file(const std::filesystem::path& path, std::size_t max_bytes, const std::string& what);

}  // namespace sparoa

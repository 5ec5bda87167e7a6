#pragma once
// SHA-256 as lowercase hex: identifies models, platforms and schedules in provenance.
#include <filesystem>
#include <string>
#include <string_view>

namespace sparoa {

std::string sha256_hex(std::string_view bytes);
std::string sha256_file_hex(const std::filesystem::path& path);  // throws sparoa::Error

}  // namespace sparoa

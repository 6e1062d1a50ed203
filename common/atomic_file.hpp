// Output files are written to a temporary beside the target and renamed into place, so a
// crash or a kill never leaves a partial file under the final name.
#pragma once

#include <string>
#include <string_view>

namespace lpu {

// Throws std::runtime_error with the path and errno text on failure.
void write_file_atomic(const std::string& path, std::string_view contents);
std::string read_file(const std::string& path);  // throws InputError if unreadable

}  // namespace lpu

// Output files are written to a temporary beside the target and renamed into place, so a
// crash or a kill never leaves a partial file under the final name.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace lpu {

// Throws std::runtime_error with the path and errno text on failure.
void write_file_atomic(const std::string& path, std::string_view contents);
// Reads at most max_bytes (enough to see a file is too big without loading it all);
// throws InputError if unreadable.
// A FIFO or socket is refused (reading one could wait forever).
std::string read_file(const std::string& path, size_t max_bytes = size_t{1} << 34);
// As read_file, but a file longer than max_bytes is an InputError ("file size").
std::string read_input_file(const std::string& path, size_t max_bytes);

}  // namespace lpu

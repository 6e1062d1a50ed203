#include "common/atomic_file.hpp"

#include <fmt/format.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <sstream>
#include <stdexcept>

#include "common/input_error.hpp"

namespace lpu {

void write_file_atomic(const std::string& path, std::string_view contents) {
    const std::string tmp = fmt::format("{}.tmp.{}", path, ::getpid());
    FILE* f = std::fopen(tmp.c_str(), "wb");
    if (!f) throw std::runtime_error(fmt::format("cannot write {}: {}", tmp, std::strerror(errno)));
    const bool ok = std::fwrite(contents.data(), 1, contents.size(), f) == contents.size();
    const bool flushed = std::fflush(f) == 0 && ::fsync(::fileno(f)) == 0;
    std::fclose(f);
    if (!ok || !flushed || std::rename(tmp.c_str(), path.c_str()) != 0) {
        std::remove(tmp.c_str());
        throw std::runtime_error(fmt::format("cannot write {}: {}", path, std::strerror(errno)));
    }
}

std::string read_file(const std::string& path, size_t max_bytes) {
    std::ifstream in(path, std::ios::binary);
    if (!in) throw InputError({path, 0, 0}, "cannot open file for reading");
    std::string out;
    char buffer[65536];
    while (out.size() < max_bytes && in.read(buffer, sizeof buffer).gcount() > 0)
        out.append(buffer, static_cast<size_t>(std::min<std::streamsize>(in.gcount(), static_cast<std::streamsize>(max_bytes - out.size()))));
    if (in.bad()) throw InputError({path, 0, 0}, "cannot read the file (is it a directory?)");
    return out;
}

}  // namespace lpu

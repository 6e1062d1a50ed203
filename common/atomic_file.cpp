#include "common/atomic_file.hpp"

#include <fmt/format.h>
#include <fcntl.h>
#include <sys/stat.h>
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
    if (!f) throw_write_error(path, errno);
    int error = 0;
    if (std::fwrite(contents.data(), 1, contents.size(), f) != contents.size()) error = errno ? errno : EIO;
    if (!error && (std::fflush(f) != 0 || ::fsync(::fileno(f)) != 0)) error = errno ? errno : EIO;
    if (std::fclose(f) != 0 && !error) error = errno ? errno : EIO;
    if (!error && std::rename(tmp.c_str(), path.c_str()) != 0) error = errno;
    if (error) {
        std::remove(tmp.c_str());
        throw_write_error(path, error);
    }
}

std::string read_file(const std::string& path, size_t max_bytes) {
    // stat first: opening a FIFO for reading waits for a writer, possibly forever.
    struct stat st {};
    if (::stat(path.c_str(), &st) != 0) throw InputError({path, 0, 0}, "cannot open file for reading");
    if (S_ISDIR(st.st_mode)) throw InputError({path, 0, 0}, "cannot read the file (is it a directory?)");
    if (S_ISFIFO(st.st_mode) || S_ISSOCK(st.st_mode))
        throw InputError({path, 0, 0}, "input", "a pipe or socket", "a regular file (a FIFO could block forever)");
    const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) throw InputError({path, 0, 0}, "cannot open file for reading");
    std::string out;
    char buffer[65536];
    while (out.size() < max_bytes) {
        const ssize_t n = ::read(fd, buffer, std::min(sizeof buffer, max_bytes - out.size()));
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) {
            const int error = errno;
            ::close(fd);
            throw InputError({path, 0, 0}, fmt::format("cannot read the file ({})", std::strerror(error)));
        }
        if (n == 0) break;
        out.append(buffer, static_cast<size_t>(n));
    }
    ::close(fd);
    return out;
}

std::string read_input_file(const std::string& path, size_t max_bytes) {
    std::string text = read_file(path, max_bytes + 1);
    if (text.size() > max_bytes)
        throw InputError({path, 0, 0}, "file size", fmt::format("more than {} bytes", max_bytes),
                         fmt::format("at most {} bytes", max_bytes));
    return text;
}

}  // namespace lpu

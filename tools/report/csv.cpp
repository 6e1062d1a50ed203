#include "tools/report/csv.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdlib>

#include "common/atomic_file.hpp"
#include "common/input_error.hpp"

namespace lpu::report {

std::string csv_field(std::string_view text) {
    if (text.find_first_of(",\"\r\n") == std::string_view::npos) return std::string(text);
    std::string out = "\"";
    for (char c : text) {
        if (c == '"') out += '"';
        out += c;
    }
    return out + "\"";
}

std::string csv_number(double v) {
    if (std::isnan(v)) return "nan";
    if (std::isinf(v)) return v > 0 ? "inf" : "-inf";
    if (v == 0) return "0";  // no "-0"
    return fmt::format("{}", v);
}

std::string csv_line(const std::vector<std::string>& fields) {
    std::string out;
    for (size_t i = 0; i < fields.size(); ++i) {
        if (i > 0) out += ',';
        out += fields[i];
    }
    return out + "\n";
}

CsvTable CsvTable::parse(std::string_view text, const std::string& file) {
    CsvTable t;
    t.file_ = file;
    std::vector<std::string> row;
    std::string field;
    bool quoted = false, in_field = false;
    int line = 1, row_line = 1;
    auto end_row = [&] {
        row.push_back(std::move(field));
        field.clear();
        if (t.header_.empty()) {
            t.header_ = std::move(row);
        } else if (!(row.size() == 1 && row[0].empty())) {  // blank lines are skipped
            if (row.size() != t.header_.size())
                throw InputError({file, row_line, 0}, "row", fmt::format("{} fields", row.size()),
                                 fmt::format("{} fields, as many as the header has", t.header_.size()));
            t.rows_.push_back(std::move(row));
            t.lines_.push_back(row_line);
        }
        row.clear();
        row_line = line;
    };
    for (size_t i = 0; i < text.size(); ++i) {
        const char c = text[i];
        // A NUL would end the value wherever it is read as a C string (strtod, the page).
        if (c == '\0') throw InputError({file, line, 0}, "byte", "NUL", "CSV text (no NUL bytes)");
        if (quoted) {
            if (c == '"' && i + 1 < text.size() && text[i + 1] == '"') {
                field += '"';
                ++i;
            } else if (c == '"') {
                quoted = false;
            } else {
                if (c == '\n') ++line;
                field += c;
            }
            continue;
        }
        if (c == '"' && !in_field) {
            quoted = in_field = true;
        } else if (c == ',') {
            row.push_back(std::move(field));
            field.clear();
            in_field = false;
        } else if (c == '\n') {
            ++line;
            end_row();
            in_field = false;
        } else if (c != '\r') {
            field += c;
            in_field = true;
        }
    }
    if (quoted) throw InputError({file, row_line, 0}, "a quoted field that is never closed");
    if (!field.empty() || !row.empty()) end_row();
    if (t.header_.empty() || (t.header_.size() == 1 && t.header_[0].empty()))
        throw InputError({file, 0, 0}, "header", "(empty file)", "a CSV header row with the column names");
    return t;
}

CsvTable CsvTable::read(const std::string& path) { return parse(read_input_file(path, size_t{256} << 20), path); }

bool CsvTable::has_column(const std::string& name) const {
    return std::find(header_.begin(), header_.end(), name) != header_.end();
}

size_t CsvTable::column(const std::string& name) const {
    const auto it = std::find(header_.begin(), header_.end(), name);
    if (it == header_.end())
        throw InputError({file_, 1, 0}, "header", name + " missing", "a column named " + name);
    return static_cast<size_t>(it - header_.begin());
}

double CsvTable::number(size_t row, size_t col) const {
    const std::string& s = rows_[row][col];
    errno = 0;
    char* end = nullptr;
    const double v = s.empty() ? 0 : std::strtod(s.c_str(), &end);
    if (s.empty() || end != s.c_str() + s.size() || (errno == ERANGE && std::isinf(v)))
        throw InputError({file_, lines_[row], 0}, header_[col], s, "a number");
    return v;
}

std::vector<std::pair<std::string, size_t>> columns_with_suffix(const CsvTable& t, std::string_view suffix) {
    std::vector<std::pair<std::string, size_t>> out;
    for (size_t c = 0; c < t.header().size(); ++c) {
        const std::string& h = t.header()[c];
        if (h.size() > suffix.size() && h.compare(h.size() - suffix.size(), suffix.size(), suffix) == 0)
            out.emplace_back(h.substr(0, h.size() - suffix.size()), c);
    }
    return out;
}

}  // namespace lpu::report

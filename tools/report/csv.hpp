// The CSV files of a run's reports: one header row with the column names (units in every
// name), then one row per record, RFC 4180 quoting. The writers produce them with
// csv_field/csv_number; `lpusim report` reads them back through CsvTable, which names the
// file, line and column of anything it cannot use (InputError, exit code 2).
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace lpu::report {

// A field, quoted only if it holds a comma, a quote or a line break.
std::string csv_field(std::string_view text);
// A number in its shortest form that reads back to the same double ("inf", "nan" as such).
std::string csv_number(double v);
// Joins already formatted fields into one line, with the newline.
std::string csv_line(const std::vector<std::string>& fields);

class CsvTable {
public:
    // Throws InputError naming `file` for an empty text, unbalanced quotes or a row whose
    // field count differs from the header's.
    static CsvTable parse(std::string_view text, const std::string& file);
    static CsvTable read(const std::string& path);  // read_file + parse

    const std::string& file() const { return file_; }
    int line(size_t row) const { return lines_[row]; }  // 1-based line of a row
    const std::vector<std::string>& header() const { return header_; }
    size_t rows() const { return rows_.size(); }
    bool has_column(const std::string& name) const;
    // Index of a column; InputError naming the file and the column if it is missing.
    size_t column(const std::string& name) const;
    const std::string& text(size_t row, size_t col) const { return rows_[row][col]; }
    // The field as a number (inf/nan accepted); InputError with file, line and column name.
    double number(size_t row, size_t col) const;
    double number(size_t row, const std::string& name) const { return number(row, column(name)); }
    const std::string& text(size_t row, const std::string& name) const { return text(row, column(name)); }

private:
    std::string file_;
    std::vector<std::string> header_;
    std::vector<std::vector<std::string>> rows_;
    std::vector<int> lines_;  // 1-based source line of each row
};

// The columns of `t` named NAME + `suffix`, as (NAME, column index) in header order: e.g.
// the unit kinds of utilization.csv's `<kind>_busy_fraction` columns.
std::vector<std::pair<std::string, size_t>> columns_with_suffix(const CsvTable& t, std::string_view suffix);

}  // namespace lpu::report

// The plots of a run's report, drawn by gnuplot from the report CSVs: roofline.svg,
// utilization.svg, power.svg, breakdown.svg. For each plot a gnuplot script with the data
// inline (NAME.gp, kept in the run directory so a user can restyle and re-render it with
// `gnuplot NAME.gp > NAME.svg`) is written, and gnuplot runs as a child process with its
// svg terminal, whose output is deterministic text. Without gnuplot the plots are skipped
// with a note; a run never fails for a plot.
#pragma once

#include <string>
#include <vector>

#include "tools/report/csv.hpp"
#include "tools/report/roofline.hpp"

namespace lpu::report {

// Scripts (without `set output`: the caller chooses where the svg goes). They read the
// columns they plot and throw InputError naming the file for missing or non-numeric ones.
std::string roofline_script(const CsvTable& points, const std::vector<Roof>& roofs);
std::string utilization_script(const CsvTable& utilization);
// pipeline.svg: chips x time, each bucket coloured by its busiest unit kind (multi-chip runs).
std::string pipeline_script(const CsvTable& utilization);
std::string power_script(const CsvTable& power);
std::string breakdown_script(const CsvTable& breakdown);

// The gnuplot executable: `program` as is if it contains a '/', else the first match on
// PATH; empty if there is none.
std::string find_gnuplot(const std::string& program = "gnuplot");

struct PlotResult {
    std::string svg;    // gnuplot's output; empty if the plot failed
    std::string error;  // why it failed
};

// Writes DIR/NAME.gp, runs `gnuplot_path -d -e "set output ..." NAME.gp` and moves its
// output to DIR/NAME.svg atomically.
PlotResult render_plot(const std::string& gnuplot_path, const std::string& dir, const std::string& name,
                       const std::string& script);

}  // namespace lpu::report

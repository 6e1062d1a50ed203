// Sweep plots drawn by gnuplot (svg terminal) in a child process. Scripts and data are
// kept in DIR/plot/ so a user can restyle a plot and rerun gnuplot by hand.
#pragma once

#include <string>
#include <vector>

#include "tools/sweep/results.hpp"

namespace lpu::sweep {

struct PlotResult {
    bool written = false;
    std::string note;  // why it was skipped or failed
};

// Metric over the first two swept keys (categorical axes, values in sweep order); with
// more keys each cell shows the best value over the others.
PlotResult plot_heatmap(const std::string& dir, const std::vector<RoutedKey>& keys,
                        const std::vector<const Row*>& rows, const std::string& metric);

// y against x for every successful point, the Pareto front marked and labelled.
PlotResult plot_pareto(const std::string& dir, const std::vector<const Row*>& rows,
                       const std::string& x_metric, const std::string& y_metric);

// Runs gnuplot (LPUSIM_GNUPLOT, else `gnuplot` from PATH) on DIR/plot/<script> with DIR
// as working directory; the script writes <name>.svg.tmp, renamed here to <name>.svg.
PlotResult run_gnuplot(const std::string& dir, const std::string& script, const std::string& name);

}  // namespace lpu::sweep

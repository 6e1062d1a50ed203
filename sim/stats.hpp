// Statistics registry (after gem5's stats, without its macros): every model object
// registers named counters with a unit and a description; reports read only from here,
// so each number is computed once.
#pragma once

#include <cstdint>
#include <deque>
#include <map>
#include <string>
#include <vector>

namespace lpu::sim {

struct Counter {
    std::string name;  // dotted: chip0.mxm.busy_cycles
    std::string unit;  // cycles, bytes, instructions, MACs, events
    std::string description;
    double value = 0;
    void add(double v) { value += v; }
};

class StatsRegistry {
public:
    // Returns a stable reference; registering the same name twice returns the same counter.
    Counter& counter(const std::string& name, const std::string& unit, const std::string& description);
    const Counter* find(const std::string& name) const;
    double value(const std::string& name) const;  // 0 if absent
    // Sum of every counter whose name matches chip*.<suffix>.
    double sum_over_chips(const std::string& suffix) const;
    std::vector<const Counter*> all() const;  // sorted by name

private:
    std::deque<Counter> storage_;
    std::map<std::string, Counter*> by_name_;
};

}  // namespace lpu::sim

#include "sim/stats.hpp"

namespace lpu::sim {

Counter& StatsRegistry::counter(const std::string& name, const std::string& unit, const std::string& description) {
    auto it = by_name_.find(name);
    if (it != by_name_.end()) return *it->second;
    storage_.push_back(Counter{name, unit, description, 0});
    by_name_[name] = &storage_.back();
    return storage_.back();
}

const Counter* StatsRegistry::find(const std::string& name) const {
    auto it = by_name_.find(name);
    return it == by_name_.end() ? nullptr : it->second;
}

double StatsRegistry::value(const std::string& name) const {
    const Counter* c = find(name);
    return c ? c->value : 0;
}

double StatsRegistry::sum_over_chips(const std::string& suffix) const {
    double total = 0;
    for (const auto& [name, c] : by_name_) {
        if (name.rfind("chip", 0) != 0) continue;
        const auto dot = name.find('.');
        if (dot != std::string::npos && name.compare(dot + 1, std::string::npos, suffix) == 0) total += c->value;
    }
    return total;
}

std::vector<const Counter*> StatsRegistry::all() const {
    std::vector<const Counter*> out;
    for (const auto& [name, c] : by_name_) out.push_back(c);
    return out;
}

}  // namespace lpu::sim

// Every `lpusim` command in README.md and docs/*.md runs as written: the commands of the
// fenced code blocks and of README's tables are extracted and run from the source tree
// (their --out directories moved to a scratch directory); each must exit as documented, the
// output lines documented under a command ("# ..." after it) must appear in what it prints,
// and the figures of README's results table must match the run's summary.json to the
// digits shown. Runs on the 576-chip system and long sweeps are slow: tagged [.slow], run with
// `build/tests/lpusim_tests "[slow]"`.
#include <catch2/catch.hpp>

#include <algorithm>
#include <filesystem>
#include <cmath>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <sstream>
#include <regex>
#include <string>
#include <vector>

#include "tests/cli_helpers.hpp"

using namespace lpu::test;

namespace {

struct DocCommand {
    std::string file;
    int line = 0;
    std::string args;                   // after `lpusim`
    std::vector<std::string> expected;  // documented output fragments
    int exit_code = 0;
    std::map<std::string, std::string> figures;  // a table row's cells by column header
};

std::string trim(const std::string& s) {
    const size_t a = s.find_first_not_of(" \t"), b = s.find_last_not_of(" \t");
    return a == std::string::npos ? "" : s.substr(a, b - a + 1);
}

std::vector<std::string> cells_of(const std::string& row) {
    std::vector<std::string> cells;
    std::stringstream s(row);
    std::string cell;
    std::getline(s, cell, '|');  // before the first '|'
    while (std::getline(s, cell, '|')) cells.push_back(trim(cell));
    if (!cells.empty() && cells.back().empty()) cells.pop_back();
    return cells;
}

// A usage synopsis, not a command: placeholders in capitals, alternatives or omissions.
bool is_synopsis(const std::string& args) {
    return args.find('[') != std::string::npos || args.find("...") != std::string::npos ||
           args.find('|') != std::string::npos || std::regex_search(args, std::regex(R"(\s(CFG|W|P|DIR|FILE)(\s|$))"));
}

std::vector<DocCommand> doc_commands() {
    std::vector<std::string> files = {source_path("README.md")};
    for (const auto& e : std::filesystem::directory_iterator(source_path("docs")))
        if (e.path().extension() == ".md") files.push_back(e.path().string());
    std::sort(files.begin(), files.end());
    const std::regex command(R"(^\s*(build/)?lpusim\s+(.*)$)");
    const std::regex table_cell(R"(`((build/)?lpusim )?(run --hw [^`]+)`)");
    std::vector<DocCommand> out;
    for (const auto& f : files) {
        std::ifstream in(f);
        std::string line;
        bool code = false;
        int n = 0;
        DocCommand* open = nullptr;  // the last command of the current block, for its output
        std::vector<std::string> header;  // of the current table
        std::string previous_table_command;
        std::string last_line;
        while (std::getline(in, line)) {
            ++n;
            if (!code && line.rfind("|---", 0) == 0) header = cells_of(last_line);
            last_line = line;
            if (line.rfind("```", 0) == 0) {
                code = !code;
                open = nullptr;
                continue;
            }
            std::smatch m;
            if (code && std::regex_match(line, m, command)) {
                DocCommand c{f, n, m[2].str(), {}, 0, {}};
                while (!c.args.empty() && c.args.back() == '\\' && std::getline(in, line)) {
                    ++n;
                    c.args = trim(c.args.substr(0, c.args.size() - 1)) + " " + trim(line);
                }
                if (const size_t hash = c.args.find(" #"); hash != std::string::npos) c.args = c.args.substr(0, hash);
                c.args = trim(c.args);
                if (is_synopsis(c.args)) continue;
                out.push_back(c);
                open = &out.back();
                continue;
            }
            if (code && open && std::regex_match(line, m, std::regex(R"(^#\s+(.*)$)"))) {
                // "# tsp-v1: 795 cycles ...   (derivation: ...)": the part before "..." or "(".
                std::string text = m[1].str();
                text = text.substr(0, std::min(text.find("..."), text.find(" (")));
                if (!trim(text).empty()) open->expected.push_back(trim(text));
                continue;
            }
            if (code || line.rfind("|", 0) != 0) continue;
            // A table row: `run --hw ...` in full, or `... other.yaml` for the row above's
            // command with that workload.
            std::string args;
            std::smatch cell;
            if (std::regex_search(line, cell, table_cell)) {
                args = cell[3].str();
            } else if (std::regex_search(line, cell, std::regex(R"(`\.\.\. (\S+\.yaml)`)")) &&
                       !previous_table_command.empty()) {
                args = std::regex_replace(previous_table_command, std::regex(R"([^ /]+\.yaml$)"), cell[1].str());
            }
            if (args.empty() || is_synopsis(args)) continue;
            previous_table_command = args;
            DocCommand c{f, n, args, {}, line.find("(exit 1)") != std::string::npos ? 1 : 0, {}};
            const auto cells = cells_of(line);
            for (size_t i = 0; i < cells.size() && i < header.size(); ++i) c.figures[header[i]] = cells[i];
            out.push_back(c);
        }
    }
    return out;
}

bool is_slow(const DocCommand& c) {
    return c.args.find("x576") != std::string::npos || c.args.find("2048x8192x8192") != std::string::npos ||
           c.args.find("seed-lpu") != std::string::npos || std::regex_search(c.args, std::regex(R"(=1:20:1)"));
}

// A documented figure ("92", "2,478", "10.9 ms", "TTFT 153 ms", "5.0 J", "—") against the
// summary's value: equal to the shown digits (within half a unit of the last one), or the
// key absent for "—".
void check_figure(const nlohmann::json& summary, const std::string& shown, const char* key, double scale = 1) {
    INFO("documented " << shown << " for " << key);
    if (shown == "—" || shown.empty()) {
        CHECK_FALSE(summary.contains(key));
        return;
    }
    std::smatch m;
    const std::string digits = std::regex_replace(shown, std::regex(","), "");
    REQUIRE(std::regex_search(digits, m, std::regex(R"(([0-9]+)(\.([0-9]+))?)")));
    const double value = std::stod(m[0].str());
    const double half_unit = 0.5 * std::pow(10.0, -static_cast<double>(m[3].length()));
    REQUIRE(summary.contains(key));
    CHECK(std::fabs(summary[key].get<double>() * scale - value) <= half_unit * (1 + 1e-9));
}

void check_figures(const DocCommand& c, const std::string& out_dir) {
    if (c.figures.empty() || c.exit_code != 0) return;
    const auto j = nlohmann::json::parse(slurp(out_dir + "/summary.json"));
    for (const auto& [column, shown] : c.figures) {
        if (column == "chips (TP x PP)") {
            std::smatch m;
            REQUIRE(std::regex_search(shown, m, std::regex(R"(^([0-9]+).*\(([0-9]+) x ([0-9]+)\))")));
            CHECK(j["chips"].get<int>() == std::stoi(m[1].str()));
            CHECK(j["tensor_parallel"].get<int>() == std::stoi(m[2].str()));
            CHECK(j["pipeline_parallel"].get<int>() == std::stoi(m[3].str()));
        } else if (column == "tokens/s per user") {
            check_figure(j, shown, "tokens_per_s_per_user");
        } else if (column == "tokens/s in all") {
            check_figure(j, shown, "tokens_per_s");
        } else if (column == "latency") {
            check_figure(j, shown, shown.rfind("TTFT", 0) == 0 ? "time_to_first_token_s" : "latency_per_token_s", 1e3);
        } else if (column == "energy/token") {
            check_figure(j, shown, "energy_per_token_J");
        }
    }
}

void run_doc_commands(bool slow) {
    const std::vector<DocCommand> commands = doc_commands();
    REQUIRE(commands.size() >= 8);
    const std::string scratch = scratch_dir(slow ? "doc-commands-slow" : "doc-commands");
    size_t ran = 0;
    for (const DocCommand& c : commands) {
        if (is_slow(c) != slow) continue;
        // The documented output directory, moved under the scratch directory.
        const std::string out_dir = scratch + "/out" + std::to_string(ran);
        std::string args = std::regex_replace(c.args, std::regex(R"(--out\s+(\S+))"), "--out " + out_dir);
        if (!c.figures.empty() && args.find("--out") == std::string::npos) args += " --out " + out_dir;
        INFO(c.file << ":" << c.line << ": lpusim " << c.args);
        const auto r = run_cli(args, source_path(""));
        INFO(r.out << r.err);
        CHECK(r.exit_code == c.exit_code);
        for (const auto& e : c.expected) {
            INFO("documented output: " << e);
            CHECK(r.out.find(e) != std::string::npos);
        }
        check_figures(c, out_dir);
        ++ran;
    }
    CHECK(ran > 0);
}

}  // namespace

TEST_CASE("every quick lpusim command in README.md and docs runs as written and prints what they show", "[docs][cli]") {
    run_doc_commands(false);
}

TEST_CASE("every slow lpusim command in README.md and docs runs as written", "[.slow][docs][cli]") {
    run_doc_commands(true);
}

// serve: a served load (users or arrivals, prompt and output lengths) on the compiled,
// pipelined system, with step costs from simulated prefill and decode steps
// (docs/serving.md). Writes DIR/requests.csv, DIR/serving.json, DIR/latency_cdf.svg and
// DIR/report.html.
#include <fmt/format.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <nlohmann/json.hpp>

#include "common/atomic_file.hpp"
#include "common/input_error.hpp"
#include "common/staging_dir.hpp"
#include "common/text.hpp"
#include "hw/config.hpp"
#include "sim/simulation.hpp"
#include "tools/lpusim/commands.hpp"
#include "tools/lpusim/workload_run.hpp"
#include "tools/report/html.hpp"
#include "tools/report/metrics.hpp"
#include "tools/report/plots.hpp"
#include "tools/serve/load.hpp"
#include "tools/serve/scheduler.hpp"
#include "workloads/compiler/compiler.hpp"
#include "workloads/compiler/workload.hpp"

namespace po = boost::program_options;

namespace lpu::cli {

namespace {

// Simulated points (docs/serving.md). Prompts: every distinct prompt length when a load has
// at most kExactPrompts of them, else multiples of kPrefillGrid with linear interpolation
// between them. Decode: batches exactly, contexts at the next multiple of kContextGrid up
// (a step never costs less than at its true context, as long as cost grows with context).
constexpr int64_t kPrefillGrid = 128;
constexpr int64_t kContextGrid = 64;
constexpr size_t kExactPrompts = 16;

uint64_t fnv1a(std::string_view s, uint64_t h = 1469598103934665603ull) {
    for (const unsigned char c : s) h = (h ^ c) * 1099511628211ull;
    return h;
}

// This binary's identity for the step cache: a rebuilt simulator may time steps differently.
std::string binary_identity() {
    std::error_code ec;
    const auto exe = std::filesystem::read_symlink("/proc/self/exe", ec);
    if (ec) return "unknown";
    const auto size = std::filesystem::file_size(exe, ec);
    const auto mtime = std::filesystem::last_write_time(exe, ec).time_since_epoch().count();
    return fmt::format("{}:{}:{}", exe.string(), size, mtime);
}

struct SimulatedPoint {
    std::string phase;
    int64_t tokens = 0;  // prefill: prompt tokens; decode: context tokens
    int64_t batch = 1;
    serve::StepCost cost;
    bool cached = false;
};

// Step costs of the compiled model, simulated on demand and cached in the run and on disk.
class SimulatedSteps : public serve::StepCosts {
public:
    SimulatedSteps(const hw::HwConfig& cfg, std::string workload, std::vector<std::string> wsets, std::string models,
                   std::string cache_dir, std::string key_base, int64_t max_positions, std::set<int64_t> exact_prompts)
        : cfg_(cfg), workload_(std::move(workload)), wsets_(std::move(wsets)), models_(std::move(models)),
          cache_dir_(std::move(cache_dir)), key_base_(std::move(key_base)), max_positions_(max_positions),
          exact_prompts_(std::move(exact_prompts)) {}

    serve::StepCost prefill(int64_t done, int64_t tokens) override {
        const serve::StepCost a = prefill_total(done), b = prefill_total(done + tokens);
        return {b.seconds - a.seconds, b.dynamic_J - a.dynamic_J};
    }
    serve::StepCost decode(int64_t batch, int64_t context) override {
        const int64_t up = (context + kContextGrid - 1) / kContextGrid * kContextGrid;
        return point("decode", std::min(up, max_positions_ - 1), batch);
    }
    const std::map<std::tuple<std::string, int64_t, int64_t>, SimulatedPoint>& points() const { return points_; }

private:
    // Prefill of the first n prompt tokens of one sequence (0 for none).
    serve::StepCost prefill_total(int64_t n) {
        if (n <= 0) return {};
        const int64_t lo = n / kPrefillGrid * kPrefillGrid, hi = std::min(lo + kPrefillGrid, max_positions_);
        if (n == lo || exact_prompts_.count(n)) return point("prefill", n, 1);
        const serve::StepCost a = lo > 0 ? point("prefill", lo, 1) : serve::StepCost{};
        const serve::StepCost b = point("prefill", hi, 1);
        return lerp(a, b, static_cast<double>(n - lo) / static_cast<double>(hi - lo));
    }
    static serve::StepCost lerp(const serve::StepCost& a, const serve::StepCost& b, double f) {
        return {a.seconds + (b.seconds - a.seconds) * f, a.dynamic_J + (b.dynamic_J - a.dynamic_J) * f};
    }

    serve::StepCost point(const std::string& phase, int64_t tokens, int64_t batch) {
        const auto key = std::make_tuple(phase, tokens, batch);
        if (auto it = points_.find(key); it != points_.end()) return it->second.cost;
        std::vector<std::string> wsets = wsets_;
        wsets.push_back("phase=" + phase);
        wsets.push_back("batch=" + std::to_string(batch));
        wsets.push_back((phase == "prefill" ? "seq_len=" : "context_len=") + std::to_string(tokens));
        std::string text = key_base_;
        for (const auto& s : wsets) text += "\n" + s;
        const std::string file = cache_dir_.empty() ? "" : fmt::format("{}/{:016x}.json", cache_dir_, fnv1a(text));
        SimulatedPoint p{phase, tokens, batch, {}, false};
        if (!file.empty() && std::filesystem::is_regular_file(file)) {
            try {
                const auto j = nlohmann::json::parse(read_file(file, size_t{1} << 20));
                p.cost = {j.at("seconds").get<double>(), j.at("dynamic_J").get<double>()};
                p.cached = p.cost.seconds > 0;
            } catch (const std::exception&) {
                p.cached = false;  // a damaged entry is simulated again and rewritten
            }
        }
        if (!p.cached) {
            p.cost = simulate(wsets);
            if (!file.empty()) {
                std::error_code ec;
                std::filesystem::create_directories(cache_dir_, ec);
                nlohmann::json j = {{"seconds", p.cost.seconds}, {"dynamic_J", p.cost.dynamic_J}, {"step", wsets}};
                if (!ec) write_file_atomic(file, j.dump() + "\n");
            }
        }
        points_[key] = p;
        return p.cost;
    }

    serve::StepCost simulate(const std::vector<std::string>& wsets) {
        const wl::Workload w = wl::load_workload(workload_, wsets, models_);
        const wl::CompiledWorkload c = wl::compile(cfg_, w, {});
        const sim::SimResult r = sim::simulate(cfg_, c.program, sim_options(c, false, workload_ + " (compiled)"));
        const report::RunMetrics m = report::compute_metrics(cfg_, r);
        const nlohmann::ordered_json s = workload_summary(cfg_, w, c, r, m);
        const double static_W = cfg_.energy.static_W * c.chips;
        return {r.seconds, s.value("energy_per_step_J", 0.0) - static_W * r.seconds};
    }

    const hw::HwConfig& cfg_;
    std::string workload_;
    std::vector<std::string> wsets_;
    std::string models_, cache_dir_, key_base_;
    int64_t max_positions_;
    std::set<int64_t> exact_prompts_;
    std::map<std::tuple<std::string, int64_t, int64_t>, SimulatedPoint> points_;
};

nlohmann::ordered_json stats(const std::vector<double>& v) {
    double sum = 0;
    for (double x : v) sum += x;
    return {{"mean", v.empty() ? 0 : sum / static_cast<double>(v.size())},
            {"p50", serve::percentile(v, 50)},
            {"p90", serve::percentile(v, 90)},
            {"p99", serve::percentile(v, 99)}};
}

std::string cdf_script(const std::vector<double>& ttft, const std::vector<double>& e2e) {
    std::string s =
        "set terminal svg size 800,420 dynamic font 'Helvetica,12'\n"
        "set title 'Latency over the served requests'\nset xlabel 'seconds'\nset ylabel 'fraction of requests'\n"
        "set key bottom right\nset grid\nset yrange [0:1]\n";
    auto block = [&](const std::string& name, std::vector<double> v) {
        std::sort(v.begin(), v.end());
        std::string b = "$" + name + " << EOD\n";
        for (size_t i = 0; i < v.size(); ++i) b += fmt::format("{:.9g} {:.9g}\n", v[i], static_cast<double>(i + 1) / static_cast<double>(v.size()));
        return b + "EOD\n";
    };
    s += block("ttft", ttft) + block("e2e", e2e);
    s += "plot $ttft using 1:2 with steps lw 2 title 'time to first token', $e2e using 1:2 with steps lw 2 title 'end to end'\n";
    return s;
}

struct LoadFlags {
    int concurrency = 0;
    double rate = 0;
    int64_t requests = 0;
    std::string prompt = "550", output = "150", trace_file;
    uint64_t seed = 1;
};

serve::Load make_load(const LoadFlags& f, const po::variables_map& vm, int64_t max_tokens) {
    const SourceLocation cl{"command line", 0, 0};
    serve::Load load;
    const int modes = (vm.count("concurrency") ? 1 : 0) + (vm.count("rate") ? 1 : 0) + (vm.count("trace-file") ? 1 : 0);
    if (modes != 1)
        throw InputError(cl, "--concurrency/--rate/--trace-file", modes == 0 ? "(none)" : "(several)",
                         "exactly one of --concurrency C (closed loop), --rate R (Poisson arrivals per second) or --trace-file F");
    if (vm.count("concurrency") && (f.concurrency < 1 || f.concurrency > 100000))
        throw InputError(cl, "--concurrency", std::to_string(f.concurrency), "1..100000 users");
    if (vm.count("rate") && !(f.rate > 0 && f.rate <= 1e6)) throw InputError(cl, "--rate", fmt::format("{}", f.rate), "requests per second in (0, 1e6]");
    if (!vm.count("trace-file") && (f.requests < 1 || f.requests > 1'000'000))
        throw InputError(cl, "--requests", std::to_string(f.requests), "1..1000000");
    if (vm.count("trace-file")) {
        try {
            load.requests = serve::parse_trace_csv(read_file(f.trace_file, size_t{64} << 20));
        } catch (const std::invalid_argument& e) {
            throw InputError({f.trace_file, 0, 0}, "--trace-file", f.trace_file, e.what());
        }
        for (const auto& r : load.requests)
            if (r.prompt_tokens + r.output_tokens > max_tokens)
                throw InputError({f.trace_file, 0, 0}, "--trace-file", f.trace_file,
                                 fmt::format("prompt + output tokens of every request <= the model's {} positions", max_tokens));
        return load;
    }
    serve::Lengths prompt, output;
    try {
        prompt = serve::parse_lengths(f.prompt);
    } catch (const std::invalid_argument& e) {
        throw InputError(cl, "--prompt-tokens", f.prompt, e.what());
    }
    try {
        output = serve::parse_lengths(f.output);
    } catch (const std::invalid_argument& e) {
        throw InputError(cl, "--output-tokens", f.output, e.what());
    }
    if (prompt.mean + output.mean > static_cast<double>(max_tokens))
        throw InputError(cl, "--prompt-tokens/--output-tokens", f.prompt + "/" + f.output,
                         fmt::format("prompt + output tokens within the model's {} positions", max_tokens));
    load.closed = vm.count("concurrency") > 0;
    load.concurrency = f.concurrency;
    load.requests = serve::generate_requests(f.requests, prompt, output, load.closed ? 0 : f.rate, f.seed, max_tokens / 2);
    return load;
}

void write_outputs(const std::string& out, const serve::ServeResult& res, nlohmann::ordered_json& j) {
    std::string csv = "id,arrival_s,prompt_tokens,output_tokens,ttft_s,tpot_s,e2e_s,finish_s\n";
    std::vector<double> ttft, tpot, e2e;
    for (const auto& r : res.requests) {
        csv += fmt::format("{},{:.9f},{},{},{:.9f},{:.9f},{:.9f},{:.9f}\n", r.request.id, r.request.arrival_s, r.request.prompt_tokens,
                           r.request.output_tokens, r.ttft_s(), r.tpot_s(), r.e2e_s(), r.finish_s);
        ttft.push_back(r.ttft_s());
        e2e.push_back(r.e2e_s());
        if (r.request.output_tokens > 1) tpot.push_back(r.tpot_s());
    }
    j["ttft_s"] = stats(ttft);
    j["tpot_s"] = stats(tpot);
    j["e2e_s"] = stats(e2e);
    write_file_atomic(out + "/requests.csv", csv);
    write_file_atomic(out + "/serving.json", j.dump(2) + "\n");
    std::map<std::string, report::PlotResult> plots;
    const std::string gp = report::find_gnuplot();
    report::PlotResult cdf;
    if (!gp.empty()) cdf = report::render_plot(gp, out, "latency_cdf", cdf_script(ttft, e2e));
    std::string html = "<!DOCTYPE html><html><head><meta charset='utf-8'><title>lpusim serve</title>"
                       "<style>body{font-family:sans-serif;max-width:1000px;margin:2em auto}td,th{padding:2px 10px;text-align:right}"
                       "pre{background:#f4f4f4;padding:1em;overflow-x:auto}</style></head><body><h1>Served load</h1>";
    html += fmt::format("<p>{} on {} chips ({} x {}), {} lanes of up to {} sequences, policy {}; {} load, {} requests: "
                        "<b>{:.0f} output tokens/s</b> in all, {:.1f} per user, {:.3g} J per token.</p>",
                        html_escape(j["model"].get<std::string>()), j["chips"].get<int>(), j["tensor_parallel"].get<int>(),
                        j["pipeline_parallel"].get<int>(), j["lanes"].get<int>(), j["max_batch"].get<int64_t>(),
                        j["policy"].get<std::string>(), j["load"]["mode"].get<std::string>(), res.requests.size(),
                        j["output_tokens_per_s"].get<double>(), j["output_tokens_per_s_per_user"].get<double>(),
                        j["energy_per_token_J"].get<double>());
    html += "<table><tr><th>ms</th><th>mean</th><th>p50</th><th>p90</th><th>p99</th></tr>";
    for (const auto& [k, label] : {std::pair{"ttft_s", "time to first token"}, {"tpot_s", "time per output token"}, {"e2e_s", "end to end"}})
        html += fmt::format("<tr><th>{}</th><td>{:.4g}</td><td>{:.4g}</td><td>{:.4g}</td><td>{:.4g}</td></tr>", label,
                            1e3 * j[k]["mean"].get<double>(), 1e3 * j[k]["p50"].get<double>(), 1e3 * j[k]["p90"].get<double>(),
                            1e3 * j[k]["p99"].get<double>());
    html += "</table>";
    html += cdf.svg.empty() ? "<p>(latency CDF not drawn: " + (gp.empty() ? std::string("no gnuplot") : cdf.error) + ")</p>"
                            : report::inline_svg(cdf.svg, "cdf");
    html += "<h2>serving.json</h2><pre>" + html_escape(j.dump(2)) + "</pre></body></html>\n";
    write_file_atomic(out + "/report.html", html);
}

}  // namespace

int cmd_serve(const Args& args) {
    po::options_description opts("serve options");
    std::string hw, workload, out, models, policy = "fcfs", cache_dir;
    std::vector<std::string> sets, wsets;
    LoadFlags lf;
    int64_t max_batch = 0, chunk = 512;
    opts.add_options()("hw", po::value(&hw)->required(), "hardware config YAML")(
        "set", po::value(&sets)->composing(), "override a hardware field: dotted.path=value (repeatable)")(
        "workload", po::value(&workload)->required(), "LLaMA workload YAML: model, formats, parallelism (its phase and lengths are set per step)")(
        "wset", po::value(&wsets)->composing(), "override a workload field: dotted.path=value (repeatable)")(
        "models-dir", po::value(&models), "where bundled models live")(
        "out", po::value(&out)->required(), "output directory (requests.csv, serving.json, latency_cdf.svg, report.html)")(
        "concurrency", po::value(&lf.concurrency), "closed loop: C users, each sends its next request when the last finished")(
        "rate", po::value(&lf.rate), "open loop: Poisson arrivals, requests per second")(
        "requests", po::value(&lf.requests)->default_value(20), "requests to serve")(
        "prompt-tokens", po::value(&lf.prompt), "prompt tokens per request: N or MEAN:STDDEV (default 550)")(
        "output-tokens", po::value(&lf.output), "output tokens per request: N or MEAN:STDDEV (default 150)")(
        "trace-file", po::value(&lf.trace_file), "requests from a CSV: arrival_s,prompt_tokens,output_tokens")(
        "seed", po::value(&lf.seed), "seed of the lengths and arrivals (default 1)")(
        "policy", po::value(&policy), "fcfs, decode-first or chunked-prefill (docs/serving.md)")(
        "max-batch", po::value(&max_batch), "sequences per micro-batch (default: the workload's batch)")(
        "chunk-tokens", po::value(&chunk), "chunked-prefill: prompt tokens per iteration (default 512)")(
        "cache-dir", po::value(&cache_dir), "where simulated step costs are kept across runs (default $LPUSIM_CACHE_DIR, "
                                             "else ~/.cache/lpusim/steps; 'none' for no cache)");
    po::variables_map vm;
    if (!parse_args("serve", args, opts, {}, vm)) return 0;
    const SourceLocation cl{"command line", 0, 0};
    serve::ServeConfig sc;
    try {
        sc.policy = serve::parse_policy(policy);
    } catch (const std::invalid_argument& e) {
        throw InputError(cl, "--policy", policy, e.what());
    }
    if (chunk < 1 || chunk > 1'000'000) throw InputError(cl, "--chunk-tokens", std::to_string(chunk), "1..1000000");
    const hw::HwConfig cfg = hw::load_hw_config(hw, sets);
    if (models.empty()) models = models_dir();
    const wl::Workload base = wl::load_workload(workload, wsets, models);
    if (base.kind != wl::WorkloadKind::Llama) throw InputError({workload, 0, 0}, "kind", "gemm", "llama: serve runs a language model");
    if (!vm.count("max-batch")) max_batch = base.batch;
    if (max_batch < 1 || max_batch > 4096) throw InputError(cl, "--max-batch", std::to_string(max_batch), "1..4096");
    sc.max_batch = max_batch;
    sc.chunk_tokens = chunk;
    const int64_t positions = base.model.max_position_embeddings;
    const serve::Load load = make_load(lf, vm, positions);
    // Built beside --out and moved there only when complete (common/staging_dir.hpp): a failed
    // or interrupted serve leaves nothing under --out.
    StagingDir stage(out, "--out");

    // The deployment: one placement must hold the largest decode step (batch, context) and the
    // longest prefill (on the grid) the load needs: tensor from the decode step, pipeline the
    // larger of the two; pinned for every simulated step. Its stages are the lanes.
    int64_t longest = 1, longest_prompt = 1;
    for (const auto& r : load.requests) {
        longest = std::max(longest, r.prompt_tokens + r.output_tokens);
        longest_prompt = std::max(longest_prompt, r.prompt_tokens);
    }
    auto place = [&](std::vector<std::string> extra) {
        std::vector<std::string> all = wsets;
        all.insert(all.end(), extra.begin(), extra.end());
        return wl::compile(cfg, wl::load_workload(workload, all, models), {});
    };
    const wl::CompiledWorkload decode_placed = place({"phase=decode", "batch=" + std::to_string(max_batch),
                                                      "context_len=" + std::to_string(std::min(longest, positions - 1))});
    const std::string tensor = "parallelism.tensor=" + std::to_string(decode_placed.tensor);
    std::set<int64_t> prompts;  // simulated exactly when few (see kExactPrompts)
    for (const auto& r : load.requests) prompts.insert(r.prompt_tokens);
    if (prompts.size() > kExactPrompts) prompts.clear();
    const int64_t prompt_grid =
        prompts.empty() ? std::min(positions, (longest_prompt + kPrefillGrid - 1) / kPrefillGrid * kPrefillGrid) : longest_prompt;
    const wl::CompiledWorkload prefill_placed =
        place({"phase=prefill", "batch=1", "seq_len=" + std::to_string(prompt_grid), tensor});
    const wl::CompiledWorkload& placed = prefill_placed.pipeline > decode_placed.pipeline ? prefill_placed : decode_placed;
    sc.lanes = placed.pipeline;
    std::vector<std::string> pinned = wsets;
    pinned.push_back(tensor);
    pinned.push_back("parallelism.pipeline=" + std::to_string(placed.pipeline));

    if (!vm.count("cache-dir")) {
        const char* env = std::getenv("LPUSIM_CACHE_DIR");
        const char* home = std::getenv("HOME");
        cache_dir = env != nullptr ? env : home != nullptr ? std::string(home) + "/.cache/lpusim/steps" : "";
    }
    if (cache_dir == "none") cache_dir.clear();
    std::string key = binary_identity() + "\n" + read_file(hw, size_t{16} << 20) + "\n" + read_file(workload, size_t{16} << 20) + "\n" + models;
    for (const auto& s : sets) key += "\n--set " + s;
    SimulatedSteps steps(cfg, workload, pinned, models, cache_dir, key, positions, prompts);

    serve::ServeResult res;
    try {
        res = serve::simulate_serving(sc, load, steps);
    } catch (const std::invalid_argument& e) {
        throw InputError(cl, "load", "", e.what());
    }
    int64_t tokens = 0;
    for (const auto& r : res.requests) tokens += r.request.output_tokens;
    const double static_W = cfg.energy.static_W * placed.chips;
    nlohmann::ordered_json j;
    j["model"] = base.model.name;
    j["chips"] = placed.chips;
    j["tensor_parallel"] = placed.tensor;
    j["pipeline_parallel"] = placed.pipeline;
    j["policy"] = serve::policy_name(sc.policy);
    j["lanes"] = sc.lanes;
    j["max_batch"] = sc.max_batch;
    j["load"] = {{"mode", vm.count("trace-file") ? "trace" : load.closed ? "closed" : "open"},
                 {"concurrency", lf.concurrency}, {"rate_per_s", lf.rate}, {"requests", res.requests.size()},
                 {"prompt_tokens", lf.prompt}, {"output_tokens", lf.output}, {"seed", lf.seed}};
    j["output_tokens"] = tokens;
    j["makespan_s"] = res.makespan_s;
    j["output_tokens_per_s"] = res.makespan_s > 0 ? static_cast<double>(tokens) / res.makespan_s : 0;
    double per_user = 0;
    int64_t users = 0;
    for (const auto& r : res.requests)
        if (r.tpot_s() > 0) {
            per_user += 1.0 / r.tpot_s();
            ++users;
        }
    j["output_tokens_per_s_per_user"] = users > 0 ? per_user / static_cast<double>(users) : 0;
    j["requests_per_s"] = res.makespan_s > 0 ? static_cast<double>(res.requests.size()) / res.makespan_s : 0;
    j["energy_per_token_J"] = tokens > 0 ? (res.dynamic_J + static_W * res.makespan_s) / static_cast<double>(tokens) : 0;
    j["iterations"] = {{"all", res.iterations}, {"with_prefill", res.prefill_iterations}, {"with_decode", res.decode_iterations}};
    nlohmann::ordered_json pts = nlohmann::ordered_json::array();
    int cached = 0;
    for (const auto& [k, p] : steps.points()) {
        pts.push_back({{"phase", p.phase}, {p.phase == "prefill" ? "prompt_tokens" : "context_tokens", p.tokens}, {"batch", p.batch},
                       {"seconds", p.cost.seconds}, {"dynamic_J", p.cost.dynamic_J}});
        cached += p.cached ? 1 : 0;
    }
    j["simulated_steps"] = pts;
    j["step_costs"] = fmt::format("prefills simulated at {} (else linear between them); decode steps at their batch and the "
                                  "next multiple of {} context tokens up; a chunk of a prompt costs the difference of two "
                                  "prefills; a chunked-prefill iteration, its decode step plus its chunk",
                                  prompts.empty() ? fmt::format("multiples of {} prompt tokens", kPrefillGrid) : "every prompt length of the load",
                                  kContextGrid);
    write_outputs(stage.path(), res, j);
    const bool cdf = std::filesystem::exists(stage.path() + "/latency_cdf.svg");
    stage.commit_directory();
    fmt::print("{} on {} chips ({} x {}), {} lanes of up to {} sequences, policy {}: {} requests, {} output tokens in {:.4g} s\n",
               base.model.name, placed.chips, placed.tensor, placed.pipeline, sc.lanes, sc.max_batch, j["policy"].get<std::string>(),
               res.requests.size(), tokens, res.makespan_s);
    const auto& t = j["ttft_s"];
    const auto& e = j["e2e_s"];
    fmt::print("TTFT p50 {:.4g} s, p99 {:.4g} s; time per output token p50 {:.4g} s; end to end p50 {:.4g} s, p99 {:.4g} s\n",
               t["p50"].get<double>(), t["p99"].get<double>(), j["tpot_s"]["p50"].get<double>(), e["p50"].get<double>(), e["p99"].get<double>());
    fmt::print("{:.6g} output tokens/s in all, {:.6g} per user; {:.4g} J per token; {} simulated step costs used ({} of them from the cache)\n",
               j["output_tokens_per_s"].get<double>(), j["output_tokens_per_s_per_user"].get<double>(), j["energy_per_token_J"].get<double>(),
               pts.size(), cached);
    fmt::print("wrote {}: requests.csv, serving.json, report.html{}\n", out, cdf ? ", latency_cdf.svg, latency_cdf.gp" : "");
    return 0;
}

}  // namespace lpu::cli

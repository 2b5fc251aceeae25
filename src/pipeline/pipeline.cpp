// The pipeline behind `specvae run`: simulate → ingest → train → score → merge → [learn, with
// learn.labels] → report (the stages in run.stages), outputs under run.out_dir. A stage whose
// outputs exist with a completion marker matching the config of that stage and of every stage
// before it is skipped; a training run that was killed resumes from its last checkpoint.
#include "specvae/pipeline/pipeline.hpp"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <optional>
#include <set>
#include <sstream>
#include <variant>

#include <fmt/chrono.h>
#include <fmt/ranges.h>
#include <nlohmann/json.hpp>

#include "specvae/dist/memory_check.hpp"
#include "specvae/core/error.hpp"
#include "specvae/core/folder_lock.hpp"
#include "specvae/core/log.hpp"
#include "specvae/core/staged_file.hpp"
#include "specvae/core/version.hpp"
#include "specvae/dist/distributed.hpp"
#include "specvae/ingest/ingest.hpp"
#include "specvae/learn/learn.hpp"
#include "specvae/merge/merge.hpp"
#include "specvae/report/report.hpp"
#include "specvae/score/score.hpp"
#include "specvae/simulate/simulate.hpp"
#include "specvae/train/trainer.hpp"

namespace specvae::pipeline {

namespace fs = std::filesystem;

namespace {

// Config sections that determine each stage's outputs (cumulative: a change upstream
// invalidates everything downstream). Thread counts and logging do not change results.
const std::vector<std::pair<std::string, std::vector<std::string>>> kStageSections = {
    {"simulate", {"simulate."}},
    {"ingest", {"ingest."}},
    {"train", {"model.", "train."}},
    {"score", {"score."}},
    {"merge", {"merge."}},
    {"learn", {"learn."}},
    {"report", {"report."}},
};

std::string stage_key(const Config& config, const std::string& stage, const std::vector<std::string>& stages) {
  std::string text;
  for (const auto& [name, prefixes] : kStageSections) {
    if (name == stage || std::find(stages.begin(), stages.end(), name) != stages.end()) {
      // Execution keys are left out: a stage done on CPUs is not redone on GPUs.
      for (const auto& p : prefixes) text += config_section_text(config, p);
    }
    if (name == stage) break;
  }
  return fnv1a_hex(text);
}

// Path, size and modification time of every FITS or list file of the inputs (folders searched
// recursively), in name order: ingest is redone when any of them changes.
std::string survey_listing(const std::vector<fs::path>& inputs) {
  std::vector<std::string> lines;
  std::error_code ec;
  const auto add = [&](const fs::path& p) {
    const std::string ext = p.extension().string();
    if (ext != ".fits" && ext != ".txt" && ext != ".lst" && ext != ".list") return;
    const auto size = fs::file_size(p, ec);
    const auto mtime = fs::last_write_time(p, ec).time_since_epoch().count();
    lines.push_back(fmt::format("{}:{}:{}", p.string(), size, mtime));
  };
  for (const fs::path& in : inputs) {
    if (fs::is_directory(in, ec)) {
      for (auto it = fs::recursive_directory_iterator(in, fs::directory_options::skip_permission_denied, ec);
           it != fs::recursive_directory_iterator(); it.increment(ec)) {
        if (ec) break;
        if (it->is_regular_file(ec)) add(it->path());
      }
    } else {
      add(in);
    }
  }
  std::sort(lines.begin(), lines.end());
  return fmt::format("{}", fmt::join(lines, ";"));
}

struct Layout {
  fs::path root, survey, truth, dataset, train, score, catalogue, learn, report;
  explicit Layout(const fs::path& r)
      : root(r), survey(r / "survey"), truth(r / "survey" / "truth.csv"), dataset(r / "dataset.h5"),
        train(r / "train"), score(r / "score"), catalogue(r / "catalogue"), learn(r / "learn"),
        report(r / "report.html") {}
  fs::path marker(const std::string& stage) const { return root / (".done-" + stage); }
};

std::string read_marker(const fs::path& p) {
  std::ifstream in(p);
  std::string s;
  std::getline(in, s);
  return s;
}

// Rank 0 writes, atomically; every rank waits.
void write_marker(Communicator& comm, const fs::path& p, const std::string& key) {
  if (comm.rank() == 0) {
    write_file_atomically(p, key + "\n");
  }
  comm.barrier();
}

// True when the call does not throw an InputError (a file damaged since its marker was written).
template <typename F>
bool readable(F&& read) {
  try {
    read();
    return true;
  } catch (const InputError&) {
    return false;
  }
}

bool outputs_exist(const std::string& stage, const Layout& L) {
  if (stage == "simulate") return fs::exists(L.truth);
  // The files the later stages read are opened, not just found: a damaged one is made again.
  if (stage == "ingest") return fs::exists(L.dataset) && readable([&] { read_dataset_info(MPI_COMM_NULL, L.dataset); });
  if (stage == "train")
    return fs::exists(L.train / "checkpoint-last.h5") &&
           readable([&] { model::load_checkpoint(score::default_checkpoint(L.train)); });
  if (stage == "score") return !score::find_score_shards(L.score).empty();
  if (stage == "merge") return fs::exists(merge::catalogue_hdf5_path(L.catalogue));
  if (stage == "learn") return fs::exists(learn::learn_csv_path(L.learn));
  if (stage == "report") return fs::exists(L.report);
  return false;
}

// The files each stage leaves, relative to the run folder (those that exist).
std::vector<fs::path> stage_outputs(const std::string& stage, const Layout& L) {
  std::vector<fs::path> out;
  std::error_code ec;
  const auto add = [&](const fs::path& p) {
    if (fs::is_regular_file(p, ec)) out.push_back(p);
  };
  if (stage == "simulate") {
    for (const auto& e : fs::directory_iterator(L.survey, ec)) add(e.path());
    std::sort(out.begin(), out.end());
  } else if (stage == "ingest") {
    add(L.dataset);
  } else if (stage == "train") {
    for (const char* f : {"checkpoint-last.h5", "checkpoint-best.h5", "metrics.jsonl", "train_summary.json"}) add(L.train / f);
  } else if (stage == "score") {
    for (const auto& f : score::find_score_shards(L.score)) add(f);
  } else if (stage == "merge") {
    add(merge::catalogue_hdf5_path(L.catalogue));
    add(merge::catalogue_fits_path(L.catalogue));
    add(merge::top_csv_path(L.catalogue));
  } else if (stage == "learn") {
    add(learn::learn_csv_path(L.learn));
  } else if (stage == "report") {
    add(L.report);
  }
  return out;
}

// <out_dir>/run-manifest.json: for each stage whose outputs are complete, the configuration that
// produced them (its hash, the stage's key, the TOML itself under "configs") and the files with
// their sizes. A stage that is about to write leaves the manifest first, with those after it, so
// the manifest never lists outputs a later, different configuration is replacing. Rank 0 only.
class RunManifest {
 public:
  explicit RunManifest(fs::path path) : path_(std::move(path)) {
    std::ifstream in(path_);
    if (in) doc_ = nlohmann::json::parse(in, nullptr, /*allow_exceptions=*/false);
    if (!doc_.is_object() || !doc_.contains("stages") || !doc_["stages"].is_object())
      doc_ = {{"schema", "specvae-run-manifest"}, {"stages", nlohmann::json::object()}, {"configs", nlohmann::json::object()}};
  }
  void forget(const std::vector<std::string>& stages) {
    for (const auto& s : stages) doc_["stages"].erase(s);
    save();
  }
  void record(const std::string& stage, const std::string& key, const Config& config, const Layout& L, double seconds) {
    nlohmann::json files = nlohmann::json::array();
    std::error_code ec;
    for (const fs::path& f : stage_outputs(stage, L))
      files.push_back({{"path", fs::relative(f, L.root, ec).string()}, {"bytes", fs::file_size(f, ec)}});
    doc_["stages"][stage] = {{"config_hash", config.hash()},
                             {"stage_key", key},
                             {"finished_utc", fmt::format("{:%Y-%m-%dT%H:%M:%SZ}", fmt::gmtime(std::time(nullptr)))},
                             {"seconds", seconds},
                             {"code_version", version_string()},
                             {"outputs", files}};
    doc_["configs"][config.hash()] = config.to_toml();
    save();
  }

 private:
  void save() {
    // Only the configurations some listed stage came from are kept.
    std::set<std::string> used;
    for (const auto& [stage, e] : doc_["stages"].items()) used.insert(e.value("config_hash", std::string()));
    for (auto it = doc_["configs"].begin(); it != doc_["configs"].end();)
      it = used.contains(it.key()) ? std::next(it) : doc_["configs"].erase(it);
    write_file_atomically(path_, doc_.dump(2) + "\n");
  }
  fs::path path_;
  nlohmann::json doc_;
};

// Each stage reads what the ones before it wrote: the list must follow the pipeline's order.
void check_stage_order(const std::vector<std::string>& stages) {
  static const std::vector<std::string> kOrder = {"simulate", "ingest", "train", "score", "merge", "learn", "report"};
  if (stages.empty()) throw ConfigError("run.stages is empty: name the stages to run, e.g. [\"merge\", \"report\"]");
  for (std::size_t i = 1; i < stages.size(); ++i) {
    const auto at = [&](const std::string& s) { return std::find(kOrder.begin(), kOrder.end(), s) - kOrder.begin(); };
    if (at(stages[i]) <= at(stages[i - 1]))
      throw ConfigError(fmt::format("run.stages: '{}' after '{}'; stages run once each, in the order {}", stages[i],
                                    stages[i - 1], fmt::join(kOrder, ", ")));
  }
}

// One run at a time in a folder: rank 0 holds an flock on <out_dir>/.specvae-run.lock for the
// whole run (the kernel releases it when the process ends, killed or not); a second run is
// refused with the holder's host and pid. Then config.toml, written whole or not at all, and
// the manifest (rank 0's). Collective: every rank stops with rank 0's reason.
void open_run_folder(MpiCommunicator& comm, const Layout& L, const Config& config, FolderLock& lock,
                     std::optional<RunManifest>& manifest) {
  std::string failure;
  if (comm.rank() == 0) {
    try {
      fs::create_directories(L.root);
      lock.acquire(L.root / ".specvae-run.lock", "run");
      write_file_atomically(L.root / "config.toml",
                            fmt::format("# specvae run configuration, hash {}\n{}", config.hash(), config.to_toml()));
      manifest.emplace(L.root / "run-manifest.json");
    } catch (const std::exception& e) {
      failure = e.what();
    }
  }
  if (failure = comm.broadcast_string(failure); !failure.empty()) throw InputError(failure);
}

// Input files ingest skipped as bad (ingest.on_bad_file = skip) are missing from every result:
// said at the end, where it is read, also when ingest itself was skipped as complete.
void warn_skipped_inputs(const Layout& L) {
  if (!fs::exists(L.dataset)) return;
  const DatasetInfo info = read_dataset_info(MPI_COMM_NULL, L.dataset);
  const auto it = info.string_attrs.find("skipped_files");
  if (it == info.string_attrs.end() || it->second.empty()) return;
  std::vector<std::string> files;
  std::stringstream ss(it->second);
  for (std::string f; std::getline(ss, f);)
    if (!f.empty()) files.push_back(f);
  log::warn("ingest skipped {} bad input files (ingest.on_bad_file = skip), so their spectra are in none of "
            "these results: {}",
            files.size(), fmt::join(files, ", "));
}

}  // namespace

int run_pipeline(const Config& config) {
  const StageContext ctx = StageContext::world(config);  // the collective stages' ranks
  MpiCommunicator& comm = ctx.mpi();
  const Layout L(config.get_string("run.out_dir"));
  std::vector<std::string> stages = config.get_string_list("run.stages");
  // A real survey (run.input): no simulate stage, and nothing under <out_dir>/survey is read.
  std::vector<fs::path> inputs;
  for (const std::string& p : config.get_string_list("run.input")) inputs.emplace_back(p);
  const fs::path zcatalog = config.get_string("run.zcatalog");
  const bool real = !inputs.empty();
  if (!real && !zcatalog.empty()) throw ConfigError("run.zcatalog is set but run.input is not: name the survey's files");
  if (real && std::erase(stages, std::string("simulate")) > 0)
    log::info("run: run.input names a survey, so there is no simulate stage");
  if (!real) inputs = {L.survey};
  check_stage_order(stages);
  FolderLock lock;
  std::optional<RunManifest> manifest;  // rank 0
  open_run_folder(comm, L, config, lock, manifest);
  log::info("specvae run: stages {} into {} on {} ranks", fmt::join(stages, ", "), L.root.string(), comm.size());

  merge::MergeResult merged;
  std::string report_summary, learn_summary;
  bool did_learn = false;
  bool did_merge = false, upstream_ran = false;
  for (const std::string& stage : stages) {
    std::string key = stage_key(config, stage, stages);
    // ingest also depends on the survey's files as they are now (one replaced by hand after a
    // run that skipped it as bad is ingested again).
    if (stage == "ingest") key = fnv1a_hex(key + survey_listing(inputs) + (zcatalog.empty() ? "" : survey_listing({zcatalog})));
    // merge always runs: it takes seconds and prints the tables this command ends with.
    const bool done = stage != "merge" && !upstream_ran && read_marker(L.marker(stage)) == key && outputs_exist(stage, L);
    if (done) {
      log::info("run: {} is complete (marker {}), skipping", stage, key);
      continue;
    }
    upstream_ran = true;
    // The stage is about to write: its marker and those of the stages after it go first, so a
    // run killed from here on (or run with other settings) leaves nothing claiming that their
    // outputs are those of the settings an earlier marker recorded.
    if (comm.rank() == 0) {
      bool later = false;
      std::vector<std::string> gone;
      for (const std::string& s : stages) {
        later = later || s == stage;
        std::error_code ec;
        if (later) fs::remove(L.marker(s), ec), gone.push_back(s);
      }
      manifest->forget(gone);
    }
    comm.barrier();
    reset_peak_rss();  // each stage's peak memory on its own
    const auto t0 = std::chrono::steady_clock::now();
    if (stage == "simulate") {
      sim::run_simulate(ctx, {L.survey, /*overwrite=*/true});
    } else if (stage == "ingest") {
      ingest::run_ingest(ctx, {inputs, L.dataset, /*overwrite=*/true, zcatalog});
    } else if (stage == "train") {
      // A killed training run with the same data and settings continues where it stopped;
      // so does one asked for more epochs (the plateau schedule does not depend on
      // train.epochs; the cosine one stretches what is left of its curve over the new length).
      Config same_but_epochs = config;
      same_but_epochs.set_value("train.epochs", std::int64_t{1});
      // The dataset too: training on rows ingest has since rewritten differently starts over.
      const std::string resume_key =
          fnv1a_hex(stage_key(same_but_epochs, stage, stages) + read_dataset_info(comm.handle(), L.dataset).dataset_hash);
      const fs::path started = L.root / ".started-train";
      const fs::path last = L.train / "checkpoint-last.h5";
      const bool resume = read_marker(started) == resume_key && fs::exists(last) &&
                          readable([&] { model::load_checkpoint(last); });  // a damaged one: start over
      if (!resume) {
        // Only the files training writes go (a folder of the user's own under train/ stays).
        if (comm.rank() == 0)
          for (const char* f : {"checkpoint-last.h5", "checkpoint-best.h5", "metrics.jsonl", "train_summary.json"}) {
            std::error_code ec;
            fs::remove(L.train / f, ec);
          }
        write_marker(comm, started, resume_key);
      }
      if (resume) log::info("run: resuming training from {}", (L.train / "checkpoint-last.h5").string());
      train::TrainOptions t;
      t.data = L.dataset;
      t.out_dir = L.train;
      t.resume = resume;
      train::run_train(ctx, t);
    } else if (stage == "score") {
      score::run_score(ctx, {L.dataset, score::default_checkpoint(L.train), L.score});
    } else if (stage == "merge") {
      if (comm.rank() == 0) {
        merge::MergeOptions o;
        o.shard_dir = L.score;
        o.out_dir = L.catalogue;
        if (!real && fs::exists(L.truth)) o.truth = L.truth;
        merged = merge::run_merge(StageContext(config), o);
        did_merge = true;
      }
      comm.barrier();
    } else if (stage == "learn") {
      const std::string labels = config.get_string("learn.labels");
      if (labels.empty())
        throw ConfigError("run.stages lists learn, but learn.labels names no labels CSV (targetid,label)");
      if (comm.rank() == 0) {
        learn::LearnOptions o;
        o.catalogue = L.catalogue;
        o.labels = labels;
        o.out_dir = L.learn;
        learn_summary = learn::run_learn(StageContext(config), o).report;
      }
      did_learn = true;
      comm.barrier();
    } else if (stage == "report") {
      if (comm.rank() == 0) {
        report::ReportOptions o;
        o.catalogue = L.catalogue;
        o.dataset = L.dataset;
        o.checkpoint = score::default_checkpoint(L.train);
        if (!real && fs::exists(L.truth)) o.truth = L.truth;
        // The labelling view follows this run's active learning when it had a learn stage.
        if (did_learn) o.learn_scores = learn::learn_csv_path(L.learn);
        o.out = L.report;
        report_summary = report::run_report(StageContext(config), o).summary;
      }
      comm.barrier();
    } else {
      throw ConfigError(fmt::format("run.stages: unknown stage '{}'", stage));
    }
    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    if (comm.rank() == 0) manifest->record(stage, key, config, L, seconds);
    write_marker(comm, L.marker(stage), key);
    const std::vector<double> peaks = comm.allgather(peak_rss_bytes());
    std::vector<std::string> peak_text;
    for (const double p : peaks) peak_text.push_back(p < 0 ? "?" : fmt::format("{:.2f}", p / 1e9));
    log::info("run: {} done in {:.1f} s; peak memory per rank {} GB", stage, seconds, fmt::join(peak_text, ", "));
  }
  if (did_merge && comm.rank() == 0) {
    std::printf("\n%s", merged.report.c_str());
    std::fflush(stdout);
  }
  if (!learn_summary.empty() && comm.rank() == 0) {
    std::printf("%s", learn_summary.c_str());
    std::fflush(stdout);
  }
  if (!report_summary.empty() && comm.rank() == 0) {
    std::printf("%s", report_summary.c_str());
    std::fflush(stdout);
  }
  if (comm.rank() == 0) warn_skipped_inputs(L);
  comm.barrier();
  return 0;
}

}  // namespace specvae::pipeline

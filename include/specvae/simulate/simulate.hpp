// `specvae simulate`: a synthetic survey in DESI's file formats. Objects are split into file
// groups of simulate.spectra_per_file; ranks write disjoint groups (round robin) and every
// spectrum is a pure function of (seed, object index), so the files are identical for any
// rank count. Per group: coadd-<survey>-<program>-<group>.fits and redrock-...fits; for the
// whole survey: truth.csv (targetid → true class, subtype, anomaly kind, z, S/N).
#pragma once

#include <array>
#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "specvae/core/config.hpp"
#include "specvae/dist/communicator.hpp"
#include "specvae/dist/stage_context.hpp"
#include "specvae/simulate/desi_writer.hpp"
#include "specvae/simulate/instrument.hpp"
#include "specvae/simulate/population.hpp"
#include "specvae/simulate/render.hpp"

namespace specvae::sim {

struct SimulateResult {
  std::int64_t n_spectra = 0, n_files = 0;       // global
  std::int64_t local_groups = 0, local_spectra = 0;
  std::array<std::int64_t, 3> class_counts{};     // by true class (global)
  std::array<std::int64_t, kNumAnomalyKinds> anomaly_counts{};  // global; [0] = normal
  double seconds = 0;                             // wall time of this rank
};

// Header of truth.csv. One row per spectrum in TARGETID order: file group and row in its
// files; true class (GALAXY/QSO/STAR) and subtype (PASSIVE, STARFORMING, COMPOSITE, SEYFERT2,
// LINER, POSTSTARBURST, EXTREME_EMITTER, BROAD_LINE_AGN, TYPE1, B/A/F/G/K/M, WD, CV); anomaly
// kind or "normal"; true z (stars: v/c); the z and SPECTYPE written to REDSHIFTS; total r
// magnitude; S/N = median over b/r/z pixels of the noiseless model / σ (per 0.8 Å pixel).
inline constexpr const char* kTruthHeader =
    "targetid,file_group,row,class,subtype,anomaly,z_true,z_reported,spectype_reported,mag_r,snr";

// File names of group g.
std::filesystem::path coadd_path(const std::filesystem::path& dir, const SurveySpec& spec, std::int64_t group);
std::filesystem::path redrock_path(const std::filesystem::path& dir, const SurveySpec& spec, std::int64_t group);

// One file group in memory: its objects, rendering results and camera images.
struct GroupData {
  std::int64_t group = 0, first = 0, nrows = 0;
  std::vector<ObjectParams> objects;
  std::vector<RenderResult> results;
  std::array<std::vector<float>, kNumCameras> flux, ivar;  // [nrows * nwave] per camera
  std::array<std::vector<std::int32_t>, kNumCameras> mask;
};
// Simulates the spectra of a group (OpenMP threads share its rows; the result does not
// depend on the thread count).
GroupData render_group(const SurveySpec& spec, const Instrument& instrument, std::int64_t group);

// Simulates one file group and writes its coadd and redrock files; returns its truth.csv
// rows (no header).
struct GroupResult {
  std::string truth_rows;
  std::array<std::int64_t, 3> class_counts{};
  std::array<std::int64_t, kNumAnomalyKinds> anomaly_counts{};
};
GroupResult simulate_group(const SurveySpec& spec, const Instrument& instrument, std::int64_t group,
                           const std::filesystem::path& out_dir);

struct SimulateOptions {
  std::filesystem::path out_dir;  // created; the survey's coadd/redrock files and truth.csv
  bool overwrite = false;         // replace a survey already there (else refused)
};

// The whole survey, collective over ctx.comm().
SimulateResult run_simulate(const StageContext& ctx, const SimulateOptions& options);

// Bad CCD columns of a file group (the same for every rank count).
struct GroupDefects {
  std::vector<BadColumn> columns;
  std::vector<std::pair<std::int64_t, std::int64_t>> rows;  // [first, last) rows each column hits
};
GroupDefects draw_group_defects(const SurveySpec& spec, std::int64_t group, std::int64_t nrows);

// Tables of a group (FIBERMAP, EXP_FIBERMAP, SCORES, REDSHIFTS) from the objects and their
// rendering results.
FitsTable make_fibermap(const SurveySpec& spec, const std::vector<ObjectParams>& objects);
FitsTable make_exp_fibermap(const SurveySpec& spec, std::int64_t group, const std::vector<ObjectParams>& objects);
FitsTable make_scores(const std::vector<ObjectParams>& objects, const std::vector<RenderResult>& results);
FitsTable make_redshifts(const std::vector<ObjectParams>& objects, const std::vector<RenderResult>& results);

}  // namespace specvae::sim

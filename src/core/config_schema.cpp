// Every configuration key specvae knows, with the paper's values as defaults
// (Nicolaou et al. 2025, arXiv:2506.17376) and the range each may take. Stages read their
// keys by name; adding a parameter means adding a line here.
#include <limits>

#include "specvae/core/config.hpp"

namespace specvae {
namespace {

using T = ConfigType;
using IL = std::vector<std::int64_t>;
using FL = std::vector<double>;
using SL = std::vector<std::string>;
constexpr double kBig = std::numeric_limits<double>::max();

std::vector<ConfigKey> build_schema() {
  std::vector<ConfigKey> k = {
      // --- run: the whole chain -------------------------------------------------------------
      {"run.out_dir", T::String, std::string("specvae-out"), 0, 0, {}, "folder for every stage's outputs"},
      {"run.seed", T::Int, std::int64_t{20250617}, 0, 9.2e18, {}, "master seed (stages add their own)"},
      {"run.input", T::StringList, SL{}, 0, 0, {}, "a real survey: folders (searched recursively for coadd-*.fits beside their redrock-*.fits, as in DESI's healpix and tiles trees), coadd or redrock files, or text files (.txt, .lst, .list) naming them one a line; when set, run has no simulate stage and never reads or writes <out_dir>/survey"},
      {"run.zcatalog", T::String, std::string(""), 0, 0, {}, "with run.input: a redshift catalogue (zcatalog FITS) to take the redshifts from instead of the redrock files"},
      {"run.stages", T::StringList, SL{"simulate", "ingest", "train", "score", "merge", "report"}, 0, 0,
       {"simulate", "ingest", "train", "score", "merge", "learn", "report"}, "stages `specvae run` runs, in order"},

      // --- simulate: the embedded default data ---------------------------------------------
      {"simulate.n_spectra", T::Int, std::int64_t{20000}, 1, 1e10, {}, "number of simulated spectra"},
      {"simulate.spectra_per_file", T::Int, std::int64_t{2500}, 1, 1e6, {}, "spectra per coadd/redrock file pair"},
      {"simulate.seed", T::Int, std::int64_t{1}, 0, 9.2e18, {}, "survey seed: same seed, same survey, any rank count"},
      {"simulate.survey", T::String, std::string("sv3"), 0, 0, {"cmx", "main", "special", "sv1", "sv2", "sv3"}, "survey name in file names and headers"},
      {"simulate.program", T::String, std::string("bright"), 0, 0, {"backup", "bright", "dark", "other"}, "program name in file names and headers"},
      {"simulate.z_min", T::Float, 0.0, 0, 7, {}, "lowest galaxy redshift"},
      {"simulate.z_max", T::Float, 0.6, 0, 7, {}, "highest galaxy redshift (BGS-like)"},
      {"simulate.frac_qso", T::Float, 0.007, 0, 1, {}, "fraction of quasars/AGN"},
      {"simulate.frac_star", T::Float, 0.015, 0, 1, {}, "fraction of stars"},
      {"simulate.mag_r_min", T::Float, 14.0, 5, 30, {}, "brightest r magnitude"},
      {"simulate.mag_r_max", T::Float, 20.175, 5, 30, {}, "faintest r magnitude (BGS faint limit)"},
      {"simulate.resolution", T::Bool, true, 0, 0, {}, "write the B/R/Z_RESOLUTION HDUs as DESI does (78% of a coadd's bytes; specvae does not read them): false for scale tests"},
      {"simulate.compress", T::String, std::string("none"), 0, 0, {"none", "rice"}, "coadd FLUX/IVAR/MASK images: none (as DESI writes them) or rice (CFITSIO tile compression, a row a tile: FLUX RICE_1 quantised at 1/4 of its pixel-to-pixel noise, lossy; IVAR GZIP_2 and MASK RICE_1, lossless), for scale tests"},
      {"simulate.exptime", T::Float, 600.0, 1, 1e6, {}, "effective exposure time, s (sets the noise; main BGS 180, SV3 coadds several times that)"},
      {"simulate.anomaly.extreme_emitter", T::Float, 0.0012, 0, 1, {}, "fraction: extreme Hα/[O III] emitters"},
      {"simulate.anomaly.broad_line_agn", T::Float, 0.0012, 0, 1, {}, "fraction: galaxies with a broad-line AGN"},
      {"simulate.anomaly.wrong_z_qso", T::Float, 0.0011, 0, 1, {}, "fraction: z≈2 quasars labelled z≈0.25 galaxies"},
      {"simulate.anomaly.star_as_galaxy", T::Float, 0.0011, 0, 1, {}, "fraction: stars labelled low-z galaxies"},
      {"simulate.anomaly.camera_step", T::Float, 0.0011, 0, 1, {}, "fraction: b/r camera miscalibration steps"},
      {"simulate.anomaly.sky_dip", T::Float, 0.0011, 0, 1, {}, "fraction: sky over-subtraction dips to negative flux"},
      {"simulate.anomaly.bad_pixel_run", T::Float, 0.0011, 0, 1, {}, "fraction: unmasked bad-pixel runs"},
      {"simulate.anomaly.cataclysmic_variable", T::Float, 0.0010, 0, 1, {}, "fraction: cataclysmic variables labelled galaxies"},
      {"simulate.anomaly.white_dwarf", T::Float, 0.0010, 0, 1, {}, "fraction: white dwarfs labelled galaxies"},

      // --- ingest: preprocessing (paper §4) --------------------------------------------------
      {"ingest.n_bins", T::Int, std::int64_t{1000}, 8, 1e6, {}, "rest-frame bins"},
      {"ingest.wave_min", T::Float, 3600.0, 100, 1e5, {}, "rest-frame grid start, Å (first bin's lower edge)"},
      {"ingest.wave_max", T::Float, 7556.0, 100, 1e5, {}, "rest-frame grid end, Å (last bin's upper edge)"},
      {"ingest.z_min", T::Float, 0.0, -0.1, 10, {}, "keep spectra with z ≥ z_min"},
      {"ingest.z_max", T::Float, 0.3, -0.1, 10, {}, "keep spectra with z ≤ z_max"},
      {"ingest.snr_min", T::Float, 5.0, 0, kBig, {}, "keep spectra with median pixel S/N > snr_min"},
      {"ingest.require_zwarn_zero", T::Bool, false, 0, 0, {}, "reject ZWARN != 0"},
      {"ingest.fiberstatus_mask", T::Int, std::int64_t{0}, 0, 9.2e18, {}, "reject COADD_FIBERSTATUS & mask != 0 (0 = off)"},
      {"ingest.spectypes", T::StringList, SL{}, 0, 0, {"GALAXY", "QSO", "STAR"}, "keep only these SPECTYPEs (empty = all)"},
      {"ingest.objtypes", T::StringList, SL{}, 0, 0, {"TGT", "SKY", "NON", "BAD"}, "keep only these OBJTYPEs (empty = all)"},
      {"ingest.target_column", T::String, std::string(""), 0, 0, {}, "FIBERMAP target-bit column to filter on (empty = off)"},
      {"ingest.target_mask", T::Int, std::int64_t{0}, 0, 9.2e18, {}, "keep rows with target_column & mask != 0"},
      {"ingest.dedup", T::String, std::string("survey_program"), 0, 0, {"survey_program", "targetid"},
       "one row per (TARGETID, SURVEY, PROGRAM) or per TARGETID: the ZWARN == 0 row, then the highest S/N"},
      {"ingest.bad_mask_bits", T::Int, std::int64_t{0x7FFFFFFF}, 0, 2147483647, {}, "DESI MASK bits that make a pixel bad"},
      {"ingest.pca_n_ev", T::Int, std::int64_t{10}, 1, 200, {}, "eigenspectra used for the infill (astroML n_ev)"},
      {"ingest.pca_n_iter", T::Int, std::int64_t{20}, 1, 1000, {}, "infill iterations (astroML n_iter)"},
      {"ingest.pca_sample", T::Int, std::int64_t{20000}, 10, 1e8, {}, "spectra used to fit the eigenspectra"},
      {"ingest.val_fraction", T::Float, 0.25, 0, 1, {}, "validation fraction (hash of TARGETID)"},
      {"ingest.chunk_rows", T::Int, std::int64_t{2048}, 1, 1e7, {}, "spectra preprocessed per chunk (bounds memory)"},
      {"ingest.on_bad_file", T::String, std::string("error"), 0, 0, {"error", "skip"}, "a corrupt input file stops the job or is skipped and counted"},

      // --- model: the paper's VAE ------------------------------------------------------------
      {"model.n_input", T::Int, std::int64_t{1000}, 1, 1e6, {}, "input size (= ingest.n_bins)"},
      {"model.encoder_layers", T::IntList, IL{800, 600, 500, 300}, 1, 1e6, {}, "encoder hidden sizes"},
      {"model.decoder_layers", T::IntList, IL{300, 500, 600, 800}, 1, 1e6, {}, "decoder hidden sizes"},
      {"model.latent_dim", T::Int, std::int64_t{10}, 1, 4096, {}, "latent dimension"},
      {"model.init", T::String, std::string("pytorch"), 0, 0, {"glorot", "he", "pytorch"}, "weight initialisation: pytorch = He-uniform with a=sqrt(5), U(+-1/sqrt(fan_in)) (trains best on ingested DESI-like data), he, glorot"},
      {"model.dropout", T::Float, 0.0, 0, 0.95, {}, "dropout rate on encoder and decoder hidden layers (the paper: 0.2)"},
      {"model.standardize", T::Bool, true, 0, 0, {}, "feed the network (x - mean spectrum)/scale and map its output back (the training set's mean and RMS deviation; same loss, same function class)"},

      // --- train -------------------------------------------------------------------------
      {"train.epochs", T::Int, std::int64_t{50}, 1, 1e6, {}, "epochs"},
      {"train.batch_size", T::Int, std::int64_t{512}, 1, 1e8, {}, "global batch size (split over ranks)"},
      {"train.learning_rate", T::Float, 3e-4, 0, 10, {}, "Adam learning rate (the paper: 1e-3)"},
      {"train.adam_beta1", T::Float, 0.9, 0, 0.999999, {}, "Adam β1"},
      {"train.adam_beta2", T::Float, 0.999, 0, 0.99999999, {}, "Adam β2"},
      {"train.adam_eps", T::Float, 1e-8, 0, 1, {}, "Adam ε"},
      {"train.min_steps", T::Int, std::int64_t{6000}, 0, 1e9, {}, "at least this many optimiser steps: train.epochs is raised to reach them on a small survey (0: exactly train.epochs, as the paper)"},
      {"train.schedule", T::String, std::string("constant"), 0, 0, {"constant", "cosine", "plateau"}, "learning rate: constant (train.learning_rate throughout; measured best, bench/RESULTS.md), cosine (linear warm-up over train.warmup_steps, then a cosine from train.learning_rate down to train.min_lr at the last step) or plateau (the paper: x train.plateau_factor after train.plateau_patience epochs without a better validation loss, never below train.min_lr)"},
      {"train.warmup_steps", T::Int, std::int64_t{200}, 0, 1e9, {}, "cosine schedule: steps of linear warm-up from 0 to train.learning_rate"},
      {"train.plateau_factor", T::Float, 0.1, 1e-6, 1, {}, "plateau schedule: learning-rate factor on a validation plateau"},
      {"train.plateau_patience", T::Int, std::int64_t{5}, 0, 1e6, {}, "plateau schedule: epochs without improvement before the factor applies"},
      {"train.min_lr", T::Float, 1e-5, 0, 10, {}, "learning-rate floor: the plateau schedule never goes below it, the cosine ends on it"},
      {"train.val_trim", T::Float, 0.0, 0, 0.5, {}, "fraction of validation spectra with the highest loss left out of the loss that the plateau schedule and the best checkpoint follow (0: the plain mean, as the paper)"},
      {"train.kl_weight", T::Float, 1.0, 0, 1e6, {}, "weight of the KL term"},
      {"train.seed", T::Int, std::int64_t{1}, 0, 9.2e18, {}, "seed for initialisation, shuffling, dropout and noise"},
      {"train.backend", T::String, std::string("auto"), 0, 0, {"auto", "cpu", "cuda"}, "compute backend (auto: CUDA when this build has it and the rank sees a GPU, else CPU)"},
      {"train.gemm", T::String, std::string("auto"), 0, 0, {"auto", "openblas", "onednn"}, "CPU SGEMM library (auto: oneDNN where it runs its AVX2 or AVX-512 kernels, the faster on the VAE's shapes; else OpenBLAS)"},
      {"train.threads", T::Int, std::int64_t{0}, 0, 4096, {}, "CPU threads per rank (0 = OpenMP default)"},
      {"train.tf32", T::Bool, false, 0, 0, {}, "allow TF32 tensor-core math on GPUs"},
      {"train.cuda_epilogue", T::String, std::string("kernel"), 0, 0, {"kernel", "cublaslt"}, "GPU layer forward: SGEMM then a bias/ReLU kernel, or one cuBLASLt matmul with the bias/ReLU epilogue (bench/gpu measures both)"},
      {"train.device_shard", T::Bool, true, 0, 0, {}, "CUDA ranks: keep the training rows on the GPU when they fit (else stream them through pinned memory); false: stage every batch through host memory"},
      {"train.shard_optimizer", T::Bool, true, 0, 0, {}, "CPU ranks: reduce-scatter the gradient, apply Adam to this rank's chunk of the parameters, all-gather them (same update as all-reduce + Adam everywhere, Adam work divided by the rank count)"},
      {"train.checkpoint_every", T::Int, std::int64_t{1}, 1, 1e6, {}, "epochs between checkpoints"},

      // --- score --------------------------------------------------------------------------
      {"score.recon_samples", T::Int, std::int64_t{16}, 1, 1e5, {}, "latent samples L for the reconstruction probability"},
      {"score.lof_k", T::Int, std::int64_t{20}, 1, 4096, {}, "LOF neighbours (scikit-learn n_neighbors)"},
      {"score.knn", T::String, std::string("auto"), 0, 0, {"auto", "kdtree", "faiss", "bruteforce", "cuda"}, "kNN method for LOF (auto: cuda on a GPU rank when it fits the GPU's memory, else kdtree; kdtree is exact; bruteforce, faiss and cuda rank in float and rows they cannot resolve are searched again with the k-d tree: see score/knn.hpp)"},
      {"score.batch_size", T::Int, std::int64_t{4096}, 1, 1e8, {}, "spectra per scoring batch"},
      {"score.pca_components", T::Int, std::int64_t{10}, 1, 1000, {}, "eigenspectra of the PCA yardstick (pca_mse): the weighted MSE of each spectrum's projection on the training spectra's mean and first k eigenspectra"},
      {"score.pca_sample", T::Int, std::int64_t{20000}, 2, 1e8, {}, "rows of the dataset (evenly spaced; the training ones among them) the PCA yardstick is fitted on"},
      {"score.seed", T::Int, std::int64_t{2}, 0, 9.2e18, {}, "seed for the reconstruction-probability samples"},

      // --- merge --------------------------------------------------------------------------
      {"merge.top_fraction", T::Float, 0.01, 1e-6, 1, {}, "fraction flagged as outliers by each score (paper: top 1%)"},
      {"merge.top_n_csv", T::Int, std::int64_t{1000}, 1, 1e9, {}, "rows per score in the top-outlier CSV"},

      // --- learn (Astronomaly-style active learning) ---------------------------------------
      {"learn.labels", T::String, std::string(""), 0, 0, {}, "labels CSV (targetid,label) for the learn stage of `specvae run`"},
      {"learn.score", T::String, std::string("nof"), 0, 0, {"mse", "recon_logprob", "nof", "combined"}, "score re-ranked by the user's labels"},
      {"learn.alpha", T::Float, 1.0, 0, 1e3, {}, "trust in predicted user scores (Astronomaly α)"},
      {"learn.n_trees", T::Int, std::int64_t{200}, 1, 1e5, {}, "random-forest trees"},
      {"learn.seed", T::Int, std::int64_t{1}, 0, 9.2e18, {}, "random-forest seed"},
      {"learn.min_score", T::Float, 0.1, 0, 5, {}, "lower clip of the predicted user score"},
      {"learn.max_score", T::Float, 5.0, 0.1, 100, {}, "upper clip of the predicted user score"},

      // --- report -------------------------------------------------------------------------
      {"report.n_top", T::Int, std::int64_t{20}, 1, 10000, {}, "top outliers shown per score"},
      {"report.n_examples", T::Int, std::int64_t{6}, 0, 1000, {}, "typical reconstructions shown per class"},
      {"report.n_label", T::Int, std::int64_t{100}, 0, 100000, {}, "spectra in the labelling view"},
      {"report.latent_points", T::Int, std::int64_t{3000}, 0, 1e6, {}, "latent means drawn in the corner plot"},
      {"report.hist_bins", T::Int, std::int64_t{60}, 1, 10000, {}, "bins of the score histograms"},
      {"report.traversal_sigma", T::Float, 2.0, 0, 100, {}, "latent traversals reach ± this many σ of μ"},
      {"report.traversal_steps", T::Int, std::int64_t{5}, 1, 101, {}, "decoded spectra per latent traversal"},

      // --- runtime ------------------------------------------------------------------------
      {"runtime.log_level", T::String, std::string("info"), 0, 0, {"trace", "debug", "info", "warn", "error", "off"}, "log level"},
      {"runtime.log_all_ranks", T::Bool, false, 0, 0, {}, "every rank logs (default: rank 0 only)"},
      {"runtime.memory_check", T::Bool, true, 0, 0, {}, "refuse a train or score that will not fit in the node's memory"},
      {"runtime.cuda_debug_sync", T::Bool, false, 0, 0, {}, "synchronise and check after every CUDA launch"},
  };
  return k;
}

}  // namespace

const std::vector<ConfigKey>& config_schema() {
  static const std::vector<ConfigKey> schema = build_schema();
  return schema;
}

const ConfigKey* find_config_key(std::string_view name) {
  for (const auto& key : config_schema())
    if (key.name == name) return &key;
  return nullptr;
}

}  // namespace specvae

// The pipeline: simulate → ingest → train → score → merge → [learn] → report (run.stages), outputs
// under run.out_dir. A stage whose outputs exist with a completion marker matching the config
// keys and inputs it depends on is skipped; a killed training run resumes from its last
// checkpoint; run-manifest.json names the configuration behind each stage's outputs. One run at
// a time per folder (an flock held by rank 0).
#pragma once

#include "specvae/core/config.hpp"

namespace specvae::pipeline {

// Collective over MPI_COMM_WORLD (init_distributed). Returns the process exit code (0); errors
// are thrown (ConfigError, InputError, Stopped on a batch system's signal).
int run_pipeline(const Config& config);

}  // namespace specvae::pipeline

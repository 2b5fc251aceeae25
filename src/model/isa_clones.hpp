// Element-wise kernels compiled three times, for AVX-512, AVX2 and the x86-64 baseline, with
// the best one this CPU runs picked at load time (GCC function multi-versioning). Debian's
// build targets the baseline alone: SSE2, 4 floats per instruction. Files that use this are
// built with -ffp-contract=off, so every version does the same IEEE operations on each element
// and gives the same bits; -fno-math-errno lets square roots vectorise.
#pragma once

#define SPECVAE_ISA_CLONES __attribute__((target_clones("avx512f", "avx2", "default")))

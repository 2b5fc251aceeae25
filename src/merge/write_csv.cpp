// The top-N CSV: for each score (and the combined score), its N most anomalous spectra.
#include <algorithm>
#include <fstream>

#include <fmt/format.h>

#include "specvae/core/csv.hpp"
#include "specvae/core/error.hpp"
#include "specvae/core/staged_file.hpp"
#include "specvae/merge/writers.hpp"

namespace specvae::merge {

void write_top_csv(const std::filesystem::path& path, const Catalogue& c, std::int64_t top_n) {
  StagedFile staged(path);
  const std::filesystem::path& tmp = staged.temp();
  {
    std::ofstream os(tmp);
    if (!os) throw InputError(fmt::format("{}: cannot write", tmp.string()));
    os << "by,rank,targetid,ra,dec,z,spectype,snr,split,mse,recon_logprob,nof,pca_mse,combined\n";
    const std::int64_t m = std::min(top_n, c.n);
    const auto emit = [&](const char* by, const std::vector<std::int64_t>& rank) {
      std::vector<std::int64_t> at(m, -1);
      for (std::int64_t i = 0; i < c.n; ++i)
        if (rank[i] <= m) at[rank[i] - 1] = i;
      for (std::int64_t r = 0; r < m; ++r) {
        const std::int64_t i = at[r];
        os << fmt::format("{},{},{},{:.8f},{:.8f},{:.6f},{},{:.4f},{},{:.9g},{:.9g},{:.9g},{:.9g},{:.6f}\n", by, r + 1,
                          c.targetid[i], c.ra[i], c.dec[i], c.z[i], csv::field(c.spectype[i]), c.snr[i], int(c.split[i]),
                          c.score[0][i], c.score[1][i], c.score[2][i], c.score[kPcaScore][i], c.combined[i]);
      }
    };
    for (int s = 0; s < kNumScores; ++s) emit(kScores[s].name, c.rank[s]);
    emit("combined", c.rank_combined);
    if (!os.flush()) throw InputError(fmt::format("{}: write failed (disk full?); {} is unchanged", tmp.string(), path.string()));
  }
  staged.commit();
}

}  // namespace specvae::merge

// The top-N CSV: for each score (and the combined score), its N most anomalous spectra.
#include <cerrno>
#include <algorithm>
#include <fstream>
#include <type_traits>

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
    os << "by,rank";
    c.for_each_column([&](const ColumnSpec& spec, const auto&) { os << ',' << spec.name; });
    os << ",mse,recon_logprob,nof,pca_mse,combined\n";
    const std::int64_t m = std::min(top_n, c.n);
    const auto emit = [&](const char* by, const std::vector<std::int64_t>& rank) {
      std::vector<std::int64_t> at(m, -1);
      for (std::int64_t i = 0; i < c.n; ++i)
        if (rank[i] <= m) at[rank[i] - 1] = i;
      for (std::int64_t r = 0; r < m; ++r) {
        const std::int64_t i = at[r];
        os << by << ',' << r + 1;
        c.for_each_column([&](const ColumnSpec&, const auto& col) {
          const auto& v = col[static_cast<std::size_t>(i)];
          using T = std::decay_t<decltype(v)>;
          if constexpr (std::is_same_v<T, std::string>) os << ',' << csv::field(v);
          else if constexpr (std::is_same_v<T, double>) os << fmt::format(",{:.10g}", v);
          else if constexpr (std::is_same_v<T, float>) os << fmt::format(",{:.6g}", v);
          else os << ',' << static_cast<std::int64_t>(v);
        });
        os << fmt::format(",{:.9g},{:.9g},{:.9g},{:.9g},{:.6f}\n", c.score[0][i], c.score[1][i], c.score[2][i],
                          c.score[kPcaScore][i], c.combined[i]);
      }
    };
    for (int s = 0; s < kNumScores; ++s) emit(kScores[s].name, c.rank[s]);
    emit("combined", c.rank_combined);
    if (!os.flush()) throw_write_error(path, errno != 0 ? errno : EIO);
  }
  staged.commit();
}

}  // namespace specvae::merge

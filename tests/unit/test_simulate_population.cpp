// The survey population and its randomness: the counter-based streams and their normals,
// class and anomaly fractions against the configuration, unique deterministic TARGETIDs,
// BGS-like redshifts, and file groups that do not depend on the thread count.
#include <gtest/gtest.h>
#include <omp.h>

#include <cmath>
#include <set>

#include "specvae/simulate/sim_random.hpp"
#include "specvae/simulate/simulate.hpp"

namespace {

using namespace specvae;
using namespace specvae::sim;

TEST(SimulateRandom, NormalsHaveUnitMomentsBothWays) {
  for (int bulk = 0; bulk < 2; ++bulk) {
    SimStream s(7, StreamPurpose::kNoise, 3);
    const int n = 400000;
    std::vector<float> x(n);
    if (bulk) s.normals(x.data(), n);
    else for (auto& v : x) v = s.normal();
    double m1 = 0, m2 = 0, m4 = 0, tail = 0;
    for (float v : x) {
      m1 += v;
      m2 += double(v) * v;
      m4 += double(v) * v * v * v;
      tail += std::abs(v) > 3.0f ? 1 : 0;
    }
    m1 /= n, m2 /= n, m4 /= n, tail /= n;
    EXPECT_NEAR(m1, 0.0, 0.006) << "bulk " << bulk;
    EXPECT_NEAR(m2, 1.0, 0.01) << "bulk " << bulk;
    EXPECT_NEAR(m4, 3.0, 0.06) << "bulk " << bulk;
    EXPECT_NEAR(tail, 0.0027, 0.0006) << "bulk " << bulk;  // P(|x| > 3)
  }
}

TEST(SimulateRandom, StreamsArePureFunctionsOfTheirKey) {
  SimStream a(11, StreamPurpose::kObject, 5), b(11, StreamPurpose::kObject, 5);
  SimStream c(11, StreamPurpose::kObject, 6), d(12, StreamPurpose::kObject, 5), e(11, StreamPurpose::kNoise, 5);
  int same_c = 0, same_d = 0, same_e = 0;
  for (int i = 0; i < 100; ++i) {
    const std::uint32_t x = a.next_u32();
    EXPECT_EQ(x, b.next_u32());
    same_c += x == c.next_u32();
    same_d += x == d.next_u32();
    same_e += x == e.next_u32();
  }
  EXPECT_LT(same_c + same_d + same_e, 3);
}

TEST(SimulatePopulation, FractionsMatchTheConfiguration) {
  Config config = Config::defaults();
  // Raise the anomaly fractions so 60k draws measure each one to a few per cent.
  for (const char* k : {"extreme_emitter", "broad_line_agn", "wrong_z_qso", "star_as_galaxy", "camera_step", "sky_dip",
                        "bad_pixel_run", "cataclysmic_variable", "white_dwarf"})
    config.set_value(std::string("simulate.anomaly.") + k, 0.02);
  config.set_value("simulate.n_spectra", std::int64_t{60000});
  const SurveySpec spec = SurveySpec::from_config(config);
  std::array<double, kNumAnomalyKinds> anomalies{};
  std::array<double, 3> classes{};
  for (std::int64_t i = 0; i < spec.n_spectra; ++i) {
    const ObjectParams p = draw_object(spec, i);
    ++anomalies[static_cast<std::size_t>(p.anomaly)];
    if (p.anomaly == AnomalyKind::kNone) ++classes[static_cast<std::size_t>(p.true_class)];
  }
  const double n = static_cast<double>(spec.n_spectra);
  auto expect_fraction = [&](double count, double f, const std::string& what) {
    const double sigma = std::sqrt(n * f * (1 - f));
    EXPECT_NEAR(count, n * f, 4 * sigma + 1) << what;  // 4σ binomial
  };
  for (int k = 1; k < kNumAnomalyKinds; ++k) expect_fraction(anomalies[k], 0.02, anomaly_name(static_cast<AnomalyKind>(k)));
  expect_fraction(classes[1], spec.frac_qso, "QSO");
  expect_fraction(classes[2], spec.frac_star, "STAR");
}

TEST(SimulatePopulation, BrightGalaxySurveyRedshiftsAndMagnitudes) {
  const SurveySpec spec = SurveySpec::from_config(Config::defaults());
  std::vector<double> z;
  std::int64_t low_z = 0, galaxies = 0;
  for (std::int64_t i = 0; i < 5000; ++i) {
    const ObjectParams p = draw_object(spec, i);
    EXPECT_GE(p.mag_r, spec.mag_r_min - 1e-9);
    EXPECT_LE(p.mag_r, spec.mag_r_max + 1e-9);
    if (p.true_class != ObjectClass::kGalaxy || p.anomaly != AnomalyKind::kNone) continue;
    ++galaxies;
    EXPECT_GE(p.z, spec.z_min);
    EXPECT_LE(p.z, spec.z_max);
    z.push_back(p.z);
    low_z += p.z < 0.3;
  }
  std::sort(z.begin(), z.end());
  const double median = z[z.size() / 2];
  EXPECT_GT(median, 0.15);  // BGS: median z ≈ 0.2
  EXPECT_LT(median, 0.32);
  EXPECT_GT(static_cast<double>(low_z) / galaxies, 0.45);
}

TEST(SimulatePopulation, TargetIdsAreUniqueAndDeterministic) {
  const SurveySpec spec = SurveySpec::from_config(Config::defaults());
  std::set<std::int64_t> ids;
  for (std::int64_t i = 0; i < 2000; ++i) {
    const ObjectParams a = draw_object(spec, i), b = draw_object(spec, i);
    EXPECT_EQ(a.targetid, kTargetIdOffset + i);
    EXPECT_EQ(a.targetid, b.targetid);
    EXPECT_EQ(a.z, b.z);
    EXPECT_EQ(a.mag_r, b.mag_r);
    ids.insert(a.targetid);
  }
  EXPECT_EQ(ids.size(), 2000u);
}

TEST(SimulatePopulation, GroupsDoNotDependOnTheThreadCount) {
  SurveySpec spec = SurveySpec::from_config(Config::defaults());
  spec.n_spectra = 90;
  spec.spectra_per_file = 40;
  const Instrument inst = make_instrument(spec.exptime);
  const int saved = omp_get_max_threads();
  omp_set_num_threads(1);
  const GroupData one = render_group(spec, inst, 2);  // the short last group (10 rows)
  omp_set_num_threads(3);
  const GroupData three = render_group(spec, inst, 2);
  omp_set_num_threads(saved);
  ASSERT_EQ(one.nrows, 10);
  for (int c = 0; c < kNumCameras; ++c) {
    EXPECT_EQ(one.flux[c], three.flux[c]);
    EXPECT_EQ(one.ivar[c], three.ivar[c]);
    EXPECT_EQ(one.mask[c], three.mask[c]);
  }
  for (std::size_t i = 0; i < one.results.size(); ++i) EXPECT_EQ(one.results[i].z_reported, three.results[i].z_reported);
}

}  // namespace

// The binary tables of a simulated file group, with DESI's column names and dtypes:
// FIBERMAP (the healpix-coadd layout of fuji sv3 files, with SV1/2/3 target columns for those
// surveys), EXP_FIBERMAP (one exposure per target), SCORES and redrock's REDSHIFTS.
#include <algorithm>
#include <cmath>

#include <fmt/format.h>

#include "specvae/simulate/sim_random.hpp"
#include "specvae/simulate/simulate.hpp"

namespace specvae::sim {
namespace {

// Target bits (desitarget targetmask.yaml; the sv1/sv3 masks share these low bits).
constexpr std::int64_t kDesiQso = std::int64_t{1} << 2;
constexpr std::int64_t kDesiBgsAny = std::int64_t{1} << 60;
constexpr std::int64_t kDesiMwsAny = std::int64_t{1} << 61;
constexpr std::int64_t kBgsFaint = 1 << 0, kBgsBright = 1 << 1;
constexpr std::int64_t kBgsNorthShift = 8, kBgsSouthShift = 16;
constexpr std::int64_t kMwsBroad = 1 << 0, kMwsWd = 1 << 1;

struct Targeting {
  std::int64_t desi = 0, bgs = 0, mws = 0, priority = 0;
};

bool north(const ObjectParams& p) { return p.dec >= 32.375; }  // DR9: BASS/MzLS north of +32.375°

Targeting targeting(const ObjectParams& p, double hash) {
  Targeting t;
  const bool is_star_target = p.anomaly == AnomalyKind::kNone && p.true_class == ObjectClass::kStar;
  if (is_star_target && hash < 0.5) {  // half the stars come from the Milky Way Survey
    t.desi = kDesiMwsAny;
    t.mws = std::string(p.subtype) == "WD" ? kMwsWd : kMwsBroad;
    t.priority = 1400;
    return t;
  }
  t.desi = kDesiBgsAny;
  const std::int64_t bit = p.mag_r < 19.5 ? kBgsBright : kBgsFaint;
  t.bgs = bit | (bit << (north(p) ? kBgsNorthShift : kBgsSouthShift));
  t.priority = p.mag_r < 19.5 ? 2100 : 2000;
  if (p.true_class == ObjectClass::kQso && p.anomaly == AnomalyKind::kNone) t.desi |= kDesiQso;
  return t;
}

// A uniform number per (object, field) from the object's index, for catalogue columns that
// carry no physics (subpriority, shapes, astrometric scatter).
double unit(const SurveySpec& spec, std::int64_t index, std::uint32_t field) {
  const rng::StreamKey key{spec.seed, field, kSimulatePurpose + 1};
  return rng::uniform_open01_double(rng::block(key, static_cast<std::uint64_t>(index), 0).v[0],
                                    rng::block(key, static_cast<std::uint64_t>(index), 0).v[1]);
}

float nanomaggies(double mag) { return static_cast<float>(std::pow(10.0, -0.4 * (mag - 22.5))); }

std::string brickname(double ra, double dec) {
  // DR9 bricks are 0.25° in Dec; names encode the centre as RRRR[p|m]DDD in 0.1°.
  const double dc = (std::floor(dec / 0.25) + 0.5) * 0.25;
  const double rc = (std::floor(ra / 0.25) + 0.5) * 0.25;
  return fmt::format("{:04d}{}{:03d}", static_cast<int>(rc * 10) % 3600, dc >= 0 ? 'p' : 'm',
                     std::min(static_cast<int>(std::abs(dc) * 10), 999));
}

}  // namespace

FitsTable make_fibermap(const SurveySpec& spec, const std::vector<ObjectParams>& objs) {
  const std::int64_t n = static_cast<std::int64_t>(objs.size());
  FitsTable t(n);
  auto col_f32 = [&](auto fn) {
    std::vector<float> v;
    v.reserve(objs.size());
    for (const auto& p : objs) v.push_back(static_cast<float>(fn(p)));
    return v;
  };
  auto col_f64 = [&](auto fn) {
    std::vector<double> v;
    for (const auto& p : objs) v.push_back(fn(p));
    return v;
  };
  auto col_i64 = [&](auto fn) {
    std::vector<std::int64_t> v;
    for (const auto& p : objs) v.push_back(fn(p));
    return v;
  };
  auto col_i32 = [&](auto fn) {
    std::vector<std::int32_t> v;
    for (const auto& p : objs) v.push_back(static_cast<std::int32_t>(fn(p)));
    return v;
  };
  auto col_i16 = [&](auto fn) {
    std::vector<std::int16_t> v;
    for (const auto& p : objs) v.push_back(static_cast<std::int16_t>(fn(p)));
    return v;
  };
  auto col_str = [&](auto fn) {
    std::vector<std::string> v;
    for (const auto& p : objs) v.push_back(fn(p));
    return v;
  };
  auto is_star = [](const ObjectParams& p) { return p.true_class == ObjectClass::kStar; };
  auto is_point = [](const ObjectParams& p) { return p.true_class != ObjectClass::kGalaxy && p.anomaly != AnomalyKind::kBroadLineAgn; };
  auto tgt = [&](const ObjectParams& p) { return targeting(p, unit(spec, p.index, 1)); };
  auto shape_r = [&](const ObjectParams& p) {
    return is_point(p) ? 0.0 : 0.9 * std::pow(std::max(0.78 / p.fiber_frac - 1.0, 1e-3), 1.0 / 1.3);
  };
  auto morph = [&](const ObjectParams& p) -> std::string {
    if (is_point(p)) return "PSF";
    return std::string(p.subtype) == "PASSIVE" ? "DEV" : "EXP";
  };

  t.add_i64("TARGETID", col_i64([](const auto& p) { return p.targetid; }));
  t.add_i32("COADD_FIBERSTATUS", col_i32([](const auto&) { return 0; }));
  t.add_f64("TARGET_RA", col_f64([](const auto& p) { return p.ra; }));
  t.add_f64("TARGET_DEC", col_f64([](const auto& p) { return p.dec; }));
  t.add_f32("PMRA", col_f32([&](const auto& p) { return is_star(p) ? 20.0 * (unit(spec, p.index, 2) - 0.5) : 0.0; }));
  t.add_f32("PMDEC", col_f32([&](const auto& p) { return is_star(p) ? 20.0 * (unit(spec, p.index, 3) - 0.5) : 0.0; }));
  t.add_f32("REF_EPOCH", col_f32([](const auto&) { return 2015.5; }));
  t.add_i64("FA_TARGET", col_i64([&](const auto& p) { return tgt(p).desi; }));
  t.add_u8("FA_TYPE", [&] { std::vector<std::uint8_t> v(objs.size(), 1); return v; }());
  t.add_string("OBJTYPE", 3, col_str([](const auto&) { return std::string("TGT"); }));
  t.add_f64("SUBPRIORITY", col_f64([&](const auto& p) { return unit(spec, p.index, 4); }));
  t.add_i32("OBSCONDITIONS", col_i32([&](const auto&) { return spec.program == "dark" ? 1 : 6; }));
  t.add_i16("RELEASE", col_i16([](const auto& p) { return north(p) ? 9011 : 9010; }));
  t.add_string("BRICKNAME", 8, col_str([](const auto& p) { return brickname(p.ra, p.dec); }));
  t.add_i32("BRICKID", col_i32([](const auto& p) { return (p.index >> 22) & 0xFFFFF; }));
  t.add_i32("BRICK_OBJID", col_i32([](const auto& p) { return p.index & 0x3FFFFF; }));
  t.add_string("MORPHTYPE", 4, col_str(morph));
  t.add_f32("EBV", col_f32([](const auto&) { return 0.0; }));  // the spectra carry no Galactic extinction
  // Photometry of the total light; W1/W2 from rough class colours (z - W1 ≈ -0.2 / +0.5 / -1 AB).
  t.add_f32("FLUX_G", col_f32([](const auto& p) { return nanomaggies(p.mag_g); }));
  t.add_f32("FLUX_R", col_f32([](const auto& p) { return nanomaggies(p.mag_r); }));
  t.add_f32("FLUX_Z", col_f32([](const auto& p) { return nanomaggies(p.mag_z); }));
  auto w1 = [&](const ObjectParams& p) {
    const double c = p.true_class == ObjectClass::kStar ? 0.5 : p.true_class == ObjectClass::kQso ? -1.0 : -0.2;
    return nanomaggies(p.mag_z - c);
  };
  t.add_f32("FLUX_W1", col_f32(w1));
  t.add_f32("FLUX_W2", col_f32([&](const auto& p) { return 0.7 * w1(p); }));
  // Legacy Surveys DR9 depths: ~0.02 nmgy (g, r), 0.04 (z), 0.3 / 0.7 (W1, W2).
  t.add_f32("FLUX_IVAR_G", col_f32([](const auto&) { return 2500.0; }));
  t.add_f32("FLUX_IVAR_R", col_f32([](const auto&) { return 2500.0; }));
  t.add_f32("FLUX_IVAR_Z", col_f32([](const auto&) { return 625.0; }));
  t.add_f32("FLUX_IVAR_W1", col_f32([](const auto&) { return 11.0; }));
  t.add_f32("FLUX_IVAR_W2", col_f32([](const auto&) { return 2.0; }));
  t.add_f32("FIBERFLUX_G", col_f32([](const auto& p) { return nanomaggies(p.mag_g) * p.fiber_frac; }));
  t.add_f32("FIBERFLUX_R", col_f32([](const auto& p) { return nanomaggies(p.mag_r) * p.fiber_frac; }));
  t.add_f32("FIBERFLUX_Z", col_f32([](const auto& p) { return nanomaggies(p.mag_z) * p.fiber_frac; }));
  t.add_f32("FIBERTOTFLUX_G", col_f32([](const auto& p) { return nanomaggies(p.mag_g) * p.fiber_frac; }));
  t.add_f32("FIBERTOTFLUX_R", col_f32([](const auto& p) { return nanomaggies(p.mag_r) * p.fiber_frac; }));
  t.add_f32("FIBERTOTFLUX_Z", col_f32([](const auto& p) { return nanomaggies(p.mag_z) * p.fiber_frac; }));
  t.add_i16("MASKBITS", col_i16([](const auto&) { return 0; }));
  t.add_f32("SERSIC", col_f32([&](const auto& p) { return morph(p) == "DEV" ? 4.0 : morph(p) == "EXP" ? 1.0 : 0.0; }));
  t.add_f32("SHAPE_R", col_f32(shape_r));
  t.add_f32("SHAPE_E1", col_f32([&](const auto& p) { return is_point(p) ? 0.0 : 0.6 * (unit(spec, p.index, 5) - 0.5); }));
  t.add_f32("SHAPE_E2", col_f32([&](const auto& p) { return is_point(p) ? 0.0 : 0.6 * (unit(spec, p.index, 6) - 0.5); }));
  t.add_i64("REF_ID", col_i64([&](const auto& p) { return is_star(p) ? p.index + 1 : 0; }));
  t.add_string("REF_CAT", 2, col_str([&](const auto& p) { return std::string(is_star(p) ? "G2" : ""); }));
  t.add_f32("GAIA_PHOT_G_MEAN_MAG", col_f32([&](const auto& p) { return is_star(p) ? p.mag_r + 0.2 * (p.mag_g - p.mag_r) : 0.0; }));
  t.add_f32("GAIA_PHOT_BP_MEAN_MAG", col_f32([&](const auto& p) { return is_star(p) ? 0.5 * (p.mag_g + p.mag_r) : 0.0; }));
  t.add_f32("GAIA_PHOT_RP_MEAN_MAG", col_f32([&](const auto& p) { return is_star(p) ? 0.5 * (p.mag_r + p.mag_z) : 0.0; }));
  t.add_f32("PARALLAX", col_f32([&](const auto& p) { return is_star(p) ? 0.1 + 3.0 * unit(spec, p.index, 7) : 0.0; }));
  t.add_string("PHOTSYS", 1, col_str([](const auto& p) { return std::string(north(p) ? "N" : "S"); }));
  t.add_i64("PRIORITY_INIT", col_i64([&](const auto& p) { return tgt(p).priority; }));
  t.add_i64("NUMOBS_INIT", col_i64([](const auto&) { return 1; }));
  if (spec.survey == "sv1" || spec.survey == "sv2" || spec.survey == "sv3") {
    std::string sv = spec.survey;
    std::transform(sv.begin(), sv.end(), sv.begin(), ::toupper);
    t.add_i64(sv + "_DESI_TARGET", col_i64([&](const auto& p) { return tgt(p).desi; }));
    t.add_i64(sv + "_BGS_TARGET", col_i64([&](const auto& p) { return tgt(p).bgs; }));
    t.add_i64(sv + "_MWS_TARGET", col_i64([&](const auto& p) { return tgt(p).mws; }));
    t.add_i64(sv + "_SCND_TARGET", col_i64([](const auto&) { return 0; }));
  }
  t.add_i64("DESI_TARGET", col_i64([&](const auto& p) { return tgt(p).desi; }));
  t.add_i64("BGS_TARGET", col_i64([&](const auto& p) { return tgt(p).bgs; }));
  t.add_i64("MWS_TARGET", col_i64([&](const auto& p) { return tgt(p).mws; }));
  t.add_i64("SCND_TARGET", col_i64([](const auto&) { return 0; }));
  t.add_f64("PLATE_RA", col_f64([](const auto& p) { return p.ra; }));
  t.add_f64("PLATE_DEC", col_f64([](const auto& p) { return p.dec; }));
  t.add_i16("COADD_NUMEXP", col_i16([](const auto&) { return 1; }));
  t.add_f32("COADD_EXPTIME", col_f32([&](const auto&) { return spec.exptime; }));
  t.add_i16("COADD_NUMNIGHT", col_i16([](const auto&) { return 1; }));
  t.add_i16("COADD_NUMTILE", col_i16([](const auto&) { return 1; }));
  // Fibre positioning residuals of a few microns (mm on the focal plane).
  t.add_f32("MEAN_DELTA_X", col_f32([&](const auto& p) { return 0.01 * (unit(spec, p.index, 8) - 0.5); }));
  t.add_f32("RMS_DELTA_X", col_f32([&](const auto& p) { return 0.01 * std::abs(unit(spec, p.index, 8) - 0.5); }));
  t.add_f32("MEAN_DELTA_Y", col_f32([&](const auto& p) { return 0.01 * (unit(spec, p.index, 9) - 0.5); }));
  t.add_f32("RMS_DELTA_Y", col_f32([&](const auto& p) { return 0.01 * std::abs(unit(spec, p.index, 9) - 0.5); }));
  t.add_f64("MEAN_FIBER_RA", col_f64([](const auto& p) { return p.ra; }));
  t.add_f32("STD_FIBER_RA", col_f32([](const auto&) { return 0.0; }));
  t.add_f64("MEAN_FIBER_DEC", col_f64([](const auto& p) { return p.dec; }));
  t.add_f32("STD_FIBER_DEC", col_f32([](const auto&) { return 0.0; }));
  t.add_f32("MEAN_PSF_TO_FIBER_SPECFLUX", col_f32([](const auto&) { return 0.78; }));
  return t;
}

FitsTable make_exp_fibermap(const SurveySpec& spec, std::int64_t group, const std::vector<ObjectParams>& objs) {
  const std::int64_t n = static_cast<std::int64_t>(objs.size());
  FitsTable t(n);
  std::vector<std::int64_t> tid, location, numiter;
  std::vector<std::int32_t> priority, night, expid, tileid, device, fiber, status;
  std::vector<std::int16_t> petal;
  std::vector<double> subprio, mjd, exptime, pra, pdec, fx, fy, dx, dy, fra, fdec, psf;
  std::vector<float> fax, fay, lref;
  const int night_offset = static_cast<int>(group % 28);
  for (std::int64_t row = 0; row < n; ++row) {
    const ObjectParams& p = objs[static_cast<std::size_t>(row)];
    const int f = static_cast<int>(row % 5000);
    tid.push_back(p.targetid);
    priority.push_back(static_cast<std::int32_t>(targeting(p, unit(spec, p.index, 1)).priority));
    subprio.push_back(unit(spec, p.index, 4));
    night.push_back(20210405 + night_offset);
    expid.push_back(static_cast<std::int32_t>(80000 + group));
    mjd.push_back(59309.2 + night_offset);
    tileid.push_back(static_cast<std::int32_t>(1000 + group));
    exptime.push_back(spec.exptime);
    petal.push_back(static_cast<std::int16_t>(f / 500));
    device.push_back(f % 500);
    location.push_back((f / 500) * 1000 + f % 500);
    fiber.push_back(f);
    status.push_back(0);
    const double r = 400.0 * std::sqrt(unit(spec, p.index, 10)), th = 2 * M_PI * unit(spec, p.index, 11);
    fax.push_back(static_cast<float>(r * std::cos(th)));
    fay.push_back(static_cast<float>(r * std::sin(th)));
    lref.push_back(5400.0f);
    pra.push_back(p.ra);
    pdec.push_back(p.dec);
    numiter.push_back(2);
    fx.push_back(r * std::cos(th));
    fy.push_back(r * std::sin(th));
    dx.push_back(0.01 * (unit(spec, p.index, 8) - 0.5));
    dy.push_back(0.01 * (unit(spec, p.index, 9) - 0.5));
    fra.push_back(p.ra);
    fdec.push_back(p.dec);
    psf.push_back(0.78);
  }
  t.add_i64("TARGETID", tid);
  t.add_i32("PRIORITY", priority);
  t.add_f64("SUBPRIORITY", subprio);
  t.add_i32("NIGHT", night);
  t.add_i32("EXPID", expid);
  t.add_f64("MJD", mjd);
  t.add_i32("TILEID", tileid);
  t.add_f64("EXPTIME", exptime);
  t.add_i16("PETAL_LOC", petal);
  t.add_i32("DEVICE_LOC", device);
  t.add_i64("LOCATION", location);
  t.add_i32("FIBER", fiber);
  t.add_i32("FIBERSTATUS", status);
  t.add_f32("FIBERASSIGN_X", fax);
  t.add_f32("FIBERASSIGN_Y", fay);
  t.add_f32("LAMBDA_REF", lref);
  t.add_f64("PLATE_RA", pra);
  t.add_f64("PLATE_DEC", pdec);
  t.add_i64("NUM_ITER", numiter);
  t.add_f64("FIBER_X", fx);
  t.add_f64("FIBER_Y", fy);
  t.add_f64("DELTA_X", dx);
  t.add_f64("DELTA_Y", dy);
  t.add_f64("FIBER_RA", fra);
  t.add_f64("FIBER_DEC", fdec);
  t.add_f64("PSF_TO_FIBER_SPECFLUX", psf);
  return t;
}

FitsTable make_scores(const std::vector<ObjectParams>& objs, const std::vector<RenderResult>& res) {
  FitsTable t(static_cast<std::int64_t>(objs.size()));
  std::vector<std::int64_t> tid;
  for (const auto& p : objs) tid.push_back(p.targetid);
  t.add_i64("TARGETID", tid);
  const char* bands[kNumCameras] = {"B", "R", "Z"};
  for (int c = 0; c < kNumCameras; ++c) {
    std::vector<float> integ, med, snr;
    for (const auto& r : res) {
      integ.push_back(r.integ_flux[static_cast<std::size_t>(c)]);
      med.push_back(r.median_flux[static_cast<std::size_t>(c)]);
      snr.push_back(r.median_snr[static_cast<std::size_t>(c)]);
    }
    t.add_f32(fmt::format("INTEG_COADD_FLUX_{}", bands[c]), integ);
    t.add_f32(fmt::format("MEDIAN_COADD_FLUX_{}", bands[c]), med);
    t.add_f32(fmt::format("MEDIAN_COADD_SNR_{}", bands[c]), snr);
  }
  return t;
}

FitsTable make_redshifts(const std::vector<ObjectParams>& objs, const std::vector<RenderResult>& res) {
  FitsTable t(static_cast<std::int64_t>(objs.size()));
  std::vector<std::int64_t> tid, zwarn, npix, ncoeff;
  std::vector<double> z, zerr, chi2, coeff, dchi2;
  std::vector<std::string> spectype, subtype;
  for (std::size_t i = 0; i < objs.size(); ++i) {
    const ObjectParams& p = objs[i];
    const RenderResult& r = res[i];
    tid.push_back(p.targetid);
    z.push_back(r.z_reported);
    zerr.push_back(r.zerr);
    zwarn.push_back(r.zwarn);
    chi2.push_back(r.chi2);
    // Not redrock's PCA coefficients: the simulator's own continuum weights (templates, then
    // the power-law amplitude), zero-padded to redrock's 10 slots.
    double c[10] = {0};
    int nc = 0;
    for (int k = 0; k < p.ntemplates; ++k) c[nc++] = p.template_weight[static_cast<std::size_t>(k)];
    if (p.powerlaw_amp != 0) c[nc++] = p.powerlaw_amp;
    coeff.insert(coeff.end(), c, c + 10);
    npix.push_back(r.npixels);
    spectype.push_back(class_name(p.reported_class));
    subtype.push_back(p.reported_subtype);
    ncoeff.push_back(nc);
    dchi2.push_back(r.deltachi2);
  }
  t.add_i64("TARGETID", tid);
  t.add_f64("Z", z);
  t.add_f64("ZERR", zerr);
  t.add_i64("ZWARN", zwarn);
  t.add_f64("CHI2", chi2);
  t.add_f64_vector("COEFF", 10, coeff);
  t.add_i64("NPIXELS", npix);
  t.add_string("SPECTYPE", 6, spectype);
  t.add_string("SUBTYPE", 20, subtype);
  t.add_i64("NCOEFF", ncoeff);
  t.add_f64("DELTACHI2", dchi2);
  return t;
}

}  // namespace specvae::sim

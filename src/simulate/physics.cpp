// Parametric astrophysics of the simulated objects (see physics.hpp). Line lists are rest
// vacuum-ish wavelengths to ~1 Å; strengths follow textbook values: Balmer decrement 2.86,
// [O III] 5007/4959 = 2.98, [N II] 6584/6548 = 3.05, BPT loci of Kauffmann et al. (2003)
// and Kewley et al. (2001), quasar equivalent widths of Vanden Berk et al. (2001).
#include "specvae/simulate/physics.hpp"

#include <algorithm>
#include <cmath>

#include "specvae/simulate/templates.hpp"

namespace specvae::sim {
namespace {

double sigma_of(double rest, double sigma_kms) { return rest * sigma_kms / kSpeedOfLightKms; }
double fwhm_sigma(double rest, double fwhm_kms) { return rest * fwhm_kms / (2.3548 * kSpeedOfLightKms); }

// Scales the continuum so its mean f_λ over observed 5600-7000 Å (≈ the r band) is target.
void normalise(ObjectParams& p, double target) {
  double sum = 0;
  const int n = 29;
  for (int i = 0; i < n; ++i) sum += continuum_at(p, 5600.0 + 1400.0 * i / (n - 1));
  const double mean = sum / n;
  if (!(mean > 0)) return;
  const double scale = target / mean;
  for (int k = 0; k < p.ntemplates; ++k) p.template_weight[static_cast<std::size_t>(k)] *= static_cast<float>(scale);
  p.powerlaw_amp *= static_cast<float>(scale);
}

// Flux of an emission line of rest equivalent width ew (Å) against the object's continuum.
float line_flux_from_ew(const ObjectParams& p, double rest, double ew) {
  return static_cast<float>(ew * (1.0 + p.z) * continuum_at(p, rest * (1.0 + p.z)));
}

void add_absorption(ObjectParams& p, double rest, double ew, double sigma_int, double sigma_kms) {
  if (ew <= 0) return;
  const double sv = sigma_of(rest, sigma_kms);
  p.add_line(static_cast<float>(rest), static_cast<float>(ew), static_cast<float>(std::sqrt(sigma_int * sigma_int + sv * sv)), false);
}

double kauffmann(double x) { return 0.61 / (x - 0.05) + 1.30; }  // SF / composite boundary
double kewley(double x) { return 0.61 / (x - 0.47) + 1.19; }     // maximum starburst line

// Narrow emission lines of a galaxy (or an AGN's narrow-line region) from the Hα flux,
// the BPT position (x = log [N II]/Hα, y = log [O III]/Hβ) and the nebular reddening.
void add_nebular_lines(ObjectParams& p, SimStream& s, double f_ha, double x, double y, double ebv_neb,
                       double sigma_kms, bool agn) {
  auto dust = [&](double lam) { return std::pow(10.0, -0.4 * ebv_neb * (calzetti_k(lam) - calzetti_k(6564.6))); };
  auto add = [&](double rest, double flux_intrinsic_rel) {
    const double f = f_ha * flux_intrinsic_rel * dust(rest);
    if (f > 0) p.add_line(static_cast<float>(rest), static_cast<float>(f), static_cast<float>(sigma_of(rest, sigma_kms)), true);
  };
  const double hb = 1.0 / (agn ? 3.1 : 2.86);
  const double nii = std::pow(10.0, x), oiii = hb * std::pow(10.0, y);
  add(6564.6, 1.0);
  add(6585.3, nii);
  add(6549.9, nii / 3.05);
  add(4862.7, hb);
  add(4341.7, hb * 0.468);
  add(4102.9, hb * 0.259);
  add(3971.2, hb * 0.159);
  add(5008.2, oiii);
  add(4960.3, oiii / 2.98);
  const double oii = hb * std::pow(10.0, agn ? s.uniform(0.2, 0.6) : std::clamp(0.45 - 0.5 * (x + 0.7), 0.0, 0.75));
  const double r_oii = s.uniform(0.65, 0.85);  // 3726/3729: low-density HII regions
  add(3727.1, oii * r_oii / (1 + r_oii));
  add(3729.9, oii / (1 + r_oii));
  add(3869.9, oii * std::pow(10.0, y - 1.1));
  const double sii = std::pow(10.0, agn ? s.uniform(-0.35, 0.0) : std::clamp(-0.55 + 0.35 * (x + 0.7), -0.8, -0.3));
  const double r_sii = s.uniform(1.2, 1.45);  // 6717/6731: low density
  add(6718.3, sii * r_sii / (1 + r_sii));
  add(6732.7, sii / (1 + r_sii));
  add(5877.3, hb * 0.11);
  add(6679.99, hb * 0.03);
  const double oi = agn ? s.uniform(0.08, 0.3) : s.uniform(0.015, 0.05);
  add(6302.0, oi);
  add(6365.5, oi / 3.0);
  add(9071.1, agn ? 0.08 : s.uniform(0.08, 0.2));  // [S III]
  if (agn) add(4687.0, hb * s.uniform(0.1, 0.3));   // He II
}

}  // namespace

void build_galaxy(ObjectParams& p, SimStream& s, double abs_mag, double fiber_flambda, GalaxyFlavor flavor) {
  // Red-sequence fraction rises with luminosity.
  const double p_red = 0.2 + 0.6 / (1.0 + std::exp(-(-abs_mag - 21.0) / 0.7));
  bool red = s.bernoulli(p_red);
  if (flavor == GalaxyFlavor::kExtremeEmitter) red = false;
  if (flavor == GalaxyFlavor::kBroadLineAgnHost) red = s.bernoulli(0.6);
  double a_old = red ? s.uniform(0.85, 1.0) : s.uniform(0.15, 0.75);
  if (flavor == GalaxyFlavor::kExtremeEmitter) a_old = s.uniform(0.0, 0.12);
  double f_inter = red ? s.uniform(0.0, 0.05) : s.uniform(0.0, 0.3);
  const bool poststarburst = red && flavor == GalaxyFlavor::kNormal && s.bernoulli(0.03);
  if (poststarburst) {
    a_old = s.uniform(0.5, 0.7);
    f_inter = s.uniform(0.6, 0.9);
  }
  p.ntemplates = 3;
  p.template_id = {RestTemplates::kOld, RestTemplates::kYoung, RestTemplates::kIntermediate};
  p.template_weight = {static_cast<float>(a_old), static_cast<float>((1 - a_old) * (1 - f_inter)),
                       static_cast<float>((1 - a_old) * f_inter)};
  p.dust_ebv = static_cast<float>(red ? s.uniform(0.0, 0.06) : s.uniform(0.03, 0.3));
  // What a mix of three populations lacks: metallicity (metal lines and colour apart from the
  // age mix, higher in luminous galaxies), α-enhancement (Mg b apart from Fe), the aperture
  // colour gradient (a fibre on a large nearby galaxy sees its redder core) and the
  // spectrophotometric calibration's few-per-cent tilt.
  const double metals = std::clamp(std::exp(s.normal(0.1 * (-abs_mag - 20.2), 0.2)), 0.5, 2.0);
  const double alpha = std::clamp(std::exp(s.normal(0.0, 0.15)), 0.6, 1.6);
  const double aperture = std::clamp(1.0 - p.fiber_frac / 0.78, 0.0, 1.0);
  p.tilt = static_cast<float>(0.15 * std::log(metals) + s.uniform(0.0, 0.5) * aperture + s.normal(0.0, 0.04));
  normalise(p, fiber_flambda);

  // Stellar absorption lines; metal lines scale with the old light, Balmer with A-type light.
  const double sig_star = red ? s.uniform(140, 280) : s.uniform(60, 140);
  const double m = a_old * metals, b = 1.0 - a_old * 0.7 + 3.0 * f_inter * (1 - a_old);
  add_absorption(p, 3934.8, 9.0 * m + 1.0, 1.5, sig_star);   // Ca II K
  add_absorption(p, 3969.6, 7.0 * m + 1.0, 1.5, sig_star);   // Ca II H (+ Hε)
  add_absorption(p, 3884.0, 3.0 * m, 6.0, sig_star);         // CN band
  add_absorption(p, 4227.0, 1.5 * m, 1.5, sig_star);         // Ca I
  add_absorption(p, 4305.0, 5.0 * m, 7.0, sig_star);         // G band
  add_absorption(p, 5176.0, 4.0 * m * alpha, 6.0, sig_star); // Mg b
  add_absorption(p, 5270.0, 2.2 * m, 3.0, sig_star);         // Fe
  add_absorption(p, 5335.0, 1.8 * m, 3.0, sig_star);         // Fe
  add_absorption(p, 5894.0, 3.0 * m, 2.5, sig_star);         // Na D
  add_absorption(p, 8544.4, 3.5 * m, 2.0, sig_star);         // Ca triplet
  add_absorption(p, 8664.5, 3.0 * m, 2.0, sig_star);
  add_absorption(p, 4102.9, 1.5 * b, 5.0, sig_star);         // Hδ
  add_absorption(p, 4341.7, 1.5 * b, 5.0, sig_star);         // Hγ
  add_absorption(p, 4862.7, 1.8 * b, 5.0, sig_star);         // Hβ
  add_absorption(p, 6564.6, 1.5 * b, 5.0, sig_star);         // Hα
  add_absorption(p, 3890.2, 1.2 * b, 4.0, sig_star);         // H8

  // Emission: star formation (BPT star-forming locus), composites, Seyfert 2s and LINERs.
  // Calzetti: stars see 0.44 of the gas reddening, with a scatter between the two.
  const double ebv_neb = p.dust_ebv / 0.44 * std::exp(s.normal(0.0, 0.3));
  double ew_ha = 0, x = -0.5, y = 0, sig_gas = s.uniform(40, 110);
  bool agn = false;
  p.subtype = red ? "PASSIVE" : "STARFORMING";
  if (poststarburst) p.subtype = "POSTSTARBURST";
  if (flavor == GalaxyFlavor::kExtremeEmitter) {
    ew_ha = s.uniform(400, 1500);
    x = s.uniform(-1.7, -1.2);
    y = std::min(kauffmann(x) - s.uniform(0.0, 0.1), s.uniform(0.7, 0.9));
    sig_gas = s.uniform(30, 80);
    p.subtype = "EXTREME_EMITTER";
  } else if (flavor == GalaxyFlavor::kBroadLineAgnHost) {
    ew_ha = s.uniform(5, 25);
    x = s.uniform(-0.2, 0.25);
    y = s.uniform(0.5, 1.0);
    sig_gas = s.uniform(200, 350);
    agn = true;
  } else if (red) {
    const double u = s.uniform();
    if (u < 0.15) {  // LINER-like weak emission
      ew_ha = s.uniform(1, 4);
      x = s.uniform(0.0, 0.3);
      y = std::max(kewley(x) + 0.05, s.uniform(-0.2, 0.3));
      agn = true;
      p.subtype = "LINER";
    } else if (u < 0.2) {  // Seyfert 2
      ew_ha = s.uniform(3, 15);
      x = s.uniform(-0.2, 0.25);
      y = s.uniform(0.5, 1.0);
      sig_gas = s.uniform(150, 300);
      agn = true;
      p.subtype = "SEYFERT2";
    } else if (!poststarburst) {
      ew_ha = s.uniform(0.0, 1.0);
      x = s.uniform(-0.3, 0.1);
      y = s.uniform(-0.3, 0.2);
    }
  } else {
    ew_ha = (1.0 - a_old) * std::pow(10.0, s.normal(1.55, 0.25));
    x = std::clamp(-0.45 - 0.18 * (-21.0 - abs_mag) + s.normal(0.0, 0.08), -1.4, -0.3);
    y = kauffmann(x) - s.uniform(0.05, 0.3);
    if (x > -0.55 && s.bernoulli(0.15)) {  // composite: between the two loci
      x = s.uniform(-0.4, -0.15);
      y = s.uniform(kauffmann(x), kewley(x) - 0.02);
      p.subtype = "COMPOSITE";
    }
  }
  if (ew_ha > 0) {
    const double f_ha = line_flux_from_ew(p, 6564.6, ew_ha);
    add_nebular_lines(p, s, f_ha, x, y, ebv_neb, sig_gas, agn);
  }

  if (flavor == GalaxyFlavor::kBroadLineAgnHost) {
    // A type-1 nucleus: power law carrying 20-50% of the r-band light, broad Balmer lines.
    const double frac = s.uniform(0.2, 0.5);
    for (int k = 0; k < p.ntemplates; ++k) p.template_weight[static_cast<std::size_t>(k)] *= static_cast<float>(1 - frac);
    p.powerlaw_slope = static_cast<float>(s.normal(-1.5, 0.2));
    p.powerlaw_amp = 1.0f;
    const float host_weights[3] = {p.template_weight[0], p.template_weight[1], p.template_weight[2]};
    p.ntemplates = 0;
    double pl_mean = 0;
    for (int i = 0; i < 29; ++i) pl_mean += continuum_at(p, 5600.0 + 1400.0 * i / 28);
    pl_mean /= 29;
    p.ntemplates = 3;
    for (int k = 0; k < 3; ++k) p.template_weight[static_cast<std::size_t>(k)] = host_weights[k];
    p.powerlaw_amp = static_cast<float>(frac * fiber_flambda / pl_mean);
    const double fwhm = s.uniform(3000, 8000);
    const double ew_broad_ha = s.uniform(150, 400);
    const double f_bha = line_flux_from_ew(p, 6564.6, ew_broad_ha);
    p.add_line(6564.6f, static_cast<float>(f_bha), static_cast<float>(fwhm_sigma(6564.6, fwhm)), true);
    p.add_line(4862.7f, static_cast<float>(f_bha / 3.5), static_cast<float>(fwhm_sigma(4862.7, fwhm)), true);
    p.add_line(4341.7f, static_cast<float>(f_bha / 3.5 * 0.45), static_cast<float>(fwhm_sigma(4341.7, fwhm)), true);
    p.add_line(5877.3f, static_cast<float>(f_bha * 0.03), static_cast<float>(fwhm_sigma(5877.3, fwhm)), true);
    p.subtype = "BROAD_LINE_AGN";
  }
}

void build_qso(ObjectParams& p, SimStream& s, double fiber_flambda) {
  p.ntemplates = 0;
  p.powerlaw_amp = 1.0f;
  p.powerlaw_slope = static_cast<float>(s.normal(-1.5, 0.3));  // f_ν ∝ ν^-0.5 ± 0.3
  p.lya_forest = p.z > 1.6;
  if (p.z < 0.6) {  // the host galaxy shows at low redshift
    p.ntemplates = 1;
    p.template_id[0] = RestTemplates::kOld;
    p.template_weight[0] = static_cast<float>(s.uniform(0.1, 0.6));
  }
  normalise(p, fiber_flambda);
  const double fwhm = s.uniform(2500, 7000);
  struct Broad {
    double rest, ew_lo, ew_hi, fwhm_scale;
  };
  static const Broad broad[] = {{1215.7, 50, 110, 1.0}, {1240.1, 5, 15, 1.0},  {1399.8, 5, 12, 1.2},
                                {1549.1, 20, 45, 1.0},  {1640.4, 2, 5, 1.0},   {1908.7, 12, 25, 1.1},
                                {2799.1, 20, 45, 0.9},  {4102.9, 3, 7, 1.0},   {4341.7, 10, 20, 1.0},
                                {4862.7, 40, 90, 1.0},  {6564.6, 150, 350, 0.9}, {2500.0, 20, 40, 8.0},
                                {2950.0, 10, 20, 6.0},  {4570.0, 10, 25, 5.0}, {5250.0, 8, 15, 6.0}};
  for (const Broad& l : broad) {
    const double ew = s.uniform(l.ew_lo, l.ew_hi);
    p.add_line(static_cast<float>(l.rest), line_flux_from_ew(p, l.rest, ew),
               static_cast<float>(fwhm_sigma(l.rest, fwhm * l.fwhm_scale)), true);
  }
  const double ew_oiii = s.uniform(3, 25), sig_n = s.uniform(200, 400);
  const float f_oiii = line_flux_from_ew(p, 5008.2, ew_oiii);
  p.add_line(5008.2f, f_oiii, static_cast<float>(sigma_of(5008.2, sig_n)), true);
  p.add_line(4960.3f, f_oiii / 2.98f, static_cast<float>(sigma_of(4960.3, sig_n)), true);
  p.add_line(3728.5f, line_flux_from_ew(p, 3728.5, s.uniform(1, 4)), static_cast<float>(sigma_of(3728.5, sig_n)), true);
  p.add_line(3426.9f, line_flux_from_ew(p, 3426.9, s.uniform(0.5, 2)), static_cast<float>(sigma_of(3426.9, sig_n)), true);
  if (p.lya_forest) {
    // Individual forest absorbers over the observed part of the forest (~1 per 20 Å).
    const double lo = std::max(3600.0, 1030.0 * (1 + p.z)), hi = 1215.7 * (1 + p.z) - 5;
    const int n = std::min(static_cast<int>((hi - lo) / 20.0), kMaxLines - p.nlines);
    for (int i = 0; i < n; ++i) {
      const double lam_obs = s.uniform(lo, hi);
      const double ew_obs = s.uniform(0.3, 2.5);
      add_absorption(p, lam_obs / (1 + p.z), ew_obs / (1 + p.z), 0.15, 0.0);
    }
  }
  p.subtype = "TYPE1";
}

double draw_star_teff(SimStream& s) {
  struct Type {
    double cum, lo, hi;
  };
  static const Type types[] = {{0.30, 2900, 3900}, {0.60, 3900, 5200}, {0.80, 5200, 6000},
                               {0.95, 6000, 7500}, {0.99, 7500, 10000}, {1.00, 10000, 25000}};
  const double u = s.uniform();
  for (const Type& t : types)
    if (u < t.cum) return std::exp(s.uniform(std::log(t.lo), std::log(t.hi)));
  return 5500;
}

void build_star(ObjectParams& p, SimStream& /*s*/, double teff, double fiber_flambda) {
  const RestTemplates& tpl = rest_templates();
  int lo, hi;
  float w;
  tpl.star_pair(teff, lo, hi, w);
  p.ntemplates = 2;
  p.template_id = {lo, hi, 0};
  p.template_weight = {1 - w, w, 0};
  normalise(p, fiber_flambda);
  const double B = std::exp(-0.5 * std::pow((std::log(teff) - std::log(9500.0)) / 0.3, 2));  // Balmer strength
  const double M = std::clamp((7500.0 - teff) / 2500.0, 0.0, 1.6);                           // metal strength
  const double cool = std::clamp((4000.0 - teff) / 1000.0, 0.0, 1.0);
  const double sp = 2.0 + 12.0 * B;  // pressure broadening, Å
  add_absorption(p, 6564.6, 1.5 + 12 * B, sp, 0);
  add_absorption(p, 4862.7, 1.5 + 14 * B, sp, 0);
  add_absorption(p, 4341.7, 1.0 + 13 * B, sp, 0);
  add_absorption(p, 4102.9, 1.0 + 12 * B, sp, 0);
  add_absorption(p, 3971.2, 10 * B, sp * 0.8, 0);
  add_absorption(p, 3890.2, 9 * B, sp * 0.7, 0);
  add_absorption(p, 3836.5, 8 * B, sp * 0.6, 0);
  add_absorption(p, 3934.8, 1 + 9 * M, 3.0, 0);
  add_absorption(p, 3969.6, 1 + 7 * M, 3.0, 0);
  add_absorption(p, 4227.0, 2.5 * M * M, 1.5, 0);
  add_absorption(p, 4305.0, 4 * M, 6.0, 0);
  add_absorption(p, 5176.0, 5 * M, 5.0, 0);
  add_absorption(p, 5270.0, 2 * M, 3.0, 0);
  add_absorption(p, 5335.0, 1.8 * M, 3.0, 0);
  add_absorption(p, 5894.0, 1 + 3 * M * M, 2.5, 0);
  add_absorption(p, 7667.0, 1.5 * cool, 2.0, 0);  // K I
  add_absorption(p, 7701.0, 1.2 * cool, 2.0, 0);
  add_absorption(p, 8500.4, 1 + 1.5 * M, 2.0, 0);
  add_absorption(p, 8544.4, 2 + 3 * M, 2.0, 0);
  add_absorption(p, 8664.5, 1.5 + 2.5 * M, 2.0, 0);
  p.subtype = teff < 3900 ? "M" : teff < 5200 ? "K" : teff < 6000 ? "G" : teff < 7500 ? "F" : teff < 10000 ? "A" : "B";
}

void build_white_dwarf(ObjectParams& p, SimStream& s, double fiber_flambda) {
  const double teff = std::exp(s.uniform(std::log(9000.0), std::log(30000.0)));
  const RestTemplates& tpl = rest_templates();
  int lo, hi;
  float w;
  tpl.star_pair(teff, lo, hi, w);
  p.ntemplates = 2;
  p.template_id = {lo, hi, 0};
  p.template_weight = {1 - w, w, 0};
  normalise(p, fiber_flambda);
  // DA white dwarfs: pressure-broadened Balmer lines tens of Å wide, strongest near 12000 K.
  const double k = std::exp(-0.5 * std::pow((std::log(teff) - std::log(12500.0)) / 0.5, 2));
  const double width = s.uniform(0.8, 1.2);
  add_absorption(p, 6564.6, (20 + 30 * k) * width, 25 * width, 0);
  add_absorption(p, 4862.7, (25 + 35 * k) * width, 30 * width, 0);
  add_absorption(p, 4341.7, (22 + 30 * k) * width, 25 * width, 0);
  add_absorption(p, 4102.9, (18 + 25 * k) * width, 22 * width, 0);
  add_absorption(p, 3971.2, (12 + 15 * k) * width, 18 * width, 0);
  add_absorption(p, 3890.2, (8 + 10 * k) * width, 14 * width, 0);
  p.subtype = "WD";
}

void build_cataclysmic_variable(ObjectParams& p, SimStream& s, double fiber_flambda) {
  // Accretion disc (steep blue power law) plus a cool donor star.
  const RestTemplates& tpl = rest_templates();
  int lo, hi;
  float w;
  tpl.star_pair(s.uniform(3200, 4200), lo, hi, w);
  const double donor = s.uniform(0.1, 0.35);
  p.ntemplates = 2;
  p.template_id = {lo, hi, 0};
  p.template_weight = {static_cast<float>((1 - w) * donor), static_cast<float>(w * donor), 0};
  p.powerlaw_slope = static_cast<float>(s.uniform(-2.6, -1.8));
  p.powerlaw_amp = static_cast<float>((1 - donor) * std::pow(6300.0 / 5000.0, -p.powerlaw_slope));
  normalise(p, fiber_flambda);
  // Double-peaked disc emission lines: two Gaussians at ± the projected disc velocity.
  const double fwhm = s.uniform(800, 2000), vsep = 0.35 * fwhm;
  const double ew_ha = s.uniform(40, 150);
  auto disc_line = [&](double rest, double ew) {
    const float f = line_flux_from_ew(p, rest, ew) * 0.5f;
    const double d = rest * vsep / kSpeedOfLightKms;
    const float sig = static_cast<float>(fwhm_sigma(rest, 0.6 * fwhm));
    p.add_line(static_cast<float>(rest - d), f, sig, true);
    p.add_line(static_cast<float>(rest + d), f, sig, true);
  };
  disc_line(6564.6, ew_ha);
  disc_line(4862.7, ew_ha * 0.5);
  disc_line(4341.7, ew_ha * 0.35);
  disc_line(4102.9, ew_ha * 0.25);
  disc_line(4472.7, ew_ha * 0.12);
  disc_line(5877.3, ew_ha * 0.15);
  disc_line(6679.99, ew_ha * 0.1);
  disc_line(4687.0, ew_ha * s.uniform(0.0, 0.3));
  p.subtype = "CV";
}

}  // namespace specvae::sim

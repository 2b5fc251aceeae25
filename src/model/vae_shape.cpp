// The VAE's layer table (sizes, activations, dropout, offsets into the flat parameter
// buffer) and its Glorot/He initialisation from the counter-based generator.
#include <cmath>

#include <fmt/format.h>

#include "specvae/core/error.hpp"
#include "specvae/model/vae.hpp"

namespace specvae::model {

VaeShape VaeShape::from_config(const Config& config) {
  VaeShape s;
  s.n_input = static_cast<int>(config.get_int("model.n_input"));
  s.latent = static_cast<int>(config.get_int("model.latent_dim"));
  s.encoder.clear();
  s.decoder.clear();
  for (auto v : config.get_int_list("model.encoder_layers")) s.encoder.push_back(static_cast<int>(v));
  for (auto v : config.get_int_list("model.decoder_layers")) s.decoder.push_back(static_cast<int>(v));
  s.dropout = static_cast<float>(config.get_double("model.dropout"));
  return s;
}

std::vector<LayerShape> VaeShape::layers() const {
  std::vector<LayerShape> out;
  std::int64_t offset = 0;
  auto add = [&](int n_in, int n_out, Activation act, bool drop) {
    LayerShape l;
    l.n_in = n_in;
    l.n_out = n_out;
    l.activation = act;
    l.dropout = drop && dropout > 0.0f;
    l.w_offset = offset;
    offset += static_cast<std::int64_t>(n_in) * n_out;
    l.b_offset = offset;
    offset += n_out;
    out.push_back(l);
  };
  int width = n_input;
  for (int h : encoder) {
    add(width, h, Activation::Relu, true);
    width = h;
  }
  add(width, 2 * latent, Activation::Identity, false);
  width = latent;
  for (int h : decoder) {
    add(width, h, Activation::Relu, true);
    width = h;
  }
  add(width, n_input, Activation::Identity, false);
  return out;
}

std::int64_t VaeShape::n_params() const {
  const auto l = layers();
  return l.back().b_offset + l.back().n_out;
}

std::string VaeShape::describe() const {
  std::string s = fmt::format("{}", n_input);
  for (int h : encoder) s += fmt::format("-{}", h);
  s += fmt::format("-({})", latent);
  for (int h : decoder) s += fmt::format("-{}", h);
  return s + fmt::format("-{}", n_input);
}

InitScheme init_scheme_from_string(const std::string& name) {
  if (name == "glorot") return InitScheme::Glorot;
  if (name == "he") return InitScheme::He;
  if (name == "pytorch") return InitScheme::PyTorch;
  throw ConfigError("model.init: unknown scheme \"" + name + "\" (expected glorot, he or pytorch)");
}

std::vector<float> initial_parameters(const VaeShape& shape, std::uint64_t seed, InitScheme scheme) {
  const auto layers = shape.layers();
  std::vector<float> p(static_cast<std::size_t>(shape.n_params()), 0.0f);
  for (std::size_t li = 0; li < layers.size(); ++li) {
    const LayerShape& l = layers[li];
    // He-uniform (limit √(6/fan_in)) keeps ReLU activations' variance through depth;
    // Glorot-uniform (√(6/(fan_in+fan_out))) is Keras's default; PyTorch's Linear default is
    // kaiming_uniform(a=√5), i.e. the limit 1/√fan_in, for weights and biases alike.
    double limit = std::sqrt(6.0 / (l.n_in + l.n_out));
    if (scheme == InitScheme::He && l.activation == Activation::Relu) limit = std::sqrt(6.0 / l.n_in);
    if (scheme == InitScheme::PyTorch) limit = 1.0 / std::sqrt(static_cast<double>(l.n_in));
    const rng::StreamKey key{seed, 0, rng::kInit};
    const std::int64_t n = static_cast<std::int64_t>(l.n_in) * l.n_out;
    for (std::int64_t e = 0; e < n; ++e) {
      // sample = layer index; element = weight index (fits 32 bits: layers are < 4 G weights).
      const float u = rng::uniform(key, li, static_cast<std::uint32_t>(e));
      p[static_cast<std::size_t>(l.w_offset + e)] = static_cast<float>((2.0 * u - 1.0) * limit);
    }
    if (scheme == InitScheme::PyTorch)
      for (int j = 0; j < l.n_out; ++j) {
        // Biases draw from the same layer's stream past its weights.
        const float u = rng::uniform(key, li, static_cast<std::uint32_t>(n + j));
        p[static_cast<std::size_t>(l.b_offset + j)] = static_cast<float>((2.0 * u - 1.0) * limit);
      }
  }
  return p;
}

}  // namespace specvae::model

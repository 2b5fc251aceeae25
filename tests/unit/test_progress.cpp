// core/progress.hpp: what a long stage says while it runs.
#include <gtest/gtest.h>

#include <sstream>

#include <spdlog/sinks/ostream_sink.h>
#include <spdlog/spdlog.h>

#include "specvae/core/progress.hpp"

TEST(Progress, SaysDoneOfTotalRateAndTimeLeftAndNothingOnceDone) {
  std::ostringstream out;
  const auto previous = spdlog::default_logger();
  auto logger = std::make_shared<spdlog::logger>("progress-test", std::make_shared<spdlog::sinks::ostream_sink_mt>(out));
  logger->set_pattern("%v");
  spdlog::set_default_logger(logger);
  {
    specvae::Progress p("ingest: read", "spectra", 100, /*interval_s=*/0.0);
    p.advance(30);
    p.advance(70);  // the end: the stage's own summary line follows, not a progress line
  }
  spdlog::set_default_logger(previous);
  const std::string text = out.str();
  EXPECT_NE(text.find("ingest: read 30 of 100 spectra (30%), "), std::string::npos) << text;
  EXPECT_NE(text.find(" spectra/s, about "), std::string::npos) << text;
  EXPECT_EQ(text.find("100 of 100"), std::string::npos) << text;
}

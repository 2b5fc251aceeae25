// The specvae binary: --version, config printing, config errors naming the key, and a stage's
// missing options and inputs named.
#include <array>
#include <cstdio>
#include <filesystem>
#include <memory>
#include <string>

#include <unistd.h>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

using ::testing::HasSubstr;

namespace {
struct Result {
  int code;
  std::string output;
};

Result run(const std::string& args) {
  std::string cmd = std::string(SPECVAE_BINARY) + " " + args + " 2>&1";
  std::unique_ptr<FILE, int (*)(FILE*)> pipe(popen(cmd.c_str(), "r"), pclose);
  std::string out;
  std::array<char, 4096> buf{};
  while (size_t n = fread(buf.data(), 1, buf.size(), pipe.get())) out.append(buf.data(), n);
  int status = pclose(pipe.release());
  return {WIFEXITED(status) ? WEXITSTATUS(status) : -1, out};
}
}  // namespace

TEST(Cli, VersionNamesCommit) {
  Result r = run("--version");
  EXPECT_EQ(r.code, 0);
  EXPECT_THAT(r.output, HasSubstr("specvae 0.1.0 (commit "));
}

TEST(Cli, ConfigPrintsResolvedValuesAndHash) {
  Result r = run("config --set train.epochs=12");
  EXPECT_EQ(r.code, 0) << r.output;
  EXPECT_THAT(r.output, HasSubstr("# specvae resolved configuration, hash "));
  EXPECT_THAT(r.output, HasSubstr("[train]"));
  EXPECT_THAT(r.output, HasSubstr("epochs = 12"));
  EXPECT_THAT(r.output, HasSubstr("encoder_layers = [800, 600, 500, 300]"));
  Result j = run("config --format json");
  EXPECT_EQ(j.code, 0);
  EXPECT_THAT(j.output, HasSubstr("\"lof_k\": 20"));
}

TEST(Cli, BadValueNamesTheKey) {
  Result r = run("config --set train.epochs=abc");
  EXPECT_NE(r.code, 0);
  EXPECT_THAT(r.output, HasSubstr("train.epochs"));
  EXPECT_THAT(r.output, HasSubstr("integer"));
}

TEST(Cli, HelpOnEverySubcommand) {
  for (const char* sub : {"simulate", "ingest", "train", "score", "merge", "learn", "report", "run", "config"}) {
    Result r = run(std::string(sub) + " --help");
    EXPECT_EQ(r.code, 0) << sub;
    EXPECT_THAT(r.output, HasSubstr("Usage")) << sub;
  }
}

TEST(Cli, UnknownSubcommandFails) {
  EXPECT_NE(run("frobnicate").code, 0);
  EXPECT_NE(run("").code, 0);
}

TEST(Cli, ReportNamesItsRequiredOptionsAndAMissingCatalogue) {
  Result r = run("report");
  EXPECT_NE(r.code, 0) << r.output;
  EXPECT_THAT(r.output, HasSubstr("--catalogue"));
  r = run("report --catalogue /nonexistent/catalogue.h5 --out /tmp/specvae_cli_report.html");
  EXPECT_NE(r.code, 0) << r.output;
  EXPECT_THAT(r.output, HasSubstr("/nonexistent/catalogue.h5"));
  EXPECT_THAT(r.output, HasSubstr("no such catalogue"));
}

TEST(Cli, RunRefusesStagesOutOfOrderOrNone) {
  const std::string out = "/tmp/specvae_cli_run_" + std::to_string(::getpid());
  Result r = run("run --set run.out_dir=" + out + " --set 'run.stages=[\"report\",\"simulate\"]'");
  EXPECT_NE(r.code, 0) << r.output;
  EXPECT_THAT(r.output, HasSubstr("run.stages: 'simulate' after 'report'"));
  r = run("run --set run.out_dir=" + out + " --set 'run.stages=[]'");
  EXPECT_NE(r.code, 0) << r.output;
  EXPECT_THAT(r.output, HasSubstr("run.stages is empty"));
  std::filesystem::remove_all(out);
}

TEST(Cli, TrainTakesResumeOrOverwriteNotBoth) {
  Result r = run("train --data /nonexistent.h5 --out /tmp/specvae_cli_train --resume --overwrite");
  EXPECT_NE(r.code, 0) << r.output;
  EXPECT_THAT(r.output, HasSubstr("excludes"));
}

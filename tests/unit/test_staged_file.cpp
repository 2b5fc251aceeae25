// core/staged_file.hpp and core/commit.hpp: a file is replaced whole or not at all, under a
// temporary name no other writer shares and no planted link redirects; a set of files is
// replaced together, and a commit a kill interrupted is finished by the next reader.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>

#include <fmt/format.h>

#include "specvae/core/commit.hpp"
#include "specvae/core/error.hpp"
#include "specvae/core/staged_file.hpp"

namespace fs = std::filesystem;
using specvae::InputError;

namespace {

fs::path fresh_dir(const std::string& name) {
  const fs::path d = fs::temp_directory_path() / fmt::format("specvae-staged-{}-{}", name, ::getpid());
  fs::remove_all(d);
  fs::create_directories(d);
  return d;
}

std::string slurp(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

std::size_t entries(const fs::path& d) {
  return static_cast<std::size_t>(std::distance(fs::directory_iterator(d), fs::directory_iterator()));
}

}  // namespace

TEST(StagedFile, ReplacesWholeAndLeavesNothingBehind) {
  const fs::path d = fresh_dir("whole");
  specvae::write_file_atomically(d / "a.txt", "old\n");
  specvae::write_file_atomically(d / "a.txt", "new\n");
  EXPECT_EQ(slurp(d / "a.txt"), "new\n");
  {
    specvae::StagedFile f(d / "a.txt");
    f.append("never committed");
    EXPECT_TRUE(fs::exists(f.temp()));
  }
  EXPECT_EQ(slurp(d / "a.txt"), "new\n");
  EXPECT_EQ(entries(d), 1u);
  fs::remove_all(d);
}

TEST(StagedFile, TwoWritersOfOneFileNeverShareATemporaryName) {
  const fs::path d = fresh_dir("two");
  specvae::StagedFile a(d / "x.h5"), b(d / "x.h5");
  EXPECT_NE(a.temp(), b.temp());
  EXPECT_EQ(a.temp().parent_path(), d);
  EXPECT_TRUE(a.temp().filename().string().starts_with("x.h5.tmp."));
  a.append("a");
  b.append("b");
  a.commit();
  b.commit();
  EXPECT_EQ(slurp(d / "x.h5"), "b");  // the last to commit wins, whole
  EXPECT_EQ(entries(d), 1u);
  fs::remove_all(d);
}

TEST(StagedFile, APlantedLinkAtTheNextTemporaryNamesIsNeverFollowed) {
  const fs::path d = fresh_dir("link");
  specvae::write_file_atomically(d / "victim", "precious\n");
  // The names the next writers of this process would take, each holding a link to the victim.
  std::string probe;
  {
    specvae::StagedFile f(d / "out.csv");
    probe = f.temp().filename().string();
  }
  const auto dot = probe.rfind('.');
  const long next = std::stol(probe.substr(dot + 1)) + 1;
  for (long k = next; k < next + 5; ++k) fs::create_symlink(d / "victim", d / fmt::format("{}{}", probe.substr(0, dot + 1), k));
  specvae::write_file_atomically(d / "out.csv", "mine\n");
  EXPECT_EQ(slurp(d / "victim"), "precious\n");
  EXPECT_EQ(slurp(d / "out.csv"), "mine\n");
  EXPECT_FALSE(fs::is_symlink(d / "out.csv"));
  fs::remove_all(d);
}

TEST(StagedFile, AFolderThatCannotBeWrittenIsAClearError) {
  const fs::path d = fresh_dir("nofolder");
  try {
    specvae::write_file_atomically(d / "missing" / "a.txt", "x");
    ADD_FAILURE() << "wrote into a folder that does not exist";
  } catch (const InputError& e) {
    EXPECT_NE(std::string(e.what()).find((d / "missing").string()), std::string::npos) << e.what();
  }
  fs::remove_all(d);
}

TEST(CommitSet, ReplacesTheOldSetWithTheNewOne) {
  const fs::path d = fresh_dir("set");
  for (const char* n : {"s-0.h5", "s-1.h5", "s-2.h5", "mine.txt"}) specvae::write_file_atomically(d / n, "old");
  {
    specvae::StagingDir staging(d, "s");
    specvae::write_file_atomically(staging.path() / "s-0.h5", "new0");
    specvae::write_file_atomically(staging.path() / "s-1.h5", "new1");
    staging.commit({"s-0.h5", "s-1.h5", "s-2.h5"});
  }
  EXPECT_EQ(slurp(d / "s-0.h5"), "new0");
  EXPECT_EQ(slurp(d / "s-1.h5"), "new1");
  EXPECT_FALSE(fs::exists(d / "s-2.h5"));
  EXPECT_EQ(slurp(d / "mine.txt"), "old");  // not named: not touched
  EXPECT_EQ(entries(d), 3u);                 // no staging folder, no journal
  fs::remove_all(d);
}

TEST(CommitSet, AFailedWriteLeavesTheOldSet) {
  const fs::path d = fresh_dir("fail");
  specvae::write_file_atomically(d / "s-0.h5", "old");
  try {
    specvae::StagingDir staging(d, "s");
    specvae::write_file_atomically(staging.path() / "s-0.h5", "half");
    throw InputError("a rank failed");
  } catch (const InputError&) {
  }
  EXPECT_EQ(slurp(d / "s-0.h5"), "old");
  EXPECT_EQ(entries(d), 1u);
  fs::remove_all(d);
}

TEST(CommitSet, ACommitInterruptedAfterItsJournalIsFinishedByTheNextReader) {
  const fs::path d = fresh_dir("resume");
  for (const char* n : {"s-0.h5", "s-1.h5"}) specvae::write_file_atomically(d / n, "old");
  ::setenv("SPECVAE_FAULT", "commit.apply", 1);
  try {
    specvae::StagingDir staging(d, "s");
    specvae::write_file_atomically(staging.path() / "s-0.h5", "new0");
    staging.commit({"s-0.h5", "s-1.h5"});
    ADD_FAILURE() << "the injected fault did not stop the commit";
  } catch (const InputError& e) {
    EXPECT_NE(std::string(e.what()).find("commit.apply"), std::string::npos);
  }
  ::unsetenv("SPECVAE_FAULT");
  // The old set is still in place, and the journal says how to finish.
  EXPECT_EQ(slurp(d / "s-0.h5"), "old");
  EXPECT_TRUE(fs::exists(specvae::commit_journal_path(d, "s")));
  EXPECT_FALSE(specvae::finish_interrupted_commit(d, "other"));
  EXPECT_TRUE(specvae::finish_interrupted_commit(d, "s"));
  EXPECT_EQ(slurp(d / "s-0.h5"), "new0");
  EXPECT_FALSE(fs::exists(d / "s-1.h5"));
  EXPECT_EQ(entries(d), 1u);
  EXPECT_FALSE(specvae::finish_interrupted_commit(d, "s"));
  fs::remove_all(d);
}

TEST(CommitSet, AJournalNamingAPathOutsideTheFolderIsRefused) {
  const fs::path d = fresh_dir("evil");
  specvae::write_file_atomically(d / "keep", "x");
  specvae::write_file_atomically(specvae::commit_journal_path(d, "s"),
                                 R"({"staging": ".staging-s-1-0", "remove": ["../keep"], "move": []})");
  EXPECT_THROW(specvae::finish_interrupted_commit(d, "s"), InputError);
  EXPECT_TRUE(fs::exists(d / "keep"));
  fs::remove_all(d);
}

TEST(InjectFault, NamesAPointForEveryRankOrOne) {
  ::setenv("SPECVAE_FAULT", "x.y", 1);
  EXPECT_THROW(specvae::inject_fault("x.y"), InputError);
  EXPECT_NO_THROW(specvae::inject_fault("x"));
  ::setenv("SPECVAE_FAULT", "x.y@7", 1);
  EXPECT_NO_THROW(specvae::inject_fault("x.y"));  // this process is not rank 7
  ::unsetenv("SPECVAE_FAULT");
  EXPECT_NO_THROW(specvae::inject_fault("x.y"));
}

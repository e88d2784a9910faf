// The static-pod directory: a bad file is reported and skipped, the others
// load; the watcher reports added, changed and removed files.
#include "manifest_dir.h"

#include <stdlib.h>

#include <filesystem>
#include <fstream>

#include <gtest/gtest.h>

#include "test_support.h"

namespace berth::nodeagent {
namespace {

namespace fs = std::filesystem;

std::string Pod(const std::string& name) {
  return "apiVersion: v1\nkind: Pod\nmetadata: {name: " + name +
         "}\nspec:\n  containers:\n  - {name: c, image: busybox}\n";
}

class ManifestDirTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string t = (fs::temp_directory_path() / "berth-pods-XXXXXX").string();
    ASSERT_NE(::mkdtemp(t.data()), nullptr);
    dir_ = t;
  }
  void TearDown() override { fs::remove_all(dir_); }
  void Write(const std::string& name, const std::string& text) {
    // Written elsewhere and moved in, as editors and config tools do.
    std::ofstream(dir_ / ("." + name + ".tmp")) << text;
    fs::rename(dir_ / ("." + name + ".tmp"), dir_ / name);
  }
  fs::path dir_;
};

TEST_F(ManifestDirTest, BadFilesAreReportedAndTheOthersLoad) {
  Write("a.yaml", Pod("a"));
  Write("b.yml", Pod("b"));
  Write("bad.yaml",
        "apiVersion: v1\nkind: Pod\nmetadata: {name: bad}\nspec: {containers: [{name: c, image: x, "
        "tty: true}]}\n");
  Write("notes.txt", "ignored");
  auto scan = ScanManifestDir(dir_);
  ASSERT_OK(scan);
  EXPECT_EQ(scan->pods.size(), 2u);
  ASSERT_EQ(scan->errors.size(), 1u);
  const std::string err = scan->errors.begin()->second.ToString();
  EXPECT_NE(err.find("bad.yaml: spec.containers[0].tty: unknown field"), std::string::npos) << err;
}

TEST_F(ManifestDirTest, WatcherReportsAddedChangedRemoved) {
  auto w = ManifestWatcher::Open(dir_);
  ASSERT_OK(w);
  Write("a.yaml", Pod("a"));
  auto c = w->Poll();
  ASSERT_OK(c);
  ASSERT_EQ(c->added.size(), 1u);
  EXPECT_EQ(c->added[0].filename(), "a.yaml");
  Write("a.yaml", Pod("a2"));
  c = w->Poll();
  ASSERT_OK(c);
  EXPECT_EQ(c->changed.size(), 1u);
  fs::remove(dir_ / "a.yaml");
  c = w->Poll();
  ASSERT_OK(c);
  EXPECT_EQ(c->removed.size(), 1u);
  EXPECT_TRUE(w->Poll()->empty());
}

TEST_F(ManifestDirTest, RemovingAFileThatPredatesTheWatcherIsReported) {
  Write("old.yaml", Pod("old"));
  auto w = ManifestWatcher::Open(dir_);
  ASSERT_OK(w);
  fs::remove(dir_ / "old.yaml");
  auto c = w->Poll();
  ASSERT_OK(c);
  ASSERT_EQ(c->removed.size(), 1u);
  EXPECT_EQ(c->removed[0].filename(), "old.yaml");
}

TEST_F(ManifestDirTest, RescanOneFile) {
  ManifestScan scan;
  Write("a.yaml", Pod("a"));
  RescanManifestFile(dir_ / "a.yaml", &scan);
  EXPECT_EQ(scan.pods.size(), 1u);
  Write("a.yaml", "apiVersion: v1\nkind: Pod\nmetadata: {name: a}\nspec: {bogus: 1}\n");
  RescanManifestFile(dir_ / "a.yaml", &scan);
  EXPECT_TRUE(scan.pods.empty());
  EXPECT_EQ(scan.errors.size(), 1u);
  fs::remove(dir_ / "a.yaml");
  RescanManifestFile(dir_ / "a.yaml", &scan);
  EXPECT_TRUE(scan.pods.empty());
  EXPECT_TRUE(scan.errors.empty());
}

}  // namespace
}  // namespace berth::nodeagent

// A per-test temporary directory for fixture files (a fake /proc or a fake
// cgroupfs), removed with everything in it when the test ends.
#pragma once

#include <stdlib.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

#include <gtest/gtest.h>

namespace berth::cgroups::testing {

class TempTree {
 public:
  TempTree() {
    std::string tmpl =
        (std::filesystem::temp_directory_path() / "berth-cgroups-unit-XXXXXX").string();
    char* made = ::mkdtemp(tmpl.data());
    EXPECT_NE(made, nullptr) << "mkdtemp " << tmpl;
    root_ = tmpl;
  }
  ~TempTree() {
    std::error_code ec;
    std::filesystem::remove_all(root_, ec);
  }
  TempTree(const TempTree&) = delete;
  TempTree& operator=(const TempTree&) = delete;

  const std::filesystem::path& root() const { return root_; }

  // Writes `content` to root/rel, creating parent directories.
  void Write(const std::string& rel, const std::string& content) const {
    std::filesystem::path p = root_ / rel;
    std::filesystem::create_directories(p.parent_path());
    std::ofstream out(p, std::ios::trunc);
    out << content;
    ASSERT_TRUE(out.good()) << "write " << p;
  }

  std::string Read(const std::string& rel) const {
    std::ifstream in(root_ / rel);
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
  }

  bool Exists(const std::string& rel) const { return std::filesystem::exists(root_ / rel); }

 private:
  std::filesystem::path root_;
};

}  // namespace berth::cgroups::testing

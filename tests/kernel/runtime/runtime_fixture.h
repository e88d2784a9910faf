// Fixture for berth-runtime kernel tests: a busybox bundle in a temp dir, a
// per-run state root and a per-run cgroup parent under the cgroup2 mount,
// and a way to run the real berth-runtime binary and capture its output.
// Everything is removed in TearDown, also when a test fails.
#pragma once

#include <filesystem>
#include <fstream>
#include <functional>
#include <sstream>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

namespace berth::runtime::testing {

struct CommandResult {
  int exit_code = -1;  // 128+signal when signaled
  std::string out;
  std::string err;
};

// Runs argv, capturing stdout and stderr; stdin is /dev/null.
CommandResult RunCommand(const std::vector<std::string>& argv);

class RuntimeTest : public ::testing::Test {
 protected:
  void SetUp() override;
  void TearDown() override;

  // A runc-spec-like config running `args`, with cgroupsPath under this
  // run's cgroup parent; tests edit it before WriteConfig().
  nlohmann::json BaseConfig(const std::vector<std::string>& args, const std::string& id);
  void WriteConfig(const nlohmann::json& config);

  CommandResult Runtime(std::vector<std::string> args);
  std::string CgroupDir(const std::string& id) const;  // host path of a container's cgroup

  std::filesystem::path dir_;     // temp dir: bundle + state root
  std::filesystem::path bundle_;  // dir_/bundle
  std::filesystem::path root_;    // dir_/state
  std::string cgroup_mount_;
  std::string cgroup_parent_;  // "/berth-test-<pid>-<rand>"
};

}  // namespace berth::runtime::testing

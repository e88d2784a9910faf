// SpecToJson and DefaultSpec: what the writer emits parses back to the same
// Spec, and a parsed config written back equals its input.
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "spec_test_util.h"
#include "test_support.h"

#include "berth/runtime/spec.h"

namespace berth::runtime {
namespace {

using testing::CorpusFile;

// Parses `file`, writes it back and compares the two JSON trees (object key
// order aside).
void ExpectRoundTrip(const std::string& file) {
  std::string in = CorpusFile(file);
  auto r = ParseSpec(in);
  ASSERT_OK(r);
  std::string out = SpecToJson(r->spec);
  EXPECT_EQ(nlohmann::json::parse(out), nlohmann::json::parse(in)) << out;
  auto again = ParseSpec(out);
  ASSERT_OK(again);
  EXPECT_EQ(SpecToJson(again->spec), out);
}

TEST(SpecJsonTest, RuncSpecRoundTrips) { ExpectRoundTrip("runc_spec.json"); }
TEST(SpecJsonTest, FullConfigRoundTrips) { ExpectRoundTrip("full.json"); }
TEST(SpecJsonTest, MinimalConfigRoundTripsWithDefaultsMadeExplicit) {
  auto r = ParseSpec(CorpusFile("minimal.json"));
  ASSERT_OK(r);
  auto out = nlohmann::json::parse(SpecToJson(r->spec));
  // The defaults the parser filled in are written out.
  EXPECT_EQ(out["process"]["terminal"], false);
  EXPECT_EQ(out["process"]["user"], nlohmann::json({{"uid", 0}, {"gid", 0}}));
  EXPECT_EQ(out["root"], nlohmann::json({{"path", "rootfs"}}));
  EXPECT_FALSE(out.contains("linux"));
}

TEST(SpecJsonTest, KeysInSpecOrder) {
  std::string out = SpecToJson(DefaultSpec());
  EXPECT_EQ(out.rfind("{\n\t\"ociVersion\": ", 0), 0u) << out;
  EXPECT_LT(out.find("\"process\""), out.find("\"root\""));
  EXPECT_LT(out.find("\"root\""), out.find("\"mounts\""));
  EXPECT_LT(out.find("\"mounts\""), out.find("\"linux\""));
  EXPECT_EQ(out.back(), '\n');
}

TEST(SpecJsonTest, InvalidUtf8IsReplacedNotThrown) {
  Spec s = DefaultSpec();
  s.hostname = "bad\xff";
  std::string out = SpecToJson(s);
  auto r = ParseSpec(out);
  ASSERT_OK(r);
  EXPECT_EQ(r->spec.hostname, "bad\xEF\xBF\xBD");
}

TEST(DefaultSpecTest, LikeRuncSpec) {
  Spec s = DefaultSpec();
  EXPECT_EQ(s.oci_version.rfind("1.", 0), 0u);
  ASSERT_TRUE(s.process);
  EXPECT_TRUE(s.process->terminal);
  EXPECT_EQ(s.process->args, std::vector<std::string>{"sh"});
  EXPECT_EQ(s.process->cwd, "/");
  EXPECT_TRUE(s.process->no_new_privileges);
  EXPECT_EQ(s.process->capabilities->bounding,
            (std::vector<std::string>{"CAP_AUDIT_WRITE", "CAP_KILL", "CAP_NET_BIND_SERVICE"}));
  EXPECT_EQ(s.root.path, "rootfs");
  EXPECT_TRUE(s.root.readonly);
  std::vector<std::string> dests;
  for (const auto& m : s.mounts) dests.push_back(m.destination);
  EXPECT_EQ(dests, (std::vector<std::string>{"/proc", "/dev", "/dev/pts", "/dev/shm", "/dev/mqueue",
                                             "/sys", "/sys/fs/cgroup"}));
  const Linux& l = *s.linux_spec;
  for (NamespaceType t : {NamespaceType::kPid, NamespaceType::kNetwork, NamespaceType::kIpc,
                          NamespaceType::kUts, NamespaceType::kMount, NamespaceType::kCgroup}) {
    EXPECT_TRUE(l.HasNamespace(t)) << NamespaceTypeName(t);
  }
  EXPECT_FALSE(l.HasNamespace(NamespaceType::kUser));
  EXPECT_EQ(l.masked_paths.size(), 10u);
  EXPECT_EQ(l.readonly_paths.size(), 5u);
  ASSERT_EQ(l.resources->devices.size(), 1u);
  EXPECT_FALSE(l.resources->devices[0].allow);
}

TEST(DefaultSpecTest, RoundTripsThroughParseSpec) {
  std::string text = SpecToJson(DefaultSpec());
  auto r = ParseSpec(text);
  ASSERT_OK(r);
  EXPECT_TRUE(r->unsupported.empty());
  EXPECT_EQ(SpecToJson(r->spec), text);
  // Same shape as runc's own output, apart from what Berth chose differently.
  auto ours = nlohmann::json::parse(text);
  auto runc = nlohmann::json::parse(CorpusFile("runc_spec.json"));
  ours.erase("ociVersion");
  runc.erase("ociVersion");
  ours.erase("hostname");
  runc.erase("hostname");
  ours["linux"]["namespaces"].erase(5);  // cgroup, which runc 1.1 leaves out
  EXPECT_EQ(ours, runc);
}

}  // namespace
}  // namespace berth::runtime

// ParseSpec on bad configs: every error is EINVAL and names the JSON path of
// the bad value, exactly.
#include <gtest/gtest.h>

#include "spec_test_util.h"
#include "test_support.h"

#include "berth/runtime/spec.h"

namespace berth::runtime {
namespace {

using testing::ConfigWith;
using testing::CorpusFile;
using testing::ParseError;

TEST(SpecErrorsTest, TypeErrorsNameThePath) {
  EXPECT_EQ(ParseError(CorpusFile("bad_types.json")),
            "process.user.uid: expected an unsigned integer, got string");
  EXPECT_EQ(ParseError(ConfigWith(R"("hostname": 7)")), "hostname: expected a string, got number");
  EXPECT_EQ(ParseError(ConfigWith(R"("mounts": {})")), "mounts: expected an array, got object");
  EXPECT_EQ(ParseError(ConfigWith(R"("mounts": [{"destination": "/a"}, 3])")),
            "mounts[1]: expected an object, got number");
  EXPECT_EQ(ParseError(ConfigWith(R"("mounts": [{"destination": "/a", "options": ["ro", 1]}])")),
            "mounts[0].options[1]: expected a string, got number");
  EXPECT_EQ(ParseError(ConfigWith(R"("annotations": {"a": 1})")),
            "annotations.a: expected a string, got number");
  EXPECT_EQ(ParseError(ConfigWith(R"("linux": {"resources": {"memory": {"limit": "1G"}}})")),
            "linux.resources.memory.limit: expected an integer, got string");
  EXPECT_EQ(ParseError(ConfigWith(R"("linux": {"resources": {"cpu": {"shares": -2}}})")),
            "linux.resources.cpu.shares: expected an unsigned integer, got number");
  EXPECT_EQ(ParseError(ConfigWith(R"("linux": {"resources": {"cpu": {"period": 1.5}}})")),
            "linux.resources.cpu.period: expected an unsigned integer, got number");
  EXPECT_EQ(
      ParseError(ConfigWith(R"("linux": {"resources": {"memory": {"disableOOMKiller": 1}}})")),
      "linux.resources.memory.disableOOMKiller: expected a boolean, got number");
  EXPECT_EQ(ParseError(ConfigWith(
                R"("linux": {"resources": {"blockIO": {"weightDevice": [{"major": 8}]}}})")),
            "linux.resources.blockIO.weightDevice[0].minor: required");
  EXPECT_EQ(ParseError(ConfigWith(R"("linux": {"resources": {"blockIO": {"weight": 70000}}})")),
            "linux.resources.blockIO.weight: 70000 is out of range (max 65535)");
  EXPECT_EQ(ParseError(ConfigWith(R"("linux": {"resources": {"hugepageLimits": [{"limit": 1}]}})")),
            "linux.resources.hugepageLimits[0].pageSize: required");
  EXPECT_EQ(ParseError(ConfigWith(R"("linux": {"resources": {"pids": {}}})")),
            "linux.resources.pids.limit: required");
  EXPECT_EQ(ParseError(ConfigWith(R"("linux": {"resources": {"unified": {"a": 1}}})")),
            "linux.resources.unified.a: expected a string, got number");
}

TEST(SpecErrorsTest, MountDestinationMustBeAbsolute) {
  EXPECT_EQ(ParseError(CorpusFile("bad_types.json")
                           .replace(CorpusFile("bad_types.json").find(R"({"uid": "0"})"), 12,
                                    R"({"uid": 0})")),
            "mounts[2].destination: must be an absolute path, got \"tmp\"");
  EXPECT_EQ(ParseError(ConfigWith(R"("mounts": [{"type": "tmpfs"}])")),
            "mounts[0].destination: required");
}

TEST(SpecErrorsTest, OciVersionMustBeOneX) {
  EXPECT_EQ(ParseError(R"({"root": {"path": "r"}})"), "ociVersion: required");
  EXPECT_EQ(ParseError(R"({"ociVersion": "0.6.0", "root": {"path": "r"}})"),
            "ociVersion: \"0.6.0\" is not supported (Berth implements runtime-spec 1.x)");
  EXPECT_EQ(ParseError(R"({"ociVersion": "2.0.0", "root": {"path": "r"}})"),
            "ociVersion: \"2.0.0\" is not supported (Berth implements runtime-spec 1.x)");
  EXPECT_EQ(ParseError(R"({"ociVersion": "10.0", "root": {"path": "r"}})"),
            "ociVersion: \"10.0\" is not supported (Berth implements runtime-spec 1.x)");
  EXPECT_EQ(ParseError(R"({"ociVersion": 1, "root": {"path": "r"}})"),
            "ociVersion: expected a string, got number");
  EXPECT_OK(ParseSpec(R"({"ociVersion": "1.2.1", "root": {"path": "r"}})"));
}

TEST(SpecErrorsTest, RootPathRequired) {
  EXPECT_EQ(ParseError(R"({"ociVersion": "1.0.0"})"), "root: required");
  EXPECT_EQ(ParseError(R"({"ociVersion": "1.0.0", "root": {}})"), "root.path: required");
  EXPECT_EQ(ParseError(R"({"ociVersion": "1.0.0", "root": {"path": ""}})"),
            "root.path: must not be empty");
  EXPECT_EQ(ParseError(R"({"ociVersion": "1.0.0", "root": {"path": "r", "readonly": "yes"}})"),
            "root.readonly: expected a boolean, got string");
}

TEST(SpecErrorsTest, ProcessArgsAndCwd) {
  const std::string head = R"({"ociVersion": "1.0.0", "root": {"path": "r"}, "process": )";
  EXPECT_EQ(ParseError(head + R"({"cwd": "/"}})"), "process.args: must not be empty");
  EXPECT_EQ(ParseError(head + R"({"args": [], "cwd": "/"}})"), "process.args: must not be empty");
  EXPECT_EQ(ParseError(head + R"({"args": ["sh"]}})"), "process.cwd: required");
  EXPECT_EQ(ParseError(head + R"({"args": ["sh"], "cwd": "work"}})"),
            "process.cwd: must be an absolute path, got \"work\"");
  EXPECT_EQ(ParseError(head + R"({"args": ["sh"], "cwd": "/", "oomScoreAdj": 1001}})"),
            "process.oomScoreAdj: must be within [-1000, 1000]");
  EXPECT_EQ(ParseError(head + R"({"args": ["sh"], "cwd": "/", "user": {"uid": 4294967296}}})"),
            "process.user.uid: 4294967296 is out of range (max 4294967295)");
  EXPECT_EQ(
      ParseError(head + R"({"args": ["sh"], "cwd": "/", "user": {"additionalGids": [1, "x"]}}})"),
      "process.user.additionalGids[1]: expected an unsigned 32-bit integer, got string");
  EXPECT_EQ(
      ParseError(head + R"({"args": ["sh"], "cwd": "/", "capabilities": {"bounding": "x"}}})"),
      "process.capabilities.bounding: expected an array of strings, got string");
}

TEST(SpecErrorsTest, Rlimits) {
  const std::string head =
      R"({"ociVersion": "1.0.0", "root": {"path": "r"}, "process": {"args": ["sh"], "cwd": "/", )";
  EXPECT_EQ(ParseError(head + R"("rlimits": [{"type": "RLIMIT_FOO", "hard": 1, "soft": 1}]}})"),
            "process.rlimits[0].type: unknown rlimit \"RLIMIT_FOO\"");
  EXPECT_EQ(ParseError(head + R"("rlimits": [{"type": "RLIMIT_CORE", "hard": 1, "soft": 1},
                                            {"type": "RLIMIT_CORE", "hard": 2, "soft": 2}]}})"),
            "process.rlimits[1].type: \"RLIMIT_CORE\" listed twice");
  EXPECT_EQ(ParseError(head + R"("rlimits": [{"type": "RLIMIT_CORE", "soft": 1}]}})"),
            "process.rlimits[0].hard: required");
}

TEST(SpecErrorsTest, Namespaces) {
  EXPECT_EQ(
      ParseError(ConfigWith(R"("linux": {"namespaces": [{"type": "pid"}, {"type": "pid"}]})")),
      "linux.namespaces[1].type: namespace \"pid\" listed twice");
  EXPECT_EQ(ParseError(ConfigWith(R"("linux": {"namespaces": [{"type": "net"}]})")),
            "linux.namespaces[0].type: unknown namespace type \"net\"");
  EXPECT_EQ(ParseError(ConfigWith(R"("linux": {"namespaces": [{"path": "/x"}]})")),
            "linux.namespaces[0].type: required");
}

TEST(SpecErrorsTest, LinuxSections) {
  EXPECT_EQ(ParseError(ConfigWith(R"("linux": {"devices": [{"path": "/dev/x", "type": "q"}]})")),
            "linux.devices[0].type: must be c, b, u or p, got \"q\"");
  EXPECT_EQ(
      ParseError(ConfigWith(R"("linux": {"uidMappings": [{"containerID": 0, "hostID": 1}]})")),
      "linux.uidMappings[0].size: required");
  EXPECT_EQ(ParseError(ConfigWith(R"("linux": {"resources": {"devices": [{"access": "rwm"}]}})")),
            "linux.resources.devices[0].allow: required");
  EXPECT_EQ(ParseError(ConfigWith(
                R"("linux": {"resources": {"devices": [{"allow": true, "type": "x"}]}})")),
            "linux.resources.devices[0].type: must be a, b or c, got \"x\"");
  EXPECT_EQ(ParseError(ConfigWith(
                R"("linux": {"resources": {"devices": [{"allow": true, "access": "rwx"}]}})")),
            "linux.resources.devices[0].access: must be made of r, w and m, got \"rwx\"");
  EXPECT_EQ(ParseError(ConfigWith(R"("linux": {"seccomp": {"syscalls": []}})")),
            "linux.seccomp.defaultAction: required");
  EXPECT_EQ(ParseError(ConfigWith(
                R"("linux": {"seccomp": {"defaultAction": "SCMP_ACT_ALLOW",
                   "syscalls": [{"names": ["read"], "action": "SCMP_ACT_ERRNO",
                                 "args": [{"index": 6, "value": 1, "op": "SCMP_CMP_EQ"}]}]}})")),
            "linux.seccomp.syscalls[0].args[0].index: 6 is out of range (max 5)");
  EXPECT_EQ(ParseError(ConfigWith(R"("hooks": {"prestart": [{"args": []}]})")),
            "hooks.prestart[0].path: required");
  EXPECT_EQ(ParseError(ConfigWith(R"("hooks": {"poststop": [{"path": "/x", "timeout": 0}]})")),
            "hooks.poststop[0].timeout: must be within [1, 2147483647] seconds");
}

TEST(SpecErrorsTest, NotJsonOrNotAnObject) {
  std::string e = ParseError("{\"ociVersion\": ");
  EXPECT_EQ(e.rfind("invalid JSON: ", 0), 0u) << e;
  EXPECT_EQ(ParseError("[1, 2]"), "expected a JSON object, got array");
  std::string empty = ParseError("");
  EXPECT_EQ(empty.rfind("invalid JSON: ", 0), 0u) << empty;
}

}  // namespace
}  // namespace berth::runtime

// ParseSpec on valid configs: every modelled field lands in the struct,
// linux.resources maps onto cgroups::Resources, and what is not modelled is
// reported by JSON path.
#include <algorithm>
#include <filesystem>

#include <gtest/gtest.h>

#include "spec_test_util.h"
#include "test_support.h"

#include "berth/runtime/spec.h"

namespace berth::runtime {
namespace {

using testing::ConfigWith;
using testing::CorpusFile;

TEST(SpecParseTest, MinimalConfig) {
  auto r = ParseSpec(CorpusFile("minimal.json"));
  ASSERT_OK(r);
  const Spec& s = r->spec;
  EXPECT_EQ(s.oci_version, "1.0.0");
  EXPECT_EQ(s.root.path, "rootfs");
  EXPECT_FALSE(s.root.readonly);
  ASSERT_TRUE(s.process.has_value());
  EXPECT_EQ(s.process->args, std::vector<std::string>{"/bin/true"});
  EXPECT_EQ(s.process->cwd, "/");
  EXPECT_EQ(s.process->user.uid, 0u);
  EXPECT_FALSE(s.process->capabilities.has_value());
  EXPECT_FALSE(s.linux_spec.has_value());
  EXPECT_TRUE(r->unsupported.empty());
}

TEST(SpecParseTest, RuncSpecOutput) {
  auto r = ParseSpec(CorpusFile("runc_spec.json"));
  ASSERT_OK(r);
  const Spec& s = r->spec;
  EXPECT_TRUE(r->unsupported.empty()) << r->unsupported.front();
  EXPECT_EQ(s.oci_version, "1.0.2-dev");
  ASSERT_TRUE(s.process);
  EXPECT_TRUE(s.process->terminal);
  EXPECT_TRUE(s.process->no_new_privileges);
  ASSERT_TRUE(s.process->capabilities);
  EXPECT_EQ(s.process->capabilities->ambient,
            (std::vector<std::string>{"CAP_AUDIT_WRITE", "CAP_KILL", "CAP_NET_BIND_SERVICE"}));
  EXPECT_TRUE(s.process->capabilities->inheritable.empty());
  ASSERT_EQ(s.process->rlimits.size(), 1u);
  EXPECT_EQ(s.process->rlimits[0].type, "RLIMIT_NOFILE");
  EXPECT_EQ(s.process->rlimits[0].hard, 1024u);
  EXPECT_TRUE(s.root.readonly);
  EXPECT_EQ(s.hostname, "runc");
  ASSERT_EQ(s.mounts.size(), 7u);
  EXPECT_EQ(s.mounts[2].destination, "/dev/pts");
  EXPECT_EQ(s.mounts[2].type, "devpts");
  EXPECT_EQ(s.mounts[2].options.back(), "gid=5");
  ASSERT_TRUE(s.linux_spec);
  const Linux& l = *s.linux_spec;
  ASSERT_EQ(l.namespaces.size(), 5u);
  EXPECT_TRUE(l.HasNamespace(NamespaceType::kUts));
  EXPECT_FALSE(l.HasNamespace(NamespaceType::kUser));
  EXPECT_EQ(l.masked_paths.size(), 10u);
  EXPECT_EQ(l.readonly_paths.back(), "/proc/sysrq-trigger");
  ASSERT_TRUE(l.resources);
  ASSERT_EQ(l.resources->devices.size(), 1u);
  EXPECT_FALSE(l.resources->devices[0].allow);
  EXPECT_EQ(l.resources->devices[0].access, "rwm");
  EXPECT_FALSE(l.resources->devices[0].major.has_value());
}

TEST(SpecParseTest, FullConfigEveryModelledField) {
  auto r = ParseSpec(CorpusFile("full.json"));
  ASSERT_OK(r);
  const Spec& s = r->spec;
  // Hooks are carried but not run, so they are reported.
  EXPECT_EQ(r->unsupported, std::vector<std::string>{"hooks.prestart"});
  const Process& p = *s.process;
  ASSERT_TRUE(p.console_size);
  EXPECT_EQ(p.console_size->height, 25u);
  EXPECT_EQ(p.console_size->width, 80u);
  EXPECT_EQ(p.user.uid, 1000u);
  EXPECT_EQ(p.user.gid, 1000u);
  EXPECT_EQ(p.user.umask, std::optional<mode_t>(022));
  EXPECT_EQ(p.user.additional_gids, (std::vector<gid_t>{5, 6}));
  EXPECT_EQ(p.cwd, "/work");
  EXPECT_EQ(p.capabilities->bounding, (std::vector<std::string>{"CAP_CHOWN", "CAP_KILL"}));
  EXPECT_EQ(p.capabilities->inheritable, std::vector<std::string>{"CAP_KILL"});
  ASSERT_EQ(p.rlimits.size(), 2u);
  EXPECT_EQ(p.rlimits[1].type, "RLIMIT_NPROC");
  EXPECT_EQ(p.oom_score_adj, std::optional<int>(-500));
  EXPECT_EQ(s.root.path, "/var/lib/berth/rootfs");
  EXPECT_EQ(s.domainname, "example.org");
  EXPECT_EQ(s.mounts[1].options, (std::vector<std::string>{"rbind", "ro"}));
  ASSERT_TRUE(s.hooks);
  ASSERT_EQ(s.hooks->prestart.size(), 1u);
  EXPECT_EQ(s.hooks->prestart[0].timeout, std::optional<int>(5));
  EXPECT_EQ(s.annotations.at("org.example.team"), "web");

  const Linux& l = *s.linux_spec;
  EXPECT_EQ(l.cgroups_path, "/berth/web-1");
  ASSERT_EQ(l.namespaces.size(), 8u);
  const Namespace* net = l.FindNamespace(NamespaceType::kNetwork);
  ASSERT_NE(net, nullptr);
  EXPECT_EQ(net->path, "/run/berth/netns/pod-1");
  EXPECT_TRUE(l.HasNamespace(NamespaceType::kTime));
  ASSERT_EQ(l.uid_mappings.size(), 1u);
  EXPECT_EQ(l.uid_mappings[0].host_id, 100000u);
  EXPECT_EQ(l.uid_mappings[0].size, 65536u);
  ASSERT_EQ(l.devices.size(), 1u);
  EXPECT_EQ(l.devices[0].path, "/dev/fuse");
  EXPECT_EQ(l.devices[0].major, 10);
  EXPECT_EQ(l.devices[0].file_mode, std::optional<mode_t>(0666));
  EXPECT_EQ(l.sysctl.at("net.ipv4.ip_forward"), "1");
  EXPECT_EQ(l.rootfs_propagation, "rprivate");
  ASSERT_TRUE(l.seccomp);
  EXPECT_EQ(l.seccomp->default_action, "SCMP_ACT_ERRNO");
  EXPECT_EQ(l.seccomp->default_errno_ret, std::optional<unsigned>(1));
  EXPECT_EQ(l.seccomp->flags, std::vector<std::string>{"SECCOMP_FILTER_FLAG_LOG"});
  ASSERT_EQ(l.seccomp->syscalls.size(), 4u);
  EXPECT_EQ(l.seccomp->syscalls[2].args[0].op, "SCMP_CMP_MASKED_EQ");
  EXPECT_EQ(l.seccomp->syscalls[2].args[0].value, 2114060288u);
  EXPECT_EQ(l.seccomp->syscalls[3].errno_ret, std::optional<unsigned>(38));
}

TEST(SpecParseTest, ResourcesMapOntoCgroupResources) {
  auto r = ParseSpec(CorpusFile("full.json"));
  ASSERT_OK(r);
  const cgroups::Resources& res = *r->spec.linux_spec->resources;
  ASSERT_EQ(res.devices.size(), 2u);
  EXPECT_TRUE(res.devices[1].allow);
  EXPECT_EQ(res.devices[1].type, "c");
  EXPECT_EQ(res.devices[1].major, std::optional<int64_t>(1));
  EXPECT_EQ(res.devices[1].minor, std::optional<int64_t>(3));

  const auto& mem = *res.memory;
  EXPECT_EQ(mem.limit, std::optional<int64_t>(536870912));
  EXPECT_EQ(mem.reservation, std::optional<int64_t>(268435456));
  EXPECT_EQ(mem.swap, std::optional<int64_t>(1073741824));
  EXPECT_EQ(mem.kernel, std::optional<int64_t>(-1));
  EXPECT_EQ(mem.kernel_tcp, std::optional<int64_t>(1048576));
  EXPECT_EQ(mem.swappiness, std::optional<uint64_t>(10));
  EXPECT_EQ(mem.disable_oom_killer, std::optional<bool>(false));
  EXPECT_EQ(mem.use_hierarchy, std::optional<bool>(true));
  EXPECT_EQ(mem.check_before_update, std::optional<bool>(true));

  const auto& cpu = *res.cpu;
  EXPECT_EQ(cpu.shares, std::optional<uint64_t>(1024));
  EXPECT_EQ(cpu.quota, std::optional<int64_t>(50000));
  EXPECT_EQ(cpu.period, std::optional<uint64_t>(100000));
  EXPECT_EQ(cpu.realtime_runtime, std::optional<int64_t>(950000));
  EXPECT_EQ(cpu.realtime_period, std::optional<uint64_t>(1000000));
  EXPECT_EQ(cpu.cpus, "0-1");
  EXPECT_EQ(cpu.mems, "0");
  EXPECT_EQ(cpu.idle, std::optional<int64_t>(0));

  EXPECT_EQ(res.pids->limit, 100);

  const auto& bio = *res.block_io;
  EXPECT_EQ(bio.weight, std::optional<uint16_t>(500));
  EXPECT_EQ(bio.leaf_weight, std::optional<uint16_t>(300));
  ASSERT_EQ(bio.weight_device.size(), 1u);
  EXPECT_EQ(bio.weight_device[0].major, 8);
  EXPECT_EQ(bio.weight_device[0].weight, std::optional<uint16_t>(600));
  EXPECT_EQ(bio.weight_device[0].leaf_weight, std::optional<uint16_t>(200));
  EXPECT_EQ(bio.throttle_read_bps_device.at(0).rate, 1048576u);
  EXPECT_EQ(bio.throttle_write_bps_device.at(0).rate, 2097152u);
  EXPECT_EQ(bio.throttle_read_iops_device.at(0).rate, 100u);
  EXPECT_EQ(bio.throttle_write_iops_device.at(0).rate, 200u);

  ASSERT_EQ(res.hugepage_limits.size(), 1u);
  EXPECT_EQ(res.hugepage_limits[0].page_size, "2MB");
  EXPECT_EQ(res.hugepage_limits[0].limit, 209715200u);
  EXPECT_EQ(res.unified.at("io.weight"), "default 100");
  EXPECT_EQ(res.unified.size(), 2u);
}

TEST(SpecParseTest, AbsentResourceSectionsStayUnset) {
  auto r = ParseSpec(ConfigWith(R"("linux": {"resources": {"pids": {"limit": -1}}})"));
  ASSERT_OK(r);
  const cgroups::Resources& res = *r->spec.linux_spec->resources;
  EXPECT_EQ(res.pids->limit, -1);
  EXPECT_FALSE(res.memory.has_value());
  EXPECT_FALSE(res.cpu.has_value());
  EXPECT_FALSE(res.block_io.has_value());
  EXPECT_TRUE(res.devices.empty());
}

TEST(SpecParseTest, NullMeansAbsent) {
  auto r = ParseSpec(ConfigWith(R"("hostname": null, "linux": {"seccomp": null})"));
  ASSERT_OK(r);
  EXPECT_EQ(r->spec.hostname, "");
  EXPECT_FALSE(r->spec.linux_spec->seccomp.has_value());
  EXPECT_TRUE(r->unsupported.empty());
}

TEST(SpecParseTest, ProcessIsOptional) {
  auto r = ParseSpec(R"({"ociVersion": "1.1.0", "root": {"path": "/r"}})");
  ASSERT_OK(r);
  EXPECT_FALSE(r->spec.process.has_value());
}

TEST(SpecParseTest, UnsupportedFieldsAreReportedByPath) {
  auto r = ParseSpec(R"({
    "ociVersion": "1.2.0",
    "root": {"path": "rootfs"},
    "process": {"args": ["sh"], "cwd": "/", "apparmorProfile": "docker-default",
                "selinuxLabel": "", "ioPriority": {"class": "IOPRIO_CLASS_IDLE"},
                "scheduler": {"policy": "SCHED_OTHER"},
                "user": {"uid": 0, "gid": 0, "username": "root"}},
    "mounts": [{"destination": "/x", "source": "/y", "options": ["bind"],
                "uidMappings": []}],
    "linux": {"intelRdt": {"closID": "x"}, "personality": {"domain": "LINUX"},
              "mountLabel": "system_u:object_r:container_file_t:s0",
              "memoryPolicy": {"mode": "MPOL_BIND"},
              "seccomp": {"defaultAction": "SCMP_ACT_ALLOW", "listenerPath": "/run/l.sock"},
              "resources": {"rdma": {}, "network": {"classID": 1},
                            "memory": {"limit": 1, "futureKnob": true}}},
    "vm": {"hypervisor": {"path": "/bin/qemu"}},
    "solaris": {},
    "windows": {},
    "futureTopLevel": 1
  })");
  ASSERT_OK(r);
  std::vector<std::string> got = r->unsupported;
  std::sort(got.begin(), got.end());
  std::vector<std::string> want = {"futureTopLevel",
                                   "linux.intelRdt",
                                   "linux.memoryPolicy",
                                   "linux.mountLabel",
                                   "linux.personality",
                                   "linux.resources.memory.futureKnob",
                                   "linux.resources.network",
                                   "linux.resources.rdma",
                                   "linux.seccomp.listenerPath",
                                   "mounts[0].uidMappings",
                                   "process.apparmorProfile",
                                   "process.ioPriority",
                                   "process.scheduler",
                                   "process.user.username",
                                   "solaris",
                                   "vm",
                                   "windows"};
  EXPECT_EQ(got, want);
  // Modelled values are still parsed next to unsupported ones.
  EXPECT_EQ(r->spec.linux_spec->resources->memory->limit, std::optional<int64_t>(1));
  EXPECT_EQ(r->spec.process->apparmor_profile, "docker-default");
}

TEST(SpecParseTest, LoadSpecReadsBundleConfig) {
  std::string dir =
      std::filesystem::temp_directory_path() / ("berth-spec-test-" + std::to_string(getpid()));
  ASSERT_OK(MakeDirs(dir));
  struct Cleanup {
    std::string dir;
    ~Cleanup() { std::filesystem::remove_all(dir); }
  } cleanup{dir};
  EXPECT_ERRNO(LoadSpec(dir), ENOENT);
  ASSERT_OK(WriteFileAtomic(dir + "/config.json", CorpusFile("minimal.json")));
  auto r = LoadSpec(dir);
  ASSERT_OK(r);
  EXPECT_EQ(r->spec.process->args[0], "/bin/true");
  ASSERT_OK(WriteFileAtomic(dir + "/config.json", R"({"ociVersion": "1.0.0"})"));
  auto bad = LoadSpec(dir);
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.error().Chain(), "load " + dir + "/config.json: root: required");
}

TEST(ParseProcessTest, ParsesProcessJson) {
  auto r = ParseProcess(CorpusFile("process.json"));
  ASSERT_OK(r);
  EXPECT_EQ(r->user.uid, 1000u);
  EXPECT_EQ(r->user.additional_gids, (std::vector<gid_t>{5, 10}));
  EXPECT_EQ(r->args, (std::vector<std::string>{"/bin/sh", "-c", "id"}));
  EXPECT_EQ(r->cwd, "/tmp");
  EXPECT_TRUE(r->no_new_privileges);
  EXPECT_EQ(r->oom_score_adj, std::optional<int>(100));
  EXPECT_EQ(r->rlimits.at(0).soft, 512u);
  EXPECT_EQ(r->capabilities->permitted, std::vector<std::string>{"CAP_KILL"});
}

TEST(ParseProcessTest, ErrorsArePathedUnderProcess) {
  auto r = ParseProcess(R"({"args": ["sh"], "cwd": "tmp"})");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().Chain(), "process.cwd: must be an absolute path, got \"tmp\"");
  auto u = ParseProcess(R"({"args": ["sh"], "cwd": "/", "user": {"uid": -1}})");
  ASSERT_FALSE(u.ok());
  EXPECT_EQ(u.error().Chain(), "process.user.uid: expected an unsigned integer, got number");
  EXPECT_ERRNO(ParseProcess("[]"), EINVAL);
}

TEST(ParseProcessTest, UnsupportedFieldsFailOrAreCollected) {
  const char* json = R"({"args": ["sh"], "cwd": "/", "ioPriority": {"class": "x"}})";
  auto strict = ParseProcess(json);
  ASSERT_FALSE(strict.ok());
  EXPECT_EQ(strict.error().Chain(), "process.ioPriority: not supported");
  std::vector<std::string> unsupported;
  auto lenient = ParseProcess(json, &unsupported);
  ASSERT_OK(lenient);
  EXPECT_EQ(unsupported, std::vector<std::string>{"process.ioPriority"});
}

TEST(NamespaceTypeTest, NamesRoundTrip) {
  for (const char* name : {"pid", "network", "mount", "ipc", "uts", "user", "cgroup", "time"}) {
    auto t = ParseNamespaceType(name);
    ASSERT_OK(t);
    EXPECT_STREQ(NamespaceTypeName(*t), name);
  }
  EXPECT_ERRNO(ParseNamespaceType("net"), EINVAL);
}

}  // namespace
}  // namespace berth::runtime

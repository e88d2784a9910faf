#include "container_spec.h"

#include <algorithm>

#include <gtest/gtest.h>

#include "test_support.h"

namespace berth::nodeagent {
namespace {

using runtime::NamespaceType;

bool Has(const std::vector<std::string>& v, const std::string& s) {
  return std::find(v.begin(), v.end(), s) != v.end();
}

class ContainerSpecTest : public ::testing::Test {
 protected:
  void SetUp() override {
    pod_.name = "web";
    pod_.namespace_ = "shop";
    pod_.uid = "u1";
    c_.name = "app";
    c_.image = "busybox";
    image_.entrypoint = {"/entry"};
    image_.cmd = {"serve", "--port=80"};
    image_.env = {"PATH=/bin", "MODE=image"};
    image_.working_dir = "/srv";
    plan_.pod = &pod_;
    plan_.container = &c_;
    plan_.image = &image_;
    plan_.rootfs = "/var/lib/x/rootfs";
    plan_.netns = "/run/berth/netns/u1";
    plan_.utsns = "/run/berth/ns/u1/uts";
    plan_.ipcns = "/run/berth/ns/u1/ipc";
  }
  PodManifest pod_;
  ContainerSpec c_;
  runtime::image::ImageConfig image_;
  ContainerPlan plan_;
};

TEST_F(ContainerSpecTest, CommandAndArgsCombineWithTheImageAsKubernetesDoes) {
  EXPECT_EQ(EffectiveArgs(c_, image_), (std::vector<std::string>{"/entry", "serve", "--port=80"}));
  c_.args = {"check"};
  EXPECT_EQ(EffectiveArgs(c_, image_), (std::vector<std::string>{"/entry", "check"}));
  c_.command = {"/bin/sh"};
  c_.args.clear();
  EXPECT_EQ(EffectiveArgs(c_, image_), (std::vector<std::string>{"/bin/sh"}));
  c_.args = {"-c", "true"};
  EXPECT_EQ(EffectiveArgs(c_, image_), (std::vector<std::string>{"/bin/sh", "-c", "true"}));
}

TEST_F(ContainerSpecTest, ProcessNamespacesAndMounts) {
  plan_.env = {"MODE=pod", "EXTRA=1"};
  plan_.mounts = {{"/host/data", "/data", true}};
  c_.security.run_as_user = 1000;
  c_.security.read_only_root_filesystem = true;
  auto s = BuildContainerSpec(plan_);
  ASSERT_OK(s);
  const auto& p = *s->process;
  EXPECT_TRUE(Has(p.env, "MODE=pod"));
  EXPECT_FALSE(Has(p.env, "MODE=image"));
  EXPECT_TRUE(Has(p.env, "EXTRA=1"));
  EXPECT_TRUE(Has(p.env, "PATH=/bin"));
  EXPECT_EQ(p.cwd, "/srv");
  EXPECT_EQ(p.user.uid, 1000u);
  EXPECT_EQ(p.oom_score_adj, 1000);  // BestEffort by default
  EXPECT_TRUE(s->root.readonly);
  EXPECT_EQ(s->root.path, "/var/lib/x/rootfs");
  const auto& l = *s->linux_spec;
  EXPECT_EQ(l.FindNamespace(NamespaceType::kNetwork)->path, "/run/berth/netns/u1");
  EXPECT_EQ(l.FindNamespace(NamespaceType::kUts)->path, "/run/berth/ns/u1/uts");
  EXPECT_EQ(l.FindNamespace(NamespaceType::kIpc)->path, "/run/berth/ns/u1/ipc");
  EXPECT_EQ(l.FindNamespace(NamespaceType::kPid)->path, "");
  ASSERT_TRUE(l.seccomp.has_value());  // RuntimeDefault
  const auto& m = s->mounts.back();
  EXPECT_EQ(m.destination, "/data");
  EXPECT_EQ(m.source, "/host/data");
  EXPECT_TRUE(Has(m.options, "ro"));
  EXPECT_EQ(s->annotations.at("io.kubernetes.pod.namespace"), "shop");
}

TEST_F(ContainerSpecTest, SecurityContext) {
  c_.security.capabilities_add = {"NET_ADMIN"};
  c_.security.capabilities_drop = {"KILL"};
  c_.security.allow_privilege_escalation = false;
  c_.security.seccomp_profile = "Unconfined";
  auto s = BuildContainerSpec(plan_);
  ASSERT_OK(s);
  const auto& caps = s->process->capabilities->bounding;
  EXPECT_TRUE(Has(caps, "CAP_NET_ADMIN"));
  EXPECT_FALSE(Has(caps, "CAP_KILL"));
  EXPECT_TRUE(Has(caps, "CAP_CHOWN"));
  EXPECT_TRUE(s->process->no_new_privileges);
  EXPECT_FALSE(s->linux_spec->seccomp.has_value());

  c_.security.capabilities_drop = {"ALL"};
  c_.security.capabilities_add = {"net_bind_service"};
  s = BuildContainerSpec(plan_);
  ASSERT_OK(s);
  EXPECT_EQ(s->process->capabilities->bounding, (std::vector<std::string>{"CAP_NET_BIND_SERVICE"}));

  c_.security.capabilities_add = {"NOT_A_CAP"};
  auto bad = BuildContainerSpec(plan_);
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.error().ToString().find("NOT_A_CAP"), std::string::npos);

  c_.security = {};
  c_.security.privileged = true;
  s = BuildContainerSpec(plan_);
  ASSERT_OK(s);
  EXPECT_TRUE(Has(s->process->capabilities->bounding, "CAP_SYS_ADMIN"));
  EXPECT_FALSE(s->linux_spec->seccomp.has_value());
  EXPECT_TRUE(s->linux_spec->masked_paths.empty());
}

TEST_F(ContainerSpecTest, ResourcesAndQos) {
  c_.resources.cpu_limit_milli = 500;
  c_.resources.memory_limit_bytes = 64 << 20;
  plan_.qos = QosClass::kGuaranteed;
  auto s = BuildContainerSpec(plan_);
  ASSERT_OK(s);
  EXPECT_EQ(*s->linux_spec->resources->memory->limit, 64 << 20);
  EXPECT_EQ(*s->linux_spec->resources->cpu->quota, 50000);
  EXPECT_EQ(s->process->oom_score_adj, -997);
}

TEST_F(ContainerSpecTest, NothingToRunIsAnError) {
  image_.entrypoint.clear();
  image_.cmd.clear();
  auto s = BuildContainerSpec(plan_);
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.error().ToString().find("container app"), std::string::npos);
}

}  // namespace
}  // namespace berth::nodeagent

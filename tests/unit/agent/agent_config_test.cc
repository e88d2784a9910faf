#include "agent_config.h"

#include <gtest/gtest.h>

#include "test_support.h"

namespace berth::nodeagent {
namespace {

TEST(AgentConfigTest, DefaultsAndOverrides) {
  auto empty = ParseAgentConfig("", "agent.yaml");
  ASSERT_OK(empty);
  EXPECT_EQ(empty->manifest_dir, "/etc/berth/pods");
  EXPECT_EQ(empty->backoff.base, std::chrono::seconds(10));
  auto c = ParseAgentConfig(R"(
nodeName: n1
manifestDir: /srv/pods
cgroupRoot: /berth
network: {podCIDR: 10.1.2.0/24, bridge: br9, mode: routed}
reserved: {cpu: 500m, memory: 1Gi}
restartBackoff: {base: 250ms, max: 5s}
logs: {maxSize: 1Mi, maxFiles: 3}
)",
                            "agent.yaml");
  ASSERT_OK(c);
  EXPECT_EQ(c->node_name, "n1");
  EXPECT_EQ(c->manifest_dir, "/srv/pods");
  EXPECT_EQ(c->cgroup_root, "/berth");
  EXPECT_EQ(c->network.pod_cidr_v4->String(), "10.1.2.0/24");
  EXPECT_EQ(c->network.bridge, "br9");
  EXPECT_EQ(c->network.mode, netns::NodeMode::kRouted);
  EXPECT_EQ(c->reserved_cpu_milli, 500);
  EXPECT_EQ(c->reserved_memory_bytes, int64_t{1} << 30);
  EXPECT_EQ(c->backoff.base, std::chrono::milliseconds(250));
  EXPECT_EQ(c->backoff.max, std::chrono::seconds(5));
  EXPECT_EQ(c->log_max_bytes, 1u << 20);
  EXPECT_EQ(c->log_max_files, 3);
}

TEST(AgentConfigTest, ErrorsNameTheKey) {
  auto err = [](const char* yaml) {
    auto r = ParseAgentConfig(yaml, "agent.yaml");
    return r.ok() ? std::string() : r.error().ToString();
  };
  EXPECT_NE(err("manifestdir: /x").find("agent.yaml: manifestdir: unknown field"),
            std::string::npos);
  EXPECT_NE(err("network: {podCIDR: 10.1.2.0/33}").find("network.podCIDR"), std::string::npos);
  EXPECT_NE(err("network: {mode: overlay}").find("network.mode: Unsupported value"),
            std::string::npos);
  EXPECT_NE(err("restartBackoff: {base: 10 parsecs}").find("restartBackoff.base"),
            std::string::npos);
  EXPECT_NE(err("logs: {maxFiles: 0}").find("logs.maxFiles"), std::string::npos);
  EXPECT_NE(err("reserved: {cpu: lots}").find("reserved.cpu"), std::string::npos);
  EXPECT_NE(err("nodeName: [a").find("agent.yaml"), std::string::npos);
}

TEST(AgentConfigTest, FinishRequiresAPodCidrAndTheShim) {
  AgentConfig c;
  auto missing = FinishAgentConfig(&c, "/nonexistent/berth-agent");
  ASSERT_FALSE(missing.ok());
  EXPECT_NE(missing.error().ToString().find("network.podCIDR"), std::string::npos);
  c.network.pod_cidr_v4 = *IpPrefix::Parse("10.0.0.0/24");
  auto no_shim = FinishAgentConfig(&c, "/nonexistent/berth-agent");
  EXPECT_ERRNO(no_shim, ENOENT);
  EXPECT_EQ(c.shim_binary, "/nonexistent/berth-shim");
  EXPECT_FALSE(c.node_name.empty());
}

}  // namespace
}  // namespace berth::nodeagent

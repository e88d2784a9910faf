// The files under examples/agent parse as they are.
#include <gtest/gtest.h>

#include "agent_config.h"
#include "manifest.h"
#include "test_support.h"

#include "berth/common/file.h"

namespace berth::nodeagent {
namespace {

TEST(ExamplesTest, AgentConfigAndPodParse) {
  auto config = LoadAgentConfig(BERTH_EXAMPLES "/agent.yaml");
  ASSERT_OK(config);
  EXPECT_EQ(config->network.pod_cidr_v4->String(), "10.88.0.0/24");
  auto text = ReadFile(BERTH_EXAMPLES "/web-pod.yaml");
  ASSERT_OK(text);
  auto pod = ParsePodManifest(*text, "web-pod.yaml");
  ASSERT_OK(pod);
  EXPECT_EQ(pod->containers[0].readiness->port, 8080);
}

}  // namespace
}  // namespace berth::nodeagent

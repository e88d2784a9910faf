// berth top's tables, as kubectl top prints them.
#include "top.h"

#include <gtest/gtest.h>

namespace berth::cli {
namespace {

v1::Object Node(const std::string& name, int64_t cpu_milli, int64_t memory) {
  v1::Object o;
  o.mutable_node()->mutable_metadata()->set_name(name);
  o.mutable_node()->mutable_status()->mutable_allocatable()->set_cpu_milli(cpu_milli);
  o.mutable_node()->mutable_status()->mutable_allocatable()->set_memory_bytes(memory);
  return o;
}

v1::NodeMetrics NodeUsage(const std::string& name, int64_t nanocores, int64_t bytes) {
  v1::NodeMetrics m;
  m.set_name(name);
  m.mutable_usage()->set_cpu_nanocores(nanocores);
  m.mutable_usage()->set_memory_bytes(bytes);
  return m;
}

v1::PodMetrics PodUsage(const std::string& ns, const std::string& name,
                        std::vector<std::tuple<std::string, int64_t, int64_t>> containers) {
  v1::PodMetrics p;
  p.set_namespace_(ns);
  p.set_name(name);
  for (const auto& [c, cpu, mem] : containers) {
    auto* x = p.add_containers();
    x->set_name(c);
    x->mutable_usage()->set_cpu_nanocores(cpu);
    x->mutable_usage()->set_memory_bytes(mem);
  }
  return p;
}

TEST(TopTables, NodesWithPercentagesAndUnknowns) {
  const std::vector<v1::Object> nodes = {Node("n2", 2000, 8LL << 30), Node("n1", 2000, 8LL << 30),
                                         Node("n3", 2000, 8LL << 30)};
  const std::vector<v1::NodeMetrics> metrics = {NodeUsage("n1", 250'400'000, 1LL << 30),
                                                NodeUsage("n2", 1'000'000'000, 6LL << 30)};
  EXPECT_EQ(PrintTopNodes(nodes, metrics, {}),
            "NAME   CPU(cores)   CPU%        MEMORY(bytes)   MEMORY%\n"
            "n1     250m         12%         1024Mi          12%\n"
            "n2     1000m        50%         6144Mi          75%\n"
            "n3     <unknown>    <unknown>   <unknown>       <unknown>\n");
  EXPECT_EQ(PrintTopNodes(nodes, metrics, {.no_headers = true, .sort = TopSort::kMemory}),
            "n2   1000m       50%         6144Mi      75%\n"
            "n1   250m        12%         1024Mi      12%\n"
            "n3   <unknown>   <unknown>   <unknown>   <unknown>\n");
}

TEST(TopTables, PodsSummedOrPerContainerSortedAsAsked) {
  std::vector<v1::PodMetrics> pods = {
      PodUsage("default", "web-2", {{"httpd", 3'000'000, 5LL << 20}}),
      PodUsage("default", "web-1",
               {{"httpd", 1'000'000, 4LL << 20}, {"log", 1'500'000, 2LL << 20}}),
      PodUsage("kube", "dns", {{"dns", 0, 12LL << 20}})};
  EXPECT_EQ(PrintTopPods(pods, {}),
            "NAME    CPU(cores)   MEMORY(bytes)\n"
            "web-1   2m           6Mi\n"
            "web-2   3m           5Mi\n"
            "dns     0m           12Mi\n");
  EXPECT_EQ(PrintTopPods(pods, {.with_namespace = true, .sort = TopSort::kCpu}),
            "NAMESPACE   NAME    CPU(cores)   MEMORY(bytes)\n"
            "default     web-2   3m           5Mi\n"
            "default     web-1   2m           6Mi\n"
            "kube        dns     0m           12Mi\n");
  EXPECT_EQ(PrintTopPods({pods[1]}, {.containers = true}),
            "POD     NAME    CPU(cores)   MEMORY(bytes)\n"
            "web-1   httpd   1m           4Mi\n"
            "web-1   log     1m           2Mi\n");
  EXPECT_TRUE(ParseTopSort("memory").ok());
  auto bad = ParseTopSort("name");
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.error().message().find("cpu or memory"), std::string::npos);
}

}  // namespace
}  // namespace berth::cli

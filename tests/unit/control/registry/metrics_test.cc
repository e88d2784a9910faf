// Usage reports and GetMetrics: the in-memory store's freshness, and the
// service serving a node's report for the pods bound to it (and only
// those), with the node role allowed to report only for itself.
#include "service_fixture.h"

#include "berth/control/metrics_store.h"

namespace berth::control {
namespace {

using namespace std::chrono_literals;

v1::UsageReport Report(const std::string& node, int64_t window_ms,
                       std::vector<std::pair<std::string, int64_t>> pods) {
  v1::UsageReport r;
  r.mutable_node()->set_name(node);
  r.mutable_node()->set_window_ms(window_ms);
  r.mutable_node()->mutable_usage()->set_cpu_nanocores(1'500'000'000);
  r.mutable_node()->mutable_usage()->set_memory_bytes(2LL << 30);
  for (const auto& [uid, cpu] : pods) {
    auto* p = r.add_pods();
    p->set_uid(uid);
    p->set_name("as-the-node-says");
    auto* c = p->add_containers();
    c->set_name("c");
    c->mutable_usage()->set_cpu_nanocores(cpu);
    c->mutable_usage()->set_memory_bytes(64LL << 20);
  }
  return r;
}

TEST(MetricsStore, AReportStaysFreshForThreeWindows) {
  MetricsStore store;
  const auto t0 = MetricsStore::Clock::now();
  store.Report("n1", Report("ignored", 10000, {{"u1", 5}}), t0);
  ASSERT_TRUE(store.Node("n1", t0 + 30s).has_value());
  EXPECT_EQ(store.Node("n1", t0).value().name(), "n1");  // the caller's name wins
  EXPECT_TRUE(store.Pod("n1", "u1", t0 + 30s).has_value());
  EXPECT_FALSE(store.Pod("n1", "u2", t0).has_value());
  EXPECT_FALSE(store.Pod("n2", "u1", t0).has_value());
  EXPECT_FALSE(store.Node("n1", t0 + 36s).has_value());
  EXPECT_EQ(store.FreshNodes(t0 + 1s), 1u);
  EXPECT_EQ(store.FreshNodes(t0 + 40s), 0u);
  // The next report replaces the last one whole.
  store.Report("n1", Report("n1", 10000, {{"u2", 7}}), t0 + 40s);
  EXPECT_FALSE(store.Pod("n1", "u1", t0 + 40s).has_value());
  EXPECT_EQ(store.Pod("n1", "u2", t0 + 40s)->containers(0).usage().cpu_nanocores(), 7);
}

constexpr char kTokens[] =
    "view-token,victor,2,berth:view\n"
    "n1-token,system:node:n1,3,\"system:nodes\"\n";

class MetricsServiceTest : public ServiceTest {
 protected:
  void SetUp() override {
    ServiceTest::SetUp();
    StartService({.token_file_contents = kTokens});
  }
  std::string Uid(const std::string& name) {
    auto o = registry_->Get({"Pod", "default", name});
    EXPECT_TRUE(o.ok());
    return o.ok() ? o->pod().metadata().uid() : "";
  }
};

TEST_F(MetricsServiceTest, NodesReportTheirPodsAndViewersReadThem) {
  ASSERT_OK(registry_->Create(Pod("web", "n1", "web")));
  ASSERT_OK(registry_->Create(Pod("db", "n1", "db")));
  ASSERT_OK(registry_->Create(Pod("elsewhere", "n2")));
  ASSERT_OK(registry_->Create(Pod("pending")));
  v1::Object node;
  node.mutable_node()->mutable_metadata()->set_name("n1");
  ASSERT_OK(registry_->Create(node));
  node.mutable_node()->mutable_metadata()->set_name("n2");
  ASSERT_OK(registry_->Create(node));

  auto n1 = As("n1-token");
  auto viewer = As("view-token");
  v1::MetricsRequest pods;
  pods.set_kind("pods");
  auto none = viewer->GetMetrics(pods);
  ASSERT_OK(none);
  EXPECT_EQ(none->pods_size(), 0);

  // n1 reports its pods, and claims n2's pod too: that claim is ignored.
  ASSERT_OK(n1->ReportUsage(Report(
      "n1", 10000, {{Uid("web"), 250'000'000}, {Uid("db"), 1'000'000}, {Uid("elsewhere"), 9}})));
  auto got = viewer->GetMetrics(pods);
  ASSERT_OK(got);
  ASSERT_EQ(got->pods_size(), 2);
  std::map<std::string, int64_t> cpu;
  for (const auto& p : got->pods()) {
    EXPECT_EQ(p.namespace_(), "default");
    cpu[p.name()] = p.containers(0).usage().cpu_nanocores();
  }
  EXPECT_EQ(cpu, (std::map<std::string, int64_t>{{"db", 1'000'000}, {"web", 250'000'000}}));

  pods.set_label_selector("app=web");
  got = viewer->GetMetrics(pods);
  ASSERT_OK(got);
  ASSERT_EQ(got->pods_size(), 1);
  EXPECT_EQ(got->pods(0).name(), "web");

  v1::MetricsRequest one;
  one.set_kind("Pod");
  one.set_name("pending");
  auto missing = viewer->GetMetrics(one);
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.error().err(), ENOENT);
  EXPECT_NE(missing.error().message().find("podmetrics.metrics.k8s.io \"default/pending\""),
            std::string::npos)
      << missing.error().message();

  v1::MetricsRequest nodes;
  nodes.set_kind("Node");
  auto node_metrics = viewer->GetMetrics(nodes);
  ASSERT_OK(node_metrics);
  ASSERT_EQ(node_metrics->nodes_size(), 1);  // n2 never reported
  EXPECT_EQ(node_metrics->nodes(0).name(), "n1");
  EXPECT_EQ(node_metrics->nodes(0).usage().cpu_nanocores(), 1'500'000'000);

  v1::MetricsRequest bad;
  bad.set_kind("Service");
  EXPECT_ERRNO(viewer->GetMetrics(bad), EINVAL);
}

TEST_F(MetricsServiceTest, ANodeReportsOnlyForItselfAndViewersCannotReport) {
  auto denied = As("n1-token")->ReportUsage(Report("n2", 10000, {}));
  ASSERT_FALSE(denied.ok());
  EXPECT_EQ(denied.error().err(), EACCES);
  EXPECT_NE(denied.error().message().find("cannot create resource \"nodes.metrics.k8s.io\""),
            std::string::npos)
      << denied.error().message();
  EXPECT_NE(denied.error().message().find("a node reports only its own usage"), std::string::npos);
  EXPECT_ERRNO(As("view-token")->ReportUsage(Report("n1", 10000, {})), EACCES);
  EXPECT_ERRNO(As("n1-token")->ReportUsage(Report("n1", 0, {})), EINVAL);
}

}  // namespace
}  // namespace berth::control

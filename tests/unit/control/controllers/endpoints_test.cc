#include "berth/control/controllers/endpoints.h"

#include <thread>

#include "registry_fixture.h"

namespace berth::control {
namespace {

using std::chrono::milliseconds;

constexpr std::string_view kService = R"(
apiVersion: v1
kind: Service
metadata: {name: web, labels: {tier: front}}
spec:
  selector: {app: web}
  ports: [{name: http, port: 80, targetPort: 8080}]
)";

class EndpointsTest : public RegistryTest {
 protected:
  void SetUp() override {
    RegistryTest::SetUp();
    services_ = std::make_unique<Informer>(*registry_, "Service");
    pods_ = std::make_unique<Informer>(*registry_, "Pod");
    controller_ = std::make_unique<EndpointsController>(*registry_, *services_, *pods_);
    ASSERT_OK(services_->Start());
    ASSERT_OK(pods_->Start());
    ASSERT_OK(controller_->Start());
  }
  void TearDown() override {
    controller_.reset();
    pods_.reset();
    services_.reset();
    RegistryTest::TearDown();
  }

  bool WaitFor(const std::function<bool()>& done) {
    for (int i = 0; i < 200; ++i) {
      if (done()) return true;
      std::this_thread::sleep_for(milliseconds(25));
    }
    return done();
  }

  std::optional<v1::Endpoints> Endpoints(const std::string& name = "web") {
    auto ep = registry_->Get({"Endpoints", "default", name});
    if (!ep.ok()) return std::nullopt;
    return ep->endpoints();
  }

  void SetStatus(const std::string& pod, const std::string& ip, bool ready) {
    ASSERT_OK(registry_->Modify({"Pod", "default", pod},
                                [&](v1::Object& o) {
                                  auto* status = o.mutable_pod()->mutable_status();
                                  status->set_phase("Running");
                                  status->set_pod_ip(ip);
                                  status->clear_conditions();
                                  auto* cond = status->add_conditions();
                                  cond->set_type("Ready");
                                  cond->set_status(ready ? "True" : "False");
                                  return true;
                                },
                                {.status = true}));
  }

  // The "ip" of every address (ready) or not-ready address, over all subsets.
  std::vector<std::string> Ips(bool ready, const std::string& name = "web") {
    std::vector<std::string> out;
    auto ep = Endpoints(name);
    if (!ep) return out;
    for (const auto& s : ep->subsets()) {
      for (const auto& a : ready ? s.addresses() : s.not_ready_addresses()) out.push_back(a.ip());
    }
    return out;
  }

  static v1::Object PodWithPort(const std::string& name, const std::string& port_name) {
    return Parse("apiVersion: v1\nkind: Pod\nmetadata: {name: " + name +
                 ", labels: {app: web}}\nspec:\n  nodeName: node-1\n  containers: [{name: c, "
                 "image: busybox, ports: [{name: " +
                 port_name + ", containerPort: 9090}]}]\n");
  }

  std::unique_ptr<Informer> services_, pods_;
  std::unique_ptr<EndpointsController> controller_;
};

TEST_F(EndpointsTest, AddressesFollowReadiness) {
  ASSERT_OK(registry_->Create(Parse(kService)));
  ASSERT_TRUE(WaitFor([&] { return Endpoints().has_value(); }));
  EXPECT_EQ(Endpoints()->subsets_size(), 0);
  EXPECT_EQ(Endpoints()->metadata().labels().at("tier"), "front");

  ASSERT_OK(registry_->Create(Pod("web-1")));
  ASSERT_OK(registry_->Create(Pod("other", "", "db")));
  SetStatus("other", "10.1.0.9", true);
  SetStatus("web-1", "10.1.0.5", false);
  ASSERT_TRUE(WaitFor([&] { return Ips(false) == std::vector<std::string>{"10.1.0.5"}; }));
  EXPECT_TRUE(Ips(true).empty());

  SetStatus("web-1", "10.1.0.5", true);
  ASSERT_TRUE(WaitFor([&] { return Ips(true) == std::vector<std::string>{"10.1.0.5"}; }));
  EXPECT_TRUE(Ips(false).empty());
  const v1::EndpointSubset subset = Endpoints()->subsets(0);
  ASSERT_EQ(subset.ports_size(), 1);
  EXPECT_EQ(subset.ports(0).name(), "http");
  EXPECT_EQ(subset.ports(0).port(), 8080);
  EXPECT_EQ(subset.ports(0).protocol(), "TCP");
  const auto& ref = subset.addresses(0).target_ref();
  EXPECT_EQ(ref.kind(), "Pod");
  EXPECT_EQ(ref.name(), "web-1");
  EXPECT_EQ(ref.uid(), registry_->Get({"Pod", "default", "web-1"})->pod().metadata().uid());

  // A second, ready pod: sorted by IP.
  ASSERT_OK(registry_->Create(Pod("web-0")));
  SetStatus("web-0", "10.1.0.2", true);
  ASSERT_TRUE(WaitFor([&] {
    return Ips(true) == std::vector<std::string>{"10.1.0.2", "10.1.0.5"};
  }));

  SetStatus("web-1", "10.1.0.5", false);
  ASSERT_TRUE(WaitFor([&] { return Ips(false) == std::vector<std::string>{"10.1.0.5"}; }));
  ASSERT_OK(registry_->Delete({"Pod", "default", "web-1"}));
  ASSERT_TRUE(WaitFor([&] { return Ips(false).empty(); }));
  EXPECT_EQ(Ips(true), std::vector<std::string>{"10.1.0.2"});
}

TEST_F(EndpointsTest, TerminatingPodsLeaveAndPublishNotReadyKeepsAll) {
  ASSERT_OK(registry_->Create(Parse(kService)));
  ASSERT_OK(registry_->Create(Pod("web-1", "node-1")));
  ASSERT_OK(registry_->Create(Pod("web-2", "node-1")));
  SetStatus("web-1", "10.1.0.5", true);
  SetStatus("web-2", "10.1.0.6", false);
  ASSERT_TRUE(WaitFor([&] { return Ips(true).size() == 1 && Ips(false).size() == 1; }));
  EXPECT_EQ(Endpoints()->subsets(0).addresses(0).node_name(), "node-1");
  // Bound to a node: the delete is graceful, the pod terminating.
  ASSERT_OK(registry_->Delete({"Pod", "default", "web-1"}));
  ASSERT_TRUE(WaitFor([&] { return Ips(true).empty(); }));

  ASSERT_OK(registry_->Modify({"Service", "default", "web"}, [](v1::Object& o) {
    o.mutable_service()->mutable_spec()->set_publish_not_ready_addresses(true);
    return true;
  }));
  ASSERT_TRUE(WaitFor([&] {
    return Ips(true) == std::vector<std::string>{"10.1.0.5", "10.1.0.6"};
  }));
  EXPECT_TRUE(Ips(false).empty());
}

TEST_F(EndpointsTest, NamedTargetPortsResolvePerPod) {
  ASSERT_OK(registry_->Create(Parse(R"(
apiVersion: v1
kind: Service
metadata: {name: web}
spec:
  selector: {app: web}
  ports:
  - {name: http, port: 80, targetPort: web}
  - {name: metrics, port: 9100, targetPort: 9100}
)")));
  ASSERT_OK(registry_->Create(PodWithPort("a", "web")));
  ASSERT_OK(registry_->Create(PodWithPort("b", "admin")));
  SetStatus("a", "10.1.0.1", true);
  SetStatus("b", "10.1.0.2", true);
  ASSERT_TRUE(WaitFor([&] { return Ips(true).size() == 2; }));
  // b lacks the named port: it is only in the metrics subset.
  auto ep = Endpoints();
  ASSERT_EQ(ep->subsets_size(), 2);
  for (const auto& s : ep->subsets()) {
    if (s.ports_size() == 2) {
      ASSERT_EQ(s.addresses_size(), 1);
      EXPECT_EQ(s.addresses(0).ip(), "10.1.0.1");
      EXPECT_EQ(s.ports(0).name(), "http");
      EXPECT_EQ(s.ports(0).port(), 9090);
      EXPECT_EQ(s.ports(1).name(), "metrics");
      EXPECT_EQ(s.ports(1).port(), 9100);
    } else {
      ASSERT_EQ(s.ports_size(), 1);
      EXPECT_EQ(s.ports(0).name(), "metrics");
      ASSERT_EQ(s.addresses_size(), 1);
      EXPECT_EQ(s.addresses(0).ip(), "10.1.0.2");
    }
  }
}

TEST_F(EndpointsTest, UnchangedStateWritesNothing) {
  ASSERT_OK(registry_->Create(Parse(kService)));
  ASSERT_OK(registry_->Create(Pod("web-1")));
  SetStatus("web-1", "10.1.0.5", true);
  ASSERT_TRUE(WaitFor([&] { return Ips(true).size() == 1; }));
  std::this_thread::sleep_for(milliseconds(200));  // let queued syncs finish
  const std::string rv = Endpoints()->metadata().resource_version();
  ASSERT_OK(controller_->Sync("default/web"));
  ASSERT_OK(controller_->Sync("default/web"));
  // An unrelated change to the pod (an annotation) changes nothing either.
  ASSERT_OK(registry_->Modify({"Pod", "default", "web-1"}, [](v1::Object& o) {
    (*o.mutable_pod()->mutable_metadata()->mutable_annotations())["note"] = "x";
    return true;
  }));
  std::this_thread::sleep_for(milliseconds(300));
  EXPECT_EQ(Endpoints()->metadata().resource_version(), rv);
}

TEST_F(EndpointsTest, ServiceDeletionRemovesEndpointsAndSelectorlessAreLeftAlone) {
  ASSERT_OK(registry_->Create(Parse(kService)));
  ASSERT_TRUE(WaitFor([&] { return Endpoints().has_value(); }));
  ASSERT_OK(registry_->Delete({"Service", "default", "web"}));
  ASSERT_TRUE(WaitFor([&] { return !Endpoints().has_value(); }));

  // Without a selector the Endpoints are their owner's.
  ASSERT_OK(registry_->Create(Parse(R"(
apiVersion: v1
kind: Endpoints
metadata: {name: external}
subsets: [{addresses: [{ip: 192.0.2.10}], ports: [{port: 5432}]}]
)")));
  ASSERT_OK(registry_->Create(Parse(R"(
apiVersion: v1
kind: Service
metadata: {name: external}
spec: {ports: [{port: 5432}]}
)")));
  ASSERT_OK(registry_->Create(Pod("web-1")));
  std::this_thread::sleep_for(milliseconds(200));
  const std::string rv = Endpoints("external")->metadata().resource_version();
  ASSERT_OK(controller_->Sync("default/external"));
  EXPECT_EQ(Endpoints("external")->metadata().resource_version(), rv);
  EXPECT_EQ(Ips(true, "external"), std::vector<std::string>{"192.0.2.10"});
}

}  // namespace
}  // namespace berth::control

#include "berth/control/controllers/quota_admission.h"

#include <atomic>
#include <thread>

#include "registry_fixture.h"

#include "berth/control/controllers/resource_quota.h"

namespace berth::control {
namespace {

using std::chrono::milliseconds;

class QuotaAdmissionTest : public RegistryTest {
 protected:
  void SetUp() override {
    RegistryTest::SetUp();
    // The apiserver's order: defaults first, then quota.
    registry_->AddAdmission(std::make_unique<LimitRanger>());
    registry_->AddAdmission(std::make_unique<QuotaAdmission>());
  }

  // A pod whose container states `resources` (YAML flow mapping).
  static v1::Object PodWith(const std::string& name, const std::string& resources,
                            const std::string& ns = "default") {
    return Parse("apiVersion: v1\nkind: Pod\nmetadata: {name: " + name + ", namespace: " + ns +
                 "}\nspec:\n  containers: [{name: c, image: busybox, resources: " + resources +
                 "}]\n");
  }
  static v1::Object Memory(const std::string& name, const std::string& amount) {
    return PodWith(name, "{requests: {memory: " + amount + "}, limits: {memory: " + amount + "}}");
  }
  void CreateQuota(const std::string& name, const std::string& hard,
                   const std::string& ns = "default") {
    ASSERT_OK(
        registry_->Create(Parse("apiVersion: v1\nkind: ResourceQuota\nmetadata: {name: " + name +
                                ", namespace: " + ns + "}\nspec: {hard: " + hard + "}\n")));
  }
};

TEST_F(QuotaAdmissionTest, LimitRangeDefaultsAndMaximum) {
  ASSERT_OK(registry_->Create(Parse(R"(
apiVersion: v1
kind: LimitRange
metadata: {name: limits}
spec:
  limits:
  - type: Container
    default: {memory: 256Mi, cpu: 500m}
    defaultRequest: {memory: 128Mi}
    max: {memory: 1Gi}
  - type: Pod
    max: {cpu: "1"}
)")));
  auto plain = registry_->Create(PodWith("plain", "{}"));
  ASSERT_OK(plain);
  const auto& resources = plain->pod().spec().containers(0).resources();
  EXPECT_EQ(resources.limits().at("memory"), "256Mi");
  EXPECT_EQ(resources.limits().at("cpu"), "500m");
  EXPECT_EQ(resources.requests().at("memory"), "128Mi");
  // The LimitRange defaulted defaultRequest cpu from default (as Kubernetes).
  EXPECT_EQ(resources.requests().at("cpu"), "500m");
  EXPECT_EQ(registry_->Get({"Pod", "default", "plain"})
                ->pod()
                .spec()
                .containers(0)
                .resources()
                .requests()
                .at("memory"),
            "128Mi");

  // What the container states is kept.
  auto own =
      registry_->Create(PodWith("own", "{requests: {memory: 64Mi}, limits: {memory: 512Mi}}"));
  ASSERT_OK(own);
  EXPECT_EQ(own->pod().spec().containers(0).resources().limits().at("memory"), "512Mi");
  EXPECT_EQ(own->pod().spec().containers(0).resources().requests().at("memory"), "64Mi");

  auto big = registry_->Create(PodWith("big", "{limits: {memory: 2Gi}}"));
  EXPECT_ERRNO(big, EACCES);
  EXPECT_EQ(big.error().message(),
            "pods \"big\" is forbidden: maximum memory usage per Container is 1Gi, but limit is "
            "2Gi");
  EXPECT_ERRNO(registry_->Get({"Pod", "default", "big"}), ENOENT);

  // type Pod: the containers' sum.
  auto two = registry_->Create(Parse(R"(
apiVersion: v1
kind: Pod
metadata: {name: two}
spec:
  containers:
  - {name: a, image: busybox, resources: {limits: {cpu: 600m}}}
  - {name: b, image: busybox, resources: {limits: {cpu: 600m}}}
)"));
  EXPECT_ERRNO(two, EACCES);
  EXPECT_EQ(two.error().message(),
            "pods \"two\" is forbidden: maximum cpu usage per Pod is 1, but limit is 1200m");

  // A default limit below the container's own request is invalid.
  auto low = registry_->Create(PodWith("low", "{requests: {memory: 512Mi}}"));
  EXPECT_ERRNO(low, EINVAL);
  EXPECT_NE(low.error().message().find("spec.containers[0].resources.requests: Invalid value: "
                                       "\"512Mi\": must be less than or equal to memory limit"),
            std::string::npos)
      << low.error().message();
}

TEST_F(QuotaAdmissionTest, ExceededQuotaIsRefusedWithKubernetesWording) {
  CreateQuota("compute", "{requests.memory: 2Gi}");
  ASSERT_OK(registry_->Create(Memory("p1", "1Gi")));
  auto p2 = registry_->Create(Memory("p2", "2Gi"));
  EXPECT_ERRNO(p2, EACCES);
  EXPECT_EQ(p2.error().message(),
            "pods \"p2\" is forbidden: exceeded quota: compute, requested: requests.memory=2Gi, "
            "used: requests.memory=1Gi, limited: requests.memory=2Gi");
  ASSERT_OK(registry_->Create(Memory("p3", "1Gi")));  // exactly up to the limit

  auto bare = registry_->Create(PodWith("bare", "{}"));
  EXPECT_ERRNO(bare, EACCES);
  EXPECT_EQ(bare.error().message(),
            "pods \"bare\" is forbidden: failed quota: compute: must specify requests.memory");

  // Finished pods give their share back.
  ASSERT_OK(registry_->Modify({"Pod", "default", "p1"},
                              [](v1::Object& o) {
                                o.mutable_pod()->mutable_status()->set_phase("Succeeded");
                                return true;
                              },
                              {.status = true}));
  EXPECT_OK(registry_->Create(Memory("p4", "1Gi")));
  // Other namespaces are not charged.
  EXPECT_OK(registry_->Create(PodWith("free", "{requests: {memory: 8Gi}}", "prod")));
}

TEST_F(QuotaAdmissionTest, ObjectCounts) {
  CreateQuota("objects", "{services: \"1\", configmaps: \"1\", count/secrets: \"1\"}");
  const std::string svc =
      "apiVersion: v1\nkind: Service\nmetadata: {name: NAME}\nspec: {clusterIP: None, ports: "
      "[{port: 80}]}\n";
  auto named = [](std::string text, const std::string& name) {
    return text.replace(text.find("NAME"), 4, name);
  };
  ASSERT_OK(registry_->Create(Parse(named(svc, "a"))));
  auto b = registry_->Create(Parse(named(svc, "b")));
  EXPECT_ERRNO(b, EACCES);
  EXPECT_EQ(b.error().message(),
            "services \"b\" is forbidden: exceeded quota: objects, requested: services=1, used: "
            "services=1, limited: services=1");
  ASSERT_OK(registry_->Create(Parse("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c1}\n")));
  EXPECT_ERRNO(registry_->Create(Parse("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c2}\n")),
               EACCES);
  ASSERT_OK(registry_->Create(Parse("apiVersion: v1\nkind: Secret\nmetadata: {name: s1}\n")));
  EXPECT_ERRNO(registry_->Create(Parse("apiVersion: v1\nkind: Secret\nmetadata: {name: s2}\n")),
               EACCES);
  // Pods are not limited by this quota.
  EXPECT_OK(registry_->Create(Pod("p")));
}

TEST_F(QuotaAdmissionTest, ConcurrentCreatesNeverExceedTheQuota) {
  CreateQuota("pods", "{pods: \"5\"}");
  std::atomic<int> created{0};
  std::atomic<int> refused{0};
  std::atomic<int> other{0};
  std::vector<std::thread> threads;
  threads.reserve(8);
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 3; ++i) {
        auto pod = registry_->Create(Pod("p-" + std::to_string(t) + "-" + std::to_string(i)));
        if (pod.ok()) {
          ++created;
        } else if (pod.error().err() == EACCES) {
          ++refused;
        } else {
          ++other;
        }
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(created.load(), 5);
  EXPECT_EQ(refused.load(), 19);
  EXPECT_EQ(other.load(), 0);
  auto pods = registry_->List({.kind = "Pod", .namespace_ = "default"});
  ASSERT_OK(pods);
  EXPECT_EQ(pods->items.size(), 5u);
}

TEST_F(QuotaAdmissionTest, StatusControllerKeepsUsageCurrent) {
  Informer quotas(*registry_, "ResourceQuota");
  Informer pods(*registry_, "Pod");
  ResourceQuotaController controller(*registry_, quotas, {&pods});
  ASSERT_OK(quotas.Start());
  ASSERT_OK(pods.Start());
  ASSERT_OK(controller.Start());
  CreateQuota("compute", "{pods: \"10\", requests.memory: 4Gi, limits.memory: 8Gi}");
  ASSERT_OK(registry_->Create(Memory("p1", "1Gi")));
  ASSERT_OK(registry_->Create(Memory("p2", "512Mi")));
  auto status = [&] {
    return registry_->Get({"ResourceQuota", "default", "compute"})->resource_quota().status();
  };
  auto wait_for = [&](const std::function<bool()>& done) {
    for (int i = 0; i < 200 && !done(); ++i) std::this_thread::sleep_for(milliseconds(25));
    return done();
  };
  auto used = [&](const std::string& key) {
    auto s = status();
    auto it = s.used().find(key);
    return it == s.used().end() ? std::string() : it->second;
  };
  ASSERT_TRUE(wait_for([&] { return used("pods") == "2"; })) << used("pods");
  EXPECT_EQ(used("requests.memory"), "1536Mi");
  EXPECT_EQ(used("limits.memory"), "1536Mi");
  EXPECT_EQ(status().hard().at("requests.memory"), "4Gi");
  ASSERT_OK(registry_->Delete({"Pod", "default", "p1"}));
  ASSERT_TRUE(wait_for([&] { return used("pods") == "1"; })) << used("pods");
  EXPECT_EQ(used("requests.memory"), "512Mi");
  controller.Stop();
  pods.Stop();
  quotas.Stop();
}

}  // namespace
}  // namespace berth::control

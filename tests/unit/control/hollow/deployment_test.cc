// Deployments, services and quotas on hollow nodes through the real API.
#include "berth/control/controllers/deployment.h"

#include <atomic>
#include <map>
#include <set>

#include "hollow_cluster.h"

namespace berth::control {
namespace {

std::string Deployment(int replicas, const std::string& image) {
  return R"(
apiVersion: apps/v1
kind: Deployment
metadata: {name: web}
spec:
  replicas: )" +
         std::to_string(replicas) + R"(
  selector: {matchLabels: {app: web}}
  strategy: {rollingUpdate: {maxSurge: 2, maxUnavailable: 1}}
  template:
    metadata: {labels: {app: web}}
    spec:
      containers:
      - name: httpd
        image: )" +
         image + R"(
        resources: {requests: {cpu: 100m, memory: 64Mi}}
)";
}

class HollowDeployment : public HollowCluster {
 protected:
  Status Apply(const std::string& yaml) {
    auto docs = api::YamlDocumentsToJson(yaml, "web.yaml");
    if (!docs.ok()) return docs.error();
    auto applied = admin_->Apply((*docs)[0].dump(), "default");
    if (!applied.ok()) return applied.error();
    return {};
  }

  // Pods of the deployment that are Ready and not being deleted, by image.
  std::map<std::string, int> ReadyByImage() {
    std::map<std::string, int> out;
    for (const auto& p : Pods("app=web")) {
      if (Ready(p) && !p.metadata().has_deletion_timestamp()) out[p.spec().containers(0).image()]++;
    }
    return out;
  }

  bool Available(int replicas, const std::string& image) {
    auto d = admin_->Get("Deployment", "default", "web");
    if (!d.ok()) return false;
    const auto& s = d->deployment().status();
    const auto ready = ReadyByImage();
    const auto it = ready.find(image);
    const int ready_new = it == ready.end() ? 0 : it->second;
    // Only the wanted image is ready (none at all for 0 replicas).
    return s.observed_generation() == d->deployment().metadata().generation() &&
           s.available_replicas() == replicas && s.updated_replicas() == replicas &&
           s.replicas() == replicas && ready_new == replicas &&
           ready.size() == (replicas > 0 ? 1u : 0u);
  }
};

TEST_F(HollowDeployment, ScheduledAvailableScaledRolledAndRolledBack) {
  StartCluster(3);
  ASSERT_OK(Apply(Deployment(10, "berth/httpd:1")));
  ASSERT_TRUE(WaitFor([&] { return Available(10, "berth/httpd:1"); }, std::chrono::seconds(30)));

  ASSERT_OK(Apply(Deployment(0, "berth/httpd:1")));
  ASSERT_TRUE(WaitFor([&] { return Pods("app=web").empty() && Available(0, "berth/httpd:1"); }));
  ASSERT_OK(Apply(Deployment(10, "berth/httpd:1")));
  ASSERT_TRUE(WaitFor([&] { return Available(10, "berth/httpd:1"); }, std::chrono::seconds(30)));

  // A rolling update, checked on every pod event: never fewer than
  // replicas - maxUnavailable ready pods, never more than replicas +
  // maxSurge pods.
  std::atomic<bool> stop{false};
  std::atomic<int> min_ready{1000}, max_pods{0}, events{0};
  v1::WatchRequest req;
  req.set_kind("Pod");
  req.set_label_selector("app=web");
  auto watch = admin_->Watch(req);
  ASSERT_OK(watch);
  std::thread checker([&] {
    std::map<std::string, v1::Pod> pods;
    bool listed = false;
    while (!stop) {
      auto event = (*watch)->Next();
      if (!event.ok() || !event->has_value()) break;
      const auto& e = **event;
      if (e.type() == "BOOKMARK") continue;
      if (e.type() == "DELETED") {
        pods.erase(e.object().pod().metadata().name());
      } else {
        pods[e.object().pod().metadata().name()] = e.object().pod();
      }
      // The initial ADDED events build the state; check from then on.
      if (!listed) {
        listed = pods.size() >= 10;
        if (!listed) continue;
      }
      int ready = 0, total = 0;
      for (const auto& [name, p] : pods) {
        if (!p.metadata().has_deletion_timestamp()) ++total;
        if (Ready(p) && !p.metadata().has_deletion_timestamp()) ++ready;
      }
      min_ready = std::min(min_ready.load(), ready);
      max_pods = std::max(max_pods.load(), total);
      ++events;
    }
  });
  ASSERT_OK(Apply(Deployment(10, "berth/httpd:2")));
  ASSERT_TRUE(WaitFor([&] { return Available(10, "berth/httpd:2"); }, std::chrono::seconds(60)));
  stop = true;
  (*watch)->Cancel();  // ends the checker's blocking read
  checker.join();
  EXPECT_GE(min_ready.load(), 9) << "available dropped below replicas - maxUnavailable";
  EXPECT_LE(max_pods.load(), 12) << "more pods than replicas + maxSurge";
  EXPECT_GT(events.load(), 20);

  // Rollback to the previous revision restores the old template.
  ASSERT_OK(RollbackDeployment(plane_->registry(), "default", "web", 0));
  ASSERT_TRUE(WaitFor([&] { return Available(10, "berth/httpd:1"); }, std::chrono::seconds(60)));
}

TEST_F(HollowDeployment, RolloutFinishesAcrossAControlPlaneRestart) {
  StartCluster(3);
  ASSERT_OK(Apply(Deployment(10, "berth/httpd:1")));
  ASSERT_TRUE(WaitFor([&] { return Available(10, "berth/httpd:1"); }, std::chrono::seconds(30)));
  ASSERT_OK(Apply(Deployment(10, "berth/httpd:2")));
  // Restart in the middle of the rollout: the new controllers pick it up
  // from the stored state, no pod is lost and none is left over.
  ASSERT_TRUE(WaitFor([&] { return ReadyByImage()["berth/httpd:2"] >= 2; }));
  RestartControlPlane();
  ASSERT_TRUE(WaitFor([&] { return Available(10, "berth/httpd:2"); }, std::chrono::seconds(60)));
  EXPECT_EQ(Pods("app=web").size(), 10u);
  auto rs = admin_->List([] {
    v1::ListRequest r;
    r.set_kind("ReplicaSet");
    return r;
  }());
  ASSERT_OK(rs);
  EXPECT_EQ(rs->items_size(), 2);  // the two revisions, no duplicate
}

// berth-control restarts in the middle of a foreground cascading deletion:
// the new garbage collector finishes it from the stored finalizers and
// owner references. Nothing of the deployment is left.
TEST_F(HollowDeployment, CascadingDeletionFinishesAcrossAControlPlaneRestart) {
  // Containers take a second to stop: the restart finds pods terminating.
  StartCluster(3, {.stop_delay = std::chrono::seconds(1)});
  ASSERT_OK(Apply(Deployment(10, "berth/httpd:1")));
  ASSERT_TRUE(WaitFor([&] { return Available(10, "berth/httpd:1"); }, std::chrono::seconds(30)));
  v1::DeleteRequest del;
  del.mutable_key()->set_kind("Deployment");
  del.mutable_key()->set_namespace_("default");
  del.mutable_key()->set_name("web");
  del.set_propagation_policy("Foreground");
  auto deleting = admin_->Delete(del);
  ASSERT_OK(deleting);
  EXPECT_TRUE(deleting->deployment().metadata().has_deletion_timestamp());
  ASSERT_TRUE(WaitFor([&] {
    for (const auto& p : Pods("app=web")) {
      if (p.metadata().has_deletion_timestamp()) return true;
    }
    return false;
  }));
  RestartControlPlane();
  const auto count = [&](const char* kind) {
    v1::ListRequest r;
    r.set_kind(kind);
    auto list = admin_->List(r);
    return list.ok() ? list->items_size() : -1;
  };
  ASSERT_TRUE(WaitFor(
      [&] { return count("Deployment") == 0 && count("ReplicaSet") == 0 && count("Pod") == 0; },
      std::chrono::seconds(60)));
}

TEST_F(HollowDeployment, ServicesGetAddressesAndReadyEndpoints) {
  StartCluster(2);
  ASSERT_OK(Apply(Deployment(3, "berth/httpd:1")));
  ASSERT_OK(admin_->Create(Parse(R"(
apiVersion: v1
kind: Service
metadata: {name: web}
spec:
  type: NodePort
  selector: {app: web}
  ports: [{port: 80, targetPort: 8080}]
)")));
  auto svc = admin_->Get("Service", "default", "web");
  ASSERT_OK(svc);
  EXPECT_FALSE(svc->service().spec().cluster_ip().empty());
  EXPECT_GE(svc->service().spec().ports(0).node_port(), 30000);
  ASSERT_TRUE(WaitFor([&] {
    auto ep = admin_->Get("Endpoints", "default", "web");
    return ep.ok() && ep->endpoints().subsets_size() == 1 &&
           ep->endpoints().subsets(0).addresses_size() == 3 &&
           ep->endpoints().subsets(0).ports(0).port() == 8080;
  }));
}

TEST_F(HollowDeployment, QuotaRefusesThePodThatWouldExceedIt) {
  StartCluster(1);
  ASSERT_OK(
      admin_->Create(Parse("apiVersion: v1\nkind: ResourceQuota\nmetadata: {name: compute}\nspec: "
                           "{hard: {pods: \"2\"}}\n")));
  ASSERT_OK(admin_->Create(Pod("q1")));
  ASSERT_OK(admin_->Create(Pod("q2")));
  auto third = admin_->Create(Pod("q3"));
  ASSERT_FALSE(third.ok());
  EXPECT_EQ(third.error().err(), EACCES);
  EXPECT_NE(third.error().message().find("exceeded quota: compute"), std::string::npos)
      << third.error().message();
}

}  // namespace
}  // namespace berth::control

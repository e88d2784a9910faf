// The Deployment controller over a real registry, informers and the real
// ReplicaSet controller; a kubelet stand-in readies pods, and a pod watch
// checks the rollout bounds on every state the store goes through.
#include "berth/control/controllers/deployment.h"

#include <algorithm>
#include <atomic>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <thread>

#include <google/protobuf/util/message_differencer.h>
#include <google/protobuf/util/time_util.h>

#include "registry_fixture.h"

#include "berth/control/controllers/pods.h"
#include "berth/control/controllers/replicaset.h"

namespace berth::control {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

constexpr std::string_view kDeployment = R"(
apiVersion: apps/v1
kind: Deployment
metadata: {name: web}
spec:
  replicas: 10
  selector: {matchLabels: {app: web}}
  strategy: {type: RollingUpdate, rollingUpdate: {maxSurge: 3, maxUnavailable: 2}}
  template:
    metadata: {labels: {app: web}}
    spec:
      containers: [{name: httpd, image: "berth/httpd:1"}]
)";

// A label's or annotation's value; "" when missing.
std::string ValueOf(const google::protobuf::Map<std::string, std::string>& map,
                    const std::string& key) {
  auto it = map.find(key);
  return it == map.end() ? "" : it->second;
}
std::string Ann(const v1::ObjectMeta& meta, const std::string& key) {
  return ValueOf(meta.annotations(), key);
}

std::string Image(const v1::PodSpec& spec) { return spec.containers(0).image(); }
std::string Image(const v1::PodTemplateSpec& tmpl) { return Image(tmpl.spec()); }

// Watches the pods of namespace "default" from a listed revision on, and
// records the extremes over every state the store went through.
class PodObserver {
 public:
  explicit PodObserver(Registry& registry) : registry_(registry) {}
  ~PodObserver() { Stop(); }

  Status Start() {
    auto list = registry_.List({.kind = "Pod", .namespace_ = "default"});
    if (!list.ok()) return std::move(list).error();
    for (auto& o : list->items) pods_[o.pod().metadata().name()] = o.pod();
    auto watch =
        registry_.Watch({.kind = "Pod", .namespace_ = "default", .after_revision = list->revision});
    if (!watch.ok()) return std::move(watch).error();
    watch_ = std::move(*watch);
    Record();
    thread_ = std::thread([this] {
      while (!stop_) {
        auto events = watch_->Next(milliseconds(100));
        if (!events.ok()) return;
        for (auto& e : *events) {
          const std::string name = e.object.pod().metadata().name();
          if (e.type == ObjectEvent::Type::kDeleted) {
            pods_.erase(name);
          } else {
            pods_[name] = e.object.pod();
          }
          Record();
        }
      }
    });
    return {};
  }
  void Stop() {
    stop_ = true;
    if (thread_.joinable()) thread_.join();
  }

  int max_total() const { return max_total_; }
  int min_available() const { return min_available_; }
  // The most pod-template-hash values live at once (Recreate: 1).
  int max_revisions() const { return max_revisions_; }
  int states() const { return states_; }

 private:
  void Record() {
    int total = 0, available = 0;
    std::set<std::string> hashes;
    for (const auto& [name, pod] : pods_) {
      if (!IsActive(pod)) continue;
      ++total;
      if (IsReady(pod)) ++available;
      auto hash = pod.metadata().labels().find("pod-template-hash");
      hashes.insert(hash == pod.metadata().labels().end() ? "" : hash->second);
    }
    max_total_ = std::max(max_total_.load(), total);
    min_available_ = std::min(min_available_.load(), available);
    max_revisions_ = std::max(max_revisions_.load(), static_cast<int>(hashes.size()));
    ++states_;
  }

  Registry& registry_;
  std::unique_ptr<ObjectWatch> watch_;
  std::map<std::string, v1::Pod> pods_;  // the watch thread's
  std::atomic<int> max_total_{0}, min_available_{1 << 30}, max_revisions_{0}, states_{0};
  std::atomic<bool> stop_{false};
  std::thread thread_;
};

class DeploymentTest : public RegistryTest {
 protected:
  void SetUp() override {
    RegistryTest::SetUp();
    // The wall clock: minReadySeconds and progress deadlines count real
    // seconds here.
    RegistryOptions options;
    options.secrets = box_.get();
    registry_ = std::make_unique<Registry>(*store_, options);
    deployments_ = std::make_unique<Informer>(*registry_, "Deployment");
    replicasets_ = std::make_unique<Informer>(*registry_, "ReplicaSet");
    pods_ = std::make_unique<Informer>(*registry_, "Pod");
    AddPodIndexes(*pods_);
    events_ = std::make_unique<EventRecorder>(*registry_, "deployment-controller");
    rs_controller_ = std::make_unique<ReplicaSetController>(
        *registry_, *replicasets_, *pods_, *events_, ReplicaSetOptions{.workers = 2});
    controller_ =
        std::make_unique<DeploymentController>(*registry_, *deployments_, *replicasets_, *pods_,
                                               *events_, DeploymentOptions{.workers = 2});
    ASSERT_OK(deployments_->Start());
    ASSERT_OK(replicasets_->Start());
    ASSERT_OK(pods_->Start());
    ASSERT_OK(rs_controller_->Start());
    ASSERT_OK(controller_->Start());
    kubelet_ = std::thread([this] { Kubelet(); });
  }
  void TearDown() override {
    stop_ = true;
    if (kubelet_.joinable()) kubelet_.join();
    controller_.reset();
    rs_controller_.reset();
    events_.reset();
    pods_.reset();
    replicasets_.reset();
    deployments_.reset();
    RegistryTest::TearDown();
  }

  // Marks pods Running and Ready, as a kubelet would once the containers
  // pass their readiness probes, for the pods `ready_if` accepts.
  void Kubelet() {
    while (!stop_) {
      std::this_thread::sleep_for(milliseconds(20));
      auto list = registry_->List({.kind = "Pod", .namespace_ = "default"});
      if (!list.ok()) continue;
      for (const auto& o : list->items) {
        if (!IsActive(o.pod()) || IsReady(o.pod())) continue;
        {
          std::lock_guard lock(mu_);
          if (ready_if_ && !ready_if_(o.pod())) continue;
        }
        IgnoreError(registry_->Modify({"Pod", "default", o.pod().metadata().name()},
                                      [](v1::Object& p) {
                                        auto* status = p.mutable_pod()->mutable_status();
                                        status->set_phase("Running");
                                        auto* ready = status->add_conditions();
                                        ready->set_type("Ready");
                                        ready->set_status("True");
                                        *ready->mutable_last_transition_time() =
                                            google::protobuf::util::TimeUtil::GetCurrentTime();
                                        return true;
                                      },
                                      {.status = true}),
                    "ENOENT: the pod was deleted meanwhile; ESTALE: retried next round");
      }
    }
  }
  void ReadyIf(std::function<bool(const v1::Pod&)> pred) {
    std::lock_guard lock(mu_);
    ready_if_ = std::move(pred);
  }

  static bool WaitFor(const std::function<bool()>& done, seconds timeout = seconds(60)) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while (std::chrono::steady_clock::now() < deadline) {
      if (done()) return true;
      std::this_thread::sleep_for(milliseconds(20));
    }
    return done();
  }

  v1::Deployment Get() {
    auto d = registry_->Get({"Deployment", "default", "web"});
    EXPECT_TRUE(d.ok()) << d.error().ToString();
    return d.ok() ? d->deployment() : v1::Deployment();
  }
  void Change(const std::function<void(v1::Deployment&)>& edit) {
    ASSERT_OK(registry_->Modify({"Deployment", "default", "web"}, [&](v1::Object& o) {
      edit(*o.mutable_deployment());
      return true;
    }));
  }
  void SetImage(const std::string& image) {
    Change([&](v1::Deployment& d) {
      d.mutable_spec()->mutable_template_()->mutable_spec()->mutable_containers(0)->set_image(
          image);
    });
  }
  void SetReplicas(int n) {
    Change([&](v1::Deployment& d) { d.mutable_spec()->set_replicas(n); });
  }
  void SetPaused(bool paused) {
    Change([&](v1::Deployment& d) { d.mutable_spec()->set_paused(paused); });
  }

  // The ReplicaSets the Deployment controls, by name.
  std::map<std::string, v1::ReplicaSet> Owned() {
    std::map<std::string, v1::ReplicaSet> out;
    const std::string uid = Get().metadata().uid();
    auto list = registry_->List({.kind = "ReplicaSet", .namespace_ = "default"});
    EXPECT_TRUE(list.ok());
    for (auto& o : list->items) {
      const auto* owner = ControllerOf(o.replica_set().metadata());
      if (owner != nullptr && owner->uid() == uid) {
        out[o.replica_set().metadata().name()] = o.replica_set();
      }
    }
    return out;
  }
  // spec.replicas of an owned ReplicaSet; -1 when there is none.
  int Replicas(const std::string& name) {
    auto owned = Owned();
    auto it = owned.find(name);
    return it == owned.end() ? -1 : it->second.spec().replicas();
  }
  std::vector<v1::Pod> Pods() {
    std::vector<v1::Pod> out;
    auto list = registry_->List({.kind = "Pod", .namespace_ = "default"});
    EXPECT_TRUE(list.ok());
    for (auto& o : list->items) {
      if (IsActive(o.pod())) out.push_back(o.pod());
    }
    return out;
  }
  // The ReplicaSet with the Deployment's template.
  std::optional<v1::ReplicaSet> Current() {
    const v1::Deployment d = Get();
    for (auto& [name, rs] : Owned()) {
      v1::PodTemplateSpec tmpl = rs.spec().template_();
      tmpl.mutable_metadata()->mutable_labels()->erase("pod-template-hash");
      if (google::protobuf::util::MessageDifferencer::Equals(tmpl, d.spec().template_())) return rs;
    }
    return std::nullopt;
  }

  std::string CurrentName() {
    auto rs = Current();
    return rs ? rs->metadata().name() : "";
  }
  // The revision annotation of an owned ReplicaSet; "" when there is none.
  std::string RevisionOf(const std::string& name) {
    auto owned = Owned();
    auto it = owned.find(name);
    return it == owned.end() ? "" : Ann(it->second.metadata(), "deployment.kubernetes.io/revision");
  }

  static const v1::WorkloadCondition* Condition(const v1::Deployment& d, std::string_view type) {
    for (const auto& c : d.status().conditions()) {
      if (c.type() == type) return &c;
    }
    return nullptr;
  }
  static bool HasCondition(const v1::Deployment& d, std::string_view type, std::string_view status,
                           std::string_view reason) {
    const auto* c = Condition(d, type);
    return c != nullptr && c->status() == status && c->reason() == reason;
  }

  // The rollout of the current template is done: every pod updated and
  // available, no old pods left, and the controller says so.
  bool Complete() {
    const v1::Deployment d = Get();
    const auto& s = d.status();
    const int32_t n = d.spec().replicas();
    if (s.observed_generation() < d.metadata().generation() || s.updated_replicas() != n ||
        s.replicas() != n || s.available_replicas() != n ||
        !HasCondition(d, "Progressing", "True", "NewReplicaSetAvailable")) {
      return false;
    }
    auto pods = Pods();
    return static_cast<int32_t>(pods.size()) == n &&
           std::all_of(pods.begin(), pods.end(), [&](const v1::Pod& p) {
             return IsReady(p) && Image(p.spec()) == Image(d.spec().template_());
           });
  }

  std::vector<std::string> EventMessages(const std::string& reason) {
    events_->Flush();
    std::vector<std::string> out;
    auto events = registry_->List({.kind = "Event", .field_selector = "reason=" + reason});
    EXPECT_TRUE(events.ok());
    for (const auto& e : events->items) out.push_back(e.event().message());
    return out;
  }

  std::unique_ptr<Informer> deployments_, replicasets_, pods_;
  std::unique_ptr<EventRecorder> events_;
  std::unique_ptr<ReplicaSetController> rs_controller_;
  std::unique_ptr<DeploymentController> controller_;
  std::mutex mu_;
  std::function<bool(const v1::Pod&)> ready_if_;  // guarded by mu_; empty: every pod
  std::atomic<bool> stop_{false};
  std::thread kubelet_;
};

TEST_F(DeploymentTest, TenReplicasBecomeAvailable) {
  ASSERT_OK(registry_->Create(Parse(kDeployment)));
  ASSERT_TRUE(WaitFor([&] { return Complete(); })) << Get().DebugString();

  const v1::Deployment d = Get();
  EXPECT_TRUE(HasCondition(d, "Available", "True", "MinimumReplicasAvailable"));
  EXPECT_EQ(d.status().ready_replicas(), 10);
  EXPECT_EQ(d.status().unavailable_replicas(), 0);
  EXPECT_EQ(Ann(d.metadata(), "deployment.kubernetes.io/revision"), "1");

  auto owned = Owned();
  ASSERT_EQ(owned.size(), 1u);
  const v1::ReplicaSet& rs = owned.begin()->second;
  const std::string hash = ValueOf(rs.metadata().labels(), "pod-template-hash");
  EXPECT_EQ(rs.metadata().name(), "web-" + hash);
  EXPECT_EQ(ValueOf(rs.spec().selector().match_labels(), "pod-template-hash"), hash);
  EXPECT_EQ(ValueOf(rs.spec().selector().match_labels(), "app"), "web");
  EXPECT_EQ(ValueOf(rs.spec().template_().metadata().labels(), "pod-template-hash"), hash);
  EXPECT_EQ(Ann(rs.metadata(), "deployment.kubernetes.io/revision"), "1");
  EXPECT_EQ(Ann(rs.metadata(), "deployment.kubernetes.io/desired-replicas"), "10");
  EXPECT_EQ(Ann(rs.metadata(), "deployment.kubernetes.io/max-replicas"), "13");
  EXPECT_EQ(rs.spec().replicas(), 10);
  for (const auto& pod : Pods()) {
    EXPECT_EQ(ControllerOf(pod.metadata())->name(), rs.metadata().name());
    EXPECT_EQ(ValueOf(pod.metadata().labels(), "pod-template-hash"), hash);
  }
  // The same template hashes the same (deterministic serialization): the
  // Deployment in another namespace names its ReplicaSet alike.
  v1::Object other = Parse(kDeployment);
  other.mutable_deployment()->mutable_metadata()->set_namespace_("prod");
  ASSERT_OK(registry_->Create(other));
  ASSERT_TRUE(WaitFor([&] {
    return registry_->Get({"ReplicaSet", "prod", rs.metadata().name()}).ok();
  }));
  // A name taken by a ReplicaSet it does not own (its Deployment was
  // deleted, no garbage collector here) is a hash collision:
  // collisionCount moves the next name on.
  ASSERT_OK(registry_->Delete({"Deployment", "default", "web"}));
  ASSERT_OK(registry_->Create(Parse(kDeployment)));
  ASSERT_TRUE(WaitFor([&] {
    auto cur = Current();
    return cur && Get().status().collision_count() == 1;
  })) << Get().DebugString();
  EXPECT_NE(CurrentName(), rs.metadata().name());
  const auto messages = EventMessages("ScalingReplicaSet");
  EXPECT_NE(std::find(messages.begin(), messages.end(),
                      "Scaled up replica set " + rs.metadata().name() + " to 10"),
            messages.end());
}

TEST_F(DeploymentTest, ScalesToZeroAndBack) {
  ASSERT_OK(registry_->Create(Parse(kDeployment)));
  ASSERT_TRUE(WaitFor([&] { return Complete(); }));
  const std::string rs = CurrentName();

  SetReplicas(0);
  ASSERT_TRUE(WaitFor([&] {
    const v1::Deployment d = Get();
    return Pods().empty() && d.status().replicas() == 0 &&
           d.status().observed_generation() == d.metadata().generation();
  }));
  EXPECT_EQ(Owned().at(rs).spec().replicas(), 0);
  EXPECT_TRUE(HasCondition(Get(), "Available", "True", "MinimumReplicasAvailable"));

  SetReplicas(3);
  ASSERT_TRUE(WaitFor([&] { return Complete(); }));
  auto owned = Owned();
  ASSERT_EQ(owned.size(), 1u);  // scaling is no new revision
  EXPECT_EQ(owned.at(rs).spec().replicas(), 3);
  EXPECT_EQ(Ann(owned.at(rs).metadata(), "deployment.kubernetes.io/revision"), "1");
  const auto messages = EventMessages("ScalingReplicaSet");
  EXPECT_NE(std::find(messages.begin(), messages.end(), "Scaled down replica set " + rs + " to 0"),
            messages.end());
  EXPECT_NE(std::find(messages.begin(), messages.end(), "Scaled up replica set " + rs + " to 3"),
            messages.end());
}

TEST_F(DeploymentTest, RollingUpdateStaysWithinSurgeAndUnavailability) {
  ASSERT_OK(registry_->Create(Parse(kDeployment)));
  ASSERT_TRUE(WaitFor([&] { return Complete(); }));
  const std::string first = CurrentName();

  PodObserver observer(*registry_);
  ASSERT_OK(observer.Start());
  SetImage("berth/httpd:2");
  ASSERT_TRUE(WaitFor([&] { return Complete(); })) << Get().DebugString();
  observer.Stop();

  RecordProperty("max_total", observer.max_total());
  RecordProperty("min_available", observer.min_available());
  RecordProperty("states", observer.states());
  // replicas 10, maxSurge 3, maxUnavailable 2, on every state seen.
  EXPECT_LE(observer.max_total(), 13);
  EXPECT_GE(observer.min_available(), 8);
  EXPECT_EQ(observer.max_revisions(), 2);
  EXPECT_GE(observer.states(), 30);  // 10 creations, 10 readies, 10 deletions at least

  auto owned = Owned();
  ASSERT_EQ(owned.size(), 2u);
  EXPECT_EQ(Replicas(first), 0);  // kept as history
  EXPECT_EQ(RevisionOf(CurrentName()), "2");
  EXPECT_EQ(Ann(Get().metadata(), "deployment.kubernetes.io/revision"), "2");
  const auto messages = EventMessages("ScalingReplicaSet");
  EXPECT_NE(
      std::find(messages.begin(), messages.end(), "Scaled down replica set " + first + " to 0"),
      messages.end());
}

TEST_F(DeploymentTest, ScalingMidRolloutIsProportional) {
  ASSERT_OK(registry_->Create(Parse(kDeployment)));
  ASSERT_TRUE(WaitFor([&] { return Complete(); }));
  const std::string first = CurrentName();

  // The new version never becomes ready: the rollout stops at old 8 (10 -
  // maxUnavailable) and new 5 (13 - 8).
  ReadyIf([](const v1::Pod& p) { return Image(p.spec()) != "berth/httpd:2"; });
  SetImage("berth/httpd:2");
  std::string second;
  ASSERT_TRUE(WaitFor([&] {
    auto owned = Owned();
    auto cur = Current();
    if (!cur || owned.size() != 2) return false;
    second = cur->metadata().name();
    return owned.count(first) == 1 && owned.at(first).spec().replicas() == 8 &&
           cur->spec().replicas() == 5 && cur->status().replicas() == 5 &&
           owned.at(first).status().replicas() == 8;
  }));
  EXPECT_TRUE(HasCondition(Get(), "Available", "True", "MinimumReplicasAvailable"));

  // To 20 (maxSurge 3, maxUnavailable 2 stay absolute): 23 spread as 8:5
  // of 13, rounded, so the new version keeps its share: 14 and 9.
  SetReplicas(20);
  ASSERT_TRUE(WaitFor([&] { return Replicas(first) == 14 && Replicas(second) == 9; }))
      << Replicas(first) << " " << Replicas(second);

  ReadyIf(nullptr);
  ASSERT_TRUE(WaitFor([&] { return Complete(); })) << Get().DebugString();
  EXPECT_EQ(Replicas(second), 20);
  EXPECT_EQ(Replicas(first), 0);
}

TEST_F(DeploymentTest, RecreateNeverRunsTwoVersions) {
  v1::Object object = Parse(kDeployment);
  auto* spec = object.mutable_deployment()->mutable_spec();
  spec->set_replicas(3);
  spec->mutable_strategy()->set_type("Recreate");
  spec->mutable_strategy()->clear_rolling_update();
  ASSERT_OK(registry_->Create(object));
  ASSERT_TRUE(WaitFor([&] { return Complete(); }));

  PodObserver observer(*registry_);
  ASSERT_OK(observer.Start());
  SetImage("berth/httpd:2");
  ASSERT_TRUE(WaitFor([&] { return Complete(); })) << Get().DebugString();
  observer.Stop();
  EXPECT_EQ(observer.max_revisions(), 1);
  EXPECT_LE(observer.max_total(), 3);
  EXPECT_EQ(observer.min_available(), 0);  // everything went down first
  EXPECT_EQ(Owned().size(), 2u);
}

TEST_F(DeploymentTest, RollbackRestoresTemplatesAndRevisions) {
  v1::Object object = Parse(kDeployment);
  object.mutable_deployment()->mutable_spec()->set_replicas(2);
  ASSERT_OK(registry_->Create(object));
  ASSERT_TRUE(WaitFor([&] { return Complete(); }));
  const std::string v1_rs = CurrentName();
  SetImage("berth/httpd:2");
  ASSERT_TRUE(WaitFor([&] { return Complete() && CurrentName() != v1_rs; }));
  const std::string v2_rs = CurrentName();

  // Previous: revision 1's template comes back as revision 3.
  auto rolled = RollbackDeployment(*registry_, "default", "web");
  ASSERT_OK(rolled);
  EXPECT_EQ(Image(rolled->deployment().spec().template_()), "berth/httpd:1");
  EXPECT_EQ(rolled->deployment().spec().template_().metadata().labels().count("pod-template-hash"),
            0u);
  ASSERT_TRUE(WaitFor([&] { return Complete() && CurrentName() == v1_rs; }));
  auto owned = Owned();
  const v1::ObjectMeta& m1 = owned.at(v1_rs).metadata();
  EXPECT_EQ(Ann(m1, "deployment.kubernetes.io/revision"), "3");
  EXPECT_EQ(Ann(m1, "deployment.kubernetes.io/revision-history"), "1");
  ASSERT_TRUE(
      WaitFor([&] { return Ann(Get().metadata(), "deployment.kubernetes.io/revision") == "3"; }));

  // A given revision: 2 comes back as 4.
  rolled = RollbackDeployment(*registry_, "default", "web", 2);
  ASSERT_OK(rolled);
  EXPECT_EQ(Image(rolled->deployment().spec().template_()), "berth/httpd:2");
  ASSERT_TRUE(WaitFor([&] { return Complete() && CurrentName() == v2_rs; }));
  ASSERT_TRUE(WaitFor([&] {
    return RevisionOf(v2_rs) == "4" &&
           Ann(Get().metadata(), "deployment.kubernetes.io/revision") == "4";
  }));
  EXPECT_EQ(Owned().size(), 2u);

  // Back to the current revision: nothing to do.
  const int64_t generation = Get().metadata().generation();
  ASSERT_OK(RollbackDeployment(*registry_, "default", "web", 4));
  EXPECT_EQ(Get().metadata().generation(), generation);

  auto missing = RollbackDeployment(*registry_, "default", "web", 7);
  EXPECT_ERRNO(missing, ENOENT);
  EXPECT_EQ(missing.error().message(), "unable to find specified revision 7 in history");
  EXPECT_ERRNO(RollbackDeployment(*registry_, "default", "nope"), ENOENT);
}

TEST_F(DeploymentTest, HistoryLimitTrimsOldestReplicaSets) {
  v1::Object object = Parse(kDeployment);
  object.mutable_deployment()->mutable_spec()->set_replicas(2);
  object.mutable_deployment()->mutable_spec()->set_revision_history_limit(2);
  ASSERT_OK(registry_->Create(object));
  ASSERT_TRUE(WaitFor([&] { return Complete(); }));
  for (int v = 2; v <= 5; ++v) {
    SetImage("berth/httpd:" + std::to_string(v));
    ASSERT_TRUE(WaitFor([&] { return Complete(); })) << "image " << v;
  }
  // Revisions 3 and 4 stay behind 5; 1 and 2 are gone.
  std::set<std::string> revisions;
  ASSERT_TRUE(WaitFor([&] {
    revisions.clear();
    for (const auto& [name, rs] : Owned()) {
      revisions.insert(Ann(rs.metadata(), "deployment.kubernetes.io/revision"));
    }
    return revisions == std::set<std::string>{"3", "4", "5"};
  })) << revisions.size();
  EXPECT_ERRNO(RollbackDeployment(*registry_, "default", "web", 1), ENOENT);
}

TEST_F(DeploymentTest, PauseStopsRolloutAndResumeContinues) {
  v1::Object object = Parse(kDeployment);
  object.mutable_deployment()->mutable_spec()->set_replicas(3);
  ASSERT_OK(registry_->Create(object));
  ASSERT_TRUE(WaitFor([&] { return Complete(); }));
  const std::string first = CurrentName();

  SetPaused(true);
  ASSERT_TRUE(
      WaitFor([&] { return HasCondition(Get(), "Progressing", "Unknown", "DeploymentPaused"); }));
  SetImage("berth/httpd:2");
  SetReplicas(5);  // scaling still applies
  ASSERT_TRUE(WaitFor([&] {
    const v1::Deployment d = Get();
    return d.status().observed_generation() == d.metadata().generation() &&
           d.status().available_replicas() == 5;
  }));
  auto owned = Owned();
  ASSERT_EQ(owned.size(), 1u);  // no new revision while paused
  EXPECT_EQ(owned.at(first).spec().replicas(), 5);
  for (const auto& pod : Pods()) EXPECT_EQ(Image(pod.spec()), "berth/httpd:1");
  EXPECT_ERRNO(RestartDeployment(*registry_, "default", "web", std::chrono::system_clock::now()),
               EINVAL);
  EXPECT_ERRNO(RollbackDeployment(*registry_, "default", "web"), EINVAL);

  SetPaused(false);
  ASSERT_TRUE(WaitFor([&] { return Complete(); })) << Get().DebugString();
  EXPECT_EQ(Owned().size(), 2u);
  EXPECT_EQ(Replicas(CurrentName()), 5);
  EXPECT_EQ(Replicas(first), 0);
}

TEST_F(DeploymentTest, ProgressDeadlineExceeded) {
  ReadyIf([](const v1::Pod&) { return false; });
  v1::Object object = Parse(kDeployment);
  object.mutable_deployment()->mutable_spec()->set_replicas(2);
  object.mutable_deployment()->mutable_spec()->set_progress_deadline_seconds(1);
  // The default 25%: maxUnavailable rounds down to 0 of 2.
  object.mutable_deployment()->mutable_spec()->mutable_strategy()->clear_rolling_update();
  ASSERT_OK(registry_->Create(object));
  ASSERT_TRUE(WaitFor([&] {
    return HasCondition(Get(), "Progressing", "False", "ProgressDeadlineExceeded");
  })) << Get().DebugString();
  const v1::Deployment d = Get();
  EXPECT_TRUE(HasCondition(d, "Available", "False", "MinimumReplicasUnavailable"));
  EXPECT_EQ(Condition(d, "Progressing")->message(),
            "ReplicaSet \"" + CurrentName() + "\" has timed out progressing.");
  EXPECT_EQ(d.status().unavailable_replicas(), 2);

  // Pods that become ready after all bring the rollout to completion.
  ReadyIf(nullptr);
  ASSERT_TRUE(WaitFor([&] { return Complete(); })) << Get().DebugString();
}

TEST_F(DeploymentTest, RestartReplacesEveryPod) {
  v1::Object object = Parse(kDeployment);
  object.mutable_deployment()->mutable_spec()->set_replicas(3);
  ASSERT_OK(registry_->Create(object));
  ASSERT_TRUE(WaitFor([&] { return Complete(); }));
  std::set<std::string> before;
  for (const auto& pod : Pods()) before.insert(pod.metadata().name());

  auto restarted =
      RestartDeployment(*registry_, "default", "web", std::chrono::system_clock::now());
  ASSERT_OK(restarted);
  EXPECT_EQ(restarted->deployment().spec().template_().metadata().annotations().count(
                "kubectl.kubernetes.io/restartedAt"),
            1u);
  ASSERT_TRUE(WaitFor([&] {
    if (!Complete()) return false;
    auto pods = Pods();
    return std::none_of(pods.begin(), pods.end(),
                        [&](const v1::Pod& p) { return before.count(p.metadata().name()) > 0; });
  })) << Get().DebugString();
  EXPECT_EQ(Owned().size(), 2u);
  for (const auto& pod : Pods()) {
    EXPECT_EQ(pod.metadata().annotations().count("kubectl.kubernetes.io/restartedAt"), 1u);
  }
}

TEST_F(DeploymentTest, AdoptsOrphanReplicaSets) {
  // An older version's ReplicaSet left without owner (orphan deletion).
  ASSERT_OK(registry_->Create(Parse(R"(
apiVersion: apps/v1
kind: ReplicaSet
metadata: {name: legacy, labels: {app: web}}
spec:
  replicas: 2
  selector: {matchLabels: {app: web, pod-template-hash: legacy}}
  template:
    metadata: {labels: {app: web, pod-template-hash: legacy}}
    spec:
      containers: [{name: httpd, image: "berth/httpd:0"}]
)")));
  ASSERT_TRUE(WaitFor([&] { return Pods().size() == 2; }));
  v1::Object object = Parse(kDeployment);
  object.mutable_deployment()->mutable_spec()->set_replicas(2);
  ASSERT_OK(registry_->Create(object));
  ASSERT_TRUE(WaitFor([&] { return Complete(); })) << Get().DebugString();
  auto owned = Owned();
  ASSERT_EQ(owned.count("legacy"), 1u);
  EXPECT_EQ(owned.at("legacy").spec().replicas(), 0);
}

}  // namespace
}  // namespace berth::control

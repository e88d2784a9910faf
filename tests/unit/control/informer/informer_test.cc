// Informer over a real registry and RocksDB store in a temp directory:
// initial sync, live events with the right old objects, indexes, and the
// re-list after a restart or a failed watch.
#include "berth/control/informer.h"

#include <stdlib.h>

#include <filesystem>
#include <mutex>
#include <thread>

#include <gtest/gtest.h>

#include "test_support.h"

#include "berth/api/codec.h"
#include "berth/api/kinds.h"
#include "berth/control/controller.h"
#include "berth/control/registry.h"
#include "berth/control/store.h"

namespace berth::control {
namespace {

using Type = ObjectEvent::Type;
using std::chrono::milliseconds;

// Generous: the machine may be loaded; conditions normally hold in ms.
constexpr milliseconds kWait{10000};

bool WaitUntil(const std::function<bool()>& condition, milliseconds timeout = kWait) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (!condition()) {
    if (std::chrono::steady_clock::now() >= deadline) return false;
    std::this_thread::sleep_for(milliseconds(2));
  }
  return true;
}

struct Seen {
  Type type;
  std::string key;
  int64_t revision;
  v1::Object object;
  std::optional<v1::Object> old;
};

// Records what the handlers saw, for the test thread to wait on.
class Recorder {
 public:
  Informer::Handler Handler() {
    return [this](const ObjectEvent& event, const v1::Object* old) {
      std::lock_guard lock(mu_);
      seen_.push_back({event.type, KeyOf(event.object), event.revision, event.object,
                       old ? std::optional<v1::Object>(*old) : std::nullopt});
    };
  }
  std::vector<Seen> Events() const {
    std::lock_guard lock(mu_);
    return seen_;
  }
  // The first event of `type` for `key`, waiting for it.
  std::optional<Seen> WaitFor(Type type, const std::string& key) const {
    std::optional<Seen> found;
    WaitUntil([&] {
      std::lock_guard lock(mu_);
      for (const auto& s : seen_) {
        if (s.type == type && s.key == key) {
          found = s;
          return true;
        }
      }
      return false;
    });
    return found;
  }
  void Clear() {
    std::lock_guard lock(mu_);
    seen_.clear();
  }

 private:
  mutable std::mutex mu_;
  std::vector<Seen> seen_;
};

std::vector<std::string> Names(const std::vector<v1::Object>& objects) {
  std::vector<std::string> out;
  out.reserve(objects.size());
  for (const auto& o : objects) out.push_back(api::MetaOf(o).name());
  return out;
}

std::string Label(const v1::Object& object, const std::string& key) {
  const auto& labels = api::MetaOf(object).labels();
  auto it = labels.find(key);
  return it == labels.end() ? "" : it->second;
}

class InformerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/berth-informer-XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
    auto store = OpenRocksStore({dir_ / "db"});
    ASSERT_OK(store);
    store_ = std::move(*store);
    registry_ = std::make_unique<Registry>(*store_, RegistryOptions{});
    ASSERT_OK(registry_->Bootstrap());
  }
  void TearDown() override {
    registry_.reset();
    store_.reset();
    std::filesystem::remove_all(dir_);
  }

  static v1::Object Pod(const std::string& name, const std::string& node = "",
                        const std::string& app = "web") {
    auto manifests = api::DecodeManifests(
        "apiVersion: v1\nkind: Pod\nmetadata: {name: " + name + ", labels: {app: " + app +
            "}}\nspec:\n  nodeName: '" + node + "'\n  containers: [{name: c, image: busybox}]\n",
        "test.yaml");
    EXPECT_TRUE(manifests.ok()) << manifests.error().ToString();
    if (!manifests.ok() || manifests->empty()) return {};
    return (*manifests)[0].object;
  }

  void SetLabel(const std::string& pod, const std::string& key, const std::string& value) {
    ASSERT_OK(registry_->Modify({"Pod", "default", pod}, [&](v1::Object& o) {
      (*api::MutableMeta(o)->mutable_labels())[key] = value;
      return true;
    }));
  }

  // Pods bound to a node are deleted gracefully unless told otherwise.
  void DeleteNow(const std::string& pod) {
    ASSERT_OK(registry_->Delete({"Pod", "default", pod}, {.grace_period_seconds = 0}));
  }

  // An undecodable value under a pod's key (the layout registry.h
  // documents) makes both the registry's list and its watch fail.
  static constexpr std::string_view kBadKey = "/registry/pods/default/undecodable";
  void PutUndecodable() {
    auto txn = store_->Txn({}, {{Op::Kind::kPut, std::string(kBadKey), "\xff"}});
    ASSERT_OK(txn);
  }
  void RemoveUndecodable() {
    auto txn = store_->Txn({}, {{Op::Kind::kDelete, std::string(kBadKey), ""}});
    ASSERT_OK(txn);
  }

  std::filesystem::path dir_;
  std::unique_ptr<Store> store_;
  std::unique_ptr<Registry> registry_;
};

TEST_F(InformerTest, InitialSyncSeesExistingObjects) {
  ASSERT_OK(registry_->Create(Pod("a")));
  ASSERT_OK(registry_->Create(Pod("b", "", "db")));
  Informer informer(*registry_, "Pod");
  Recorder recorder;
  informer.AddHandler(recorder.Handler());
  EXPECT_FALSE(informer.HasSynced());
  EXPECT_EQ(informer.Revision(), 0);
  ASSERT_OK(informer.Start());
  ASSERT_TRUE(informer.WaitForSync(kWait));
  EXPECT_TRUE(informer.HasSynced());
  EXPECT_EQ(informer.Revision(), registry_->Revision());

  EXPECT_EQ(Names(informer.List()), (std::vector<std::string>{"a", "b"}));
  EXPECT_EQ(Names(informer.List("default")), (std::vector<std::string>{"a", "b"}));
  EXPECT_TRUE(informer.List("other").empty());
  auto web = LabelSelector::Parse("app=web");
  ASSERT_OK(web);
  EXPECT_EQ(Names(informer.List("", *web)), (std::vector<std::string>{"a"}));
  auto a = informer.Get("default", "a");
  ASSERT_TRUE(a.has_value());
  EXPECT_EQ(api::MetaOf(*a).name(), "a");
  EXPECT_FALSE(informer.Get("default", "zzz").has_value());

  // The handlers saw the list as ADDED, with nothing before.
  auto events = recorder.Events();
  ASSERT_EQ(events.size(), 2U);
  for (const auto& e : events) {
    EXPECT_EQ(e.type, Type::kAdded);
    EXPECT_FALSE(e.old.has_value());
  }
  EXPECT_ERRNO(informer.Start(), EBUSY);
}

TEST_F(InformerTest, ClusterScopedKindsAreKeyedByName) {
  Informer informer(*registry_, "namespaces");
  ASSERT_OK(informer.Start());
  ASSERT_TRUE(informer.WaitForSync(kWait));
  EXPECT_TRUE(informer.Get("", "default").has_value());
  EXPECT_TRUE(informer.Get("ignored", "default").has_value());
  EXPECT_EQ(Names(informer.List("ignored")), (std::vector<std::string>{"default"}));
}

TEST_F(InformerTest, StartRefusesUnknownKindsAndBadSelectors) {
  Informer unknown(*registry_, "Gizmo");
  EXPECT_ERRNO(unknown.Start(), EINVAL);
  Informer bad_labels(*registry_, "Pod", "", "app in (");
  EXPECT_ERRNO(bad_labels.Start(), EINVAL);
  Informer bad_field(*registry_, "Pod", "spec.color=red");
  EXPECT_ERRNO(bad_field.Start(), EINVAL);
}

TEST_F(InformerTest, EventsReachCacheAndHandlersWithOldObjects) {
  Informer informer(*registry_, "Pod");
  Recorder recorder;
  informer.AddHandler(recorder.Handler());
  ASSERT_OK(informer.Start());
  ASSERT_TRUE(informer.WaitForSync(kWait));

  ASSERT_OK(registry_->Create(Pod("a")));
  auto added = recorder.WaitFor(Type::kAdded, "default/a");
  ASSERT_TRUE(added.has_value());
  EXPECT_FALSE(added->old.has_value());
  EXPECT_TRUE(informer.Get("default", "a").has_value());

  SetLabel("a", "tier", "front");
  auto modified = recorder.WaitFor(Type::kModified, "default/a");
  ASSERT_TRUE(modified.has_value());
  ASSERT_TRUE(modified->old.has_value());
  EXPECT_EQ(Label(*modified->old, "tier"), "");
  EXPECT_EQ(Label(modified->object, "tier"), "front");
  EXPECT_EQ(Label(*informer.Get("default", "a"), "tier"), "front");
  EXPECT_EQ(informer.Revision(), modified->revision);

  ASSERT_OK(registry_->Delete({"Pod", "default", "a"}));
  auto deleted = recorder.WaitFor(Type::kDeleted, "default/a");
  ASSERT_TRUE(deleted.has_value());
  ASSERT_TRUE(deleted->old.has_value());
  EXPECT_EQ(Label(*deleted->old, "tier"), "front");
  EXPECT_FALSE(informer.Get("default", "a").has_value());
  EXPECT_TRUE(informer.List().empty());
  EXPECT_EQ(informer.Revision(), registry_->Revision());
}

TEST_F(InformerTest, SelectorsNarrowTheCache) {
  ASSERT_OK(registry_->Create(Pod("a", "n1")));
  ASSERT_OK(registry_->Create(Pod("b", "n2")));
  Informer informer(*registry_, "Pod", "spec.nodeName=n1", "app=web");
  Recorder recorder;
  informer.AddHandler(recorder.Handler());
  ASSERT_OK(informer.Start());
  ASSERT_TRUE(informer.WaitForSync(kWait));
  EXPECT_EQ(Names(informer.List()), (std::vector<std::string>{"a"}));

  // Leaving the label selector is a delete in the informer's view.
  SetLabel("a", "app", "db");
  ASSERT_TRUE(recorder.WaitFor(Type::kDeleted, "default/a").has_value());
  EXPECT_TRUE(informer.List().empty());
}

TEST_F(InformerTest, IndexesFollowUpdatesAndDeletes) {
  v1::Object owned = Pod("owned");
  auto* ref = api::MutableMeta(owned)->add_owner_references();
  ref->set_api_version("apps/v1");
  ref->set_kind("ReplicaSet");
  ref->set_name("rs");
  ref->set_uid("uid-1");
  ref->set_controller(true);
  ASSERT_OK(registry_->Create(owned));
  ASSERT_OK(registry_->Create(Pod("a")));
  ASSERT_OK(registry_->Create(Pod("b", "n1")));

  Informer informer(*registry_, "Pod");
  informer.AddIndex("node", IndexByNodeName);
  informer.AddIndex("owner", IndexByControllerUid);
  ASSERT_OK(informer.Start());
  ASSERT_TRUE(informer.WaitForSync(kWait));
  EXPECT_EQ(Names(informer.ByIndex("node", "n1")), (std::vector<std::string>{"b"}));
  EXPECT_EQ(Names(informer.ByIndex("owner", "uid-1")), (std::vector<std::string>{"owned"}));
  EXPECT_TRUE(informer.ByIndex("node", "n2").empty());
  EXPECT_TRUE(informer.ByIndex("nope", "n1").empty());

  // Binding sets nodeName once, from empty.
  ASSERT_OK(registry_->Modify({"Pod", "default", "a"}, [](v1::Object& o) {
    o.mutable_pod()->mutable_spec()->set_node_name("n2");
    return true;
  }));
  ASSERT_TRUE(WaitUntil([&] { return informer.ByIndex("node", "n2").size() == 1; }));
  EXPECT_EQ(Names(informer.ByIndex("node", "n2")), (std::vector<std::string>{"a"}));

  ASSERT_OK(registry_->Modify({"Pod", "default", "owned"}, [](v1::Object& o) {
    api::MutableMeta(o)->clear_owner_references();
    return true;
  }));
  ASSERT_TRUE(WaitUntil([&] { return informer.ByIndex("owner", "uid-1").empty(); }));

  DeleteNow("b");
  ASSERT_TRUE(WaitUntil([&] { return informer.ByIndex("node", "n1").empty(); }));
  EXPECT_EQ(Names(informer.ByIndex("node", "n2")), (std::vector<std::string>{"a"}));
}

TEST_F(InformerTest, RestartAfterCompactionRelistsWithSyntheticEvents) {
  ASSERT_OK(registry_->Create(Pod("a", "n1")));
  ASSERT_OK(registry_->Create(Pod("b")));
  ASSERT_OK(registry_->Create(Pod("c")));
  Informer informer(*registry_, "Pod");
  informer.AddIndex("node", IndexByNodeName);
  Recorder recorder;
  informer.AddHandler(recorder.Handler());
  ASSERT_OK(informer.Start());
  ASSERT_TRUE(informer.WaitForSync(kWait));
  informer.Stop();
  recorder.Clear();

  // Changes the informer never sees as events: history is compacted.
  DeleteNow("a");
  SetLabel("b", "tier", "front");
  ASSERT_OK(registry_->Create(Pod("d")));
  ASSERT_OK(store_->Compact(store_->Revision()));
  EXPECT_EQ(Names(informer.List()), (std::vector<std::string>{"a", "b", "c"}));

  ASSERT_OK(informer.Start());
  auto deleted = recorder.WaitFor(Type::kDeleted, "default/a");
  ASSERT_TRUE(deleted.has_value());
  ASSERT_TRUE(deleted->old.has_value());
  EXPECT_EQ(api::MetaOf(*deleted->old).name(), "a");
  auto modified = recorder.WaitFor(Type::kModified, "default/b");
  ASSERT_TRUE(modified.has_value());
  ASSERT_TRUE(modified->old.has_value());
  EXPECT_EQ(Label(*modified->old, "tier"), "");
  EXPECT_EQ(Label(modified->object, "tier"), "front");
  // Unchanged objects are reported too: a re-list doubles as a resync.
  EXPECT_TRUE(recorder.WaitFor(Type::kModified, "default/c").has_value());
  auto added = recorder.WaitFor(Type::kAdded, "default/d");
  ASSERT_TRUE(added.has_value());
  EXPECT_FALSE(added->old.has_value());
  EXPECT_EQ(recorder.Events().size(), 4U);

  EXPECT_EQ(Names(informer.List()), (std::vector<std::string>{"b", "c", "d"}));
  EXPECT_TRUE(informer.ByIndex("node", "n1").empty());
  EXPECT_EQ(informer.Revision(), registry_->Revision());

  // And it watches again.
  ASSERT_OK(registry_->Create(Pod("e")));
  EXPECT_TRUE(recorder.WaitFor(Type::kAdded, "default/e").has_value());
}

TEST_F(InformerTest, RetriesTheFirstListUntilItSucceeds) {
  PutUndecodable();
  ASSERT_OK(registry_->Create(Pod("a")));
  Informer informer(*registry_, "Pod");
  ASSERT_OK(informer.Start());
  EXPECT_FALSE(informer.WaitForSync(milliseconds(50)));
  RemoveUndecodable();
  ASSERT_TRUE(informer.WaitForSync(kWait));
  EXPECT_EQ(Names(informer.List()), (std::vector<std::string>{"a"}));
}

TEST_F(InformerTest, FailedWatchRelistsAndReportsWhatVanished) {
  ASSERT_OK(registry_->Create(Pod("a")));
  ASSERT_OK(registry_->Create(Pod("b")));
  Informer informer(*registry_, "Pod");
  Recorder recorder;
  informer.AddHandler(recorder.Handler());
  ASSERT_OK(informer.Start());
  ASSERT_TRUE(informer.WaitForSync(kWait));
  recorder.Clear();

  // The watch fails on the undecodable object, before it could see the
  // delete that follows; re-lists fail until the object is gone.
  PutUndecodable();
  ASSERT_OK(registry_->Delete({"Pod", "default", "a"}));
  RemoveUndecodable();
  const int64_t repaired = registry_->Revision();

  auto deleted = recorder.WaitFor(Type::kDeleted, "default/a");
  ASSERT_TRUE(deleted.has_value());
  EXPECT_GE(deleted->revision, repaired);  // from a list, not from the watch
  ASSERT_TRUE(deleted->old.has_value());
  EXPECT_TRUE(recorder.WaitFor(Type::kModified, "default/b").has_value());
  EXPECT_EQ(Names(informer.List()), (std::vector<std::string>{"b"}));
  ASSERT_OK(registry_->Create(Pod("c")));
  EXPECT_TRUE(recorder.WaitFor(Type::kAdded, "default/c").has_value());
}

TEST_F(InformerTest, HandlersMayReadTheInformer) {
  Informer informer(*registry_, "Pod");
  std::atomic<bool> seen_in_cache{false};
  informer.AddHandler([&](const ObjectEvent& event, const v1::Object*) {
    if (event.type == Type::kAdded && informer.Get("default", "a").has_value()) {
      seen_in_cache = true;
    }
  });
  ASSERT_OK(informer.Start());
  ASSERT_TRUE(informer.WaitForSync(kWait));
  ASSERT_OK(registry_->Create(Pod("a")));
  EXPECT_TRUE(WaitUntil([&] { return seen_in_cache.load(); }));
}

TEST_F(InformerTest, StopReturnsPromptly) {
  Informer informer(*registry_, "Pod");
  ASSERT_OK(informer.Start());
  ASSERT_TRUE(informer.WaitForSync(kWait));
  const auto start = std::chrono::steady_clock::now();
  informer.Stop();
  EXPECT_LT(std::chrono::steady_clock::now() - start, milliseconds(2000));
  informer.Stop();  // idempotent
}

}  // namespace
}  // namespace berth::control

// The shared watch cache behind Registry::Watch: node-selected pod watches
// see only their node's pods, every watch sees each event exactly once in
// revision order, and a watch from a revision older than the cache's
// history is served from the store instead, with the same events.
#include <atomic>
#include <thread>

#include "registry_fixture.h"

namespace berth::control {
namespace {

using std::chrono::milliseconds;

std::vector<std::string> Drain(ObjectWatch& watch, size_t n) {
  std::vector<std::string> out;
  for (int i = 0; i < 100 && out.size() < n; ++i) {
    auto events = watch.Next(milliseconds(50));
    EXPECT_TRUE(events.ok());
    if (!events.ok()) break;
    for (const auto& e : *events) {
      const char* type = e.type == ObjectEvent::Type::kAdded      ? "ADDED"
                         : e.type == ObjectEvent::Type::kModified ? "MODIFIED"
                                                                  : "DELETED";
      out.push_back(std::string(type) + " " + api::MetaOf(e.object).name());
    }
  }
  return out;
}

TEST_F(RegistryTest, NodeWatchesSeeOnlyTheirNodesPods) {
  std::vector<std::unique_ptr<ObjectWatch>> watches;
  for (int n = 0; n < 50; ++n) {
    auto w = registry_->Watch({.kind = "Pod",
                               .all_namespaces = true,
                               .field_selector = "spec.nodeName=n" + std::to_string(n)});
    ASSERT_OK(w);
    watches.push_back(std::move(*w));
  }
  auto everything = registry_->Watch({.kind = "Pod", .all_namespaces = true});
  ASSERT_OK(everything);
  for (int n = 0; n < 50; ++n) {
    ASSERT_OK(registry_->Create(Pod("p" + std::to_string(n), "n" + std::to_string(n))));
  }
  ASSERT_OK(registry_->Create(Pod("unbound")));
  for (int n = 0; n < 50; ++n) {
    EXPECT_EQ(Drain(*watches[n], 1), (std::vector<std::string>{"ADDED p" + std::to_string(n)}));
  }
  ASSERT_OK(registry_->Delete({"Pod", "default", "p7"}));
  // A bound pod's graceful deletion is an update (deletionTimestamp), then
  // the node's final delete.
  auto seen = Drain(*watches[7], 1);
  ASSERT_EQ(seen.size(), 1u);
  EXPECT_EQ(seen[0], "MODIFIED p7");
  EXPECT_EQ(Drain(**everything, 52).size(), 52u);  // 51 adds, 1 update
  auto quiet = watches[8]->Next(milliseconds(100));
  ASSERT_OK(quiet);
  EXPECT_TRUE(quiet->empty()) << "node n8 saw another node's pod";
}

TEST_F(RegistryTest, WatchFromAnOldRevisionReadsTheStoreWithTheSameEvents) {
  TearDown();
  // A tiny history: revisions fall out of the cache quickly.
  char tmpl[] = "/tmp/berth-registry-XXXXXX";
  ASSERT_NE(mkdtemp(tmpl), nullptr);
  dir_ = tmpl;
  auto store = OpenRocksStore({dir_ / "db"});
  ASSERT_OK(store);
  store_ = std::move(*store);
  RegistryOptions options;
  options.secrets = box_.get();
  options.watch_cache_events = 2;
  registry_ = std::make_unique<Registry>(*store_, options);
  ASSERT_OK(registry_->Bootstrap({"default"}));

  auto first = registry_->Watch({.kind = "Pod"});  // starts the cache
  ASSERT_OK(first);
  const int64_t before = registry_->Revision();
  for (int i = 0; i < 6; ++i) ASSERT_OK(registry_->Create(Pod("p" + std::to_string(i))));
  EXPECT_EQ(Drain(**first, 6).size(), 6u);
  // Six events later, the cache keeps two: this watch reads the store.
  auto late = registry_->Watch({.kind = "Pod", .after_revision = before});
  ASSERT_OK(late);
  EXPECT_EQ(Drain(**late, 6), (std::vector<std::string>{"ADDED p0", "ADDED p1", "ADDED p2",
                                                        "ADDED p3", "ADDED p4", "ADDED p5"}));
  // One within the history is served by the cache.
  auto recent = registry_->Watch({.kind = "Pod", .after_revision = registry_->Revision() - 1});
  ASSERT_OK(recent);
  EXPECT_EQ(Drain(**recent, 1), (std::vector<std::string>{"ADDED p5"}));
}

TEST_F(RegistryTest, ConcurrentWritersAndWatchersAgreeOnEveryEvent) {
  std::vector<std::unique_ptr<ObjectWatch>> watches;
  for (int i = 0; i < 4; ++i) {
    auto w = registry_->Watch({.kind = "Pod", .label_selector = "app=web"});
    ASSERT_OK(w);
    watches.push_back(std::move(*w));
  }
  std::vector<std::thread> writers;
  for (int t = 0; t < 4; ++t) {
    writers.emplace_back([&, t] {
      for (int i = 0; i < 25; ++i) {
        EXPECT_OK(registry_->Create(Pod("w" + std::to_string(t) + "-" + std::to_string(i))));
      }
    });
  }
  for (auto& w : writers) w.join();
  for (auto& w : watches) {
    int64_t last = 0;
    size_t count = 0;
    for (int i = 0; i < 100 && count < 100; ++i) {
      auto events = w->Next(milliseconds(50));
      ASSERT_OK(events);
      for (const auto& e : *events) {
        EXPECT_GT(e.revision, last);
        last = e.revision;
        ++count;
      }
    }
    EXPECT_EQ(count, 100u);
  }
}

}  // namespace
}  // namespace berth::control

#include "berth/control/store.h"

#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <thread>

#include <gtest/gtest.h>
#include <rocksdb/db.h>

#include "test_support.h"

namespace berth::control {
namespace {

namespace fs = std::filesystem;
using std::chrono::milliseconds;

Op Put(std::string k, std::string v) { return {Op::Kind::kPut, std::move(k), std::move(v)}; }
Op Del(std::string k) { return {Op::Kind::kDelete, std::move(k), ""}; }

class StoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/berth-store-test-XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
    Open();
  }
  void TearDown() override {
    store_.reset();
    fs::remove_all(dir_);
  }
  void Open(int64_t window = 100000) {
    store_.reset();
    auto s = OpenRocksStore({dir_ / "db", window});
    ASSERT_OK(s);
    store_ = std::move(s).value();
  }
  fs::path dir_;
  std::unique_ptr<Store> store_;
};

TEST_F(StoreTest, PutGetVersionsAndRevisions) {
  EXPECT_EQ(store_->Revision(), 0);
  auto r1 = store_->Txn({}, {Put("/pods/a", "1")});
  ASSERT_OK(r1);
  EXPECT_TRUE(r1->succeeded);
  EXPECT_EQ(r1->revision, 1);
  ASSERT_OK(store_->Txn({}, {Put("/pods/a", "2"), Put("/pods/b", "x")}));
  auto a = store_->Get("/pods/a");
  ASSERT_OK(a);
  ASSERT_TRUE(a->has_value());
  EXPECT_EQ((*a)->value, "2");
  EXPECT_EQ((*a)->create_revision, 1);
  EXPECT_EQ((*a)->mod_revision, 2);
  EXPECT_EQ((*a)->version, 2);
  EXPECT_EQ(store_->Revision(), 2);
  auto missing = store_->Get("/pods/zz");
  ASSERT_OK(missing);
  EXPECT_FALSE(missing->has_value());
}

TEST_F(StoreTest, RangeWithPrefixAndLimit) {
  for (const char* k : {"/a/1", "/a/2", "/a/3", "/b/1"}) ASSERT_OK(store_->Txn({}, {Put(k, k)}));
  auto all = store_->Range("/a/", PrefixEnd("/a/"));
  ASSERT_OK(all);
  ASSERT_EQ(all->kvs.size(), 3u);
  EXPECT_EQ(all->kvs[2].key, "/a/3");
  EXPECT_FALSE(all->more);
  EXPECT_EQ(all->revision, 4);
  auto page = store_->Range("/a/", PrefixEnd("/a/"), 2);
  ASSERT_OK(page);
  EXPECT_EQ(page->kvs.size(), 2u);
  EXPECT_TRUE(page->more);
  auto rest = store_->Range(page->kvs.back().key + '\0', PrefixEnd("/a/"));
  ASSERT_OK(rest);
  ASSERT_EQ(rest->kvs.size(), 1u);
  EXPECT_EQ(rest->kvs[0].key, "/a/3");
  auto everything = store_->Range("", std::string(1, '\0'));
  ASSERT_OK(everything);
  EXPECT_EQ(everything->kvs.size(), 4u);
  EXPECT_ERRNO(store_->Range("/a", ""), EINVAL);
}

TEST_F(StoreTest, TransactionsCompareRevisions) {
  // Create only if absent.
  auto created = store_->Txn({{"/x", Compare::Target::kModRevision, 0}}, {Put("/x", "1")},
                             {Put("/conflict", "1")});
  ASSERT_OK(created);
  EXPECT_TRUE(created->succeeded);
  auto again = store_->Txn({{"/x", Compare::Target::kModRevision, 0}}, {Put("/x", "2")});
  ASSERT_OK(again);
  EXPECT_FALSE(again->succeeded);
  EXPECT_EQ((*store_->Get("/x"))->value, "1");
  // Update with a stale mod_revision fails; the current one succeeds.
  ASSERT_OK(store_->Txn({}, {Put("/x", "3")}));
  auto stale = store_->Txn({{"/x", Compare::Target::kModRevision, 1}}, {Put("/x", "4")});
  EXPECT_FALSE(stale->succeeded);
  auto fresh = store_->Txn({{"/x", Compare::Target::kModRevision, 2}}, {Put("/x", "4")});
  EXPECT_TRUE(fresh->succeeded);
  // A failed compare runs the failure branch.
  auto other = store_->Txn({{"/x", Compare::Target::kVersion, 99}}, {Put("/x", "5")},
                           {Put("/failed", "yes")});
  ASSERT_OK(other);
  EXPECT_FALSE(other->succeeded);
  EXPECT_EQ((*store_->Get("/failed"))->value, "yes");
  EXPECT_EQ((*store_->Get("/x"))->value, "4");
}

TEST_F(StoreTest, DeleteAndNoOpTransactions) {
  ASSERT_OK(store_->Txn({}, {Put("/d", "1")}));
  auto noop = store_->Txn({}, {Del("/absent")});
  ASSERT_OK(noop);
  EXPECT_EQ(noop->revision, 1) << "deleting nothing changes nothing";
  ASSERT_OK(store_->Txn({}, {Del("/d")}));
  EXPECT_FALSE(store_->Get("/d")->has_value());
  EXPECT_EQ(store_->Revision(), 2);
  ASSERT_OK(store_->Txn({}, {Put("/d", "again")}));
  EXPECT_EQ((*store_->Get("/d"))->version, 1) << "a recreated key starts over";
}

TEST_F(StoreTest, WatchFromARevisionThenLive) {
  ASSERT_OK(store_->Txn({}, {Put("/w/a", "1")}));
  ASSERT_OK(store_->Txn({}, {Put("/other", "x")}));
  ASSERT_OK(store_->Txn({}, {Put("/w/a", "2"), Put("/w/b", "1")}));
  auto w = store_->Watch("/w/", PrefixEnd("/w/"), 1);
  ASSERT_OK(w);
  auto got = (*w)->Next(milliseconds(100));
  ASSERT_OK(got);
  ASSERT_EQ(got->size(), 3u);
  EXPECT_EQ((*got)[0].kv.mod_revision, 1);
  EXPECT_EQ((*got)[2].kv.key, "/w/b");
  std::thread writer([&] {
    std::this_thread::sleep_for(milliseconds(50));
    ASSERT_OK(store_->Txn({}, {Del("/w/a")}));
  });
  got = (*w)->Next(milliseconds(2000));
  writer.join();
  ASSERT_OK(got);
  ASSERT_EQ(got->size(), 1u);
  EXPECT_EQ((*got)[0].type, Event::Type::kDelete);
  EXPECT_EQ((*got)[0].kv.mod_revision, 4);
  EXPECT_EQ((*got)[0].kv.value, "2");  // the last value, live and from history
  auto replay = store_->Watch("/w/a", "", 4);
  ASSERT_OK(replay);
  auto replayed = (*replay)->Next(milliseconds(100));
  ASSERT_OK(replayed);
  ASSERT_EQ(replayed->size(), 1u);
  EXPECT_EQ((*replayed)[0].kv.value, "2");
  (*w)->Cancel();
  EXPECT_ERRNO((*w)->Next(milliseconds(1)), ECANCELED);
}

TEST_F(StoreTest, CompactedHistoryIsTooOld) {
  for (int i = 0; i < 5; ++i) ASSERT_OK(store_->Txn({}, {Put("/c", std::to_string(i))}));
  ASSERT_OK(store_->Compact(4));
  EXPECT_EQ(store_->CompactedRevision(), 3);
  auto old = store_->Watch("/c", "", 2);
  ASSERT_FALSE(old.ok());
  EXPECT_EQ(old.error().err(), ESTALE);
  EXPECT_NE(old.error().ToString().find("too old"), std::string::npos);
  auto ok = store_->Watch("/c", "", 4);
  ASSERT_OK(ok);
  auto got = (*ok)->Next(milliseconds(10));
  ASSERT_OK(got);
  EXPECT_EQ(got->size(), 2u);  // revisions 4 and 5
  EXPECT_ERRNO(store_->Compact(99), EINVAL);
}

TEST_F(StoreTest, AutomaticCompactionKeepsTheWindow) {
  Open(/*window=*/10);
  for (int i = 0; i < 50; ++i) ASSERT_OK(store_->Txn({}, {Put("/k", std::to_string(i))}));
  EXPECT_GE(store_->CompactedRevision(), 20);
  EXPECT_LE(store_->Revision() - store_->CompactedRevision(), 21);
  EXPECT_OK(store_->Watch("/k", "", store_->Revision() - 9));
}

TEST_F(StoreTest, ReopenRestoresEverything) {
  ASSERT_OK(store_->Txn({}, {Put("/r/a", "1"), Put("/r/b", "2")}));
  ASSERT_OK(store_->Txn({}, {Del("/r/b")}));
  ASSERT_OK(store_->Compact(2));
  Open();
  EXPECT_EQ(store_->Revision(), 2);
  EXPECT_EQ(store_->CompactedRevision(), 1);
  EXPECT_EQ((*store_->Get("/r/a"))->value, "1");
  EXPECT_FALSE(store_->Get("/r/b")->has_value());
  auto w = store_->Watch("/r/", PrefixEnd("/r/"), 2);
  ASSERT_OK(w);
  EXPECT_EQ((*w)->Next(milliseconds(10))->size(), 1u);
  auto r = store_->Txn({}, {Put("/r/c", "3")});
  EXPECT_EQ(r->revision, 3);
}

TEST_F(StoreTest, ForeignDirectoriesAreRefusedNotReset) {
  store_.reset();
  fs::create_directories(dir_ / "stuff");
  std::ofstream(dir_ / "stuff" / "notes.txt") << "keep me";
  auto s = OpenRocksStore({dir_ / "stuff"});
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.error().err(), EINVAL);
  EXPECT_NE(s.error().ToString().find("holds no store"), std::string::npos);
  EXPECT_TRUE(fs::exists(dir_ / "stuff" / "notes.txt"));
  // A RocksDB database that is not a Berth store.
  {
    rocksdb::Options o;
    o.create_if_missing = true;
    rocksdb::DB* raw = nullptr;
    ASSERT_TRUE(rocksdb::DB::Open(o, (dir_ / "other").string(), &raw).ok());
    std::unique_ptr<rocksdb::DB> db(raw);
    ASSERT_TRUE(db->Put(rocksdb::WriteOptions(), "hello", "world").ok());
  }
  auto other = OpenRocksStore({dir_ / "other"});
  ASSERT_FALSE(other.ok());
  EXPECT_NE(other.error().ToString().find("not a Berth store"), std::string::npos);
}

TEST_F(StoreTest, CorruptionIsAnErrorNotAReset) {
  ASSERT_OK(store_->Txn({}, {Put("/k", "v")}));
  store_.reset();
  // Damage the database's manifest pointer.
  std::ofstream(dir_ / "db" / "CURRENT", std::ios::trunc) << "MANIFEST-999999\n";
  auto s = OpenRocksStore({dir_ / "db"});
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.error().ToString().find("open store"), std::string::npos) << s.error().ToString();
  EXPECT_TRUE(fs::exists(dir_ / "db" / "CURRENT"));
}

TEST(PrefixEndTest, NextPrefix) {
  EXPECT_EQ(PrefixEnd("/a/"), "/a0");
  EXPECT_EQ(PrefixEnd("a\xff"), "b");
  EXPECT_EQ(PrefixEnd(""), std::string(1, '\0'));
}

}  // namespace
}  // namespace berth::control

namespace berth::control {
namespace {

// Concurrent compare-and-swap increments share commit groups: every
// successful one is exactly one increment with its own revision, and the
// watch sees them all, in order, none twice.
TEST_F(StoreTest, ConcurrentTransactionsCommitInGroupsWithoutLostUpdates) {
  ASSERT_OK(store_->Txn({}, {Put("/counter", "0")}));
  auto watch = store_->Watch("/counter", "", store_->Revision() + 1);
  ASSERT_OK(watch);
  std::atomic<int> succeeded{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 50; ++i) {
        auto cur = store_->Get("/counter");
        ASSERT_OK(cur);
        const int value = std::stoi((*cur)->value);
        auto txn =
            store_->Txn({Compare{"/counter", Compare::Target::kModRevision, (*cur)->mod_revision}},
                        {Put("/counter", std::to_string(value + 1))});
        ASSERT_OK(txn);
        if (txn->succeeded) ++succeeded;
      }
    });
  }
  for (auto& t : threads) t.join();
  auto final_value = store_->Get("/counter");
  ASSERT_OK(final_value);
  EXPECT_EQ(std::stoi((*final_value)->value), succeeded.load());
  EXPECT_GT(succeeded.load(), 0);
  std::vector<Event> seen;
  while (seen.size() < static_cast<size_t>(succeeded.load())) {
    auto events = (*watch)->Next(milliseconds(1000));
    ASSERT_OK(events);
    if (events->empty()) break;
    for (auto& e : *events) seen.push_back(std::move(e));
  }
  ASSERT_EQ(seen.size(), static_cast<size_t>(succeeded.load()));
  for (size_t i = 0; i < seen.size(); ++i) {
    EXPECT_EQ(seen[i].kv.value, std::to_string(i + 1));
    if (i > 0) EXPECT_GT(seen[i].kv.mod_revision, seen[i - 1].kv.mod_revision);
  }
}

}  // namespace
}  // namespace berth::control

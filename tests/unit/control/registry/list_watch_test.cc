#include <cerrno>

#include "registry_fixture.h"

namespace berth::control {
namespace {

using std::chrono::milliseconds;

std::vector<std::string> Names(const std::vector<v1::Object>& items) {
  std::vector<std::string> out;
  for (const auto& o : items) out.push_back(api::MetaOf(o).name());
  return out;
}

// Events until `n` arrived (or a timeout), as "TYPE name".
std::vector<std::string> Drain(ObjectWatch& watch, size_t n) {
  std::vector<std::string> out;
  for (int i = 0; i < 50 && out.size() < n; ++i) {
    auto events = watch.Next(milliseconds(100));
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

TEST_F(RegistryTest, ListFiltersByLabelsFieldsAndNamespace) {
  ASSERT_OK(registry_->Create(Pod("a", "n1", "web")));
  ASSERT_OK(registry_->Create(Pod("b", "n2", "web")));
  ASSERT_OK(registry_->Create(Pod("c", "n1", "db")));
  auto other = Pod("d", "n1", "web");
  other.mutable_pod()->mutable_metadata()->set_namespace_("prod");
  ASSERT_OK(registry_->Create(other));

  auto web = registry_->List({.kind = "pods", .label_selector = "app=web"});
  ASSERT_OK(web);
  EXPECT_EQ(Names(web->items), (std::vector<std::string>{"a", "b"}));
  auto on_n1 = registry_->List(
      {.kind = "Pod", .all_namespaces = true, .field_selector = "spec.nodeName=n1"});
  ASSERT_OK(on_n1);
  EXPECT_EQ(Names(on_n1->items), (std::vector<std::string>{"a", "c", "d"}));
  auto set_based = registry_->List(
      {.kind = "po", .all_namespaces = true, .label_selector = "app in (db,cache)"});
  ASSERT_OK(set_based);
  EXPECT_EQ(Names(set_based->items), (std::vector<std::string>{"c"}));
  EXPECT_ERRNO(registry_->List({.kind = "Pod", .field_selector = "spec.image=x"}), EINVAL);
  EXPECT_ERRNO(registry_->List({.kind = "Pod", .label_selector = "app in (("}), EINVAL);
}

TEST_F(RegistryTest, ListPagesWithContinue) {
  for (int i = 0; i < 7; ++i) ASSERT_OK(registry_->Create(Pod("p" + std::to_string(i))));
  std::vector<std::string> all;
  std::string token;
  int pages = 0;
  do {
    auto page = registry_->List({.kind = "Pod", .limit = 3, .continue_token = token});
    ASSERT_OK(page);
    for (auto& n : Names(page->items)) all.push_back(n);
    token = page->continue_token;
    ++pages;
  } while (!token.empty() && pages < 10);
  EXPECT_EQ(pages, 3);
  EXPECT_EQ(all, (std::vector<std::string>{"p0", "p1", "p2", "p3", "p4", "p5", "p6"}));
  EXPECT_ERRNO(registry_->List({.kind = "Pod", .continue_token = "zz"}), EINVAL);
  // A token of another list does not read outside this one.
  auto ns = registry_->List({.kind = "Namespace", .limit = 1});
  ASSERT_OK(ns);
  EXPECT_ERRNO(registry_->List({.kind = "Pod", .continue_token = ns->continue_token}), EINVAL);
}

TEST_F(RegistryTest, WatchListsThenFollowsChanges) {
  ASSERT_OK(registry_->Create(Pod("a")));
  auto watch = registry_->Watch({.kind = "Pod", .label_selector = "app=web"});
  ASSERT_OK(watch);
  EXPECT_EQ(Drain(**watch, 1), (std::vector<std::string>{"ADDED a"}));
  ASSERT_OK(registry_->Create(Pod("b")));
  ASSERT_OK(registry_->Create(Pod("other", "", "db")));  // not selected
  ASSERT_OK(registry_->Modify({"Pod", "default", "a"}, [](v1::Object& o) {
    o.mutable_pod()->mutable_spec()->set_node_name("n1");
    return true;
  }));
  // b stops matching: gone from this watcher's view.
  ASSERT_OK(registry_->Modify({"Pod", "default", "b"}, [](v1::Object& o) {
    (*o.mutable_pod()->mutable_metadata()->mutable_labels())["app"] = "db";
    return true;
  }));
  ASSERT_OK(registry_->Delete({"Pod", "default", "a"}, {.grace_period_seconds = 0}));
  EXPECT_EQ(Drain(**watch, 4),
            (std::vector<std::string>{"ADDED b", "MODIFIED a", "DELETED b", "DELETED a"}));
}

TEST_F(RegistryTest, DeletedEventsCarryTheLastState) {
  ASSERT_OK(registry_->Create(Pod("a", "n1")));
  const int64_t rev = registry_->Revision();
  ASSERT_OK(registry_->Delete({"Pod", "default", "a"}, {.grace_period_seconds = 0}));
  auto watch = registry_->Watch({.kind = "Pod", .after_revision = rev});
  ASSERT_OK(watch);
  auto events = (*watch)->Next(milliseconds(500));
  ASSERT_OK(events);
  ASSERT_EQ(events->size(), 1u);
  EXPECT_EQ((*events)[0].type, ObjectEvent::Type::kDeleted);
  EXPECT_EQ((*events)[0].object.pod().spec().node_name(), "n1");
  EXPECT_EQ((*events)[0].revision, rev + 1);
}

TEST_F(RegistryTest, WatchResumesFromARevisionAndRefusesCompactedOnes) {
  ASSERT_OK(registry_->Create(Pod("a")));
  const int64_t rev = registry_->Revision();
  ASSERT_OK(registry_->Create(Pod("b")));
  ASSERT_OK(registry_->Modify({"Pod", "default", "a"}, [](v1::Object& o) {
    (*o.mutable_pod()->mutable_metadata()->mutable_labels())["x"] = "y";
    return true;
  }));
  auto watch = registry_->Watch({.kind = "Pod", .after_revision = rev});
  ASSERT_OK(watch);
  EXPECT_EQ(Drain(**watch, 2), (std::vector<std::string>{"ADDED b", "MODIFIED a"}));
  ASSERT_OK(store_->Compact(registry_->Revision()));
  auto old = registry_->Watch({.kind = "Pod", .after_revision = rev});
  ASSERT_FALSE(old.ok());
  EXPECT_EQ(old.error().err(), ERANGE);
  EXPECT_NE(old.error().message().find("too old resource version"), std::string::npos);
}

TEST_F(RegistryTest, WatchDecryptsSecrets) {
  auto watch = registry_->Watch({.kind = "Secret"});
  ASSERT_OK(watch);
  ASSERT_OK(registry_->Create(
      Parse("apiVersion: v1\nkind: Secret\nmetadata: {name: s}\nstringData: {k: v}\n")));
  std::vector<ObjectEvent> got;
  for (int i = 0; i < 20 && got.empty(); ++i) {
    auto events = (*watch)->Next(milliseconds(100));
    ASSERT_OK(events);
    got = std::move(*events);
  }
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].object.secret().data().at("k"), "v");
}

}  // namespace
}  // namespace berth::control

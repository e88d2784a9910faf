#include <csignal>

#include <gtest/gtest.h>

#include "state.h"
#include "test_support.h"
#include "verbs.h"

namespace berth::runtime::cli {
namespace {

TEST(ValidateId, AcceptsOciIds) {
  EXPECT_OK(ValidateId("web-1"));
  EXPECT_OK(ValidateId("a.b_c-D9"));
}

TEST(ValidateId, RejectsPathsAndEmpty) {
  for (const char* bad : {"", "../etc", "a/b", "-lead", ".hidden", "sp ace"}) {
    auto s = ValidateId(bad);
    EXPECT_ERRNO(s, EINVAL);
    EXPECT_NE(s.error().ToString().find("invalid container id"), std::string::npos);
  }
  EXPECT_ERRNO(ValidateId(std::string(1025, 'a')), EINVAL);
}

TEST(ComputeStatus, FromObservedFacts) {
  EXPECT_EQ(ComputeStatus({false, true, false}), ContainerStatus::kStopped);
  EXPECT_EQ(ComputeStatus({true, true, false}), ContainerStatus::kCreated);
  EXPECT_EQ(ComputeStatus({true, false, false}), ContainerStatus::kRunning);
  EXPECT_EQ(ComputeStatus({true, false, true}), ContainerStatus::kPaused);
  EXPECT_STREQ(StatusName(ContainerStatus::kPaused), "paused");
}

TEST(ParseSignal, NamesAndNumbers) {
  EXPECT_EQ(*ParseSignal("KILL"), SIGKILL);
  EXPECT_EQ(*ParseSignal("SIGTERM"), SIGTERM);
  EXPECT_EQ(*ParseSignal("hup"), SIGHUP);
  EXPECT_EQ(*ParseSignal("9"), 9);
  EXPECT_ERRNO(ParseSignal("NOPE"), EINVAL);
  EXPECT_ERRNO(ParseSignal("0"), EINVAL);
  EXPECT_ERRNO(ParseSignal("9x"), EINVAL);
}

TEST(ResolveCgroupPath, AbsoluteRelativeAndDefault) {
  EXPECT_EQ(ResolveCgroupPath("/pods/x", "/user.slice", "id"), "/pods/x");
  EXPECT_EQ(ResolveCgroupPath("sub/x", "/user.slice", "id"), "/user.slice/sub/x");
  EXPECT_EQ(ResolveCgroupPath("sub/x", "/", "id"), "/sub/x");
  EXPECT_EQ(ResolveCgroupPath("", "/user.slice", "web"), "/berth/web");
}

TEST(StateJson, RoundTrip) {
  ContainerState s;
  s.id = "web";
  s.pid = 42;
  s.start_time = 12345;
  s.bundle = "/b";
  s.rootfs = "/b/rootfs";
  s.created = "2026-11-23T00:00:00Z";
  s.owner = "root";
  s.cgroup_mount = "/sys/fs/cgroup";
  s.cgroup_path = "/berth/web";
  s.annotations = {{"k", "v"}};
  auto back = FromJson(ToJson(s));
  ASSERT_OK(back);
  EXPECT_EQ(back->id, "web");
  EXPECT_EQ(back->pid, 42);
  EXPECT_EQ(back->start_time, 12345u);
  EXPECT_EQ(back->cgroup_path, "/berth/web");
  EXPECT_EQ(back->annotations.at("k"), "v");
  EXPECT_ERRNO(FromJson("{\"id\": 3}"), EINVAL);
  EXPECT_ERRNO(FromJson("nope"), EINVAL);
}

TEST(StateStore, ReserveSaveLoadRemove) {
  char tmpl[] = "/tmp/berth-state-test-XXXXXX";
  ASSERT_NE(mkdtemp(tmpl), nullptr);
  StateStore store(std::string(tmpl) + "/root");
  ASSERT_OK(store.Reserve("c1"));
  EXPECT_ERRNO(store.Reserve("c1"), EEXIST);
  ContainerState s;
  s.id = "c1";
  s.pid = 7;
  ASSERT_OK(store.Save(s));
  auto ids = store.List();
  ASSERT_OK(ids);
  EXPECT_EQ(*ids, std::vector<std::string>{"c1"});
  auto loaded = store.Load("c1");
  ASSERT_OK(loaded);
  EXPECT_EQ(loaded->pid, 7);
  ASSERT_OK(store.Remove("c1"));
  EXPECT_ERRNO(store.Load("c1"), ENOENT);
  std::filesystem::remove_all(tmpl);
}

}  // namespace
}  // namespace berth::runtime::cli

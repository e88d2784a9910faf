// WorkQueue (client-go semantics) and ControllerRunner, plus the key
// helpers. Timing assertions only bound from below or generously from
// above, so a loaded machine makes them slower, not flaky.
#include "berth/control/work_queue.h"

#include <atomic>
#include <mutex>
#include <set>
#include <thread>

#include <gtest/gtest.h>

#include "test_support.h"

#include "berth/control/controller.h"

namespace berth::control {
namespace {

using std::chrono::milliseconds;
using Clock = std::chrono::steady_clock;

constexpr milliseconds kWait{10000};
constexpr milliseconds kShort{20};

bool WaitUntil(const std::function<bool()>& condition, milliseconds timeout = kWait) {
  const auto deadline = Clock::now() + timeout;
  while (!condition()) {
    if (Clock::now() >= deadline) return false;
    std::this_thread::sleep_for(milliseconds(2));
  }
  return true;
}

TEST(WorkQueueTest, AddDeduplicatesQueuedKeys) {
  WorkQueue queue;
  queue.Add("default/a");
  queue.Add("default/a");
  queue.Add("default/b");
  queue.Add("default/a");
  EXPECT_EQ(queue.Len(), 2U);
  EXPECT_EQ(queue.Get(kWait), "default/a");
  EXPECT_EQ(queue.Get(kWait), "default/b");
  EXPECT_EQ(queue.Get(kShort), std::nullopt);
  queue.Done("default/a");
  queue.Done("default/b");
  EXPECT_EQ(queue.Len(), 0U);
}

TEST(WorkQueueTest, KeyAddedWhileProcessingIsRequeuedOnDone) {
  WorkQueue queue;
  queue.Add("k");
  ASSERT_EQ(queue.Get(kWait), "k");
  queue.Add("k");
  queue.Add("k");
  // Not handed to a second worker while the first still has it.
  EXPECT_EQ(queue.Len(), 0U);
  EXPECT_EQ(queue.Get(kShort), std::nullopt);
  queue.Done("k");
  EXPECT_EQ(queue.Len(), 1U);
  EXPECT_EQ(queue.Get(kWait), "k");
  queue.Done("k");
  EXPECT_EQ(queue.Get(kShort), std::nullopt);
}

TEST(WorkQueueTest, AddAfterHandsKeysOutInDueOrder) {
  WorkQueue queue;
  const auto start = Clock::now();
  queue.AddAfter("late", milliseconds(80));
  queue.AddAfter("soon", milliseconds(40));
  queue.Add("now");
  queue.AddAfter("zero", milliseconds(0));
  EXPECT_EQ(queue.Len(), 2U);  // the delayed ones are not due yet
  EXPECT_EQ(queue.Get(kWait), "now");
  EXPECT_EQ(queue.Get(kWait), "zero");
  EXPECT_EQ(queue.Get(kWait), "soon");
  EXPECT_GE(Clock::now() - start, milliseconds(40));
  EXPECT_EQ(queue.Get(kWait), "late");
  EXPECT_GE(Clock::now() - start, milliseconds(80));
}

TEST(WorkQueueTest, AddAfterKeepsTheEarliestTime) {
  WorkQueue queue;
  queue.AddAfter("k", std::chrono::hours(1));
  queue.AddAfter("k", milliseconds(10));
  queue.AddAfter("k", std::chrono::hours(2));
  EXPECT_EQ(queue.Get(kWait), "k");
  queue.Done("k");
  // The replaced entries do not come back.
  EXPECT_EQ(queue.Get(milliseconds(50)), std::nullopt);
}

TEST(WorkQueueTest, DueKeysCountInLen) {
  WorkQueue queue;
  queue.AddAfter("k", milliseconds(5));
  EXPECT_TRUE(WaitUntil([&] { return queue.Len() == 1; }));
  queue.Add("k");  // already due: still one key
  EXPECT_EQ(queue.Len(), 1U);
  EXPECT_EQ(queue.Get(kWait), "k");
  EXPECT_EQ(queue.Len(), 0U);
}

TEST(WorkQueueTest, RateLimitedDelaysDoubleUpToTheCapUntilForget) {
  WorkQueue queue(milliseconds(1), milliseconds(8));
  std::vector<int64_t> delays;
  delays.reserve(6);
  for (int i = 0; i < 6; ++i) delays.push_back(queue.AddRateLimited("k").count());
  EXPECT_EQ(delays, (std::vector<int64_t>{1, 2, 4, 8, 8, 8}));
  EXPECT_EQ(queue.NumRequeues("k"), 6);
  EXPECT_EQ(queue.NumRequeues("other"), 0);
  EXPECT_EQ(queue.Get(kWait), "k");  // once, however often it failed
  queue.Done("k");
  queue.Forget("k");
  EXPECT_EQ(queue.NumRequeues("k"), 0);
  EXPECT_EQ(queue.AddRateLimited("k"), milliseconds(1));
}

TEST(WorkQueueTest, DefaultBackoffIsFiveMillisecondsCappedAt1000Seconds) {
  WorkQueue queue;
  EXPECT_EQ(queue.AddRateLimited("k"), milliseconds(5));
  EXPECT_EQ(queue.AddRateLimited("k"), milliseconds(10));
  milliseconds last{0};
  for (int i = 0; i < 100; ++i) last = queue.AddRateLimited("k");
  EXPECT_EQ(last, std::chrono::seconds(1000));
}

TEST(WorkQueueTest, ShutDownWakesBlockedGetters) {
  WorkQueue queue;
  std::atomic<int> woken{0};
  std::vector<std::thread> getters;
  getters.reserve(3);
  for (int i = 0; i < 3; ++i) {
    getters.emplace_back([&] {
      if (!queue.Get(kWait)) ++woken;
    });
  }
  std::this_thread::sleep_for(kShort);
  const auto start = Clock::now();
  queue.ShutDown();
  for (auto& t : getters) t.join();
  EXPECT_EQ(woken.load(), 3);
  EXPECT_LT(Clock::now() - start, kWait / 2);
  EXPECT_TRUE(queue.ShuttingDown());
  queue.Add("k");
  EXPECT_EQ(queue.Len(), 0U);
  EXPECT_EQ(queue.Get(kWait), std::nullopt);  // at once
}

TEST(ControllerRunnerTest, RetriesAFailingKeyWithBackoffThenForgetsIt) {
  WorkQueue queue(milliseconds(1), milliseconds(10));
  std::mutex mu;
  std::vector<Clock::time_point> attempts;
  std::set<std::string> synced;
  ControllerRunner runner("test", queue, [&](const std::string& key) -> Status {
    if (key != "default/flaky") {
      std::lock_guard lock(mu);
      synced.insert(key);
      return Ok();
    }
    std::lock_guard lock(mu);
    attempts.push_back(Clock::now());
    if (attempts.size() < 4) return Error::Sys(EAGAIN, "not yet");
    synced.insert(key);
    return Ok();
  });
  EXPECT_ERRNO(runner.Start(0), EINVAL);
  ASSERT_OK(runner.Start(2));
  EXPECT_ERRNO(runner.Start(2), EBUSY);
  queue.Add("default/flaky");
  for (int i = 0; i < 10; ++i) queue.Add("default/p" + std::to_string(i));

  ASSERT_TRUE(WaitUntil([&] {
    std::lock_guard lock(mu);
    return synced.size() == 11;
  }));
  ASSERT_TRUE(WaitUntil([&] { return queue.NumRequeues("default/flaky") == 0; }));
  runner.Stop();
  ASSERT_EQ(attempts.size(), 4U);
  // Waits of 1, 2 and 4 ms at least between the attempts.
  EXPECT_GE(attempts[1] - attempts[0], milliseconds(1));
  EXPECT_GE(attempts[2] - attempts[1], milliseconds(2));
  EXPECT_GE(attempts[3] - attempts[2], milliseconds(4));
  EXPECT_EQ(queue.Len(), 0U);
}

TEST(ControllerRunnerTest, WorkersExitWhenTheQueueShutsDown) {
  WorkQueue queue;
  ControllerRunner runner("test", queue, [](const std::string&) { return Ok(); });
  ASSERT_OK(runner.Start(3));
  queue.ShutDown();
  const auto start = Clock::now();
  runner.Stop();
  EXPECT_LT(Clock::now() - start, kWait / 2);
}

TEST(KeyTest, KeyOfAndSplitKey) {
  v1::Object pod;
  pod.mutable_pod()->mutable_metadata()->set_name("web");
  pod.mutable_pod()->mutable_metadata()->set_namespace_("prod");
  EXPECT_EQ(KeyOf(pod), "prod/web");
  v1::Object node;
  node.mutable_node()->mutable_metadata()->set_name("n1");
  EXPECT_EQ(KeyOf(node), "n1");
  EXPECT_EQ(SplitKey("prod/web"), (std::pair<std::string, std::string>{"prod", "web"}));
  EXPECT_EQ(SplitKey("n1"), (std::pair<std::string, std::string>{"", "n1"}));
}

}  // namespace
}  // namespace berth::control

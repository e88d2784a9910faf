#include "berth/control/controllers/job.h"

#include <atomic>
#include <optional>

#include "lifecycle_fixture.h"

#include "berth/control/controllers/pods.h"

namespace berth::control {
namespace {

using std::chrono::milliseconds;

std::string JobYaml(const std::string& spec) {
  return "apiVersion: batch/v1\nkind: Job\nmetadata: {name: work}\nspec:\n" + spec +
         "  template:\n"
         "    spec:\n"
         "      restartPolicy: Never\n"
         "      containers: [{name: c, image: \"busybox:1\"}]\n";
}

class JobTest : public LifecycleTest {
 protected:
  void SetUp() override {
    LifecycleTest::SetUp();
    jobs_ = std::make_unique<Informer>(*registry_, "Job");
    pods_ = std::make_unique<Informer>(*registry_, "Pod");
    AddPodIndexes(*pods_);
    events_ = std::make_unique<EventRecorder>(*registry_, "job-controller");
    JobOptions options;
    options.resync = std::chrono::seconds(1);
    options.backoff_base = milliseconds(10);
    options.backoff_max = milliseconds(100);
    // A clock the test moves, for activeDeadlineSeconds.
    options.now = [this] { return start_ + std::chrono::seconds(offset_.load()); };
    controller_ = std::make_unique<JobController>(*registry_, *jobs_, *pods_, *events_, options);
    ASSERT_OK(pods_->Start());
    ASSERT_OK(jobs_->Start());
    ASSERT_OK(controller_->Start());
  }
  void TearDown() override {
    controller_.reset();
    events_.reset();
    jobs_.reset();
    pods_.reset();
    LifecycleTest::TearDown();
  }

  v1::Job Job() {
    auto got = registry_->Get({"Job", "default", "work"});
    EXPECT_TRUE(got.ok());
    return got.ok() ? got->job() : v1::Job{};
  }

  // By value: callers pass temporaries.
  static std::optional<v1::WorkloadCondition> Condition(const v1::Job& job,
                                                        const std::string& type) {
    for (const auto& c : job.status().conditions()) {
      if (c.type() == type) return c;
    }
    return std::nullopt;
  }

  std::vector<v1::Pod> Active() {
    std::vector<v1::Pod> out;
    for (auto& pod : Pods("default", "job-name=work")) {
      if (IsActive(pod)) out.push_back(pod);
    }
    return out;
  }

  size_t EventsWithReason(const std::string& reason) {
    events_->Flush();
    auto list = registry_->List({.kind = "Event", .field_selector = "reason=" + reason});
    EXPECT_TRUE(list.ok());
    return list.ok() ? list->items.size() : 0;
  }

  std::unique_ptr<Informer> jobs_, pods_;
  std::unique_ptr<EventRecorder> events_;
  std::unique_ptr<JobController> controller_;
  const std::chrono::system_clock::time_point start_ = std::chrono::system_clock::now();
  std::atomic<int64_t> offset_{0};
};

TEST_F(JobTest, RunsCompletionsWithParallelismToComplete) {
  auto job = registry_->Create(Parse(JobYaml("  completions: 3\n  parallelism: 2\n")));
  ASSERT_OK(job);
  std::set<std::string> seen;
  for (int done = 0; done < 3; ++done) {
    const size_t want = std::min(2, 3 - done);
    ASSERT_TRUE(WaitFor([&] { return Active().size() == want; }))
        << "round " << done << ": " << Active().size() << " active";
    std::this_thread::sleep_for(milliseconds(100));
    auto active = Active();
    ASSERT_EQ(active.size(), want) << "never more than min(parallelism, remaining)";
    for (const auto& pod : active) {
      seen.insert(pod.metadata().name());
      EXPECT_EQ(pod.metadata().labels().at("job-name"), "work");
      EXPECT_EQ(pod.metadata().labels().at("controller-uid"), job->job().metadata().uid());
      ASSERT_NE(ControllerOf(pod.metadata()), nullptr);
      EXPECT_EQ(ControllerOf(pod.metadata())->uid(), job->job().metadata().uid());
    }
    SetPhase(active[0], "Succeeded");
  }
  ASSERT_TRUE(WaitFor([&] {
    const auto c = Condition(Job(), "Complete");
    return c && c->status() == "True";
  }));
  const v1::Job done = Job();
  EXPECT_EQ(done.status().succeeded(), 3);
  EXPECT_EQ(done.status().active(), 0);
  EXPECT_EQ(done.status().failed(), 0);
  EXPECT_TRUE(done.status().has_start_time());
  EXPECT_TRUE(done.status().has_completion_time());
  EXPECT_EQ(seen.size(), 3u);
  EXPECT_EQ(Pods("default", "job-name=work").size(), 3u);
  // Recorded after the status write the test saw.
  EXPECT_TRUE(WaitFor([&] { return EventsWithReason("Completed") == 1; }));
  EXPECT_EQ(EventsWithReason("SuccessfulCreate"), 3u);
}

TEST_F(JobTest, FailsOnceFailuresExceedBackoffLimit) {
  ASSERT_OK(registry_->Create(Parse(JobYaml("  backoffLimit: 2\n"))));
  for (int failed = 0; failed < 3; ++failed) {
    ASSERT_TRUE(WaitFor([&] { return Active().size() == 1; })) << "after " << failed;
    SetPhase(Active()[0], "Failed");
  }
  ASSERT_TRUE(WaitFor([&] {
    const auto c = Condition(Job(), "Failed");
    return c && c->status() == "True";
  }));
  const v1::Job job = Job();
  EXPECT_EQ(Condition(job, "Failed")->reason(), "BackoffLimitExceeded");
  EXPECT_EQ(job.status().failed(), 3);
  EXPECT_EQ(job.status().active(), 0);
  EXPECT_FALSE(Condition(job, "Complete").has_value());
  std::this_thread::sleep_for(milliseconds(200));
  EXPECT_TRUE(Active().empty()) << "no new pod after the Job failed";
  // Recorded after the status write the test saw.
  EXPECT_TRUE(WaitFor([&] { return EventsWithReason("BackoffLimitExceeded") == 1; }));
}

TEST_F(JobTest, FailsAfterActiveDeadlineAndDeletesActivePods) {
  ASSERT_OK(registry_->Create(
      Parse(JobYaml("  activeDeadlineSeconds: 30\n  parallelism: 2\n  completions: 4\n"))));
  ASSERT_TRUE(WaitFor([&] { return Active().size() == 2; }));
  ASSERT_TRUE(WaitFor([&] { return Job().status().has_start_time(); }));
  offset_ = 10;
  std::this_thread::sleep_for(milliseconds(300));
  EXPECT_FALSE(Condition(Job(), "Failed").has_value());
  offset_ = 31;
  ASSERT_TRUE(WaitFor([&] {
    const auto c = Condition(Job(), "Failed");
    return c && c->status() == "True";
  }));
  const v1::Job job = Job();
  EXPECT_EQ(Condition(job, "Failed")->reason(), "DeadlineExceeded");
  EXPECT_EQ(job.status().active(), 0);
  // Unbound pods go at once.
  ASSERT_TRUE(WaitFor([&] { return Pods("default", "job-name=work").empty(); }));
  // Recorded after the status write the test saw.
  EXPECT_TRUE(WaitFor([&] { return EventsWithReason("DeadlineExceeded") == 1; }));
}

TEST_F(JobTest, WorkQueueJobCompletesWhenOneSucceededAndNoneRun) {
  // parallelism without completions: a work queue.
  ASSERT_OK(registry_->Create(Parse(JobYaml("  parallelism: 2\n"))));
  ASSERT_TRUE(WaitFor([&] { return Active().size() == 2; }));
  auto active = Active();
  SetPhase(active[0], "Succeeded");
  std::this_thread::sleep_for(milliseconds(200));
  // No replacement once a pod succeeded; the other one keeps running.
  EXPECT_EQ(Active().size(), 1u);
  EXPECT_FALSE(Condition(Job(), "Complete").has_value());
  SetPhase(active[1], "Succeeded");
  ASSERT_TRUE(WaitFor([&] { return Condition(Job(), "Complete").has_value(); }));
  EXPECT_EQ(Job().status().succeeded(), 2);
}

}  // namespace
}  // namespace berth::control

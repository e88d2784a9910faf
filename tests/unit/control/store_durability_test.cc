// Writes acknowledged before a kill -9 are all there after a restart: a
// child process commits in a loop and reports each acknowledged key on a
// pipe; the parent kills it at a random moment, reopens the store and
// checks every acknowledged write.
#include <signal.h>
#include <unistd.h>

#include <sys/wait.h>

#include <filesystem>
#include <random>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "test_support.h"

#include "berth/control/store.h"

namespace berth::control {
namespace {

namespace fs = std::filesystem;

TEST(StoreDurabilityTest, AcknowledgedWritesSurviveKill9) {
  char tmpl[] = "/tmp/berth-store-kill-XXXXXX";
  ASSERT_NE(::mkdtemp(tmpl), nullptr);
  const fs::path dir = tmpl;
  std::random_device rd;
  for (int round = 0; round < 3; ++round) {
    int p[2];
    ASSERT_EQ(::pipe(p), 0);
    pid_t child = ::fork();
    ASSERT_GE(child, 0);
    if (child == 0) {
      ::close(p[0]);
      auto store = OpenRocksStore({dir / "db"});
      if (!store.ok()) ::_exit(2);
      for (int i = 0;; ++i) {
        const std::string key = "/r" + std::to_string(round) + "/" + std::to_string(i);
        auto r = (*store)->Txn({}, {{Op::Kind::kPut, key, std::string(100, 'v')}});
        if (!r.ok()) ::_exit(3);
        const int32_t ack = i;
        if (::write(p[1], &ack, sizeof(ack)) != sizeof(ack)) ::_exit(4);
      }
    }
    ::close(p[1]);
    ::usleep(100000 + rd() % 200000);
    ::kill(child, SIGKILL);
    int status = 0;
    ::waitpid(child, &status, 0);
    ASSERT_TRUE(WIFSIGNALED(status)) << "writer exited early with " << WEXITSTATUS(status);
    int32_t last = -1, ack = 0;
    while (::read(p[0], &ack, sizeof(ack)) == sizeof(ack)) last = ack;
    ::close(p[0]);
    ASSERT_GE(last, 0) << "no write was acknowledged";
    auto store = OpenRocksStore({dir / "db"});
    ASSERT_OK(store);
    const std::string prefix = "/r" + std::to_string(round) + "/";
    auto kvs = (*store)->Range(prefix, PrefixEnd(prefix));
    ASSERT_OK(kvs);
    EXPECT_GE(static_cast<int64_t>(kvs->kvs.size()), last + 1)
        << "round " << round << ": acknowledged " << last + 1 << ", found " << kvs->kvs.size();
    for (int32_t i = 0; i <= last; ++i) {
      auto kv = (*store)->Get(prefix + std::to_string(i));
      ASSERT_OK(kv);
      EXPECT_TRUE(kv->has_value()) << "acknowledged write " << prefix << i << " lost";
    }
  }
  fs::remove_all(dir);
}

}  // namespace
}  // namespace berth::control

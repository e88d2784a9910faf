// The collector against fixture cgroup directories (captured file formats,
// odd ones included), the exposition writer, and target parsing.
#include <stdlib.h>

#include <filesystem>
#include <fstream>

#include <gtest/gtest.h>

#include "collector.h"
#include "exposition.h"
#include "test_support.h"

#include "berth/cgroups/stats.h"

namespace berth::metrics {
namespace {

namespace fs = std::filesystem;

class TempDir {
 public:
  TempDir() {
    std::string t = (fs::temp_directory_path() / "berth-metrics-XXXXXX").string();
    EXPECT_NE(::mkdtemp(t.data()), nullptr);
    path_ = t;
  }
  ~TempDir() { fs::remove_all(path_); }
  const fs::path& path() const { return path_; }

 private:
  fs::path path_;
};

void Write(const fs::path& p, const std::string& data) {
  fs::create_directories(p.parent_path());
  std::ofstream(p) << data;
}

bool Has(const std::string& text, const std::string& line) {
  return text.find(line + "\n") != std::string::npos;
}

const char* const kLabels =
    R"({container="web",id="/pods/p1/web",image="nginx:1.25",name="",namespace="default",pod="p1"})";

std::string L(const std::string& extra = "") {
  std::string l = kLabels;
  if (!extra.empty()) l.insert(l.size() - 1, "," + extra);
  return l;
}

class CollectorTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const fs::path cg = dir_.path() / "cgroup" / "pods" / "p1" / "web";
    // As a v2 kernel writes them (Documentation/admin-guide/cgroup-v2.rst).
    Write(cg / "cpu.stat",
          "usage_usec 2500000\nuser_usec 2000000\nsystem_usec 500000\nnr_periods 10\n"
          "nr_throttled 3\nthrottled_usec 150000\nnr_bursts 0\nburst_usec 0\n");
    Write(cg / "cgroup.controllers", "cpuset cpu io memory pids\n");
    Write(cg / "cpu.max", "50000 100000\n");
    Write(cg / "cpu.weight", "100\n");
    Write(cg / "memory.current", "104857600\n");
    Write(cg / "memory.max", "max\n");
    Write(cg / "memory.swap.current", "0\n");
    Write(cg / "memory.stat",
          "anon 60000000\nfile 40000000\ninactive_file 30000000\nactive_file 10000000\n");
    Write(cg / "memory.events", "low 0\nhigh 0\nmax 4\noom 2\noom_kill 1\n");
    Write(cg / "io.stat", "8:0 rbytes=4096 wbytes=8192 rios=1 wios=2 dbytes=0 dios=0\n");
    Write(cg / "cgroup.procs", "12\n13\n");
    Write(cg / "cgroup.threads", "12\n13\n14\n");
    Write(cg / "cpu.pressure",
          "some avg10=0.00 avg60=0.00 avg300=0.00 total=1500000\nfull avg10=0.00 avg60=0.00 "
          "avg300=0.00 total=500000\n");
    Write(dir_.path() / "sys" / "dev" / "block" / "8:0" / "uevent",
          "MAJOR=8\nMINOR=0\nDEVNAME=sda\nDEVTYPE=disk\n");
    // A second container with only what a hybrid host offers: cpu.stat.
    Write(dir_.path() / "cgroup" / "pods" / "p1" / "side" / "cpu.stat",
          "usage_usec 1000\nuser_usec 1000\nsystem_usec 0\n");
    options_.cgroup_mount = dir_.path() / "cgroup";
    options_.sysfs = dir_.path() / "sys";
  }

  TempDir dir_;
  CollectorOptions options_;
};

TEST_F(CollectorTest, CadvisorSeriesFromEveryFile) {
  Collector c(options_);
  Target t{
      "/pods/p1/web",
      {{"container", "web"}, {"pod", "p1"}, {"namespace", "default"}, {"image", "nginx:1.25"}}};
  auto text = c.Collect({t});
  ASSERT_OK(text);
  const std::string& s = *text;
  EXPECT_TRUE(Has(s, "# TYPE container_cpu_usage_seconds_total counter")) << s;
  EXPECT_TRUE(Has(s, "container_cpu_usage_seconds_total" + L("cpu=\"total\"") + " 2.5")) << s;
  EXPECT_TRUE(Has(s, "container_cpu_user_seconds_total" + L() + " 2"));
  EXPECT_TRUE(Has(s, "container_cpu_system_seconds_total" + L() + " 0.5"));
  EXPECT_TRUE(Has(s, "container_cpu_cfs_periods_total" + L() + " 10"));
  EXPECT_TRUE(Has(s, "container_cpu_cfs_throttled_periods_total" + L() + " 3"));
  EXPECT_TRUE(Has(s, "container_cpu_cfs_throttled_seconds_total" + L() + " 0.15"));
  EXPECT_TRUE(Has(s, "container_memory_usage_bytes" + L() + " 104857600"));
  EXPECT_TRUE(
      Has(s, "container_memory_working_set_bytes" + L() + " 74857600"));  // usage - inactive_file
  EXPECT_TRUE(Has(s, "container_memory_rss" + L() + " 60000000"));
  EXPECT_TRUE(Has(s, "container_memory_cache" + L() + " 40000000"));
  EXPECT_TRUE(Has(s, "container_memory_swap" + L() + " 0"));
  EXPECT_TRUE(Has(s, "container_oom_events_total" + L() + " 1"));
  EXPECT_TRUE(Has(s, "container_fs_reads_bytes_total" + L("device=\"/dev/sda\"") + " 4096"));
  EXPECT_TRUE(Has(s, "container_fs_writes_bytes_total" + L("device=\"/dev/sda\"") + " 8192"));
  EXPECT_TRUE(Has(s, "container_fs_reads_total" + L("device=\"/dev/sda\"") + " 1"));
  EXPECT_TRUE(Has(s, "container_fs_writes_total" + L("device=\"/dev/sda\"") + " 2"));
  EXPECT_TRUE(Has(s, "container_processes" + L() + " 2"));
  EXPECT_TRUE(Has(s, "container_threads" + L() + " 3"));
  EXPECT_TRUE(Has(s, "container_spec_cpu_quota" + L() + " 50000"));
  EXPECT_TRUE(Has(s, "container_spec_cpu_period" + L() + " 100000"));
  EXPECT_TRUE(Has(s, "container_spec_cpu_shares" + L() + " 2597"));       // weight 100
  EXPECT_TRUE(Has(s, "container_spec_memory_limit_bytes" + L() + " 0"));  // "max"
  EXPECT_TRUE(Has(s, "container_pressure_cpu_waiting_seconds_total" + L() + " 1.5"));
  EXPECT_TRUE(Has(s, "container_pressure_cpu_stalled_seconds_total" + L() + " 0.5"));
  EXPECT_NE(s.find("container_last_seen"), std::string::npos);
  EXPECT_NE(s.find("container_start_time_seconds"), std::string::npos);
  EXPECT_EQ(s.find("container_memory_failcnt"), std::string::npos) << "v2 has no failcnt";
}

TEST_F(CollectorTest, MissingFilesGiveNoSeriesAndGoneCgroupsAreSkipped) {
  Collector c(options_);
  auto text = c.Collect({{"/pods/p1/side", {{"container", "side"}}}, {"/pods/p1/gone", {}}});
  ASSERT_OK(text);
  EXPECT_NE(text->find("container_cpu_usage_seconds_total"), std::string::npos);
  EXPECT_EQ(text->find("container_memory_usage_bytes"), std::string::npos) << *text;
  EXPECT_EQ(text->find("container_cpu_cfs_periods_total"), std::string::npos)
      << "no cpu controller";
  EXPECT_EQ(text->find("container_spec_cpu_quota"), std::string::npos);
  EXPECT_EQ(text->find("gone"), std::string::npos);
}

TEST_F(CollectorTest, MalformedFileIsAnErrorNamingIt) {
  Write(dir_.path() / "cgroup" / "pods" / "p1" / "web" / "cpu.max", "fifty\n");
  auto text = Collector(options_).Collect({{"/pods/p1/web", {}}});
  ASSERT_FALSE(text.ok());
  EXPECT_NE(text.error().ToString().find("cpu.max"), std::string::npos) << text.error().ToString();
}

class FakeServices : public ServiceSource {
 public:
  Result<std::vector<ServiceCounters>> List() const override {
    return std::vector<ServiceCounters>{
        {"10.96.0.10:80/TCP", 7, {{"10.1.0.11:8080", 4}, {"10.1.0.12:8080", 3}}}};
  }
};

TEST_F(CollectorTest, ServiceLoadBalancerCounters) {
  FakeServices services;
  options_.services = &services;
  auto text = Collector(options_).Collect({});
  ASSERT_OK(text);
  EXPECT_TRUE(Has(*text, "# TYPE berth_service_connections_total counter"));
  EXPECT_TRUE(Has(*text, R"(berth_service_connections_total{service="10.96.0.10:80/TCP"} 7)"))
      << *text;
  EXPECT_TRUE(Has(
      *text,
      R"(berth_service_backend_connections_total{service="10.96.0.10:80/TCP",backend="10.1.0.12:8080"} 3)"));
}

TEST(ParsersTest, CpuMaxAndLineCounts) {
  auto m = cgroups::ParseCpuMax("max 100000\n");
  ASSERT_OK(m);
  EXPECT_FALSE(m->quota_usec.has_value());
  EXPECT_EQ(m->period_usec, 100000u);
  m = cgroups::ParseCpuMax("25000 50000");
  ASSERT_OK(m);
  EXPECT_EQ(*m->quota_usec, 25000u);
  EXPECT_FALSE(cgroups::ParseCpuMax("max").ok());
  EXPECT_EQ(cgroups::CountLines(""), 0u);
  EXPECT_EQ(cgroups::CountLines("1\n2\n\n3"), 3u);
}

TEST(ExpositionTest, EscapingAndNumbers) {
  Exposition e;
  e.Family("x_total", MetricType::kCounter, "help");
  e.Sample({{"a", "q\"b\\c\nd"}}, 1.5);
  e.Sample({}, 1e20);
  EXPECT_EQ(e.text(),
            "# HELP x_total help\n# TYPE x_total counter\nx_total{a=\"q\\\"b\\\\c\\nd\"} "
            "1.5\nx_total 1e+20\n");
  EXPECT_EQ(FormatValue(0.1), "0.1");
  EXPECT_EQ(FormatValue(3), "3");
  EXPECT_EQ(FormatValue(1.0 / 0.0), "+Inf");
}

TEST(TargetsTest, ParseAndErrors) {
  auto t = ParseTargets(R"([{"cgroup": "/a/b", "labels": {"container": "web"}}])", "t.json");
  ASSERT_OK(t);
  ASSERT_EQ(t->size(), 1u);
  EXPECT_EQ((*t)[0].labels.at("container"), "web");
  auto bad = ParseTargets(R"([{"cgroup": "a/../b"}])", "t.json");
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.error().ToString().find("t.json[0].cgroup"), std::string::npos);
  EXPECT_FALSE(ParseTargets("{}", "t.json").ok());
}

}  // namespace
}  // namespace berth::metrics

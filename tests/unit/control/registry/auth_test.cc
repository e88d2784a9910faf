// Authentication by token, authorization by role (admin, view, node), and
// the audit log, through the real gRPC service.
#include "berth/control/auth.h"

#include <fstream>
#include <sstream>

#include "service_fixture.h"

namespace berth::control {
namespace {

constexpr char kTokens[] =
    "admin-token,alice,1,\"system:masters\"\n"
    "view-token,victor,2,berth:view\n"
    "n1-token,system:node:n1,3,\"system:nodes\"\n"
    "# a comment\n"
    "nobody-token,nobody,4\n";

class AuthTest : public ServiceTest {
 protected:
  void SetUp() override {
    ServiceTest::SetUp();
    auto audit = AuditLog::Open(dir_ / "audit.log", 700, 3);
    ASSERT_OK(audit);
    audit_ = std::move(*audit);
    StartService({.token_file_contents = kTokens,
                  .bootstrap_token_valid =
                      [](std::string_view t) { return t == "abcdef.0123456789abcdef"; }},
                 audit_.get());

    // n1 runs a pod that uses secret "db" and configmap "cfg"; n2 runs one
    // that uses secret "other".
    ASSERT_OK(registry_->Create(Parse(R"(
apiVersion: v1
kind: Pod
metadata: {name: on-n1}
spec:
  nodeName: n1
  volumes: [{name: s, secret: {secretName: db}}]
  containers:
  - name: c
    image: busybox
    envFrom: [{configMapRef: {name: cfg}}]
)")));
    ASSERT_OK(registry_->Create(Parse(R"(
apiVersion: v1
kind: Pod
metadata: {name: on-n2}
spec:
  nodeName: n2
  volumes: [{name: s, secret: {secretName: other}}]
  containers: [{name: c, image: busybox}]
)")));
    for (const char* name : {"db", "other"}) {
      ASSERT_OK(
          registry_->Create(Parse(std::string("apiVersion: v1\nkind: Secret\nmetadata: {name: ") +
                                  name + "}\nstringData: {k: v}\n")));
    }
    ASSERT_OK(registry_->Create(Parse("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: cfg}\n")));
  }
  std::unique_ptr<AuditLog> audit_;
};

v1::ListRequest Pods(const std::string& field_selector) {
  v1::ListRequest req;
  req.set_kind("Pod");
  req.set_all_namespaces(true);
  req.set_field_selector(field_selector);
  return req;
}

TEST_F(AuthTest, UnauthenticatedCallsAreRefused) {
  auto anonymous = As("");
  auto got = anonymous->Get("Pod", "default", "on-n1");
  ASSERT_FALSE(got.ok());
  EXPECT_EQ(got.error().err(), EACCES);
  EXPECT_NE(got.error().message().find("no client certificate or bearer token"), std::string::npos);
  EXPECT_ERRNO(As("wrong-token")->Get("Pod", "default", "on-n1"), EACCES);
}

TEST_F(AuthTest, AdminDoesEverythingViewReadsButNoSecrets) {
  auto admin = As("admin-token");
  ASSERT_OK(admin->Get("Secret", "default", "db"));
  auto view = As("view-token");
  ASSERT_OK(view->Get("Pod", "default", "on-n1"));
  ASSERT_OK(view->List(Pods("")));
  auto secret = view->Get("Secret", "default", "db");
  ASSERT_FALSE(secret.ok());
  EXPECT_EQ(secret.error().err(), EACCES);
  EXPECT_NE(secret.error().message().find("User \"victor\" cannot get resource \"secrets\""),
            std::string::npos)
      << secret.error().message();
  EXPECT_NE(secret.error().message().find("missing permission: get secrets"), std::string::npos);
  auto write = view->Create(Parse("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x}\n"));
  EXPECT_ERRNO(write, EACCES);
  EXPECT_ERRNO(As("nobody-token")->Get("Pod", "default", "on-n1"), EACCES);
}

TEST_F(AuthTest, NodeSeesOnlyItsOwnPodsAndTheSecretsTheyUse) {
  auto n1 = As("n1-token");
  auto own = n1->List(Pods("spec.nodeName=n1"));
  ASSERT_OK(own);
  ASSERT_EQ(own->items_size(), 1);
  EXPECT_EQ(own->items(0).pod().metadata().name(), "on-n1");
  auto all = n1->List(Pods(""));
  ASSERT_FALSE(all.ok());
  EXPECT_NE(all.error().message().find("fieldSelector spec.nodeName=n1"), std::string::npos);
  EXPECT_ERRNO(n1->List(Pods("spec.nodeName=n2")), EACCES);
  ASSERT_OK(n1->Get("Pod", "default", "on-n1"));
  EXPECT_ERRNO(n1->Get("Pod", "default", "on-n2"), EACCES);

  ASSERT_OK(n1->Get("Secret", "default", "db"));
  ASSERT_OK(n1->Get("ConfigMap", "default", "cfg"));
  auto other = n1->Get("Secret", "default", "other");
  ASSERT_FALSE(other.ok());
  EXPECT_NE(other.error().message().find("no pod on node n1 uses secret \"other\""),
            std::string::npos);

  // Its own pod's status: yes; another node's: no; a new pod: no.
  auto pod = n1->Get("Pod", "default", "on-n1");
  ASSERT_OK(pod);
  pod->mutable_pod()->mutable_status()->set_phase("Running");
  ASSERT_OK(n1->Update(*pod, /*status=*/true));
  auto foreign = registry_->Get({"Pod", "default", "on-n2"});
  ASSERT_OK(foreign);
  EXPECT_ERRNO(n1->Update(*foreign, true), EACCES);
  EXPECT_ERRNO(n1->Create(Pod("sneaky", "n1")), EACCES);

  // Its own Node: yes; another: no.
  v1::Object node;
  node.mutable_node()->mutable_metadata()->set_name("n1");
  ASSERT_OK(n1->Create(node));
  node.mutable_node()->mutable_metadata()->set_name("n2");
  EXPECT_ERRNO(n1->Create(node), EACCES);
}

TEST_F(AuthTest, BootstrapTokensMayOnlyJoin) {
  auto bootstrap = As("abcdef.0123456789abcdef");
  auto got = bootstrap->Get("Pod", "default", "on-n1");
  ASSERT_FALSE(got.ok());
  EXPECT_NE(got.error().message().find("system:bootstrap:abcdef"), std::string::npos);
}

TEST_F(AuthTest, AuditLogRecordsWritesAndDenialsAndRotates) {
  auto admin = As("admin-token");
  ASSERT_OK(admin->Create(Parse("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a1}\n")));
  ASSERT_OK(admin->Get("ConfigMap", "default", "a1"));  // a read: not audited
  EXPECT_ERRNO(As("view-token")->Get("Secret", "default", "db"), EACCES);
  for (int i = 0; i < 5; ++i) {
    ASSERT_OK(admin->Create(
        Parse("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: r" + std::to_string(i) + "}\n")));
  }
  // 700-byte files, three kept: the log rotated and nothing beyond .3.
  EXPECT_TRUE(std::filesystem::exists(dir_ / "audit.log.1"));
  EXPECT_FALSE(std::filesystem::exists(dir_ / "audit.log.4"));
  std::string all;
  for (const char* name : {"audit.log.3", "audit.log.2", "audit.log.1", "audit.log"}) {
    std::ifstream in(dir_ / name);
    all += std::string(std::istreambuf_iterator<char>(in), {});
  }
  EXPECT_NE(all.find(R"("user":"alice")"), std::string::npos);
  EXPECT_NE(all.find(R"("decision":"deny")"), std::string::npos);
  // Reads are audited only when denied.
  std::istringstream lines(all);
  for (std::string line; std::getline(lines, line);) {
    if (line.find(R"("verb":"get")") != std::string::npos) {
      EXPECT_NE(line.find(R"("decision":"deny")"), std::string::npos) << line;
    }
  }
  EXPECT_EQ(all.find("\"v\""), std::string::npos);  // no secret data, ever
}

}  // namespace
}  // namespace berth::control

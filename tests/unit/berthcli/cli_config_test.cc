// The client configuration file and kubectl's resource arguments.
#include <gtest/gtest.h>

#include "client_config.h"
#include "resource_args.h"
#include "test_support.h"

namespace berth::cli {
namespace {

constexpr const char* kConfig = R"(apiVersion: v1
kind: Config
current-context: berth
clusters:
- name: berth
  cluster: {server: "127.0.0.1:6443", certificate-authority: /nonexistent/ca.crt}
- name: local
  cluster: {server: "unix:/run/berth/control.sock"}
users:
- name: admin
  user: {client-certificate: /etc/berth/admin.crt, client-key: /etc/berth/admin.key}
- name: viewer
  user: {token: abc}
contexts:
- name: berth
  context: {cluster: berth, user: admin, namespace: shop}
- name: view
  context: {cluster: local, user: viewer}
)";

TEST(ClientConfig, ParsesAndRoundTrips) {
  auto c = ParseClientConfig(kConfig, "config");
  ASSERT_OK(c);
  EXPECT_EQ(c->current_context, "berth");
  ASSERT_EQ(c->clusters.size(), 2u);
  EXPECT_EQ(c->clusters[0].server, "127.0.0.1:6443");
  ASSERT_NE(c->FindContext("view"), nullptr);
  EXPECT_EQ(c->FindContext("view")->namespace_, "default");
  EXPECT_EQ(c->FindContext("berth")->namespace_, "shop");
  EXPECT_EQ(c->FindUser("viewer")->token, "abc");
  auto again = ParseClientConfig(FormatClientConfig(*c), "formatted");
  ASSERT_OK(again);
  EXPECT_EQ(FormatClientConfig(*again), FormatClientConfig(*c));
}

TEST(ClientConfig, ErrorsNameTheField) {
  auto bad = ParseClientConfig("clusters:\n- name: x\n  cluster: {servr: a}\n", "cfg");
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.error().Chain().find("cfg: clusters[0].cluster.servr: unknown field"),
            std::string::npos)
      << bad.error().Chain();
  auto no_server = ParseClientConfig("clusters:\n- name: x\n", "cfg");
  ASSERT_FALSE(no_server.ok());
  EXPECT_NE(no_server.error().Chain().find("clusters[0].cluster.server: Required value"),
            std::string::npos);
}

TEST(ClientConfig, ResolveNamesWhatIsMissing) {
  auto c = ParseClientConfig(kConfig, "config");
  ASSERT_OK(c);
  auto none = ResolveConnection(*c, "nope");
  ASSERT_FALSE(none.ok());
  EXPECT_EQ(none.error().Chain(), "context \"nope\" does not exist");
  auto token = ResolveConnection(*c, "view");
  ASSERT_OK(token);
  EXPECT_EQ(token->credentials.token, "abc");
  EXPECT_EQ(token->server, "unix:/run/berth/control.sock");
  auto files = ResolveConnection(*c, "");  // current context: reads the CA file
  ASSERT_FALSE(files.ok());
  EXPECT_EQ(files.error().err(), ENOENT);
}

TEST(ResourceArgs, KubectlForms) {
  auto list = ParseResourceArgs({"pods"});
  ASSERT_OK(list);
  ASSERT_EQ(list->size(), 1u);
  EXPECT_EQ(list->at(0).kind->kind, "Pod");
  EXPECT_TRUE(list->at(0).name.empty());
  auto names = ParseResourceArgs({"deploy", "a", "b"});
  ASSERT_OK(names);
  ASSERT_EQ(names->size(), 2u);
  EXPECT_EQ(names->at(1).name, "b");
  auto slash = ParseResourceArgs({"deployment.apps/web", "svc/web"});
  ASSERT_OK(slash);
  EXPECT_EQ(slash->at(0).kind->kind, "Deployment");
  EXPECT_EQ(slash->at(1).kind->kind, "Service");
  auto multi = ParseResourceArgs({"pods,services"});
  ASSERT_OK(multi);
  EXPECT_EQ(multi->size(), 2u);
  auto all = ParseResourceArgs({"all"});
  ASSERT_OK(all);
  EXPECT_EQ(all->size(), 6u);
  auto unknown = ParseResourceArgs({"gizmos"});
  ASSERT_FALSE(unknown.ok());
  EXPECT_EQ(unknown.error().Chain(), "the server doesn't have a resource type \"gizmos\"");
  EXPECT_FALSE(ParseResourceArgs({"pods", "pod/x"}).ok());
  EXPECT_FALSE(ParseResourceArgs({}).ok());
}

}  // namespace
}  // namespace berth::cli

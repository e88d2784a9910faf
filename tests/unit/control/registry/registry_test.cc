#include <cerrno>

#include "registry_fixture.h"

namespace berth::control {
namespace {

constexpr std::string_view kDeployment = R"(
apiVersion: apps/v1
kind: Deployment
metadata: {name: web, labels: {app: web}}
spec:
  replicas: 2
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      containers: [{name: httpd, image: "berth/httpd:1"}]
)";

TEST_F(RegistryTest, CreateSetsMetadataAndDefaults) {
  auto created = registry_->Create(Parse(kDeployment));
  ASSERT_OK(created);
  const auto& d = created->deployment();
  EXPECT_EQ(d.metadata().namespace_(), "default");
  EXPECT_EQ(d.metadata().uid().size(), 36u);
  EXPECT_EQ(d.metadata().generation(), 1);
  EXPECT_TRUE(d.metadata().has_creation_timestamp());
  EXPECT_EQ(d.metadata().resource_version(), std::to_string(registry_->Revision()));
  EXPECT_EQ(d.spec().strategy().type(), "RollingUpdate");  // a default
  EXPECT_EQ(d.spec().revision_history_limit(), 10);

  auto got = registry_->Get({"deployments", "default", "web"});
  ASSERT_OK(got);
  EXPECT_EQ(got->deployment().metadata().uid(), d.metadata().uid());

  auto again = registry_->Create(Parse(kDeployment));
  ASSERT_FALSE(again.ok());
  EXPECT_EQ(again.error().err(), EEXIST);
  EXPECT_EQ(again.error().message(), "deployments.apps \"web\" already exists");

  auto missing = registry_->Get({"deploy", "default", "nope"});
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.error().message(), "deployments.apps \"nope\" not found");
  EXPECT_ERRNO(registry_->Get({"gadgets", "default", "x"}), EINVAL);
}

TEST_F(RegistryTest, ANewPodIsPending) {
  auto created = registry_->Create(Pod("p"));
  ASSERT_OK(created);
  EXPECT_EQ(created->pod().status().phase(), "Pending");
}

TEST_F(RegistryTest, GenerateNameAndClusterScope) {
  auto object = Parse("apiVersion: v1\nkind: ConfigMap\nmetadata: {generateName: cfg-}\n");
  auto created = registry_->Create(object);
  ASSERT_OK(created);
  EXPECT_EQ(created->config_map().metadata().name().size(), 9u);
  auto ns = registry_->Get({"Namespace", "ignored", "prod"});
  ASSERT_OK(ns);
  EXPECT_EQ(ns->namespace_().status().phase(), "Active");
  EXPECT_EQ(ns->namespace_().metadata().namespace_(), "");
}

TEST_F(RegistryTest, InvalidObjectsNameTheField) {
  auto object = Parse(kDeployment);
  object.mutable_deployment()->mutable_spec()->set_replicas(-1);
  auto created = registry_->Create(object);
  ASSERT_FALSE(created.ok());
  EXPECT_EQ(created.error().err(), EINVAL);
  EXPECT_NE(created.error().message().find("Deployment.apps \"web\" is invalid"),
            std::string::npos);
  EXPECT_NE(created.error().message().find("spec.replicas"), std::string::npos)
      << created.error().message();
  EXPECT_ERRNO(registry_->Get({"deployments", "default", "web"}), ENOENT);
}

TEST_F(RegistryTest, NamespacesMustExistAndNotBeTerminating) {
  auto pod = Pod("p");
  pod.mutable_pod()->mutable_metadata()->set_namespace_("nowhere");
  auto created = registry_->Create(pod);
  ASSERT_FALSE(created.ok());
  EXPECT_EQ(created.error().message(), "namespaces \"nowhere\" not found");

  ASSERT_OK(registry_->Delete({"Namespace", "", "prod"}));
  auto ns = registry_->Get({"Namespace", "", "prod"});
  ASSERT_OK(ns);  // waits for the namespace controller (finalizer)
  EXPECT_EQ(ns->namespace_().status().phase(), "Terminating");
  EXPECT_TRUE(ns->namespace_().metadata().has_deletion_timestamp());
  pod.mutable_pod()->mutable_metadata()->set_namespace_("prod");
  created = registry_->Create(pod);
  ASSERT_FALSE(created.ok());
  EXPECT_EQ(created.error().err(), EACCES);
  EXPECT_NE(created.error().message().find("because it is being terminated"), std::string::npos);
}

TEST_F(RegistryTest, UpdateConflictsOnStaleVersionAndKeepsStatus) {
  auto created = registry_->Create(Parse(kDeployment));
  ASSERT_OK(created);
  // A status write (as a controller does) does not bump generation.
  v1::Object status = *created;
  status.mutable_deployment()->mutable_status()->set_replicas(2);
  auto with_status = registry_->Update(status, {.status = true});
  ASSERT_OK(with_status);
  EXPECT_EQ(with_status->deployment().metadata().generation(), 1);
  EXPECT_EQ(with_status->deployment().status().replicas(), 2);

  // The stale copy (resourceVersion of the create) conflicts.
  v1::Object stale = *created;
  stale.mutable_deployment()->mutable_spec()->set_replicas(5);
  auto conflict = registry_->Update(stale);
  ASSERT_FALSE(conflict.ok());
  EXPECT_EQ(conflict.error().err(), ESTALE);
  EXPECT_NE(conflict.error().message().find("the object has been modified"), std::string::npos);

  // A fresh one goes through: spec changes bump generation, status stays.
  v1::Object fresh = *with_status;
  fresh.mutable_deployment()->mutable_spec()->set_replicas(5);
  fresh.mutable_deployment()->mutable_status()->set_replicas(99);  // ignored: not a status write
  auto updated = registry_->Update(fresh);
  ASSERT_OK(updated);
  EXPECT_EQ(updated->deployment().metadata().generation(), 2);
  EXPECT_EQ(updated->deployment().status().replicas(), 2);
  EXPECT_EQ(updated->deployment().metadata().uid(), created->deployment().metadata().uid());

  // Labels only: no generation bump; an unconditional update ("" version).
  v1::Object labels = *updated;
  (*labels.mutable_deployment()->mutable_metadata()->mutable_labels())["tier"] = "front";
  labels.mutable_deployment()->mutable_metadata()->clear_resource_version();
  auto relabelled = registry_->Update(labels);
  ASSERT_OK(relabelled);
  EXPECT_EQ(relabelled->deployment().metadata().generation(), 2);

  // No change: no write, same resourceVersion.
  const int64_t rev = registry_->Revision();
  auto same = registry_->Update(*relabelled);
  ASSERT_OK(same);
  EXPECT_EQ(registry_->Revision(), rev);
}

TEST_F(RegistryTest, ModifyRetriesConflicts) {
  ASSERT_OK(registry_->Create(Parse(kDeployment)));
  int calls = 0;
  auto modified = registry_->Modify({"Deployment", "default", "web"}, [&](v1::Object& o) {
    if (++calls == 1) {
      // Someone else writes between our read and our write.
      auto other = registry_->Modify({"Deployment", "default", "web"}, [](v1::Object& x) {
        (*x.mutable_deployment()->mutable_metadata()->mutable_labels())["other"] = "yes";
        return true;
      });
      EXPECT_TRUE(other.ok());
    }
    o.mutable_deployment()->mutable_spec()->set_replicas(7);
    return true;
  });
  ASSERT_OK(modified);
  EXPECT_EQ(calls, 2);
  EXPECT_EQ(modified->deployment().spec().replicas(), 7);
  EXPECT_EQ(modified->deployment().metadata().labels().at("other"), "yes");
}

TEST_F(RegistryTest, PodsOnANodeAreDeletedGracefully) {
  ASSERT_OK(registry_->Create(Pod("bound", "node-1")));
  ASSERT_OK(registry_->Create(Pod("pending")));
  auto marked = registry_->Delete({"Pod", "default", "bound"});
  ASSERT_OK(marked);
  EXPECT_TRUE(marked->pod().metadata().has_deletion_timestamp());
  EXPECT_EQ(marked->pod().metadata().deletion_grace_period_seconds(), 30);
  ASSERT_OK(registry_->Get({"Pod", "default", "bound"}));
  // The agent finishes with grace 0.
  ASSERT_OK(registry_->Delete({"Pod", "default", "bound"}, {.grace_period_seconds = 0}));
  EXPECT_ERRNO(registry_->Get({"Pod", "default", "bound"}), ENOENT);
  // Not on a node: gone at once.
  ASSERT_OK(registry_->Delete({"Pod", "default", "pending"}));
  EXPECT_ERRNO(registry_->Get({"Pod", "default", "pending"}), ENOENT);
  EXPECT_ERRNO(registry_->Delete({"Pod", "default", "pending"}), ENOENT);
}

TEST_F(RegistryTest, FinalizersHoldDeletion) {
  auto cm = Parse("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c, finalizers: [x/y]}\n");
  ASSERT_OK(registry_->Create(cm));
  auto marked = registry_->Delete({"ConfigMap", "default", "c"}, {.propagation = "Foreground"});
  ASSERT_OK(marked);
  EXPECT_TRUE(marked->config_map().metadata().has_deletion_timestamp());
  ASSERT_EQ(marked->config_map().metadata().finalizers_size(), 2);
  EXPECT_EQ(marked->config_map().metadata().finalizers(1), "foregroundDeletion");
  auto removed = registry_->Modify({"ConfigMap", "default", "c"}, [](v1::Object& o) {
    o.mutable_config_map()->mutable_metadata()->clear_finalizers();
    return true;
  });
  ASSERT_OK(removed);
  EXPECT_ERRNO(registry_->Get({"ConfigMap", "default", "c"}), ENOENT);
  EXPECT_ERRNO(registry_->Delete({"ConfigMap", "default", "x"}, {.propagation = "Sideways"}),
               EINVAL);
}

TEST_F(RegistryTest, PreconditionUid) {
  ASSERT_OK(registry_->Create(Pod("p")));
  auto refused = registry_->Delete({"Pod", "default", "p"}, {.precondition_uid = "other"});
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.error().err(), ESTALE);
  ASSERT_OK(registry_->Get({"Pod", "default", "p"}));
}

TEST_F(RegistryTest, SecretsAreSealedInTheStore) {
  auto secret = Parse(
      "apiVersion: v1\nkind: Secret\nmetadata: {name: db}\nstringData: {password: "
      "hunter2-very-secret}\n");
  auto created = registry_->Create(secret);
  ASSERT_OK(created);
  EXPECT_EQ(created->secret().data().at("password"), "hunter2-very-secret");
  EXPECT_TRUE(created->secret().string_data().empty());
  auto raw = store_->Get("/registry/secrets/default/db");
  ASSERT_OK(raw);
  ASSERT_TRUE(raw->has_value());
  EXPECT_TRUE(SecretBox::IsSealed((*raw)->value));
  EXPECT_EQ((*raw)->value.find("hunter2"), std::string::npos);
  auto got = registry_->Get({"Secret", "default", "db"});
  ASSERT_OK(got);
  EXPECT_EQ(got->secret().data().at("password"), "hunter2-very-secret");

  // Without a key, secrets are refused rather than stored in the clear.
  Registry keyless(*store_, {});
  EXPECT_ERRNO(keyless.Create(Parse("apiVersion: v1\nkind: Secret\nmetadata: {name: x}\n")),
               EACCES);
  EXPECT_ERRNO(keyless.Get({"Secret", "default", "db"}), EACCES);
}

}  // namespace
}  // namespace berth::control

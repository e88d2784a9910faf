// berth.v1.Control end to end over a unix socket: statuses carry the
// registry's errors with their gRPC codes, Watch streams and bookmarks.
#include "berth/control/control_service.h"

#include <filesystem>
#include <thread>

#include <grpcpp/grpcpp.h>

#include "registry_fixture.h"

namespace berth::control {
namespace {

class ControlServiceTest : public RegistryTest {
 protected:
  void SetUp() override {
    RegistryTest::SetUp();
    auto authn = Authenticator::Create({.insecure_is_local_admin = true});
    ASSERT_OK(authn);
    authn_ = std::make_unique<Authenticator>(std::move(*authn));
    authz_ = std::make_unique<Authorizer>(*registry_);
    service_ = std::make_unique<ControlService>(
        *registry_, ControlServiceOptions{authn_.get(), authz_.get(), nullptr});
    grpc::ServerBuilder builder;
    const std::string address = "unix:" + (dir_ / "control.sock").string();
    builder.AddListeningPort(address, grpc::InsecureServerCredentials());
    builder.RegisterService(service_.get());
    server_ = builder.BuildAndStart();
    ASSERT_NE(server_, nullptr);
    stub_ = v1::Control::NewStub(grpc::CreateChannel(address, grpc::InsecureChannelCredentials()));
  }
  void TearDown() override {
    service_->Shutdown();
    server_->Shutdown(std::chrono::system_clock::now() + std::chrono::seconds(2));
    server_.reset();
    RegistryTest::TearDown();
  }

  std::unique_ptr<Authenticator> authn_;
  std::unique_ptr<Authorizer> authz_;
  std::unique_ptr<ControlService> service_;
  std::unique_ptr<grpc::Server> server_;
  std::unique_ptr<v1::Control::Stub> stub_;
};

TEST_F(ControlServiceTest, VerbsAndErrorCodes) {
  v1::CreateRequest create;
  *create.mutable_object() = Pod("a", "n1");
  v1::Object created;
  {
    grpc::ClientContext ctx;
    ASSERT_TRUE(stub_->Create(&ctx, create, &created).ok());
  }
  EXPECT_FALSE(created.pod().metadata().uid().empty());
  {
    grpc::ClientContext ctx;
    v1::Object dup;
    const auto status = stub_->Create(&ctx, create, &dup);
    EXPECT_EQ(status.error_code(), grpc::StatusCode::ALREADY_EXISTS);
    EXPECT_NE(status.error_message().find("pods \"a\" already exists"), std::string::npos);
  }
  {
    grpc::ClientContext ctx;
    v1::GetRequest get;
    get.mutable_key()->set_kind("Pod");
    get.mutable_key()->set_name("missing");
    v1::Object out;
    EXPECT_EQ(stub_->Get(&ctx, get, &out).error_code(), grpc::StatusCode::NOT_FOUND);
  }
  {
    grpc::ClientContext ctx;
    v1::UpdateRequest update;
    *update.mutable_object() = created;
    update.mutable_object()->mutable_pod()->mutable_metadata()->set_resource_version("1");
    v1::Object out;
    EXPECT_EQ(stub_->Update(&ctx, update, &out).error_code(), grpc::StatusCode::ABORTED);
  }
  {
    grpc::ClientContext ctx;
    v1::ApplyRequest apply;
    apply.set_manifest(
        R"({"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"c"},"data":{"k":1}})");
    v1::ApplyResponse out;
    const auto status = stub_->Apply(&ctx, apply, &out);
    EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
    EXPECT_NE(status.error_message().find("data[k]: expected a string"), std::string::npos);
  }
  {
    grpc::ClientContext ctx;
    v1::ListRequest list;
    list.set_kind("pods");
    list.set_field_selector("spec.nodeName=n1");
    v1::ListResponse out;
    ASSERT_TRUE(stub_->List(&ctx, list, &out).ok());
    ASSERT_EQ(out.items_size(), 1);
    EXPECT_EQ(out.resource_version(), std::to_string(registry_->Revision()));
  }
  {
    grpc::ClientContext ctx;
    v1::DeleteRequest del;
    del.mutable_key()->set_kind("Pod");
    del.mutable_key()->set_name("a");
    del.set_grace_period_seconds(0);
    v1::Object out;
    ASSERT_TRUE(stub_->Delete(&ctx, del, &out).ok());
  }
}

TEST_F(ControlServiceTest, WatchStreamsEventsAndBookmarks) {
  grpc::ClientContext ctx;
  v1::WatchRequest req;
  req.set_kind("Pod");
  req.set_bookmark_seconds(1);
  auto reader = stub_->Watch(&ctx, req);
  std::thread writer([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    EXPECT_TRUE(registry_->Create(Pod("w")).ok());
  });
  v1::WatchEvent event;
  std::vector<std::string> types;
  while (types.size() < 2 && reader->Read(&event)) types.push_back(event.type());
  writer.join();
  ASSERT_EQ(types.size(), 2u);
  EXPECT_EQ(types[0], "ADDED");
  EXPECT_EQ(types[1], "BOOKMARK");
  ctx.TryCancel();
  reader->Finish();

  grpc::ClientContext old_ctx;
  v1::WatchRequest old;
  old.set_kind("Pod");
  old.set_resource_version("x");
  auto bad = stub_->Watch(&old_ctx, old);
  EXPECT_FALSE(bad->Read(&event));
  EXPECT_EQ(bad->Finish().error_code(), grpc::StatusCode::INVALID_ARGUMENT);
}

size_t ThreadsOfThisProcess() {
  size_t n = 0;
  for ([[maybe_unused]] const auto& e : std::filesystem::directory_iterator("/proc/self/task")) ++n;
  return n;
}

// Watches run on the callback API: hundreds of open streams cost no
// thread each, every one gets its events, a cancelled one is forgotten,
// and a shutdown ends the rest cleanly.
TEST_F(ControlServiceTest, ManyWatchesShareAFewThreads) {
  constexpr int kWatches = 300;
  const size_t threads_before = ThreadsOfThisProcess();
  std::vector<std::unique_ptr<grpc::ClientContext>> contexts;
  std::vector<std::unique_ptr<grpc::ClientReader<v1::WatchEvent>>> readers;
  v1::WatchRequest req;
  req.set_kind("Pod");
  for (int i = 0; i < kWatches; ++i) {
    contexts.push_back(std::make_unique<grpc::ClientContext>());
    readers.push_back(stub_->Watch(contexts.back().get(), req));
  }
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
  while (service_->OpenWatches() < kWatches && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  ASSERT_EQ(service_->OpenWatches(), static_cast<size_t>(kWatches));
  // A thread per stream would add 300; gRPC's own pollers and executors
  // add a few.
  EXPECT_LT(ThreadsOfThisProcess(), threads_before + 40);

  ASSERT_OK(registry_->Create(Pod("seen-by-all")));
  for (auto& reader : readers) {
    v1::WatchEvent event;
    ASSERT_TRUE(reader->Read(&event));
    EXPECT_EQ(event.type(), "ADDED");
    EXPECT_EQ(event.object().pod().metadata().name(), "seen-by-all");
  }
  for (int i = 0; i < kWatches / 2; ++i) {
    contexts[i]->TryCancel();
    EXPECT_EQ(readers[i]->Finish().error_code(), grpc::StatusCode::CANCELLED);
  }
  while (service_->OpenWatches() > kWatches / 2 && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  EXPECT_EQ(service_->OpenWatches(), static_cast<size_t>(kWatches / 2));

  service_->Shutdown();
  for (int i = kWatches / 2; i < kWatches; ++i) {
    v1::WatchEvent event;
    EXPECT_FALSE(readers[i]->Read(&event));
    EXPECT_TRUE(readers[i]->Finish().ok());
  }
  // After a shutdown a new watch ends at once.
  grpc::ClientContext late;
  auto refused = stub_->Watch(&late, req);
  v1::WatchEvent event;
  EXPECT_FALSE(refused->Read(&event));
}

}  // namespace
}  // namespace berth::control

// berth.v1.Control served on a unix socket over the test's registry, with
// the authentication it is given, and clients that call it as a token's
// user.
#pragma once

#include <grpcpp/grpcpp.h>

#include "registry_fixture.h"

#include "berth/api/control_client.h"
#include "berth/control/audit_log.h"
#include "berth/control/auth.h"
#include "berth/control/control_service.h"

namespace berth::control {

class ServiceTest : public RegistryTest {
 protected:
  void StartService(AuthenticatorOptions authn, AuditLog* audit = nullptr) {
    auto created = Authenticator::Create(std::move(authn));
    ASSERT_OK(created);
    authn_ = std::make_unique<Authenticator>(std::move(*created));
    authz_ = std::make_unique<Authorizer>(*registry_);
    service_ = std::make_unique<ControlService>(
        *registry_, ControlServiceOptions{authn_.get(), authz_.get(), audit});
    grpc::ServerBuilder builder;
    address_ = "unix:" + (dir_ / "control.sock").string();
    builder.AddListeningPort(address_, grpc::InsecureServerCredentials());
    builder.RegisterService(service_.get());
    server_ = builder.BuildAndStart();
    ASSERT_NE(server_, nullptr);
  }
  void TearDown() override {
    if (service_) service_->Shutdown();
    if (server_) server_->Shutdown(std::chrono::system_clock::now() + std::chrono::seconds(2));
    server_.reset();
    RegistryTest::TearDown();
  }

  std::unique_ptr<api::ControlClient> As(const std::string& token) {
    auto client = api::ControlClient::Connect(address_, {.token = token});
    EXPECT_TRUE(client.ok());
    return std::move(*client);
  }

  std::unique_ptr<Authenticator> authn_;
  std::unique_ptr<Authorizer> authz_;
  std::unique_ptr<ControlService> service_;
  std::unique_ptr<grpc::Server> server_;
  std::string address_;
};

}  // namespace berth::control

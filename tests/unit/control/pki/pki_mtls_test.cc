// The PKI's certificates in a real mutual-TLS handshake: a gRPC server on
// 127.0.0.1 that requires and verifies client certificates against the
// cluster CA, and clients with good, missing, foreign and expired ones.
#include <chrono>
#include <future>
#include <memory>
#include <string>
#include <vector>

#include <grpcpp/create_channel.h>
#include <grpcpp/generic/async_generic_service.h>
#include <grpcpp/generic/generic_stub.h>
#include <grpcpp/grpcpp.h>
#include <grpcpp/security/credentials.h>
#include <grpcpp/security/server_credentials.h>
#include <gtest/gtest.h>

#include "test_support.h"

#include "berth/pki/pki.h"

namespace berth::control {

using pki::Certificate;
using pki::CreateCa;
using pki::IssueCertificate;
using pki::IssueOptions;
using pki::kClusterCaName;
using pki::Subject;
namespace {

constexpr char kMethod[] = "/berth.test.Peer/Name";

// Answers every call with the CN of the client certificate gRPC verified:
// the identity the control plane would authorize.
class PeerNameService : public grpc::CallbackGenericService {
 public:
  grpc::ServerGenericBidiReactor* CreateReactor(grpc::GenericCallbackServerContext* ctx) override {
    return new Reactor(ctx);
  }

 private:
  class Reactor : public grpc::ServerGenericBidiReactor {
   public:
    explicit Reactor(grpc::GenericCallbackServerContext* ctx) {
      std::string cn;
      for (const auto& v : ctx->auth_context()->FindPropertyValues("x509_common_name")) {
        cn.assign(v.data(), v.size());
      }
      grpc::Slice slice(cn);
      response_ = grpc::ByteBuffer(&slice, 1);
      StartWriteAndFinish(&response_, grpc::WriteOptions(), grpc::Status::OK);
    }
    void OnDone() override { delete this; }

   private:
    grpc::ByteBuffer response_;
  };
};

struct CallResult {
  grpc::Status status;
  std::string response;
};

class MtlsTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    auto ca = CreateCa(std::string(kClusterCaName));
    ASSERT_TRUE(ca.ok()) << ca.error().ToString();
    ca_ = new Certificate(std::move(ca).value());
    auto other = CreateCa("other-ca");
    ASSERT_TRUE(other.ok()) << other.error().ToString();
    other_ca_ = new Certificate(std::move(other).value());
  }
  static void TearDownTestSuite() {
    delete ca_;
    delete other_ca_;
  }

  void TearDown() override { StopServer(); }

  void StopServer() {
    if (server_) server_->Shutdown(std::chrono::system_clock::now() + std::chrono::seconds(2));
    server_.reset();
    // A generic service serves one server in its life: a new one per server.
    service_.reset();
  }

  static Certificate MustIssue(const Certificate& ca, const Subject& subject,
                               const IssueOptions& options) {
    auto cert = IssueCertificate(ca, subject, options);
    EXPECT_TRUE(cert.ok()) << cert.error().ToString();
    return cert.ok() ? std::move(cert).value() : Certificate{};
  }

  static Certificate ServerCert(std::vector<std::string> dns, std::vector<std::string> ips) {
    IssueOptions options;
    options.server = true;
    options.client = false;
    options.dns_names = std::move(dns);
    options.ip_addresses = std::move(ips);
    return MustIssue(*ca_, Subject{"berth-control", {}}, options);
  }

  static Certificate NodeCert(const Certificate& ca, int days = 365) {
    IssueOptions options;
    options.days = days;
    return MustIssue(ca, Subject{"system:node:n1", {"system:nodes"}}, options);
  }

  // Starts the server with `cert`, requiring client certificates from the
  // cluster CA; returns its port.
  int StartServer(const Certificate& cert) {
    grpc::SslServerCredentialsOptions options(
        GRPC_SSL_REQUEST_AND_REQUIRE_CLIENT_CERTIFICATE_AND_VERIFY);
    options.pem_root_certs = ca_->cert_pem;
    options.pem_key_cert_pairs.push_back({cert.key_pem, cert.cert_pem});
    grpc::ServerBuilder builder;
    int port = 0;
    builder.AddListeningPort("127.0.0.1:0", grpc::SslServerCredentials(options), &port);
    service_ = std::make_unique<PeerNameService>();
    builder.RegisterCallbackGenericService(service_.get());
    server_ = builder.BuildAndStart();
    EXPECT_TRUE(server_ != nullptr);
    EXPECT_GT(port, 0);
    return port;
  }

  // One unary call; fails fast (no wait_for_ready) when the handshake does.
  static CallResult Call(const std::string& target, const std::string& roots,
                         const Certificate* client) {
    grpc::SslCredentialsOptions options;
    options.pem_root_certs = roots;
    if (client != nullptr) {
      options.pem_private_key = client->key_pem;
      options.pem_cert_chain = client->cert_pem;
    }
    auto channel = grpc::CreateChannel(target, grpc::SslCredentials(options));
    grpc::GenericStub stub(channel);
    grpc::ClientContext ctx;
    ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
    grpc::Slice ping("ping");
    grpc::ByteBuffer request(&ping, 1);
    grpc::ByteBuffer response;
    std::promise<grpc::Status> done;
    stub.UnaryCall(&ctx, kMethod, grpc::StubOptions(), &request, &response,
                   [&done](const grpc::Status& s) { done.set_value(s); });
    CallResult result{done.get_future().get(), ""};
    std::vector<grpc::Slice> slices;
    if (result.status.ok() && response.Dump(&slices).ok()) {
      for (const auto& s : slices) {
        result.response.append(reinterpret_cast<const char*>(s.begin()), s.size());
      }
    }
    return result;
  }

  static const Certificate& ca() { return *ca_; }
  static const Certificate& other_ca() { return *other_ca_; }

 private:
  static Certificate* ca_;
  static Certificate* other_ca_;
  std::unique_ptr<PeerNameService> service_;
  std::unique_ptr<grpc::Server> server_;  // stopped before service_ goes
};

Certificate* MtlsTest::ca_ = nullptr;
Certificate* MtlsTest::other_ca_ = nullptr;

TEST_F(MtlsTest, ClientWithClusterCertIsAcceptedAndIdentified) {
  int port = StartServer(ServerCert({"localhost"}, {"127.0.0.1"}));
  Certificate node = NodeCert(ca());
  // By IP (the IP SAN) and by name (the DNS SAN).
  for (const std::string host : {"127.0.0.1", "localhost"}) {
    CallResult r = Call(host + ":" + std::to_string(port), ca().cert_pem, &node);
    EXPECT_TRUE(r.status.ok()) << host << ": " << r.status.error_code() << " "
                               << r.status.error_message();
    EXPECT_EQ(r.response, "system:node:n1");
  }
}

TEST_F(MtlsTest, ClientsWithoutAValidClusterCertAreRefused) {
  int port = StartServer(ServerCert({"localhost"}, {"127.0.0.1"}));
  const std::string target = "127.0.0.1:" + std::to_string(port);

  CallResult none = Call(target, ca().cert_pem, nullptr);
  EXPECT_EQ(none.status.error_code(), grpc::StatusCode::UNAVAILABLE) << none.status.error_message();

  Certificate foreign = NodeCert(other_ca());
  CallResult other = Call(target, ca().cert_pem, &foreign);
  EXPECT_EQ(other.status.error_code(), grpc::StatusCode::UNAVAILABLE)
      << other.status.error_message();

  Certificate expired = NodeCert(ca(), 0);
  CallResult old = Call(target, ca().cert_pem, &expired);
  EXPECT_EQ(old.status.error_code(), grpc::StatusCode::UNAVAILABLE) << old.status.error_message();
}

TEST_F(MtlsTest, ClientRefusesServerOutsideTheClusterCaOrSans) {
  Certificate node = NodeCert(ca());
  {
    int port = StartServer(ServerCert({"localhost"}, {"127.0.0.1"}));
    // A client that trusts another CA does not trust this server.
    CallResult r = Call("127.0.0.1:" + std::to_string(port), other_ca().cert_pem, &node);
    EXPECT_EQ(r.status.error_code(), grpc::StatusCode::UNAVAILABLE) << r.status.error_message();
  }
  StopServer();
  // A server certificate for another name: its SANs do not cover 127.0.0.1.
  int port = StartServer(ServerCert({"elsewhere.example"}, {"10.0.0.1"}));
  CallResult r = Call("127.0.0.1:" + std::to_string(port), ca().cert_pem, &node);
  EXPECT_EQ(r.status.error_code(), grpc::StatusCode::UNAVAILABLE) << r.status.error_message();
}

}  // namespace
}  // namespace berth::control

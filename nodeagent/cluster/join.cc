#include "join.h"

#include <netdb.h>
#include <unistd.h>

#include <sys/socket.h>

#include <memory>

#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include "berth/common/unique_fd.h"
#include "berth/pki/pki.h"

namespace berth::nodeagent {
namespace {

template <typename T, void (*Free)(T*)>
struct Deleter {
  void operator()(T* p) const { Free(p); }
};
using SslCtx = std::unique_ptr<SSL_CTX, Deleter<SSL_CTX, SSL_CTX_free>>;
using Ssl = std::unique_ptr<SSL, Deleter<SSL, SSL_free>>;
using Bio = std::unique_ptr<BIO, Deleter<BIO, BIO_free_all>>;
using Key = std::unique_ptr<EVP_PKEY, Deleter<EVP_PKEY, EVP_PKEY_free>>;

Result<UniqueFd> Dial(const std::string& host, const std::string& port) {
  addrinfo hints{};
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* res = nullptr;
  if (int rc = ::getaddrinfo(host.c_str(), port.c_str(), &hints, &res); rc != 0) {
    return Error::Sys(EHOSTUNREACH, "resolve " + host + ": " + ::gai_strerror(rc));
  }
  Status last = Error::Sys(ECONNREFUSED, "connect " + host + ":" + port);
  for (addrinfo* a = res; a != nullptr; a = a->ai_next) {
    UniqueFd fd(::socket(a->ai_family, a->ai_socktype | SOCK_CLOEXEC, a->ai_protocol));
    if (!fd) continue;
    if (::connect(fd.get(), a->ai_addr, a->ai_addrlen) == 0) {
      ::freeaddrinfo(res);
      return fd;
    }
    last = Error::FromErrno("connect " + host + ":" + port);
  }
  ::freeaddrinfo(res);
  return last.error();
}

std::string Pem(X509* cert) {
  Bio bio(BIO_new(BIO_s_mem()));
  if (!bio || PEM_write_bio_X509(bio.get(), cert) != 1) return "";
  char* data = nullptr;
  const long n = BIO_get_mem_data(bio.get(), &data);
  return std::string(data, static_cast<size_t>(n));
}

}  // namespace

Result<std::string> DiscoverCa(const std::string& address, const std::string& pin) {
  const size_t colon = address.rfind(':');
  if (colon == std::string::npos) return Error::Invalid(address + ": expected host:port");
  std::string host = address.substr(0, colon);
  if (host.size() > 1 && host.front() == '[') host = host.substr(1, host.size() - 2);
  BERTH_ASSIGN_OR_RETURN(UniqueFd fd, Dial(host, address.substr(colon + 1)));
  SslCtx ctx(SSL_CTX_new(TLS_client_method()));
  if (!ctx) return Error::Msg("TLS context");
  // Nothing is trusted yet: the chain is read, then judged by the pin.
  SSL_CTX_set_verify(ctx.get(), SSL_VERIFY_NONE, nullptr);
  static const unsigned char kAlpn[] = {2, 'h', '2'};  // gRPC servers insist on h2
  SSL_CTX_set_alpn_protos(ctx.get(), kAlpn, sizeof(kAlpn));
  Ssl ssl(SSL_new(ctx.get()));
  if (!ssl) return Error::Msg("TLS session");
  SSL_set_fd(ssl.get(), fd.get());
  SSL_set_tlsext_host_name(ssl.get(), host.c_str());
  if (SSL_connect(ssl.get()) != 1) {
    return Error::Sys(EPROTO, "TLS handshake with " + address + " failed");
  }
  STACK_OF(X509)* chain = SSL_get_peer_cert_chain(ssl.get());
  X509* leaf = SSL_get0_peer_certificate(ssl.get());
  for (int i = 0; chain != nullptr && i < sk_X509_num(chain); ++i) {
    X509* cert = sk_X509_value(chain, i);
    std::string pem = Pem(cert);
    if (pem.empty() || !pki::VerifyPublicKeyPin(pem, pin).ok()) continue;
    Key key(X509_get_pubkey(cert));
    if (leaf == nullptr || !key || X509_verify(leaf, key.get()) != 1) {
      return Error::Sys(EACCES, address + ": its certificate is not signed by the pinned CA");
    }
    (void)SSL_shutdown(ssl.get());
    return pem;
  }
  return Error::Sys(EACCES, address + " presents no CA matching --ca-cert-hash " + pin);
}

Result<api::ClientCredentials> JoinCluster(const JoinOptions& o) {
  std::string ca = o.ca_pem;
  if (ca.empty()) {
    if (o.ca_pin.empty()) {
      return Error::Invalid("join " + o.address +
                            ": give the CA (--ca-cert) or its pin (--ca-cert-hash)");
    }
    BERTH_ASSIGN_OR_RETURN(ca, DiscoverCa(o.address, o.ca_pin));
  } else if (!o.ca_pin.empty()) {
    if (auto st = pki::VerifyPublicKeyPin(ca, o.ca_pin); !st.ok()) {
      return std::move(st).error().Wrap("join " + o.address +
                                        ": the CA does not match --ca-cert-hash");
    }
  }
  auto key = pki::GeneratePrivateKey();
  if (!key.ok()) return std::move(key).error().Wrap("join: node key");
  auto csr = pki::CreateCsr(*key, {std::string("system:node:") + o.node_name, {"system:nodes"}});
  if (!csr.ok()) return std::move(csr).error().Wrap("join: certificate request");
  auto client = api::ControlClient::Connect(o.address, {.ca_pem = ca, .token = o.token});
  if (!client.ok()) return client.error();
  auto joined = (*client)->Join(o.node_name, *csr);
  if (!joined.ok())
    return std::move(joined).error().Wrap("join " + o.address + " as " + o.node_name);
  return api::ClientCredentials{
      .ca_pem = joined->ca_pem(), .cert_pem = joined->certificate_pem(), .key_pem = *key};
}

}  // namespace berth::nodeagent

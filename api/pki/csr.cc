// Private keys and certificate requests: the joining node's side of the PKI
// (GeneratePrivateKey, CreateCsr) and the CA's first look at what it was sent
// (ReadCsr).
#include <openssl/evp.h>
#include <openssl/x509.h>

#include "openssl_handles.h"

#include "berth/pki/pki.h"

namespace berth::pki {

namespace detail {

// NIST SP 800-57's floor for keys in use today: 112 bits (RSA 2048, P-224).
// A node could otherwise get a certificate for a key anyone can factor.
constexpr int kMinSecurityBits = 112;

Result<X509ReqPtr> ParseVerifiedCertRequest(const std::string& pem) {
  BERTH_ASSIGN_OR_RETURN(X509ReqPtr req, ParseCertRequest(pem));
  EVP_PKEY* key = X509_REQ_get0_pubkey(req.get());  // borrowed from req
  if (key == nullptr) return InvalidInput("certificate request: unreadable public key");
  // The self-signature proves the sender holds the private key; without it
  // anyone could get a certificate for someone else's public key.
  if (X509_REQ_verify(req.get(), key) != 1) {
    return InvalidInput("certificate request: bad self-signature");
  }
  int bits = EVP_PKEY_get_security_bits(key);
  if (bits < kMinSecurityBits) {
    return Error::Invalid("certificate request: " + std::string(EVP_PKEY_get0_type_name(key)) +
                          " key has " + std::to_string(bits) + " bits of security, want at least " +
                          std::to_string(kMinSecurityBits));
  }
  return req;
}

}  // namespace detail

using namespace detail;

Result<std::string> GeneratePrivateKey() {
  BERTH_ASSIGN_OR_RETURN(PkeyPtr key, NewEcKey());
  return PrivateKeyToPem(key.get());
}

Result<std::string> CreateCsr(const std::string& key_pem, const Subject& subject) {
  const std::string ctx = "create certificate request for " + DescribeSubject(subject);
  auto key = ParsePrivateKey(key_pem, "private key");
  if (!key.ok()) return std::move(key).error().Wrap(ctx);
  auto name = NameFromSubject(subject);
  if (!name.ok()) return std::move(name).error().Wrap(ctx);

  X509ReqPtr req(X509_REQ_new());
  if (!req) return OpenSslError("X509_REQ_new").Wrap(ctx);
  if (X509_REQ_set_version(req.get(), X509_REQ_VERSION_1) != 1 ||
      X509_REQ_set_subject_name(req.get(), name->get()) != 1 ||
      X509_REQ_set_pubkey(req.get(), key->get()) != 1) {
    return OpenSslError("fill X509_REQ").Wrap(ctx);
  }
  if (X509_REQ_sign(req.get(), key->get(), EVP_sha256()) <= 0) {
    return OpenSslError("X509_REQ_sign").Wrap(ctx);
  }
  return CertRequestToPem(req.get()).Wrap(ctx);
}

Result<Subject> ReadCsr(const std::string& csr_pem) {
  BERTH_ASSIGN_OR_RETURN(X509ReqPtr req, ParseVerifiedCertRequest(csr_pem));
  return SubjectFromName(X509_REQ_get_subject_name(req.get())).Wrap("certificate request");
}

}  // namespace berth::pki

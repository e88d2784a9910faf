// Reading and checking certificates: ReadCertificate, VerifyCertificate and
// the kubeadm-style public key pin a joining node checks the CA against.
#include <algorithm>
#include <cctype>
#include <ctime>

#include <openssl/asn1.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/x509.h>
#include <openssl/x509_vfy.h>

#include "openssl_handles.h"

#include "berth/pki/pki.h"

namespace berth::pki {

using namespace detail;

namespace {

constexpr std::string_view kPinPrefix = "sha256:";

Result<int64_t> UnixSeconds(const ASN1_TIME* time) {
  struct tm tm {};
  if (ASN1_TIME_to_tm(time, &tm) != 1) return InvalidInput("certificate: unreadable time");
  return static_cast<int64_t>(::timegm(&tm));
}

// "2035-01-02T03:04:05Z", for error messages.
std::string Rfc3339(const ASN1_TIME* time) {
  struct tm tm {};
  if (ASN1_TIME_to_tm(time, &tm) != 1) return "(unreadable time)";
  char buf[32];
  size_t n = std::strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%SZ", &tm);
  return std::string(buf, n);
}

// SHA-256 over a DER encoding libcrypto produces with `i2d`.
template <typename T, typename I2d>
Result<std::string> Sha256OfDer(T* object, I2d i2d, const std::string& what) {
  unsigned char* raw = nullptr;
  int len = i2d(object, &raw);
  if (len <= 0) return OpenSslError("encode " + what);
  OpenSslBytes der(raw);
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int md_len = 0;
  if (EVP_Digest(der.get(), static_cast<size_t>(len), md, &md_len, EVP_sha256(), nullptr) != 1) {
    return OpenSslError("SHA-256 of " + what);
  }
  return Hex(md, md_len);
}

}  // namespace

Result<CertInfo> ReadCertificate(const std::string& cert_pem) {
  BERTH_ASSIGN_OR_RETURN(X509Ptr cert, ParseCertificate(cert_pem, "certificate"));
  CertInfo info;
  BERTH_ASSIGN_OR_RETURN(info.subject, SubjectFromName(X509_get_subject_name(cert.get())));
  BERTH_ASSIGN_OR_RETURN(info.not_after, UnixSeconds(X509_get0_notAfter(cert.get())));
  BERTH_ASSIGN_OR_RETURN(info.sha256, Sha256OfDer(cert.get(), i2d_X509, "certificate"));
  return info;
}

Status VerifyCertificate(const std::string& ca_pem, const std::string& cert_pem) {
  BERTH_ASSIGN_OR_RETURN(X509Ptr ca, ParseCertificate(ca_pem, "CA certificate"));
  BERTH_ASSIGN_OR_RETURN(X509Ptr cert, ParseCertificate(cert_pem, "certificate"));
  X509StorePtr store(X509_STORE_new());
  if (!store) return OpenSslError("verify certificate: X509_STORE_new");
  // The store takes its own reference to `ca`.
  if (X509_STORE_add_cert(store.get(), ca.get()) != 1) {
    return OpenSslError("verify certificate: add the CA to the store");
  }
  X509StoreCtxPtr ctx(X509_STORE_CTX_new());
  if (!ctx) return OpenSslError("verify certificate: X509_STORE_CTX_new");
  if (X509_STORE_CTX_init(ctx.get(), store.get(), cert.get(), nullptr) != 1) {
    return OpenSslError("verify certificate: X509_STORE_CTX_init");
  }
  // RFC 5280 strictly (AKI/SKI present, well-formed extensions): everything
  // this module issues passes, and nothing else should be trusted here.
  X509_STORE_CTX_set_flags(ctx.get(), X509_V_FLAG_X509_STRICT);
  int rc = X509_verify_cert(ctx.get());
  if (rc == 1) return Ok();
  int err = X509_STORE_CTX_get_error(ctx.get());
  // Verification failures land in the ctx; the error queue may hold
  // leftovers that must not name a later, unrelated failure.
  ERR_clear_error();
  if (rc < 0 || err == X509_V_OK) return Error::Msg("verify certificate: X509_verify_cert failed");
  // Depth 0 is the certificate itself, 1 the CA.
  bool is_ca = X509_STORE_CTX_get_error_depth(ctx.get()) > 0;
  const X509* failed = is_ca ? ca.get() : cert.get();
  const std::string whose = is_ca ? "certificate: the cluster CA" : "certificate";
  switch (err) {
    case X509_V_ERR_CERT_HAS_EXPIRED:
      return Error::Sys(EACCES, whose + " expired at " + Rfc3339(X509_get0_notAfter(failed)));
    case X509_V_ERR_CERT_NOT_YET_VALID:
      return Error::Sys(EACCES,
                        whose + " is not valid before " + Rfc3339(X509_get0_notBefore(failed)));
    default:
      return Error::Sys(EACCES, "certificate: not signed by the cluster CA (" +
                                    std::string(X509_verify_cert_error_string(err)) + ")");
  }
}

Result<std::string> PublicKeyPin(const std::string& cert_pem) {
  BERTH_ASSIGN_OR_RETURN(X509Ptr cert, ParseCertificate(cert_pem, "certificate"));
  // kubeadm hashes RawSubjectPublicKeyInfo: the DER of the X509_PUBKEY.
  X509_PUBKEY* spki = X509_get_X509_PUBKEY(cert.get());  // borrowed from cert
  BERTH_ASSIGN_OR_RETURN(std::string hex, Sha256OfDer(spki, i2d_X509_PUBKEY, "public key"));
  return std::string(kPinPrefix) + hex;
}

Status VerifyPublicKeyPin(const std::string& cert_pem, std::string_view pin) {
  constexpr size_t kHexLength = 64;
  std::string want(pin);
  for (char& c : want) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  std::string_view hex = std::string_view(want).substr(std::min(kPinPrefix.size(), want.size()));
  if (!want.starts_with(kPinPrefix) || hex.size() != kHexLength ||
      hex.find_first_not_of("0123456789abcdef") != std::string_view::npos) {
    return Error::Invalid("public key pin \"" + std::string(pin) +
                          "\": want \"sha256:\" and 64 hex digits");
  }
  BERTH_ASSIGN_OR_RETURN(std::string got, PublicKeyPin(cert_pem));
  if (got != want) {
    return Error::Sys(EACCES, "CA public key pin is " + got + ", want " + want);
  }
  return Ok();
}

}  // namespace berth::pki

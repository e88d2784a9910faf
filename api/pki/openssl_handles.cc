#include "openssl_handles.h"

#include <openssl/buffer.h>
#include <openssl/err.h>
#include <openssl/pem.h>

namespace berth::pki::detail {
namespace {

// PEM inputs come from files and from the network (a joining node's CSR);
// nothing legitimate is near this size, and it keeps lengths inside int.
constexpr size_t kMaxPemSize = 1 << 20;

// X.520 upper bounds (RFC 5280 appendix A): ub-common-name and
// ub-organization-name are both 64.
constexpr size_t kMaxNameLength = 64;

std::string TakeOpenSslReason() {
  unsigned long code = ERR_get_error();
  ERR_clear_error();
  if (code == 0) return {};
  char buf[256];
  ERR_error_string_n(code, buf, sizeof(buf));
  return buf;
}

// Reads an unencrypted key only: with a null callback libcrypto would prompt
// for a passphrase on the controlling terminal of a daemon.
int NoPassphrase(char* /*buf*/, int /*size*/, int /*rwflag*/, void* /*userdata*/) { return 0; }

Result<BioPtr> ReadOnlyBio(const std::string& pem, const std::string& what) {
  if (pem.size() > kMaxPemSize) {
    return Error::Invalid(what + ": " + std::to_string(pem.size()) + " bytes of PEM, more than " +
                          std::to_string(kMaxPemSize));
  }
  // BIO_new_mem_buf borrows the buffer without copying; `pem` outlives it.
  BioPtr bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
  if (!bio) return OpenSslError(what + ": BIO_new_mem_buf");
  return bio;
}

// Collects what a PEM_write_bio_* call wrote into a memory BIO. The BIO's
// buffer is freed with OPENSSL_clear_free, so a key's PEM leaves no copy
// behind in libcrypto's heap.
template <typename Write>
Result<std::string> WritePem(const std::string& what, Write write) {
  BioPtr bio(BIO_new(BIO_s_mem()));
  if (!bio) return OpenSslError(what + ": BIO_new");
  if (write(bio.get()) != 1) return OpenSslError(what);
  BUF_MEM* mem = nullptr;
  BIO_get_mem_ptr(bio.get(), &mem);
  if (mem == nullptr) return OpenSslError(what + ": BIO_get_mem_ptr");
  return std::string(mem->data, mem->length);
}

Result<std::string> EntryText(const X509_NAME_ENTRY* entry) {
  unsigned char* raw = nullptr;
  int n = ASN1_STRING_to_UTF8(&raw, X509_NAME_ENTRY_get_data(entry));
  if (n < 0) return InvalidInput("subject: attribute is not a valid string");
  OpenSslBytes utf8(raw);
  return std::string(reinterpret_cast<const char*>(utf8.get()), static_cast<size_t>(n));
}

Status CheckNameValue(const std::string& value, const std::string& what) {
  if (value.empty()) return Error::Invalid(what + " is empty");
  // A NUL would let "evil\0.good" read differently to C and to us.
  if (value.find('\0') != std::string::npos) return Error::Invalid(what + " contains a NUL byte");
  if (value.size() > kMaxNameLength) {
    return Error::Invalid(what + " is " + std::to_string(value.size()) + " bytes, X.520 allows " +
                          std::to_string(kMaxNameLength));
  }
  return Ok();
}

Status AddNameEntry(X509_NAME* name, int nid, const std::string& value, const std::string& what) {
  BERTH_TRY(CheckNameValue(value, what));
  // Explicit length and MBSTRING_UTF8: libcrypto checks the UTF-8 and picks
  // the string type; values are data, never parsed as "/CN=..." syntax.
  if (X509_NAME_add_entry_by_NID(name, nid, MBSTRING_UTF8,
                                 reinterpret_cast<const unsigned char*>(value.data()),
                                 static_cast<int>(value.size()), -1, 0) != 1) {
    return InvalidInput(what + " \"" + value + "\"");
  }
  return Ok();
}

}  // namespace

Error OpenSslError(const std::string& what) {
  std::string reason = TakeOpenSslReason();
  if (reason.empty()) return Error::Msg(what + " failed");
  return Error::Msg(what + ": " + reason);
}

Error InvalidInput(const std::string& what) {
  std::string reason = TakeOpenSslReason();
  if (reason.empty()) return Error::Invalid(what);
  return Error::Invalid(what + ": " + reason);
}

Result<PkeyPtr> ParsePrivateKey(const std::string& pem, const std::string& what) {
  BERTH_ASSIGN_OR_RETURN(BioPtr bio, ReadOnlyBio(pem, what));
  PkeyPtr key(PEM_read_bio_PrivateKey(bio.get(), nullptr, NoPassphrase, nullptr));
  if (!key) return InvalidInput(what + ": no unencrypted PEM private key");
  return key;
}

Result<X509Ptr> ParseCertificate(const std::string& pem, const std::string& what) {
  BERTH_ASSIGN_OR_RETURN(BioPtr bio, ReadOnlyBio(pem, what));
  X509Ptr cert(PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr));
  if (!cert) return InvalidInput(what + ": no PEM certificate");
  return cert;
}

Result<X509ReqPtr> ParseCertRequest(const std::string& pem) {
  const std::string what = "certificate request";
  BERTH_ASSIGN_OR_RETURN(BioPtr bio, ReadOnlyBio(pem, what));
  X509ReqPtr req(PEM_read_bio_X509_REQ(bio.get(), nullptr, nullptr, nullptr));
  if (!req) return InvalidInput(what + ": no PEM certificate request");
  return req;
}

Result<std::string> PrivateKeyToPem(EVP_PKEY* key) {
  // PEM_write_bio_PrivateKey writes PKCS#8 ("BEGIN PRIVATE KEY") in OpenSSL 3.
  return WritePem("encode private key", [key](BIO* bio) {
    return PEM_write_bio_PrivateKey(bio, key, nullptr, nullptr, 0, nullptr, nullptr);
  });
}

Result<std::string> CertificateToPem(X509* cert) {
  return WritePem("encode certificate", [cert](BIO* bio) { return PEM_write_bio_X509(bio, cert); });
}

Result<std::string> CertRequestToPem(X509_REQ* req) {
  return WritePem("encode certificate request",
                  [req](BIO* bio) { return PEM_write_bio_X509_REQ(bio, req); });
}

Result<PkeyPtr> NewEcKey() {
  PkeyPtr key(EVP_EC_gen(SN_X9_62_prime256v1));
  if (!key) return OpenSslError("generate EC P-256 key");
  return key;
}

Result<X509NamePtr> NameFromSubject(const Subject& subject) {
  X509NamePtr name(X509_NAME_new());
  if (!name) return OpenSslError("X509_NAME_new");
  for (const auto& org : subject.organizations) {
    BERTH_TRY(AddNameEntry(name.get(), NID_organizationName, org, "subject O"));
  }
  BERTH_TRY(AddNameEntry(name.get(), NID_commonName, subject.common_name, "subject CN"));
  return name;
}

Result<Subject> SubjectFromName(const X509_NAME* name) {
  Subject subject;
  int cn = X509_NAME_get_index_by_NID(name, NID_commonName, -1);
  if (cn >= 0) {
    BERTH_ASSIGN_OR_RETURN(subject.common_name, EntryText(X509_NAME_get_entry(name, cn)));
  }
  for (int i = X509_NAME_get_index_by_NID(name, NID_organizationName, -1); i >= 0;
       i = X509_NAME_get_index_by_NID(name, NID_organizationName, i)) {
    BERTH_ASSIGN_OR_RETURN(std::string org, EntryText(X509_NAME_get_entry(name, i)));
    subject.organizations.push_back(std::move(org));
  }
  return subject;
}

std::string DescribeSubject(const Subject& subject) {
  std::string out = "CN=" + subject.common_name;
  for (const auto& org : subject.organizations) out += ",O=" + org;
  return out;
}

std::string Hex(const unsigned char* data, size_t size) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out;
  out.reserve(size * 2);
  for (size_t i = 0; i < size; ++i) {
    out.push_back(kDigits[data[i] >> 4]);
    out.push_back(kDigits[data[i] & 0xf]);
  }
  return out;
}

}  // namespace berth::pki::detail

// The CA's side of the PKI: creating the cluster CA and issuing certificates
// from it (CreateCa, SignCsr, IssueCertificate).
#include <ctime>

#include <openssl/asn1.h>
#include <openssl/bn.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "openssl_handles.h"

#include "berth/pki/pki.h"

namespace berth::pki {

using namespace detail;

namespace {

// notBefore is backdated so a node whose clock is a little behind the
// control plane's still accepts a certificate issued a moment ago.
constexpr long kClockSkewSeconds = 5L * 60;
// 100 years: past that X509_time_adj_ex's arithmetic is the least of the
// problems; nothing in a cluster should need it.
constexpr int kMaxDays = 36500;
// RFC 5280 4.1.2.2 allows 20 octets; CA/B requires 64 random bits. 128 as Go
// and kubeadm use.
constexpr int kSerialBytes = 16;
// RFC 1035: 253 characters of name, labels of 1-63.
constexpr size_t kMaxDnsName = 253;
constexpr size_t kMaxDnsLabel = 63;

// The CA and its key, checked to belong together.
struct Issuer {
  X509Ptr cert;
  PkeyPtr key;
};

Result<Issuer> LoadIssuer(const Certificate& ca) {
  Issuer issuer;
  BERTH_ASSIGN_OR_RETURN(issuer.cert, ParseCertificate(ca.cert_pem, "CA certificate"));
  BERTH_ASSIGN_OR_RETURN(issuer.key, ParsePrivateKey(ca.key_pem, "CA private key"));
  if (X509_check_private_key(issuer.cert.get(), issuer.key.get()) != 1) {
    return InvalidInput("CA private key does not match the CA certificate");
  }
  // X509_check_ca: 0 means no CA:TRUE basicConstraints (or keyUsage without
  // keyCertSign); a leaf could otherwise be used to mint certificates that
  // every verifier would then reject anyway.
  if (X509_check_ca(issuer.cert.get()) == 0) {
    return Error::Invalid("CA certificate: not a CA (no basicConstraints CA:TRUE)");
  }
  return issuer;
}

Status CheckDays(int days) {
  if (days < 0 || days > kMaxDays) {
    return Error::Invalid("validity of " + std::to_string(days) + " days, want 0 to " +
                          std::to_string(kMaxDays));
  }
  return Ok();
}

// notBefore = now - skew, notAfter = now + days, but never past the issuer's
// notAfter: a certificate outliving its CA would only look valid.
Status SetValidity(X509* cert, int days, const X509* issuer) {
  BERTH_TRY(CheckDays(days));
  time_t now = std::time(nullptr);
  if (X509_time_adj_ex(X509_getm_notBefore(cert), 0, -kClockSkewSeconds, &now) == nullptr ||
      X509_time_adj_ex(X509_getm_notAfter(cert), days, 0, &now) == nullptr) {
    return OpenSslError("set validity");
  }
  if (issuer != nullptr &&
      ASN1_TIME_compare(X509_get0_notAfter(cert), X509_get0_notAfter(issuer)) > 0 &&
      X509_set1_notAfter(cert, X509_get0_notAfter(issuer)) != 1) {
    return OpenSslError("limit notAfter to the CA's");
  }
  return Ok();
}

Status SetRandomSerial(X509* cert) {
  unsigned char bytes[kSerialBytes];
  BignumPtr bn;
  // RFC 5280 wants a positive serial; zero comes up once in 2^128 draws.
  do {
    if (RAND_bytes(bytes, sizeof(bytes)) != 1) return OpenSslError("serial number: RAND_bytes");
    bn.reset(BN_bin2bn(bytes, sizeof(bytes), nullptr));
    if (!bn) return OpenSslError("serial number: BN_bin2bn");
  } while (BN_is_zero(bn.get()));
  // BN_to_ASN1_INTEGER fills the certificate's own (borrowed) serial.
  if (BN_to_ASN1_INTEGER(bn.get(), X509_get_serialNumber(cert)) == nullptr) {
    return OpenSslError("serial number: BN_to_ASN1_INTEGER");
  }
  return Ok();
}

// `value` is always a constant of this file, never caller data: the
// X509V3 config syntax would let "a,IP:..." smuggle in more than one value.
Status AddExtension(X509* cert, X509* issuer, int nid, const char* value) {
  X509V3_CTX ctx;
  X509V3_set_ctx_nodb(&ctx);
  // The issuer's subjectKeyIdentifier feeds "keyid:always"; the subject's
  // public key feeds "hash".
  X509V3_set_ctx(&ctx, issuer, cert, nullptr, nullptr, 0);
  X509ExtPtr ext(X509V3_EXT_conf_nid(nullptr, &ctx, nid, value));
  if (!ext) return OpenSslError(std::string("extension ") + OBJ_nid2sn(nid) + "=" + value);
  if (X509_add_ext(cert, ext.get(), -1) != 1) {
    return OpenSslError(std::string("add extension ") + OBJ_nid2sn(nid));
  }
  return Ok();
}

// RFC 1123 host names, optionally with a leftmost "*" label (TLS wildcard).
Status CheckDnsName(const std::string& name) {
  const std::string what = "subjectAltName DNS \"" + name + "\"";
  if (name.empty() || name.size() > kMaxDnsName) {
    return Error::Invalid(what + ": want 1 to " + std::to_string(kMaxDnsName) + " characters");
  }
  size_t start = 0;
  while (start <= name.size()) {
    size_t end = name.find('.', start);
    if (end == std::string::npos) end = name.size();
    std::string_view label(name.data() + start, end - start);
    if (label.empty() || label.size() > kMaxDnsLabel) {
      return Error::Invalid(what + ": empty or over-long label");
    }
    bool wildcard = start == 0 && label == "*" && end != name.size();
    for (char c : label) {
      bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                c == '-' || (wildcard && c == '*');
      if (!ok) return Error::Invalid(what + ": invalid character");
    }
    if (!wildcard && (label.front() == '-' || label.back() == '-')) {
      return Error::Invalid(what + ": label starts or ends with '-'");
    }
    start = end + 1;
  }
  return Ok();
}

// Built as GENERAL_NAMEs, not config text, so a name is only ever one name.
Status AddSubjectAltNames(X509* cert, const IssueOptions& options) {
  if (options.dns_names.empty() && options.ip_addresses.empty()) return Ok();
  GeneralNamesPtr names(GENERAL_NAMES_new());
  if (!names) return OpenSslError("GENERAL_NAMES_new");
  auto add = [&](int type, const std::string& value, const std::string& what) -> Status {
    if (value.find('\0') != std::string::npos) {
      return Error::Invalid(what + " contains a NUL byte");
    }
    // a2i_GENERAL_NAME copies a DNS name into an IA5String and parses an IP
    // address into its 4 or 16 octets (NULL for "10.0.0.300").
    GeneralNamePtr name(a2i_GENERAL_NAME(nullptr, nullptr, nullptr, type, value.c_str(), 0));
    if (!name) return InvalidInput(what);
    if (sk_GENERAL_NAME_push(names.get(), name.get()) == 0) {
      return OpenSslError("add " + what);
    }
    (void)name.release();  // now owned by `names`
    return Ok();
  };
  for (const auto& dns : options.dns_names) {
    BERTH_TRY(CheckDnsName(dns));
    BERTH_TRY(add(GEN_DNS, dns, "subjectAltName DNS \"" + dns + "\""));
  }
  for (const auto& ip : options.ip_addresses) {
    BERTH_TRY(add(GEN_IPADD, ip, "subjectAltName IP \"" + ip + "\""));
  }
  if (X509_add1_ext_i2d(cert, NID_subject_alt_name, names.get(), 0, X509V3_ADD_DEFAULT) != 1) {
    return OpenSslError("add subjectAltName");
  }
  return Ok();
}

// The fields every certificate here shares: v3, random serial, subject,
// issuer, validity, public key, SKI.
Result<X509Ptr> NewCertificate(const Subject& subject, EVP_PKEY* public_key, int days,
                               const X509* issuer) {
  BERTH_ASSIGN_OR_RETURN(X509NamePtr name, NameFromSubject(subject));
  X509Ptr cert(X509_new());
  if (!cert) return OpenSslError("X509_new");
  if (X509_set_version(cert.get(), X509_VERSION_3) != 1) return OpenSslError("X509_set_version");
  BERTH_TRY(SetRandomSerial(cert.get()));
  if (X509_set_subject_name(cert.get(), name.get()) != 1) return OpenSslError("set subject");
  // A self-signed certificate is its own issuer.
  const X509_NAME* issuer_name = issuer != nullptr ? X509_get_subject_name(issuer) : name.get();
  if (X509_set_issuer_name(cert.get(), issuer_name) != 1) return OpenSslError("set issuer");
  BERTH_TRY(SetValidity(cert.get(), days, issuer));
  if (X509_set_pubkey(cert.get(), public_key) != 1) return OpenSslError("set public key");
  BERTH_TRY(AddExtension(cert.get(), nullptr, NID_subject_key_identifier, "hash"));
  return cert;
}

Result<std::string> SignWith(X509* cert, EVP_PKEY* key) {
  // X509_sign returns the signature's size, 0 on failure.
  if (X509_sign(cert, key, EVP_sha256()) <= 0) return OpenSslError("X509_sign");
  return CertificateToPem(cert);
}

// A leaf certificate for `public_key`, signed by `issuer`.
Result<std::string> IssueLeaf(const Issuer& issuer, const Subject& subject, EVP_PKEY* public_key,
                              const IssueOptions& options) {
  if (!options.server && !options.client) {
    return Error::Invalid("neither server nor client usage requested");
  }
  BERTH_ASSIGN_OR_RETURN(X509Ptr cert,
                         NewCertificate(subject, public_key, options.days, issuer.cert.get()));
  X509* c = cert.get();
  BERTH_TRY(AddExtension(c, nullptr, NID_basic_constraints, "critical,CA:FALSE"));
  BERTH_TRY(AddExtension(c, nullptr, NID_key_usage, "critical,digitalSignature,keyEncipherment"));
  const char* eku = options.server && options.client ? "serverAuth,clientAuth"
                    : options.server                 ? "serverAuth"
                                                     : "clientAuth";
  BERTH_TRY(AddExtension(c, nullptr, NID_ext_key_usage, eku));
  BERTH_TRY(AddExtension(c, issuer.cert.get(), NID_authority_key_identifier, "keyid:always"));
  BERTH_TRY(AddSubjectAltNames(c, options));
  return SignWith(c, issuer.key.get());
}

}  // namespace

Result<Certificate> CreateCa(const std::string& common_name, int days) {
  const std::string ctx = "create CA CN=" + common_name;
  auto make = [&]() -> Result<Certificate> {
    BERTH_ASSIGN_OR_RETURN(PkeyPtr key, NewEcKey());
    BERTH_ASSIGN_OR_RETURN(X509Ptr cert,
                           NewCertificate(Subject{common_name, {}}, key.get(), days, nullptr));
    BERTH_TRY(AddExtension(cert.get(), nullptr, NID_basic_constraints, "critical,CA:TRUE"));
    BERTH_TRY(AddExtension(cert.get(), nullptr, NID_key_usage, "critical,keyCertSign,cRLSign"));
    Certificate ca;
    BERTH_ASSIGN_OR_RETURN(ca.cert_pem, SignWith(cert.get(), key.get()));
    BERTH_ASSIGN_OR_RETURN(ca.key_pem, PrivateKeyToPem(key.get()));
    return ca;
  };
  return make().Wrap(ctx);
}

Result<std::string> SignCsr(const Certificate& ca, const std::string& csr_pem,
                            const IssueOptions& options) {
  auto sign = [&](std::string& ctx) -> Result<std::string> {
    BERTH_ASSIGN_OR_RETURN(X509ReqPtr req, ParseVerifiedCertRequest(csr_pem));
    // Only CN and O are carried over, and only when the CA does not decide
    // the subject itself; extensions the CSR asks for are never copied.
    Subject subject;
    if (options.subject) {
      subject = *options.subject;
    } else {
      BERTH_ASSIGN_OR_RETURN(subject, SubjectFromName(X509_REQ_get_subject_name(req.get())));
    }
    ctx += " for " + DescribeSubject(subject);
    BERTH_ASSIGN_OR_RETURN(Issuer issuer, LoadIssuer(ca));
    return IssueLeaf(issuer, subject, X509_REQ_get0_pubkey(req.get()), options);
  };
  std::string ctx = "sign certificate request";
  auto pem = sign(ctx);
  return std::move(pem).Wrap(ctx);
}

Result<Certificate> IssueCertificate(const Certificate& ca, const Subject& subject,
                                     const IssueOptions& options) {
  auto issue = [&]() -> Result<Certificate> {
    BERTH_ASSIGN_OR_RETURN(Issuer issuer, LoadIssuer(ca));
    BERTH_ASSIGN_OR_RETURN(PkeyPtr key, NewEcKey());
    Certificate out;
    BERTH_ASSIGN_OR_RETURN(out.cert_pem, IssueLeaf(issuer, subject, key.get(), options));
    BERTH_ASSIGN_OR_RETURN(out.key_pem, PrivateKeyToPem(key.get()));
    return out;
  };
  return issue().Wrap("issue certificate for " + DescribeSubject(subject));
}

}  // namespace berth::pki

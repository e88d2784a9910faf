#include "berth/pki/pki.h"

#include <sys/stat.h>

#include <cctype>
#include <ctime>
#include <filesystem>
#include <memory>
#include <set>
#include <string>

#include <gtest/gtest.h>
#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "test_support.h"

#include "berth/common/file.h"

namespace berth::control {

using pki::Certificate;
using pki::CreateCa;
using pki::CreateCsr;
using pki::GeneratePrivateKey;
using pki::IssueCertificate;
using pki::IssueOptions;
using pki::kClusterCaName;
using pki::NewBootstrapToken;
using pki::ParseBootstrapToken;
using pki::PkiFiles;
using pki::PublicKeyPin;
using pki::ReadCertificate;
using pki::ReadCertificateFiles;
using pki::ReadCsr;
using pki::SignCsr;
using pki::Subject;
using pki::VerifyCertificate;
using pki::VerifyPublicKeyPin;
using pki::WriteCertificateFiles;
using pki::WriteFileSecure;
namespace {

namespace fs = std::filesystem;

// The test's own view of a certificate, parsed with libcrypto directly so the
// checks do not go through the code under test.
struct X509Free {
  void operator()(X509* x) const { X509_free(x); }
};
using X509Ptr = std::unique_ptr<X509, X509Free>;
struct PkeyFree {
  void operator()(EVP_PKEY* k) const { EVP_PKEY_free(k); }
};
using PkeyPtr = std::unique_ptr<EVP_PKEY, PkeyFree>;
struct BioFree {
  void operator()(BIO* b) const { BIO_free(b); }
};
using BioPtr = std::unique_ptr<BIO, BioFree>;
struct BasicConstraintsFree {
  void operator()(BASIC_CONSTRAINTS* bc) const { BASIC_CONSTRAINTS_free(bc); }
};

X509Ptr ParseX509(const std::string& pem) {
  BioPtr bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
  return X509Ptr(PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr));
}

PkeyPtr ParseKey(const std::string& pem) {
  BioPtr bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
  return PkeyPtr(PEM_read_bio_PrivateKey(bio.get(), nullptr, nullptr, nullptr));
}

// Whether the extension is present and marked critical.
bool IsCritical(X509* cert, int nid) {
  int idx = X509_get_ext_by_NID(cert, nid, -1);
  return idx >= 0 && X509_EXTENSION_get_critical(X509_get_ext(cert, idx)) == 1;
}

// basicConstraints cA, or -1 when the extension is absent.
int BasicConstraintsCa(X509* cert) {
  std::unique_ptr<BASIC_CONSTRAINTS, BasicConstraintsFree> bc(static_cast<BASIC_CONSTRAINTS*>(
      X509_get_ext_d2i(cert, NID_basic_constraints, nullptr, nullptr)));
  if (!bc) return -1;
  return bc->ca != 0 ? 1 : 0;
}

std::string SerialHex(X509* cert) {
  std::unique_ptr<BIGNUM, decltype(&BN_free)> bn(
      ASN1_INTEGER_to_BN(X509_get0_serialNumber(cert), nullptr), BN_free);
  char* hex = BN_bn2hex(bn.get());
  std::string out(hex);
  OPENSSL_free(hex);
  return out;
}

// One CA for the whole suite: EC key generation is fast, but not free.
class PkiTest : public ::testing::Test {
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

  static const Certificate& ca() { return *ca_; }
  static const Certificate& other_ca() { return *other_ca_; }

  static Subject Node(const std::string& name) {
    return Subject{"system:node:" + name, {"system:nodes"}};
  }

 private:
  static Certificate* ca_;
  static Certificate* other_ca_;
};

Certificate* PkiTest::ca_ = nullptr;
Certificate* PkiTest::other_ca_ = nullptr;

TEST_F(PkiTest, GeneratePrivateKeyIsPkcs8P256) {
  auto pem = GeneratePrivateKey();
  ASSERT_OK(pem);
  EXPECT_TRUE(pem->starts_with("-----BEGIN PRIVATE KEY-----\n")) << *pem;
  PkeyPtr key = ParseKey(*pem);
  ASSERT_TRUE(key);
  ASSERT_TRUE(EVP_PKEY_is_a(key.get(), "EC"));
  char group[64] = {};
  size_t len = 0;
  ASSERT_EQ(EVP_PKEY_get_group_name(key.get(), group, sizeof(group), &len), 1);
  EXPECT_STREQ(group, "prime256v1");
  auto again = GeneratePrivateKey();
  ASSERT_OK(again);
  EXPECT_NE(*pem, *again);
}

TEST_F(PkiTest, CaHasCaExtensionsAndVerifiesItself) {
  X509Ptr cert = ParseX509(ca().cert_pem);
  ASSERT_TRUE(cert);
  EXPECT_EQ(BasicConstraintsCa(cert.get()), 1);
  EXPECT_TRUE(IsCritical(cert.get(), NID_basic_constraints));
  EXPECT_TRUE(IsCritical(cert.get(), NID_key_usage));
  EXPECT_EQ(X509_get_key_usage(cert.get()), static_cast<uint32_t>(KU_KEY_CERT_SIGN | KU_CRL_SIGN));
  EXPECT_NE(X509_get0_subject_key_id(cert.get()), nullptr);
  EXPECT_EQ(X509_check_ca(cert.get()), 1);
  // Self-signed: issuer == subject and the signature checks with its own key.
  EXPECT_EQ(X509_NAME_cmp(X509_get_issuer_name(cert.get()), X509_get_subject_name(cert.get())), 0);
  EXPECT_EQ(X509_verify(cert.get(), X509_get0_pubkey(cert.get())), 1);
  EXPECT_OK(VerifyCertificate(ca().cert_pem, ca().cert_pem));

  auto info = ReadCertificate(ca().cert_pem);
  ASSERT_OK(info);
  EXPECT_EQ(info->subject, (Subject{"berth-ca", {}}));
  int64_t now = std::time(nullptr);
  EXPECT_NEAR(static_cast<double>(info->not_after), static_cast<double>(now + 3650LL * 86400),
              120.0);
  EXPECT_EQ(info->sha256.size(), 64U);

  // The key in the Certificate is the CA certificate's.
  PkeyPtr key = ParseKey(ca().key_pem);
  ASSERT_TRUE(key);
  EXPECT_EQ(X509_check_private_key(cert.get(), key.get()), 1);
}

TEST_F(PkiTest, CaRejectsBadNameAndDays) {
  EXPECT_ERRNO(CreateCa(""), EINVAL);
  EXPECT_ERRNO(CreateCa(std::string(65, 'c')), EINVAL);
  EXPECT_ERRNO(CreateCa(std::string("a\0b", 3)), EINVAL);
  EXPECT_ERRNO(CreateCa("ca", -1), EINVAL);
}

TEST_F(PkiTest, CsrRoundTripKeepsSubject) {
  auto key = GeneratePrivateKey();
  ASSERT_OK(key);
  Subject subject{"system:node:n1", {"system:nodes", "berth:workers"}};
  auto csr = CreateCsr(*key, subject);
  ASSERT_OK(csr);
  EXPECT_TRUE(csr->starts_with("-----BEGIN CERTIFICATE REQUEST-----\n"));
  auto read = ReadCsr(*csr);
  ASSERT_OK(read);
  EXPECT_EQ(*read, subject);
}

TEST_F(PkiTest, CsrWithBadSignatureIsRejected) {
  auto key = GeneratePrivateKey();
  ASSERT_OK(key);
  auto csr = CreateCsr(*key, Node("n1"));
  ASSERT_OK(csr);
  // Rewrite the subject without re-signing: what a man in the middle would do.
  BioPtr in(BIO_new_mem_buf(csr->data(), static_cast<int>(csr->size())));
  std::unique_ptr<X509_REQ, decltype(&X509_REQ_free)> req(
      PEM_read_bio_X509_REQ(in.get(), nullptr, nullptr, nullptr), X509_REQ_free);
  ASSERT_TRUE(req);
  X509_NAME* name = X509_NAME_new();
  X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_UTF8,
                             reinterpret_cast<const unsigned char*>("system:admin"), -1, -1, 0);
  ASSERT_EQ(X509_REQ_set_subject_name(req.get(), name), 1);
  X509_NAME_free(name);
  BioPtr out(BIO_new(BIO_s_mem()));
  ASSERT_EQ(PEM_write_bio_X509_REQ(out.get(), req.get()), 1);
  char* data = nullptr;
  long len = BIO_get_mem_data(out.get(), &data);
  std::string forged(data, static_cast<size_t>(len));

  auto read = ReadCsr(forged);
  EXPECT_ERRNO(read, EINVAL);
  EXPECT_NE(read.error().ToString().find("certificate request: bad self-signature"),
            std::string::npos)
      << read.error().ToString();
  IssueOptions options;
  EXPECT_ERRNO(SignCsr(ca(), forged, options), EINVAL);
}

TEST_F(PkiTest, CsrWithWeakKeyIsRejected) {
  PkeyPtr rsa(EVP_RSA_gen(1024));
  ASSERT_TRUE(rsa);
  BioPtr out(BIO_new(BIO_s_mem()));
  ASSERT_EQ(PEM_write_bio_PrivateKey(out.get(), rsa.get(), nullptr, nullptr, 0, nullptr, nullptr),
            1);
  char* data = nullptr;
  long len = BIO_get_mem_data(out.get(), &data);
  auto csr = CreateCsr(std::string(data, static_cast<size_t>(len)), Node("n1"));
  ASSERT_OK(csr);
  auto read = ReadCsr(*csr);
  EXPECT_ERRNO(read, EINVAL);
  EXPECT_NE(read.error().ToString().find("bits of security"), std::string::npos)
      << read.error().ToString();
}

TEST_F(PkiTest, SignCsrKeepsCsrSubjectAndSetsLeafExtensions) {
  auto key = GeneratePrivateKey();
  ASSERT_OK(key);
  auto csr = CreateCsr(*key, Node("n1"));
  ASSERT_OK(csr);
  IssueOptions options;
  auto pem = SignCsr(ca(), *csr, options);
  ASSERT_OK(pem);
  X509Ptr cert = ParseX509(*pem);
  ASSERT_TRUE(cert);
  X509Ptr ca_cert = ParseX509(ca().cert_pem);

  auto info = ReadCertificate(*pem);
  ASSERT_OK(info);
  EXPECT_EQ(info->subject, Node("n1"));
  EXPECT_NEAR(static_cast<double>(info->not_after),
              static_cast<double>(std::time(nullptr) + 365LL * 86400), 120.0);

  // The node's key is the certificate's: the CA took only the public key.
  PkeyPtr node_key = ParseKey(*key);
  EXPECT_EQ(X509_check_private_key(cert.get(), node_key.get()), 1);
  EXPECT_EQ(BasicConstraintsCa(cert.get()), 0);
  EXPECT_TRUE(IsCritical(cert.get(), NID_basic_constraints));
  EXPECT_EQ(X509_get_key_usage(cert.get()),
            static_cast<uint32_t>(KU_DIGITAL_SIGNATURE | KU_KEY_ENCIPHERMENT));
  EXPECT_EQ(X509_get_extended_key_usage(cert.get()), static_cast<uint32_t>(XKU_SSL_CLIENT));
  EXPECT_EQ(X509_check_ca(cert.get()), 0);
  // AKI names the CA's SKI; SKI is present.
  const ASN1_OCTET_STRING* aki = X509_get0_authority_key_id(cert.get());
  ASSERT_NE(aki, nullptr);
  EXPECT_EQ(ASN1_OCTET_STRING_cmp(aki, X509_get0_subject_key_id(ca_cert.get())), 0);
  EXPECT_NE(X509_get0_subject_key_id(cert.get()), nullptr);
  EXPECT_EQ(X509_NAME_cmp(X509_get_issuer_name(cert.get()), X509_get_subject_name(ca_cert.get())),
            0);
  // No SANs unless asked for.
  EXPECT_LT(X509_get_ext_by_NID(cert.get(), NID_subject_alt_name, -1), 0);
  // ECDSA with SHA-256.
  EXPECT_EQ(X509_get_signature_nid(cert.get()), NID_ecdsa_with_SHA256);
}

TEST_F(PkiTest, SignCsrOverridingSubject) {
  auto key = GeneratePrivateKey();
  ASSERT_OK(key);
  // A node asking to be a cluster admin.
  auto csr = CreateCsr(*key, Subject{"system:node:n1", {"system:masters"}});
  ASSERT_OK(csr);
  IssueOptions options;
  options.subject = Node("n1");
  auto pem = SignCsr(ca(), *csr, options);
  ASSERT_OK(pem);
  auto info = ReadCertificate(*pem);
  ASSERT_OK(info);
  EXPECT_EQ(info->subject, Node("n1"));
}

TEST_F(PkiTest, SerialsAreRandomAndAtMost128Bits) {
  std::set<std::string> serials;
  for (int i = 0; i < 8; ++i) {
    IssueOptions options;
    auto cert = IssueCertificate(ca(), Node("n" + std::to_string(i)), options);
    ASSERT_OK(cert);
    X509Ptr x = ParseX509(cert->cert_pem);
    std::unique_ptr<BIGNUM, decltype(&BN_free)> bn(
        ASN1_INTEGER_to_BN(X509_get0_serialNumber(x.get()), nullptr), BN_free);
    EXPECT_LE(BN_num_bits(bn.get()), 128);
    EXPECT_GT(BN_num_bits(bn.get()), 64);  // fails once in 2^64 runs
    EXPECT_FALSE(BN_is_negative(bn.get()));
    serials.insert(SerialHex(x.get()));
  }
  EXPECT_EQ(serials.size(), 8U);
}

TEST_F(PkiTest, IssuedCertVerifiesOnlyAgainstItsCa) {
  IssueOptions options;
  auto cert = IssueCertificate(ca(), Node("n1"), options);
  ASSERT_OK(cert);
  EXPECT_OK(VerifyCertificate(ca().cert_pem, cert->cert_pem));
  auto other = VerifyCertificate(other_ca().cert_pem, cert->cert_pem);
  EXPECT_ERRNO(other, EACCES);
  EXPECT_NE(other.error().ToString().find("certificate: not signed by the cluster CA"),
            std::string::npos)
      << other.error().ToString();
  // A CA is not a leaf's issuer by being a CA: the other one is not trusted
  // for its own leaves by this one either.
  auto foreign = IssueCertificate(other_ca(), Node("n1"), options);
  ASSERT_OK(foreign);
  EXPECT_ERRNO(VerifyCertificate(ca().cert_pem, foreign->cert_pem), EACCES);
  EXPECT_ERRNO(VerifyCertificate(ca().cert_pem, other_ca().cert_pem), EACCES);
  // A leaf is not a CA, even when passed as one.
  EXPECT_ERRNO(VerifyCertificate(cert->cert_pem, cert->cert_pem), EACCES);
}

TEST_F(PkiTest, ServerCertHasSans) {
  IssueOptions options;
  options.server = true;
  options.client = false;
  options.dns_names = {"localhost", "berth-control.kube-system.svc", "*.berth.internal"};
  options.ip_addresses = {"127.0.0.1", "10.96.0.1", "::1"};
  auto cert = IssueCertificate(ca(), Subject{"berth-control", {}}, options);
  ASSERT_OK(cert);
  EXPECT_OK(VerifyCertificate(ca().cert_pem, cert->cert_pem));
  X509Ptr x = ParseX509(cert->cert_pem);
  ASSERT_TRUE(x);
  EXPECT_EQ(X509_get_extended_key_usage(x.get()), static_cast<uint32_t>(XKU_SSL_SERVER));
  EXPECT_EQ(X509_check_host(x.get(), "localhost", 0, 0, nullptr), 1);
  EXPECT_EQ(X509_check_host(x.get(), "berth-control.kube-system.svc", 0, 0, nullptr), 1);
  EXPECT_EQ(X509_check_host(x.get(), "api.berth.internal", 0, 0, nullptr), 1);
  EXPECT_NE(X509_check_host(x.get(), "berth-control", 0, 0, nullptr), 1);
  EXPECT_EQ(X509_check_ip_asc(x.get(), "127.0.0.1", 0), 1);
  EXPECT_EQ(X509_check_ip_asc(x.get(), "10.96.0.1", 0), 1);
  EXPECT_EQ(X509_check_ip_asc(x.get(), "::1", 0), 1);
  EXPECT_NE(X509_check_ip_asc(x.get(), "10.96.0.2", 0), 1);

  // Both usages at once.
  options.client = true;
  auto both = IssueCertificate(ca(), Subject{"berth-control", {}}, options);
  ASSERT_OK(both);
  X509Ptr y = ParseX509(both->cert_pem);
  EXPECT_EQ(X509_get_extended_key_usage(y.get()),
            static_cast<uint32_t>(XKU_SSL_SERVER | XKU_SSL_CLIENT));
}

TEST_F(PkiTest, BadSansAndUsagesAreRejected) {
  Subject subject{"berth-control", {}};
  IssueOptions options;
  options.ip_addresses = {"10.0.0.300"};
  auto bad_ip = IssueCertificate(ca(), subject, options);
  EXPECT_ERRNO(bad_ip, EINVAL);
  EXPECT_NE(bad_ip.error().ToString().find("10.0.0.300"), std::string::npos);
  EXPECT_NE(bad_ip.error().ToString().find("issue certificate for CN=berth-control"),
            std::string::npos)
      << bad_ip.error().ToString();

  // Config-syntax injection must not turn one name into two.
  options.ip_addresses.clear();
  options.dns_names = {"a.example,IP:10.0.0.1"};
  EXPECT_ERRNO(IssueCertificate(ca(), subject, options), EINVAL);
  options.dns_names = {"-bad.example"};
  EXPECT_ERRNO(IssueCertificate(ca(), subject, options), EINVAL);
  options.dns_names = {"a..example"};
  EXPECT_ERRNO(IssueCertificate(ca(), subject, options), EINVAL);

  IssueOptions no_usage;
  no_usage.client = false;
  EXPECT_ERRNO(IssueCertificate(ca(), subject, no_usage), EINVAL);
}

TEST_F(PkiTest, ExpiredCertFailsVerification) {
  IssueOptions options;
  options.days = 0;
  auto cert = IssueCertificate(ca(), Node("n1"), options);
  ASSERT_OK(cert);
  auto st = VerifyCertificate(ca().cert_pem, cert->cert_pem);
  EXPECT_ERRNO(st, EACCES);
  EXPECT_NE(st.error().ToString().find("certificate expired at"), std::string::npos)
      << st.error().ToString();

  options.days = -1;
  EXPECT_ERRNO(IssueCertificate(ca(), Node("n1"), options), EINVAL);
}

TEST_F(PkiTest, IssuedCertDoesNotOutliveItsCa) {
  auto short_ca = CreateCa("short-ca", 10);
  ASSERT_OK(short_ca);
  IssueOptions options;
  auto cert = IssueCertificate(*short_ca, Node("n1"), options);
  ASSERT_OK(cert);
  auto ca_info = ReadCertificate(short_ca->cert_pem);
  auto info = ReadCertificate(cert->cert_pem);
  ASSERT_OK(ca_info);
  ASSERT_OK(info);
  EXPECT_EQ(info->not_after, ca_info->not_after);
}

TEST_F(PkiTest, GarbageInputsAreEinvalNamingWhich) {
  auto has = [](const auto& r, const std::string& text) {
    return !r.ok() && r.error().ToString().find(text) != std::string::npos;
  };
  auto cert = ReadCertificate("not a certificate");
  EXPECT_ERRNO(cert, EINVAL);
  EXPECT_TRUE(has(cert, "certificate: no PEM certificate")) << cert.error().ToString();

  auto csr =
      ReadCsr("-----BEGIN CERTIFICATE REQUEST-----\nAAAA\n-----END CERTIFICATE REQUEST-----\n");
  EXPECT_ERRNO(csr, EINVAL);
  EXPECT_TRUE(has(csr, "certificate request")) << csr.error().ToString();

  auto key = CreateCsr("garbage", Node("n1"));
  EXPECT_ERRNO(key, EINVAL);
  EXPECT_TRUE(has(key, "private key")) << key.error().ToString();

  // A certificate where a key is expected is still "no private key".
  EXPECT_ERRNO(CreateCsr(ca().cert_pem, Node("n1")), EINVAL);

  auto verify = VerifyCertificate("garbage", ca().cert_pem);
  EXPECT_ERRNO(verify, EINVAL);
  EXPECT_TRUE(has(verify, "CA certificate")) << verify.error().ToString();
  // Cut off before its END line.
  EXPECT_ERRNO(VerifyCertificate(ca().cert_pem, ca().cert_pem.substr(0, 200)), EINVAL);

  IssueOptions options;
  auto bad_ca = IssueCertificate(Certificate{"garbage", ca().key_pem}, Node("n1"), options);
  EXPECT_ERRNO(bad_ca, EINVAL);
  EXPECT_TRUE(has(bad_ca, "CA certificate")) << bad_ca.error().ToString();

  EXPECT_ERRNO(PublicKeyPin("garbage"), EINVAL);
  EXPECT_ERRNO(ReadCsr(""), EINVAL);
  EXPECT_ERRNO(ReadCertificate(std::string(2 << 20, 'A')), EINVAL);
}

TEST_F(PkiTest, SigningNeedsAMatchingCaKeyAndACa) {
  IssueOptions options;
  auto mismatched =
      IssueCertificate(Certificate{ca().cert_pem, other_ca().key_pem}, Node("n1"), options);
  EXPECT_ERRNO(mismatched, EINVAL);
  EXPECT_NE(mismatched.error().ToString().find("does not match"), std::string::npos)
      << mismatched.error().ToString();

  auto leaf = IssueCertificate(ca(), Node("n1"), options);
  ASSERT_OK(leaf);
  auto from_leaf = IssueCertificate(*leaf, Node("n2"), options);
  EXPECT_ERRNO(from_leaf, EINVAL);
  EXPECT_NE(from_leaf.error().ToString().find("not a CA"), std::string::npos)
      << from_leaf.error().ToString();
}

TEST_F(PkiTest, BootstrapTokenFormatAndParsing) {
  std::set<std::string> seen;
  for (int i = 0; i < 200; ++i) {
    auto token = NewBootstrapToken();
    ASSERT_OK(token);
    ASSERT_EQ(token->size(), 23U) << *token;
    for (size_t j = 0; j < token->size(); ++j) {
      char c = (*token)[j];
      if (j == 6) {
        EXPECT_EQ(c, '.');
      } else {
        EXPECT_TRUE(std::islower(static_cast<unsigned char>(c)) ||
                    std::isdigit(static_cast<unsigned char>(c)))
            << *token;
      }
    }
    auto parsed = ParseBootstrapToken(*token);
    ASSERT_OK(parsed);
    EXPECT_EQ(parsed->first + "." + parsed->second, *token);
    seen.insert(*token);
  }
  EXPECT_EQ(seen.size(), 200U);

  auto ok = ParseBootstrapToken("abcdef.0123456789abcdef");
  ASSERT_OK(ok);
  EXPECT_EQ(ok->first, "abcdef");
  EXPECT_EQ(ok->second, "0123456789abcdef");

  for (std::string_view bad :
       {"", "abcdef0123456789abcdef", "abcdef.0123456789abcde", "abcdef.0123456789abcdef0",
        "ABCDEF.0123456789abcdef", "abcde.f0123456789abcdef", "abcdef:0123456789abcdef",
        "abcdef.0123456789abcde!", "abc def.0123456789abcde"}) {
    auto r = ParseBootstrapToken(bad);
    EXPECT_ERRNO(r, EINVAL);
    if (!r.ok()) {
      EXPECT_NE(r.error().ToString().find("bootstrap token"), std::string::npos);
      // The token is a credential: never echoed into an error (and a log).
      if (bad.size() > 6) {
        EXPECT_EQ(r.error().ToString().find(std::string(bad)), std::string::npos)
            << r.error().ToString();
      }
    }
  }
}

TEST_F(PkiTest, PublicKeyPinIsStablePerKey) {
  auto pin = PublicKeyPin(ca().cert_pem);
  ASSERT_OK(pin);
  ASSERT_EQ(pin->size(), 7U + 64U) << *pin;
  EXPECT_TRUE(pin->starts_with("sha256:"));
  auto again = PublicKeyPin(ca().cert_pem);
  ASSERT_OK(again);
  EXPECT_EQ(*pin, *again);
  auto other = PublicKeyPin(other_ca().cert_pem);
  ASSERT_OK(other);
  EXPECT_NE(*pin, *other);

  // kubeadm's definition, computed independently: SHA-256 of the DER
  // SubjectPublicKeyInfo of the CA's key.
  PkeyPtr key = ParseKey(ca().key_pem);
  ASSERT_TRUE(key);
  unsigned char* der = nullptr;
  int len = i2d_PUBKEY(key.get(), &der);
  ASSERT_GT(len, 0);
  unsigned char md[32];
  unsigned int md_len = 0;
  ASSERT_EQ(EVP_Digest(der, static_cast<size_t>(len), md, &md_len, EVP_sha256(), nullptr), 1);
  OPENSSL_free(der);
  std::string hex;
  for (unsigned i = 0; i < md_len; ++i) {
    static constexpr char kDigits[] = "0123456789abcdef";
    hex += kDigits[md[i] >> 4];
    hex += kDigits[md[i] & 0xf];
  }
  EXPECT_EQ(*pin, "sha256:" + hex);

  EXPECT_OK(VerifyPublicKeyPin(ca().cert_pem, *pin));
  std::string upper = *pin;
  for (size_t i = 7; i < upper.size(); ++i) {
    upper[i] = static_cast<char>(std::toupper(static_cast<unsigned char>(upper[i])));
  }
  EXPECT_OK(VerifyPublicKeyPin(ca().cert_pem, upper));
  EXPECT_ERRNO(VerifyPublicKeyPin(other_ca().cert_pem, *pin), EACCES);
  EXPECT_ERRNO(VerifyPublicKeyPin(ca().cert_pem, "sha256:abc"), EINVAL);
  EXPECT_ERRNO(VerifyPublicKeyPin(ca().cert_pem, "md5:" + pin->substr(7)), EINVAL);
}

class PkiFilesTest : public PkiTest {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           ("berth-pki-" + std::to_string(::getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }

  static mode_t Mode(const fs::path& p) {
    struct stat st {};
    EXPECT_EQ(::stat(p.c_str(), &st), 0) << p;
    return st.st_mode & 07777;
  }

  fs::path dir_;
};

TEST_F(PkiFilesTest, KeysAre0600AndCertsAre0644WhateverTheUmask) {
  PkiFiles files{dir_};
  // umask 0 would make a naive open(0666) key world-readable; 077 would make
  // a naive certificate unreadable to the agent.
  mode_t old = ::umask(0);
  Status wrote = WriteCertificateFiles(ca(), files.ca_cert(), files.ca_key());
  ::umask(077);
  IssueOptions options;
  auto admin = IssueCertificate(ca(), Subject{"admin", {"system:masters"}}, options);
  ASSERT_OK(admin);
  Status wrote_admin = WriteCertificateFiles(*admin, files.admin_cert(), files.admin_key());
  ::umask(old);
  ASSERT_OK(wrote);
  ASSERT_OK(wrote_admin);

  EXPECT_EQ(Mode(files.ca_key()), 0600U);
  EXPECT_EQ(Mode(files.ca_cert()), 0644U);
  EXPECT_EQ(Mode(files.admin_key()), 0600U);
  EXPECT_EQ(Mode(files.admin_cert()), 0644U);
  EXPECT_EQ(files.ca_cert(), dir_ / "ca.crt");
  EXPECT_EQ(files.server_key(), dir_ / "server.key");

  auto read = ReadCertificateFiles(files.ca_cert(), files.ca_key());
  ASSERT_OK(read);
  EXPECT_EQ(read->cert_pem, ca().cert_pem);
  EXPECT_EQ(read->key_pem, ca().key_pem);

  // Only the files: no temp file left behind.
  size_t entries = 0;
  for ([[maybe_unused]] const auto& e : fs::directory_iterator(dir_)) ++entries;
  EXPECT_EQ(entries, 4U);
}

TEST_F(PkiFilesTest, WriteFileSecureReplacesAndFixesMode) {
  fs::path p = dir_ / "server.key";
  ASSERT_OK(WriteFileAtomic(p, "old", 0644));
  ASSERT_OK(WriteFileSecure(p, "new", 0600));
  EXPECT_EQ(Mode(p), 0600U);
  auto content = ReadFile(p);
  ASSERT_OK(content);
  EXPECT_EQ(*content, "new");
  EXPECT_ERRNO(WriteFileSecure(dir_ / "missing" / "x.key", "k", 0600), ENOENT);
}

TEST_F(PkiFilesTest, ReadRefusesOpenKeysAndMismatchedPairs) {
  PkiFiles files{dir_};
  ASSERT_OK(WriteCertificateFiles(ca(), files.ca_cert(), files.ca_key()));
  ASSERT_EQ(::chmod(files.ca_key().c_str(), 0644), 0);
  EXPECT_ERRNO(ReadCertificateFiles(files.ca_cert(), files.ca_key()), EPERM);

  ASSERT_OK(WriteCertificateFiles(Certificate{ca().cert_pem, other_ca().key_pem}, files.ca_cert(),
                                  files.ca_key()));
  EXPECT_ERRNO(ReadCertificateFiles(files.ca_cert(), files.ca_key()), EINVAL);
  EXPECT_ERRNO(ReadCertificateFiles(dir_ / "none.crt", files.ca_key()), ENOENT);
}

}  // namespace
}  // namespace berth::control

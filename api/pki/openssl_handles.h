// Internal to berth_control_pki: one owning type per OpenSSL handle, and the
// PEM and X509_NAME conversions the PKI files share. Nothing here is public.
//
// Ownership: each *Ptr owns its handle and frees it with the matching
// *_free. OpenSSL "get0" accessors return borrowed pointers; "get1"/"new"
// return owned ones, which go straight into a *Ptr.
// Thread-safety: stateless functions; handles are not shared across threads.
// Errors: as pki.h (EINVAL naming the input, errno 0 for libcrypto failures).
#pragma once

#include <memory>
#include <string>
#include <string_view>

#include <openssl/asn1.h>
#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "berth/common/error.h"
#include "berth/pki/pki.h"

namespace berth::pki::detail {

template <typename T, void (*Free)(T*)>
struct OpenSslDeleter {
  void operator()(T* p) const { Free(p); }
};

// BIO_free returns int; the others return void.
inline void BioFree(BIO* bio) { (void)BIO_free(bio); }

using BioPtr = std::unique_ptr<BIO, OpenSslDeleter<BIO, BioFree>>;
using PkeyPtr = std::unique_ptr<EVP_PKEY, OpenSslDeleter<EVP_PKEY, EVP_PKEY_free>>;
using X509Ptr = std::unique_ptr<X509, OpenSslDeleter<X509, X509_free>>;
using X509ReqPtr = std::unique_ptr<X509_REQ, OpenSslDeleter<X509_REQ, X509_REQ_free>>;
using X509NamePtr = std::unique_ptr<X509_NAME, OpenSslDeleter<X509_NAME, X509_NAME_free>>;
using X509StorePtr = std::unique_ptr<X509_STORE, OpenSslDeleter<X509_STORE, X509_STORE_free>>;
using X509StoreCtxPtr =
    std::unique_ptr<X509_STORE_CTX, OpenSslDeleter<X509_STORE_CTX, X509_STORE_CTX_free>>;
using X509ExtPtr =
    std::unique_ptr<X509_EXTENSION, OpenSslDeleter<X509_EXTENSION, X509_EXTENSION_free>>;
using GeneralNamesPtr =
    std::unique_ptr<GENERAL_NAMES, OpenSslDeleter<GENERAL_NAMES, GENERAL_NAMES_free>>;
using GeneralNamePtr =
    std::unique_ptr<GENERAL_NAME, OpenSslDeleter<GENERAL_NAME, GENERAL_NAME_free>>;
using Asn1OctetStringPtr =
    std::unique_ptr<ASN1_OCTET_STRING, OpenSslDeleter<ASN1_OCTET_STRING, ASN1_OCTET_STRING_free>>;
using Asn1IntegerPtr =
    std::unique_ptr<ASN1_INTEGER, OpenSslDeleter<ASN1_INTEGER, ASN1_INTEGER_free>>;
using BignumPtr = std::unique_ptr<BIGNUM, OpenSslDeleter<BIGNUM, BN_free>>;
// Buffers libcrypto allocates for the caller (i2d_*, ASN1_STRING_to_UTF8).
struct OpenSslFree {
  void operator()(unsigned char* p) const { OPENSSL_free(p); }
};
using OpenSslBytes = std::unique_ptr<unsigned char, OpenSslFree>;

// libcrypto reports through its own error queue, not errno: errno 0 and
// OpenSSL's reason (ERR_error_string_n of ERR_get_error) in the message. The
// queue is cleared so a stale entry never names a later failure.
Error OpenSslError(const std::string& what);

// Malformed input: EINVAL "<what>: <OpenSSL's reason, if any>".
Error InvalidInput(const std::string& what);

// Parsers of the first PEM block of each kind in `pem`; `what` names the
// input in the EINVAL ("CA certificate").
Result<PkeyPtr> ParsePrivateKey(const std::string& pem, const std::string& what);
Result<X509Ptr> ParseCertificate(const std::string& pem, const std::string& what);
Result<X509ReqPtr> ParseCertRequest(const std::string& pem);
// ParseCertRequest, then checks the CSR's self-signature and its key's
// strength (csr.cc): what ReadCsr and SignCsr accept.
Result<X509ReqPtr> ParseVerifiedCertRequest(const std::string& pem);

// Writers: errno 0 on a libcrypto failure.
Result<std::string> PrivateKeyToPem(EVP_PKEY* key);
Result<std::string> CertificateToPem(X509* cert);
Result<std::string> CertRequestToPem(X509_REQ* req);

// A new EC P-256 key.
Result<PkeyPtr> NewEcKey();

// An X509_NAME with each O and then the CN (the order Go's pkix.Name uses);
// EINVAL for an empty CN or a value longer than X.520's 64 characters.
Result<X509NamePtr> NameFromSubject(const Subject& subject);
// CN (the first one) and every O of `name`, as UTF-8.
Result<Subject> SubjectFromName(const X509_NAME* name);

// "CN=system:node:n1" for error contexts.
std::string DescribeSubject(const Subject& subject);

// Lowercase hex.
std::string Hex(const unsigned char* data, size_t size);

}  // namespace berth::pki::detail

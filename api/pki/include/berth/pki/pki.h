// The cluster PKI: the CA that `berth-control init` creates, the server and
// admin certificates it issues, the CSRs a joining node sends, bootstrap
// tokens, and the files they live in. OpenSSL 3 (libcrypto) underneath:
// ECDSA P-256 keys, SHA-256 signatures.
//
// Ownership: every value here is plain PEM text held in std::string; no
// OpenSSL handle crosses this header. Private keys are unencrypted PKCS#8 PEM
// ("BEGIN PRIVATE KEY"); keep them in files written by WriteFileSecure (0600).
//
// Thread-safety: every function is stateless and may be called from many
// threads at once (libcrypto 3 initialises itself thread-safely).
//
// Trust model, as kubeadm's: the CA decides a node's identity. SignCsr takes
// only the public key from a CSR (and checks its self-signature); the
// extensions a CSR asks for are never copied, and IssueOptions::subject
// replaces the subject the node asked for.
//
// Errors:
//   EINVAL  malformed input, naming which: "private key: ...",
//           "certificate: ...", "certificate request: ..." (garbage or a bad
//           self-signature), "CA certificate: ...", "bootstrap token: ...",
//           a subject, DNS name or IP address that cannot go in a certificate,
//           a CA key that does not match its certificate.
//   EACCES  verification failures: "certificate: not signed by the cluster
//           CA", "certificate: expired ...", a public key pin mismatch.
//   0       a failure inside libcrypto, with OpenSSL's reason in the message.
//   errno of open/write/fsync/rename for the file functions, naming the path.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "berth/common/error.h"

namespace berth::pki {

// The CA common name `berth-control init` uses.
inline constexpr std::string_view kClusterCaName = "berth-ca";

struct KeyPair {
  std::string key_pem;  // PKCS#8 PEM private key
};

struct Certificate {
  std::string cert_pem;
  std::string key_pem;  // PKCS#8 PEM private key of cert_pem's public key
};

// X.509 subject as Kubernetes reads it: CN is the user ("system:node:n1"),
// each O a group ("system:nodes").
struct Subject {
  std::string common_name;
  std::vector<std::string> organizations;

  bool operator==(const Subject&) const = default;
};

struct CertRequestInfo {
  Subject subject;
};

// A new EC P-256 private key, PKCS#8 PEM.
Result<std::string> GeneratePrivateKey();

// A self-signed CA with a new key: CN `common_name` (init uses
// kClusterCaName), basicConstraints CA:TRUE (critical), keyUsage
// keyCertSign|cRLSign (critical), subjectKeyIdentifier, valid for `days`
// (notBefore is backdated 5 minutes for clock skew between nodes).
Result<Certificate> CreateCa(const std::string& common_name, int days = 3650);

// A PEM CSR signed with `key_pem` for `subject`: what a joining node sends;
// its private key never leaves it.
Result<std::string> CreateCsr(const std::string& key_pem, const Subject& subject);

// Parses a PEM CSR and verifies its self-signature (proof that the sender
// holds the key); rejects keys weaker than 112 bits of security. EINVAL
// "certificate request: ..." otherwise.
Result<Subject> ReadCsr(const std::string& csr_pem);

struct IssueOptions {
  // Validity from now. 0 issues a certificate that is already expired (for
  // tests of expiry); never past the CA's own notAfter.
  int days = 365;
  bool server = false;                    // extendedKeyUsage serverAuth
  bool client = true;                     // extendedKeyUsage clientAuth; at least one of the two
  std::vector<std::string> dns_names;     // subjectAltName DNS
  std::vector<std::string> ip_addresses;  // subjectAltName IP (v4/v6 text)
  // The subject to put in the certificate; when set it overrides the CSR's
  // (the CA decides a node's identity, not the node).
  std::optional<Subject> subject;
};

// Signs a CSR with the CA: random 128-bit serial, AKI/SKI, basicConstraints
// CA:FALSE, keyUsage digitalSignature|keyEncipherment, extendedKeyUsage and
// SANs from `options`. Returns the certificate PEM.
Result<std::string> SignCsr(const Certificate& ca, const std::string& csr_pem,
                            const IssueOptions& options);

// Generates a key and issues a certificate for it directly (the admin and
// the server certificates at init).
Result<Certificate> IssueCertificate(const Certificate& ca, const Subject& subject,
                                     const IssueOptions& options);

struct CertInfo {
  Subject subject;
  int64_t not_after = 0;  // unix seconds
  std::string sha256;     // lowercase hex of SHA-256 over the DER certificate
};

// Parses a PEM certificate (the first one in `cert_pem`).
Result<CertInfo> ReadCertificate(const std::string& cert_pem);

// Whether `cert_pem` chains to the CA in `ca_pem` and is valid now (X509_STORE
// verification). EACCES "certificate: not signed by the cluster CA (...)" or
// "certificate: expired ..." / "not yet valid ..."; EINVAL for bad PEM.
Status VerifyCertificate(const std::string& ca_pem, const std::string& cert_pem);

// The CA certificate's pin as kubeadm prints it for `join`:
// "sha256:<lowercase hex of SHA-256 over the SubjectPublicKeyInfo DER>".
Result<std::string> PublicKeyPin(const std::string& cert_pem);

// What a joining node does with the CA it was handed: EACCES unless its pin
// equals `pin` (hex case is ignored), EINVAL when
// `pin` is not "sha256:" and 64 hex digits.
Status VerifyPublicKeyPin(const std::string& cert_pem, std::string_view pin);

// A bootstrap token as kubeadm's, "[a-z0-9]{6}.[a-z0-9]{16}" (id.secret),
// uniformly random from RAND_bytes. Errno 0 if the system RNG fails.
Result<std::string> NewBootstrapToken();

// Splits a bootstrap token into {id, secret}; EINVAL "bootstrap token: ..."
// when it does not have the form above. The message never contains the
// token: it is a credential.
Result<std::pair<std::string, std::string>> ParseBootstrapToken(std::string_view token);

// Writes `data` to `path` crash-safely with exactly `mode` (the umask does
// not apply): a temp file in the same directory created 0600 and chmod-ed to
// `mode` before any data is written, fsync, rename over `path`, fsync of the
// directory. Readers see the old file or the new one, never a mix; a private
// key is never readable by others, not even half-written.
Status WriteFileSecure(const std::filesystem::path& path, std::string_view data, mode_t mode);

// The files of a control-plane PKI directory (/var/lib/berth/pki).
struct PkiFiles {
  std::filesystem::path dir;

  std::filesystem::path ca_cert() const { return dir / "ca.crt"; }
  std::filesystem::path ca_key() const { return dir / "ca.key"; }
  std::filesystem::path server_cert() const { return dir / "server.crt"; }
  std::filesystem::path server_key() const { return dir / "server.key"; }
  std::filesystem::path admin_cert() const { return dir / "admin.crt"; }
  std::filesystem::path admin_key() const { return dir / "admin.key"; }
};

// Writes a certificate (0644) and its key (0600) with WriteFileSecure, the
// key first so a certificate file never exists without its key.
Status WriteCertificateFiles(const Certificate& cert, const std::filesystem::path& cert_path,
                             const std::filesystem::path& key_path);

// Reads back what WriteCertificateFiles wrote. EPERM when the key file is
// accessible by group or others (as ssh refuses such keys), errno of open/read.
Result<Certificate> ReadCertificateFiles(const std::filesystem::path& cert_path,
                                         const std::filesystem::path& key_path);

}  // namespace berth::pki

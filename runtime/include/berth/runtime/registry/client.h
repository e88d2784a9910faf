// A client for the OCI distribution API v2 over libcurl: manifests and blobs
// by repository, with the token flow (401 + WWW-Authenticate Bearer -> GET
// realm?service=&scope=repository:<repo>:pull, with basic credentials when
// the store has some) and Basic auth. Tokens are cached per endpoint and
// scope. HTTPS verifies against the system CA store; plain HTTP only for
// endpoints marked insecure. Redirects (blob storage) are followed; curl does
// not forward the Authorization header to another host.
//
// Thread-safety: one client may be used from several threads at once (each
// call uses its own curl handle; the token cache is locked).
// Errors: ENOENT (404: unknown manifest or blob), EACCES (401/403, naming
// the registry and whether credentials were found), EPROTO (other HTTP
// statuses, malformed token answers), EIO (transport errors, with curl's
// message), ECANCELED (the sink or progress callback asked to stop).
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>

#include "berth/common/error.h"
#include "berth/runtime/registry/auth.h"
#include "berth/runtime/registry/hosts.h"

namespace berth::runtime::registry {

// Every manifest and index media type Berth understands, for Accept.
extern const char* const kManifestAccept;

struct ClientOptions {
  CredentialStore credentials;
  // Where the credentials came from, for error messages (default: the
  // docker config path CredentialStore::DefaultPath() names).
  std::string credentials_path;
  std::string user_agent = "berth/0.1";
  long connect_timeout_seconds = 30;
  // A transfer slower than 1 KiB/s for this long is aborted.
  long stall_timeout_seconds = 60;
  // Largest manifest or token answer accepted.
  size_t max_document_bytes = 4 << 20;
};

struct FetchedManifest {
  std::string body;
  std::string media_type;      // Content-Type, parameters removed
  std::string content_digest;  // Docker-Content-Digest, may be empty
};

// Receives blob bytes; returning an error stops the transfer with it.
using BlobSink = std::function<Status(const char* data, size_t len)>;
// Bytes received so far and the total (0 when unknown); return false to stop.
using TransferProgress = std::function<bool(int64_t done, int64_t total)>;

class RegistryClient {
 public:
  explicit RegistryClient(ClientOptions options);
  ~RegistryClient();
  RegistryClient(const RegistryClient&) = delete;
  RegistryClient& operator=(const RegistryClient&) = delete;

  // `registry` is the name in the reference ("docker.io") and picks the
  // credentials; `reference` is a tag or a digest string.
  Result<FetchedManifest> GetManifest(const Endpoint& ep, std::string_view registry,
                                      std::string_view repository, std::string_view reference);
  Status GetBlob(const Endpoint& ep, std::string_view registry, std::string_view repository,
                 std::string_view digest, const BlobSink& sink,
                 const TransferProgress& progress = nullptr);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace berth::runtime::registry

// Content digests ("sha256:<64 hex>") and a streaming SHA-256 over OpenSSL's
// EVP interface (see man 3 EVP_DigestInit). Digest is a value type; a
// Sha256Hasher is one stream and not thread-safe. Errors: EINVAL for a
// malformed or unsupported digest, EIO when libcrypto fails.
#pragma once

#include <memory>
#include <string>
#include <string_view>

#include "berth/common/error.h"

namespace berth::runtime::image {

// Only sha256 is accepted: it is what OCI and Docker registries use, and the
// store's layout (blobs/sha256/<hex>) is keyed by it.
struct Digest {
  std::string algorithm = "sha256";
  std::string hex;  // lowercase, 64 characters

  std::string String() const { return algorithm + ":" + hex; }
  bool empty() const { return hex.empty(); }
  friend bool operator==(const Digest& a, const Digest& b) {
    return a.algorithm == b.algorithm && a.hex == b.hex;
  }
  friend bool operator<(const Digest& a, const Digest& b) { return a.hex < b.hex; }
};

Result<Digest> ParseDigest(std::string_view s);
// True when `s` is 64 lowercase hex characters.
bool IsSha256Hex(std::string_view s);

class Sha256Hasher {
 public:
  Sha256Hasher();
  ~Sha256Hasher();
  Sha256Hasher(const Sha256Hasher&) = delete;
  Sha256Hasher& operator=(const Sha256Hasher&) = delete;

  void Update(const void* data, size_t len);
  // Finishes the stream; the hasher must not be updated afterwards.
  Result<Digest> Finish();

 private:
  struct Ctx;
  std::unique_ptr<Ctx> ctx_;
  bool failed_ = false;
};

// One-shot digest of an in-memory buffer.
Result<Digest> Sha256Of(std::string_view data);

}  // namespace berth::runtime::image

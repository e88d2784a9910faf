#include "berth/runtime/image/digest.h"

#include <openssl/evp.h>

namespace berth::runtime::image {

bool IsSha256Hex(std::string_view s) {
  if (s.size() != 64) return false;
  for (char c : s) {
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  }
  return true;
}

Result<Digest> ParseDigest(std::string_view s) {
  size_t colon = s.find(':');
  if (colon == std::string_view::npos) {
    return Error::Invalid("digest \"" + std::string(s) + "\": expected <algorithm>:<hex>");
  }
  std::string_view alg = s.substr(0, colon);
  std::string_view hex = s.substr(colon + 1);
  if (alg != "sha256") {
    return Error::Invalid("digest \"" + std::string(s) + "\": unsupported algorithm \"" +
                          std::string(alg) + "\" (only sha256)");
  }
  if (!IsSha256Hex(hex)) {
    return Error::Invalid("digest \"" + std::string(s) + "\": expected 64 lowercase hex digits");
  }
  return Digest{std::string(alg), std::string(hex)};
}

struct Sha256Hasher::Ctx {
  EVP_MD_CTX* md = nullptr;
  ~Ctx() { EVP_MD_CTX_free(md); }
};

Sha256Hasher::Sha256Hasher() : ctx_(std::make_unique<Ctx>()) {
  ctx_->md = EVP_MD_CTX_new();
  failed_ = ctx_->md == nullptr || EVP_DigestInit_ex(ctx_->md, EVP_sha256(), nullptr) != 1;
}

Sha256Hasher::~Sha256Hasher() = default;

void Sha256Hasher::Update(const void* data, size_t len) {
  if (failed_ || len == 0) return;
  if (EVP_DigestUpdate(ctx_->md, data, len) != 1) failed_ = true;
}

Result<Digest> Sha256Hasher::Finish() {
  unsigned char out[EVP_MAX_MD_SIZE];
  unsigned int n = 0;
  if (failed_ || EVP_DigestFinal_ex(ctx_->md, out, &n) != 1 || n != 32) {
    failed_ = true;
    return Error::Sys(EIO, "sha256: libcrypto EVP digest failed");
  }
  static const char kHex[] = "0123456789abcdef";
  Digest d;
  d.hex.resize(64);
  for (unsigned i = 0; i < 32; ++i) {
    d.hex[2 * i] = kHex[out[i] >> 4];
    d.hex[2 * i + 1] = kHex[out[i] & 0xf];
  }
  failed_ = true;  // EVP contexts must be re-initialised before reuse
  return d;
}

Result<Digest> Sha256Of(std::string_view data) {
  Sha256Hasher h;
  h.Update(data.data(), data.size());
  return h.Finish();
}

}  // namespace berth::runtime::image

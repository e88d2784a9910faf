// Bootstrap tokens, kubeadm's format: "[a-z0-9]{6}.[a-z0-9]{16}". The id is
// public (it names the token in the store); the secret authenticates a
// joining node until it has a certificate.
#include <array>

#include <openssl/crypto.h>
#include <openssl/rand.h>

#include "openssl_handles.h"

#include "berth/pki/pki.h"

namespace berth::pki {
namespace {

constexpr std::string_view kAlphabet = "abcdefghijklmnopqrstuvwxyz0123456789";
constexpr size_t kIdLength = 6;
constexpr size_t kSecretLength = 16;
constexpr size_t kTokenLength = kIdLength + 1 + kSecretLength;
// Bytes at or above the largest multiple of 36 that fits in a byte are
// dropped, so every character is equally likely (no modulo bias).
constexpr unsigned kUnbiasedLimit = 256 / kAlphabet.size() * kAlphabet.size();

bool InAlphabet(char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'); }

}  // namespace

Result<std::string> NewBootstrapToken() {
  std::string token;
  token.reserve(kTokenLength);
  std::array<unsigned char, 32> random{};
  while (token.size() < kTokenLength) {
    if (RAND_bytes(random.data(), static_cast<int>(random.size())) != 1) {
      OPENSSL_cleanse(token.data(), token.size());
      return detail::OpenSslError("new bootstrap token: RAND_bytes");
    }
    for (unsigned char b : random) {
      if (token.size() == kTokenLength) break;
      if (token.size() == kIdLength) token.push_back('.');
      if (b < kUnbiasedLimit) token.push_back(kAlphabet[b % kAlphabet.size()]);
    }
  }
  OPENSSL_cleanse(random.data(), random.size());
  return token;
}

Result<std::pair<std::string, std::string>> ParseBootstrapToken(std::string_view token) {
  // Messages name positions and lengths only: the token is a credential and
  // errors end up in logs.
  const std::string form = "want the form [a-z0-9]{6}.[a-z0-9]{16}";
  if (token.size() != kTokenLength) {
    return Error::Invalid("bootstrap token: " + std::to_string(token.size()) + " characters, " +
                          form);
  }
  for (size_t i = 0; i < token.size(); ++i) {
    bool ok = i == kIdLength ? token[i] == '.' : InAlphabet(token[i]);
    if (!ok) {
      return Error::Invalid("bootstrap token: unexpected character at position " +
                            std::to_string(i) + ", " + form);
    }
  }
  return std::pair<std::string, std::string>(token.substr(0, kIdLength),
                                             token.substr(kIdLength + 1));
}

}  // namespace berth::pki

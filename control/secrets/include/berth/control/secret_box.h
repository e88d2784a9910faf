// SecretBox: encryption at rest for Secret values in the control store.
//
// Owns one 256-bit AES key (wiped with OPENSSL_cleanse when destroyed or
// moved from). Move-only. Seal and Open are const and keep no shared state
// (each call has its own cipher context), so one SecretBox may be used from
// many threads at once; construction and assignment are not thread-safe.
//
// Sealed format (binary, stored as the value in the store):
//   "berth:aesgcm:v1:" | key id (8) | nonce (12) | ciphertext | GCM tag (16)
// The key id is the first 8 bytes of SHA-256(key): it lets Open tell "sealed
// with another key" (EACCES) from "tampered" (EBADMSG) and lets a key
// rotation find the values still sealed with the old key. The caller's `aad`
// (the store key, "/registry/secrets/default/db") is authenticated but not
// stored, so a sealed value copied under another store key fails to open.
//
// Nonces are 96 random bits per Seal. NIST SP 800-38D caps random-nonce GCM
// at 2^32 messages per key; rotate the key long before that.
//
// Errors:
//   FromKeyFile: ENOENT/EACCES from open naming the path; EPERM when the file
//     is accessible by group or others (as ssh refuses such private keys);
//     EINVAL when it holds neither 32 bytes nor their base64.
//   FromKey: EINVAL for a key that is not 32 bytes.
//   GenerateKeyFile: EEXIST when the file exists (never overwrites a key, the
//     secrets sealed with it would be lost), errno of open/write/fsync.
//   Seal: EINVAL for inputs larger than libcrypto's int lengths.
//   Open: EINVAL for a value without the prefix or too short; EACCES when
//     sealed with another key (both key ids named); EBADMSG when
//     authentication fails (ciphertext, tag or nonce changed, or wrong aad).
//   A failure inside libcrypto itself carries errno 0 and OpenSSL's message.
#pragma once

#include <array>
#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>

#include "berth/common/error.h"

namespace berth::control {

class SecretBox {
 public:
  static constexpr size_t kKeySize = 32;
  static constexpr size_t kKeyIdSize = 8;
  static constexpr size_t kNonceSize = 12;
  static constexpr size_t kTagSize = 16;
  static constexpr std::string_view kPrefix = "berth:aesgcm:v1:";

  // Reads a key file: exactly 32 raw bytes, or the base64 of 32 bytes with
  // an optional trailing newline.
  static Result<SecretBox> FromKeyFile(const std::filesystem::path& path);
  static Result<SecretBox> FromKey(std::string_view key32);
  // Writes a new random key file, as base64 and a newline so it can be
  // printed and backed up safely: mode 0600, O_EXCL, fsync of the file and
  // of its directory (a lost key loses every Secret). `berth-control init`.
  static Status GenerateKeyFile(const std::filesystem::path& path);

  SecretBox(const SecretBox&) = delete;
  SecretBox& operator=(const SecretBox&) = delete;
  SecretBox(SecretBox&& other) noexcept;
  SecretBox& operator=(SecretBox&& other) noexcept;
  ~SecretBox();

  Result<std::string> Seal(std::string_view plaintext, std::string_view aad) const;
  Result<std::string> Open(std::string_view sealed, std::string_view aad) const;
  // Whether a stored value carries the sealed prefix (plain values written
  // before encryption was enabled do not).
  static bool IsSealed(std::string_view value);

  // Hex of the key id, to name the key in logs and errors.
  std::string KeyIdHex() const;

 private:
  SecretBox() = default;
  void Wipe() noexcept;

  std::array<uint8_t, kKeySize> key_{};
  std::array<uint8_t, kKeyIdSize> key_id_{};
  // False once moved from: Seal/Open then fail instead of using a zero key.
  bool has_key_ = false;
};

}  // namespace berth::control

#include "berth/control/secret_box.h"

#include <fcntl.h>
#include <unistd.h>

#include <sys/stat.h>

#include <climits>
#include <cstring>
#include <memory>

#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <openssl/sha.h>

#include "berth/common/file.h"
#include "berth/common/unique_fd.h"

namespace berth::control {
namespace {

struct CipherCtxDeleter {
  void operator()(EVP_CIPHER_CTX* ctx) const { EVP_CIPHER_CTX_free(ctx); }
};
using CipherCtx = std::unique_ptr<EVP_CIPHER_CTX, CipherCtxDeleter>;

// Wipes a buffer that held key material when the scope ends, on every path.
class WipeOnExit {
 public:
  WipeOnExit(void* data, size_t size) : data_(data), size_(size) {}
  ~WipeOnExit() { OPENSSL_cleanse(data_, size_); }
  WipeOnExit(const WipeOnExit&) = delete;
  WipeOnExit& operator=(const WipeOnExit&) = delete;

 private:
  void* data_;
  size_t size_;
};

// libcrypto reports through its own error queue, not errno: errno 0 and
// OpenSSL's reason in the message.
Error OpenSslError(const std::string& what) {
  unsigned long code = ERR_get_error();
  ERR_clear_error();
  if (code == 0) return Error::Msg(what + " failed");
  char buf[256];
  ERR_error_string_n(code, buf, sizeof(buf));
  return Error::Msg(what + ": " + buf);
}

const unsigned char* Bytes(std::string_view s) {
  return reinterpret_cast<const unsigned char*>(s.data());
}
unsigned char* Bytes(char* p) { return reinterpret_cast<unsigned char*>(p); }

std::string Hex(const uint8_t* data, size_t size) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out;
  out.reserve(size * 2);
  for (size_t i = 0; i < size; ++i) {
    out.push_back(kDigits[data[i] >> 4]);
    out.push_back(kDigits[data[i] & 0xf]);
  }
  return out;
}

// "0644", as chmod(1) takes it.
std::string ModeString(mode_t mode) {
  std::string out = "0000";
  mode &= 07777;
  for (size_t i = out.size(); i-- > 0; mode >>= 3) out[i] = static_cast<char>('0' + (mode & 7));
  return out;
}

// Decodes padded base64 (RFC 4648) of exactly SecretBox::kKeySize bytes into
// `out`; false for anything else.
bool DecodeBase64Key(std::string_view text, std::array<uint8_t, SecretBox::kKeySize>& out) {
  // 32 bytes are 43 base64 characters and one '=' of padding.
  if (text.size() != 44 || text[42] == '=' || text[43] != '=') return false;
  std::array<uint8_t, 33> decoded{};
  WipeOnExit wipe(decoded.data(), decoded.size());
  // EVP_DecodeBlock returns -1 for a character outside the alphabet and
  // counts the padding as a decoded zero byte.
  int n = EVP_DecodeBlock(decoded.data(), Bytes(text), static_cast<int>(text.size()));
  if (n != 33) return false;
  std::memcpy(out.data(), decoded.data(), out.size());
  return true;
}

}  // namespace

SecretBox::SecretBox(SecretBox&& other) noexcept
    : key_(other.key_), key_id_(other.key_id_), has_key_(other.has_key_) {
  other.Wipe();
}

SecretBox& SecretBox::operator=(SecretBox&& other) noexcept {
  if (this != &other) {
    key_ = other.key_;
    key_id_ = other.key_id_;
    has_key_ = other.has_key_;
    other.Wipe();
  }
  return *this;
}

SecretBox::~SecretBox() { Wipe(); }

void SecretBox::Wipe() noexcept {
  // OPENSSL_cleanse, not memset: the compiler may drop a memset of memory
  // that is about to die.
  OPENSSL_cleanse(key_.data(), key_.size());
  key_id_.fill(0);
  has_key_ = false;
}

std::string SecretBox::KeyIdHex() const { return Hex(key_id_.data(), key_id_.size()); }

bool SecretBox::IsSealed(std::string_view value) { return value.starts_with(kPrefix); }

Result<SecretBox> SecretBox::FromKey(std::string_view key32) {
  if (key32.size() != kKeySize) {
    return Error::Invalid("key: want " + std::to_string(kKeySize) + " bytes, got " +
                          std::to_string(key32.size()));
  }
  SecretBox box;
  std::memcpy(box.key_.data(), key32.data(), kKeySize);
  std::array<uint8_t, SHA256_DIGEST_LENGTH> digest{};
  SHA256(box.key_.data(), box.key_.size(), digest.data());
  std::memcpy(box.key_id_.data(), digest.data(), kKeyIdSize);
  box.has_key_ = true;
  return box;
}

Result<SecretBox> SecretBox::FromKeyFile(const std::filesystem::path& path) {
  const std::string name = path.string();
  BERTH_ASSIGN_OR_RETURN(UniqueFd fd, OpenFile(path, O_RDONLY));
  // fstat of the open fd: the file checked is the file read.
  struct stat st {};
  if (::fstat(fd.get(), &st) < 0) return Error::FromErrno("fstat " + name);
  if (!S_ISREG(st.st_mode)) return Error::Invalid("key file " + name + ": not a regular file");
  if ((st.st_mode & 077) != 0) {
    return Error::Sys(EPERM, "key file " + name + ": mode " + ModeString(st.st_mode) +
                                 " gives group or others access, want 0600 (chmod 600 " + name +
                                 ")");
  }
  // The largest file we accept is the base64 form with "\r\n"; read one more
  // byte than that to tell a longer file without trusting st_size alone.
  std::array<char, 48> buf{};
  WipeOnExit wipe(buf.data(), buf.size());
  size_t got = 0;
  while (got < buf.size()) {
    ssize_t n = ::read(fd.get(), buf.data() + got, buf.size() - got);
    if (n < 0) {
      if (errno == EINTR) continue;
      return Error::FromErrno("read " + name);
    }
    if (n == 0) break;
    got += static_cast<size_t>(n);
  }
  auto wrong_size = [&] {
    size_t size = got < buf.size() ? got : static_cast<size_t>(st.st_size);
    return Error::Invalid("key file " + name + ": want " + std::to_string(kKeySize) +
                          " bytes (or their base64), got " + std::to_string(size));
  };
  std::string_view content(buf.data(), got);
  if (content.size() == kKeySize) return FromKey(content);
  if (content.ends_with('\n')) content.remove_suffix(1);
  if (content.ends_with('\r')) content.remove_suffix(1);
  std::array<uint8_t, kKeySize> key{};
  WipeOnExit wipe_key(key.data(), key.size());
  if (!DecodeBase64Key(content, key)) return wrong_size();
  return FromKey(std::string_view(reinterpret_cast<const char*>(key.data()), key.size()));
}

Status SecretBox::GenerateKeyFile(const std::filesystem::path& path) {
  const std::string name = path.string();
  std::array<uint8_t, kKeySize> key{};
  WipeOnExit wipe_key(key.data(), key.size());
  if (RAND_bytes(key.data(), static_cast<int>(key.size())) != 1) {
    return OpenSslError("generate key for " + name + ": RAND_bytes");
  }
  // 44 characters of base64, a newline and EVP_EncodeBlock's NUL.
  std::array<char, 46> text{};
  WipeOnExit wipe_text(text.data(), text.size());
  int n = EVP_EncodeBlock(Bytes(text.data()), key.data(), static_cast<int>(key.size()));
  text[static_cast<size_t>(n)] = '\n';
  std::string_view data(text.data(), static_cast<size_t>(n) + 1);

  // O_EXCL: an existing key is never replaced; the Secrets sealed with it
  // would become unreadable.
  BERTH_ASSIGN_OR_RETURN(UniqueFd fd,
                         OpenFile(path, O_WRONLY | O_CREAT | O_EXCL, S_IRUSR | S_IWUSR));
  auto fail = [&](Error e) {
    // A half-written key file would block the next attempt with EEXIST and
    // could be mistaken for a key. unlink errors: nothing more to do, the
    // original error is the one to report.
    (void)::unlink(path.c_str());
    return e;
  };
  // The umask may have cleared bits of 0600 (0400 is fine, 0200 is not):
  // set the mode outright.
  if (::fchmod(fd.get(), S_IRUSR | S_IWUSR) < 0) return fail(Error::FromErrno("fchmod " + name));
  size_t off = 0;
  while (off < data.size()) {
    ssize_t w = ::write(fd.get(), data.data() + off, data.size() - off);
    if (w < 0) {
      if (errno == EINTR) continue;
      return fail(Error::FromErrno("write " + name));
    }
    off += static_cast<size_t>(w);
  }
  if (::fsync(fd.get()) < 0) return fail(Error::FromErrno("fsync " + name));
  std::filesystem::path dir = path.parent_path().empty() ? "." : path.parent_path();
  BERTH_ASSIGN_OR_RETURN(UniqueFd dir_fd, OpenFile(dir, O_RDONLY | O_DIRECTORY));
  // The directory entry must be durable too, or a crash can lose the key.
  if (::fsync(dir_fd.get()) < 0) return Error::FromErrno("fsync " + dir.string());
  return Ok();
}

Result<std::string> SecretBox::Seal(std::string_view plaintext, std::string_view aad) const {
  if (!has_key_) return Error::Invalid("seal: SecretBox has no key (moved from)");
  // libcrypto takes int lengths.
  if (plaintext.size() > INT_MAX - kTagSize || aad.size() > INT_MAX) {
    return Error::Invalid("seal: value of " + std::to_string(plaintext.size()) +
                          " bytes is too large");
  }
  const size_t header = kPrefix.size() + kKeyIdSize + kNonceSize;
  std::string out(header + plaintext.size() + kTagSize, '\0');
  std::memcpy(out.data(), kPrefix.data(), kPrefix.size());
  std::memcpy(out.data() + kPrefix.size(), key_id_.data(), kKeyIdSize);
  unsigned char* nonce = Bytes(out.data() + kPrefix.size() + kKeyIdSize);
  unsigned char* ct = Bytes(out.data() + header);
  unsigned char* tag = ct + plaintext.size();
  if (RAND_bytes(nonce, static_cast<int>(kNonceSize)) != 1) {
    return OpenSslError("seal: RAND_bytes");
  }

  CipherCtx ctx(EVP_CIPHER_CTX_new());
  if (!ctx) return OpenSslError("seal: EVP_CIPHER_CTX_new");
  if (EVP_EncryptInit_ex(ctx.get(), EVP_aes_256_gcm(), nullptr, nullptr, nullptr) != 1 ||
      EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_SET_IVLEN, static_cast<int>(kNonceSize),
                          nullptr) != 1 ||
      EVP_EncryptInit_ex(ctx.get(), nullptr, nullptr, key_.data(), nonce) != 1) {
    return OpenSslError("seal: init AES-256-GCM");
  }
  int len = 0;
  // Empty inputs are skipped: an empty string_view may carry a null pointer.
  if (!aad.empty() &&
      EVP_EncryptUpdate(ctx.get(), nullptr, &len, Bytes(aad), static_cast<int>(aad.size())) != 1) {
    return OpenSslError("seal: authenticate aad");
  }
  if (!plaintext.empty() && EVP_EncryptUpdate(ctx.get(), ct, &len, Bytes(plaintext),
                                              static_cast<int>(plaintext.size())) != 1) {
    return OpenSslError("seal: encrypt");
  }
  // GCM is a stream mode: Final emits no bytes, it computes the tag.
  if (EVP_EncryptFinal_ex(ctx.get(), ct + plaintext.size(), &len) != 1 ||
      EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_GET_TAG, static_cast<int>(kTagSize), tag) != 1) {
    return OpenSslError("seal: finish");
  }
  return out;
}

Result<std::string> SecretBox::Open(std::string_view sealed, std::string_view aad) const {
  if (!has_key_) return Error::Invalid("open sealed value: SecretBox has no key (moved from)");
  if (!IsSealed(sealed)) {
    return Error::Invalid("open sealed value: no \"" + std::string(kPrefix) + "\" prefix");
  }
  const size_t header = kPrefix.size() + kKeyIdSize + kNonceSize;
  if (sealed.size() < header + kTagSize) {
    return Error::Invalid("open sealed value: truncated, " + std::to_string(sealed.size()) +
                          " bytes, want at least " + std::to_string(header + kTagSize));
  }
  if (sealed.size() - header - kTagSize > INT_MAX || aad.size() > INT_MAX) {
    return Error::Invalid("open sealed value: " + std::to_string(sealed.size()) +
                          " bytes is too large");
  }
  const auto* key_id = Bytes(sealed.substr(kPrefix.size(), kKeyIdSize));
  if (std::memcmp(key_id, key_id_.data(), kKeyIdSize) != 0) {
    return Error::Sys(EACCES, "open sealed value: sealed with another key (id " +
                                  Hex(key_id, kKeyIdSize) + "), this key is id " + KeyIdHex());
  }
  const auto* nonce = Bytes(sealed.substr(kPrefix.size() + kKeyIdSize, kNonceSize));
  std::string_view ct = sealed.substr(header, sealed.size() - header - kTagSize);
  // EVP_CTRL_GCM_SET_TAG takes a non-const pointer.
  std::array<uint8_t, kTagSize> tag{};
  std::memcpy(tag.data(), sealed.data() + sealed.size() - kTagSize, kTagSize);

  CipherCtx ctx(EVP_CIPHER_CTX_new());
  if (!ctx) return OpenSslError("open sealed value: EVP_CIPHER_CTX_new");
  if (EVP_DecryptInit_ex(ctx.get(), EVP_aes_256_gcm(), nullptr, nullptr, nullptr) != 1 ||
      EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_SET_IVLEN, static_cast<int>(kNonceSize),
                          nullptr) != 1 ||
      EVP_DecryptInit_ex(ctx.get(), nullptr, nullptr, key_.data(), nonce) != 1) {
    return OpenSslError("open sealed value: init AES-256-GCM");
  }
  int len = 0;
  if (!aad.empty() &&
      EVP_DecryptUpdate(ctx.get(), nullptr, &len, Bytes(aad), static_cast<int>(aad.size())) != 1) {
    return OpenSslError("open sealed value: authenticate aad");
  }
  std::string out(ct.size(), '\0');
  if (!ct.empty() && EVP_DecryptUpdate(ctx.get(), Bytes(out.data()), &len, Bytes(ct),
                                       static_cast<int>(ct.size())) != 1) {
    return OpenSslError("open sealed value: decrypt");
  }
  if (EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_SET_TAG, static_cast<int>(kTagSize),
                          tag.data()) != 1) {
    return OpenSslError("open sealed value: set tag");
  }
  if (EVP_DecryptFinal_ex(ctx.get(), Bytes(out.data()) + out.size(), &len) != 1) {
    // The unauthenticated plaintext must not leak, not even in freed memory.
    OPENSSL_cleanse(out.data(), out.size());
    ERR_clear_error();
    return Error::Sys(EBADMSG,
                      "open sealed value: authentication failed (the value was changed, or "
                      "it was sealed under another store key)");
  }
  return out;
}

}  // namespace berth::control

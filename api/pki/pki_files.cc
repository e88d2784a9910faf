// PKI files on disk: certificates 0644, private keys 0600, always replaced
// atomically so a crash mid-write never leaves a torn key behind.
#include <fcntl.h>
#include <stdlib.h>
#include <unistd.h>

#include <sys/stat.h>

#include <openssl/x509.h>

#include "openssl_handles.h"

#include "berth/common/file.h"
#include "berth/common/unique_fd.h"
#include "berth/pki/pki.h"

namespace berth::pki {
namespace {

// A key file (a few hundred bytes of PEM) is never near this; an attacker
// pointing the path at /dev/zero should not exhaust memory.
constexpr size_t kMaxKeyFile = 1 << 20;

// "0644", as chmod(1) takes it.
std::string ModeString(mode_t mode) {
  std::string out = "0000";
  mode &= 07777;
  for (size_t i = out.size(); i-- > 0; mode >>= 3) out[i] = static_cast<char>('0' + (mode & 7));
  return out;
}

Status WriteAll(int fd, std::string_view data, const std::string& name) {
  size_t off = 0;
  while (off < data.size()) {
    ssize_t n = ::write(fd, data.data() + off, data.size() - off);
    if (n < 0) {
      if (errno == EINTR) continue;
      return Error::FromErrno("write " + name);
    }
    off += static_cast<size_t>(n);
  }
  return Ok();
}

// Reads a private key file after checking, on the open fd (the file checked
// is the file read), that only its owner can read it.
Result<std::string> ReadKeyFile(const std::filesystem::path& path) {
  const std::string name = path.string();
  BERTH_ASSIGN_OR_RETURN(UniqueFd fd, OpenFile(path, O_RDONLY));
  struct stat st {};
  if (::fstat(fd.get(), &st) < 0) return Error::FromErrno("fstat " + name);
  if (!S_ISREG(st.st_mode)) return Error::Invalid("key file " + name + ": not a regular file");
  if ((st.st_mode & 077) != 0) {
    return Error::Sys(EPERM, "key file " + name + ": mode " + ModeString(st.st_mode) +
                                 " gives group or others access, want 0600 (chmod 600 " + name +
                                 ")");
  }
  std::string out;
  char buf[4096];
  for (;;) {
    ssize_t n = ::read(fd.get(), buf, sizeof(buf));
    if (n < 0) {
      if (errno == EINTR) continue;
      return Error::FromErrno("read " + name);
    }
    if (n == 0) break;
    out.append(buf, static_cast<size_t>(n));
    if (out.size() > kMaxKeyFile) return Error::Invalid("key file " + name + ": too large");
  }
  return out;
}

}  // namespace

Status WriteFileSecure(const std::filesystem::path& path, std::string_view data, mode_t mode) {
  const std::string name = path.string();
  std::string tmp = name + ".tmp.XXXXXX";
  // mkostemp: O_EXCL with a random name (no stale or planted temp file is
  // ever reused) and mode 0600 from the start, whatever the umask.
  UniqueFd fd(::mkostemp(tmp.data(), O_CLOEXEC));
  if (!fd) return Error::FromErrno("create temp file for " + name);
  auto fail = [&](Error e) {
    // unlink errors: the temp file is already the lesser problem; the
    // original error is the one to report.
    (void)::unlink(tmp.c_str());
    return e;
  };
  // Set the final mode before any data is in the file; fchmod is not
  // subject to the umask, so 0644 stays 0644.
  if (::fchmod(fd.get(), mode) < 0) return fail(Error::FromErrno("fchmod " + tmp));
  if (auto st = WriteAll(fd.get(), data, tmp); !st.ok()) return fail(std::move(st).error());
  if (::fsync(fd.get()) < 0) return fail(Error::FromErrno("fsync " + tmp));
  fd.reset();
  if (::rename(tmp.c_str(), name.c_str()) < 0) {
    return fail(Error::FromErrno("rename " + tmp + " to " + name));
  }
  // The rename is durable only once the directory is.
  std::filesystem::path dir = path.parent_path().empty() ? "." : path.parent_path();
  BERTH_ASSIGN_OR_RETURN(UniqueFd dir_fd, OpenFile(dir, O_RDONLY | O_DIRECTORY));
  if (::fsync(dir_fd.get()) < 0) return Error::FromErrno("fsync " + dir.string());
  return Ok();
}

Status WriteCertificateFiles(const Certificate& cert, const std::filesystem::path& cert_path,
                             const std::filesystem::path& key_path) {
  BERTH_TRY_CTX(WriteFileSecure(key_path, cert.key_pem, S_IRUSR | S_IWUSR),
                "write private key " + key_path.string());
  BERTH_TRY_CTX(WriteFileSecure(cert_path, cert.cert_pem, S_IRUSR | S_IWUSR | S_IRGRP | S_IROTH),
                "write certificate " + cert_path.string());
  return Ok();
}

Result<Certificate> ReadCertificateFiles(const std::filesystem::path& cert_path,
                                         const std::filesystem::path& key_path) {
  using namespace detail;
  const std::string ctx = "read " + cert_path.string() + " and " + key_path.string();
  Certificate out;
  auto cert_pem = ReadFile(cert_path);
  if (!cert_pem.ok()) return std::move(cert_pem).error().Wrap(ctx);
  out.cert_pem = std::move(cert_pem).value();
  auto key_pem = ReadKeyFile(key_path);
  if (!key_pem.ok()) return std::move(key_pem).error().Wrap(ctx);
  out.key_pem = std::move(key_pem).value();

  auto cert = ParseCertificate(out.cert_pem, "certificate " + cert_path.string());
  if (!cert.ok()) return std::move(cert).error().Wrap(ctx);
  auto key = ParsePrivateKey(out.key_pem, "private key " + key_path.string());
  if (!key.ok()) return std::move(key).error().Wrap(ctx);
  // A half-finished rotation can pair a new certificate with an old key;
  // TLS would fail later with a far vaguer message.
  if (X509_check_private_key(cert->get(), key->get()) != 1) {
    return InvalidInput("private key " + key_path.string() + " does not match certificate " +
                        cert_path.string());
  }
  return out;
}

}  // namespace berth::pki

#include "distls/x509/pem.hpp"

#include <cerrno>
#include <climits>
#include <cstring>
#include <string>
#include <system_error>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/asn1.h>
#include <openssl/err.h>
#include <openssl/pem.h>

#include "pem_block.hpp"

namespace distls::pem {
namespace detail {

ossl::Bio memory_bio(std::string_view pem, std::string_view source) {
  if (pem.size() > static_cast<std::size_t>(INT_MAX))
    throw ossl::Error(std::string(source) + ": input too large");
  ossl::Bio bio{BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size()))};
  if (!bio) ossl::fail(std::string(source) + ": cannot create memory BIO");
  return bio;
}

bool next_block(BIO* bio, PemBlock& block, std::string_view source) {
  if (PEM_read_bio(bio, &block.name, &block.header, &block.data, &block.len) == 1) return true;
  const unsigned long e = ERR_peek_last_error();
  if (ERR_GET_LIB(e) == ERR_LIB_PEM && ERR_GET_REASON(e) == PEM_R_NO_START_LINE) {
    ERR_clear_error();
    return false;
  }
  ossl::fail(std::string(source) + ": malformed PEM");
}

// A key or certificate is exactly one DER SEQUENCE; bytes after it mean the block was
// tampered with or concatenated wrongly, and the decoders would silently ignore them.
void require_single_der(const PemBlock& block, std::string_view source) {
  const unsigned char* p = block.data;
  long content = 0;
  int tag = 0;
  int cls = 0;
  const int r = ASN1_get_object(&p, &content, &tag, &cls, block.len);
  if ((r & 0x80) != 0) ossl::fail(std::string(source) + ": " + block.name + " block is not DER");
  if (r != V_ASN1_CONSTRUCTED || tag != V_ASN1_SEQUENCE)
    throw ossl::Error(std::string(source) + ": " + block.name + " block is not a DER SEQUENCE");
  if (p + content != block.data + block.len)
    throw ossl::Error(std::string(source) + ": trailing data inside " + block.name + " block");
}

std::string bio_contents(BIO* bio) {
  char* p = nullptr;
  const long n = BIO_get_mem_data(bio, &p);
  return std::string(p, static_cast<std::size_t>(n));
}

}  // namespace detail

namespace {

using detail::bio_contents;
using detail::memory_bio;
using detail::next_block;
using detail::PemBlock;
using detail::require_single_der;

std::string errno_text(int err) { return std::generic_category().message(err); }

// Closes on scope exit; close errors on the write path are checked explicitly first.
struct Fd {
  int fd = -1;
  explicit Fd(int f) : fd(f) {}
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  ~Fd() {
    if (fd >= 0) ::close(fd);
  }
};

// Guards the regular files we read: certs and keys are a few KiB, and a cap keeps a
// misconfigured path such as /dev/zero from eating memory.
constexpr std::size_t kMaxFileSize = 16 * 1024 * 1024;

}  // namespace

ossl::PKey generate_ec_p256() {
  ossl::PKey key{EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-256")};
  if (!key) ossl::fail("generating an EC P-256 key");
  return key;
}

std::string private_key_to_pem(EVP_PKEY* key) {
  if (key == nullptr) throw ossl::Error("private key to PEM: no key");
  ossl::Bio bio{BIO_new(BIO_s_mem())};
  if (!bio) ossl::fail("private key to PEM: cannot create memory BIO");
  if (PEM_write_bio_PKCS8PrivateKey(bio.get(), key, nullptr, nullptr, 0, nullptr, nullptr) != 1)
    ossl::fail("private key to PEM");
  return bio_contents(bio.get());
}

std::string cert_to_pem(X509* cert) {
  if (cert == nullptr) throw ossl::Error("certificate to PEM: no certificate");
  ossl::Bio bio{BIO_new(BIO_s_mem())};
  if (!bio) ossl::fail("certificate to PEM: cannot create memory BIO");
  if (PEM_write_bio_X509(bio.get(), cert) != 1) ossl::fail("certificate to PEM");
  return bio_contents(bio.get());
}

ossl::PKey read_private_key(std::string_view pem, std::string_view source) {
  const std::string src(source);
  ossl::Bio bio = memory_bio(pem, source);
  for (;;) {
    PemBlock block;
    if (!next_block(bio.get(), block, source)) break;
    const std::string_view name = block.name;
    if (name == "ENCRYPTED PRIVATE KEY" ||
        (block.header != nullptr && std::strstr(block.header, "ENCRYPTED") != nullptr))
      throw ossl::Error(src + ": encrypted private keys are not supported");
    // Traditional per-algorithm blocks are still what many tools write.
    int type = EVP_PKEY_NONE;
    if (name == "PRIVATE KEY") {
      type = EVP_PKEY_NONE;
    } else if (name == "EC PRIVATE KEY") {
      type = EVP_PKEY_EC;
    } else if (name == "RSA PRIVATE KEY") {
      type = EVP_PKEY_RSA;
    } else {
      continue;  // a certificate beside the key in a combined file
    }
    require_single_der(block, source);
    const unsigned char* p = block.data;
    ossl::PKey key{type == EVP_PKEY_NONE ? d2i_AutoPrivateKey(nullptr, &p, block.len)
                                         : d2i_PrivateKey(type, nullptr, &p, block.len)};
    if (!key) ossl::fail(src + ": cannot decode " + block.name);
    return key;
  }
  throw ossl::Error(src + ": no PRIVATE KEY PEM block found");
}

std::vector<ossl::X509Ptr> read_certs(std::string_view pem, std::string_view source) {
  const std::string src(source);
  ossl::Bio bio = memory_bio(pem, source);
  std::vector<ossl::X509Ptr> certs;
  for (;;) {
    PemBlock block;
    if (!next_block(bio.get(), block, source)) break;
    const std::string_view name = block.name;
    if (name != "CERTIFICATE" && name != "X509 CERTIFICATE") continue;
    require_single_der(block, source);
    const unsigned char* p = block.data;
    ossl::X509Ptr cert{d2i_X509(nullptr, &p, block.len)};
    if (!cert) ossl::fail(src + ": cannot decode certificate #" + std::to_string(certs.size() + 1));
    certs.push_back(std::move(cert));
  }
  if (certs.empty()) throw ossl::Error(src + ": no CERTIFICATE PEM block found");
  return certs;
}

std::string read_file(const std::filesystem::path& path) {
  Fd f{::open(path.c_str(), O_RDONLY | O_CLOEXEC)};
  if (f.fd < 0) throw ossl::Error(path.string() + ": " + errno_text(errno));
  std::string out;
  char buf[8192];
  for (;;) {
    const ssize_t n = ::read(f.fd, buf, sizeof buf);
    if (n < 0) {
      if (errno == EINTR) continue;
      throw ossl::Error(path.string() + ": " + errno_text(errno));
    }
    if (n == 0) break;
    out.append(buf, static_cast<std::size_t>(n));
    if (out.size() > kMaxFileSize) throw ossl::Error(path.string() + ": file too large");
  }
  return out;
}

void write_file_atomic(const std::filesystem::path& path, std::string_view data, unsigned mode) {
  const std::string where = path.string();
  std::filesystem::path dir = path.parent_path();
  if (dir.empty()) dir = ".";
  // Hidden, unique, and in the same directory so that rename() stays atomic.
  // Appended, not `"." + name`: GCC 12 at -O3 sees an overlapping memcpy in that
  // insertion at the front (gcc.gnu.org/PR105329), and -Werror builds would stop on it.
  std::string name = ".";
  name += path.filename().string();
  name += ".tmp-XXXXXX";
  std::string tmpl = (dir / name).string();
  // mkstemp creates the file 0600, so a key is never readable by others, even briefly.
  Fd f{::mkstemp(tmpl.data())};
  if (f.fd < 0) throw ossl::Error(where + ": creating temporary file: " + errno_text(errno));
  const std::string tmp = tmpl;
  auto fail_errno = [&](const char* step) {
    const int err = errno;
    ::unlink(tmp.c_str());
    throw ossl::Error(where + ": " + step + ": " + errno_text(err));
  };
  if (::fchmod(f.fd, static_cast<mode_t>(mode)) != 0) fail_errno("chmod");
  std::size_t done = 0;
  while (done < data.size()) {
    const ssize_t n = ::write(f.fd, data.data() + done, data.size() - done);
    if (n < 0) {
      if (errno == EINTR) continue;
      fail_errno("write");
    }
    done += static_cast<std::size_t>(n);
  }
  if (::fsync(f.fd) != 0) fail_errno("fsync");
  const int fd = f.fd;
  f.fd = -1;
  if (::close(fd) != 0) fail_errno("close");
  if (::rename(tmp.c_str(), path.c_str()) != 0) fail_errno("rename");
  // Persist the rename itself; best effort, since the data is already safe in the file.
  Fd d{::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC)};
  if (d.fd >= 0) ::fsync(d.fd);
}

}  // namespace distls::pem

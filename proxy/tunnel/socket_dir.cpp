#include "distls/tunnel/socket_dir.hpp"

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <stdexcept>

#include <sys/stat.h>
#include <unistd.h>

namespace distls {

namespace asio = boost::asio;
using boost::system::error_code;

namespace {

// sun_path holds 108 bytes, its terminating NUL included.
constexpr std::size_t kMaxSocketPath = 107;

[[noreturn]] void refuse(const std::string& dir, const std::string& why) {
  throw std::runtime_error("--socket-dir " + dir + ": " + why);
}

[[noreturn]] void refuse_listener(std::string_view option, const std::string& path, const std::string& why) {
  throw std::runtime_error(std::string(option) + " " + path + ": " + why);
}

std::string octal(mode_t mode) {
  char buf[8];
  std::snprintf(buf, sizeof buf, "%04o", static_cast<unsigned>(mode & 07777));
  return buf;
}

}  // namespace

void prepare_socket_dir(const std::string& dir) {
  if (dir.empty()) refuse(dir, "empty path");
  if (dial_socket_path(dir).size() > kMaxSocketPath) refuse(dir, "too long for Unix socket paths (108 bytes)");
  struct stat st{};
  if (::lstat(dir.c_str(), &st) != 0) {
    if (errno != ENOENT) refuse(dir, std::strerror(errno));
    if (::mkdir(dir.c_str(), 0770) != 0) refuse(dir, std::string("cannot create: ") + std::strerror(errno));
    // mkdir's mode is cut by the umask; the group bits are meant.
    if (::chmod(dir.c_str(), 0770) != 0) refuse(dir, std::string("cannot set mode 0770: ") + std::strerror(errno));
    return;
  }
  if (S_ISLNK(st.st_mode)) refuse(dir, "is a symbolic link; give the directory itself");
  if (!S_ISDIR(st.st_mode)) refuse(dir, "is not a directory");
  if (st.st_uid != ::geteuid() && st.st_uid != 0)
    refuse(dir, "belongs to uid " + std::to_string(st.st_uid) + ", not to this user (uid " +
                    std::to_string(::geteuid()) + ")");
  if ((st.st_mode & 0007) != 0)
    refuse(dir, "mode " + octal(st.st_mode) +
                    " lets every user of this host reach the node's sockets; chmod o-rwx it, or name a "
                    "subdirectory for distls to create");
}

void size_node_socket(unix_stream::socket& socket) {
  constexpr int kBufferBytes = 1 << 20;
  error_code ignored;
  socket.set_option(asio::socket_base::send_buffer_size(kBufferBytes), ignored);
  socket.set_option(asio::socket_base::receive_buffer_size(kBufferBytes), ignored);
}

std::string dial_socket_path(const std::string& dir) { return dir + "/distls.sock"; }

std::string node_socket_path(const std::string& dir, const std::string& alive) { return dir + "/" + alive + ".sock"; }

unix_stream::acceptor make_unix_listener(asio::any_io_executor ex, const std::string& path, std::string_view option) {
  auto fail = [&](const std::string& why) { refuse_listener(option, path, why); };
  if (path.size() > kMaxSocketPath) fail("too long for a Unix socket path (108 bytes)");
  struct stat st{};
  if (::lstat(path.c_str(), &st) == 0) {
    if (!S_ISSOCK(st.st_mode)) fail("exists and is not a socket; remove it");
    // Left by a distls that died, or held by one that runs: ask it.
    unix_stream::socket probe(ex);
    error_code ec;
    probe.connect(unix_stream::endpoint(path), ec);
    if (!ec) fail("another distls answers there; one distls per socket directory");
    if (::unlink(path.c_str()) != 0 && errno != ENOENT)
      fail(std::string("cannot remove the stale socket: ") + std::strerror(errno));
  }
  unix_stream::acceptor acceptor(ex);
  error_code ec;
  acceptor.open(unix_stream(), ec);
  if (!ec) acceptor.bind(unix_stream::endpoint(path), ec);
  if (!ec && ::chmod(path.c_str(), 0660) != 0) ec = error_code(errno, boost::system::system_category());
  if (!ec) acceptor.listen(asio::socket_base::max_listen_connections, ec);
  if (ec) fail(ec.message());
  return acceptor;
}

}  // namespace distls

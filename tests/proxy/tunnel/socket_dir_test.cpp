// The socket directory's guards (who may reach the node's sockets) and the listener's
// stale-file handling, on the real filesystem.
#include "distls/tunnel/socket_dir.hpp"

#include <filesystem>
#include <fstream>
#include <stdexcept>
#include <string>

#include <sys/stat.h>
#include <unistd.h>

#include <boost/asio/io_context.hpp>
#include <gtest/gtest.h>

namespace distls {
namespace {

namespace fs = std::filesystem;
using boost::system::error_code;

class SocketDirTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/distls-socket-dir-XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl), nullptr);
    root = tmpl;
  }
  void TearDown() override { fs::remove_all(root); }

  // The message prepare_socket_dir() refuses `dir` with; "" when it accepts it.
  static std::string refusal(const std::string& dir) {
    try {
      prepare_socket_dir(dir);
      return "";
    } catch (const std::runtime_error& e) {
      return e.what();
    }
  }

  std::string listener_refusal(const std::string& path) {
    try {
      auto a = make_unix_listener(io.get_executor(), path, "--socket-dir");
      return "";
    } catch (const std::runtime_error& e) {
      return e.what();
    }
  }

  static mode_t mode_of(const std::string& path) {
    struct stat st{};
    EXPECT_EQ(::stat(path.c_str(), &st), 0);
    return st.st_mode & 07777;
  }

  std::string root;
  boost::asio::io_context io;
};

TEST_F(SocketDirTest, AMissingDirectoryIsMadeForUserAndGroupOnly) {
  const auto dir = root + "/sock";
  const auto old = ::umask(0077);  // the group bits are meant, whatever the umask
  EXPECT_EQ(refusal(dir), "");
  ::umask(old);
  EXPECT_EQ(mode_of(dir), 0770u);
  EXPECT_EQ(refusal(dir), "") << "made once, accepted again after a restart";
}

TEST_F(SocketDirTest, ADirectoryOthersMayEnterIsRefused) {
  ASSERT_EQ(::chmod(root.c_str(), 0777), 0);  // an emptyDir's own mode
  EXPECT_NE(refusal(root).find("mode 0777 lets every user of this host reach the node's sockets"), std::string::npos)
      << refusal(root);
  ASSERT_EQ(::chmod(root.c_str(), 0701), 0);  // even search alone reaches a socket by name
  EXPECT_NE(refusal(root).find("chmod o-rwx"), std::string::npos);
  ASSERT_EQ(::chmod(root.c_str(), 0750), 0);
  EXPECT_EQ(refusal(root), "");
  // A subdirectory distls makes in a shared mount is the way out.
  ASSERT_EQ(::chmod(root.c_str(), 0777), 0);
  EXPECT_EQ(refusal(root + "/distls"), "");
}

TEST_F(SocketDirTest, SymlinksFilesAndOtherUsersDirectoriesAreRefused) {
  const auto target = root + "/real";
  ASSERT_TRUE(fs::create_directory(target));
  ASSERT_EQ(::chmod(target.c_str(), 0700), 0);
  fs::create_directory_symlink(target, root + "/link");
  EXPECT_NE(refusal(root + "/link").find("is a symbolic link"), std::string::npos);
  std::ofstream(root + "/file") << "x";
  EXPECT_NE(refusal(root + "/file").find("is not a directory"), std::string::npos);
  EXPECT_NE(refusal(root + "/no/such/parent").find("cannot create"), std::string::npos);
  const auto theirs = root + "/theirs";
  ASSERT_TRUE(fs::create_directory(theirs));
  ASSERT_EQ(::chmod(theirs.c_str(), 0770), 0);
  ASSERT_EQ(::chown(theirs.c_str(), 4242, 4242), 0) << "the suite runs as root";
  EXPECT_NE(refusal(theirs).find("belongs to uid 4242"), std::string::npos) << refusal(theirs);
  EXPECT_NE(refusal(root + "/" + std::string(120, 'x')).find("too long"), std::string::npos);
}

TEST_F(SocketDirTest, AStaleSocketIsReplacedAndALiveOneRefused) {
  const auto path = dial_socket_path(root);
  {
    auto first = make_unix_listener(io.get_executor(), path, "--socket-dir");
    EXPECT_EQ(mode_of(path), 0660u);
    EXPECT_NE(listener_refusal(path).find("another distls answers there"), std::string::npos);
  }  // closed without removing the file: what a killed distls leaves
  ASSERT_TRUE(fs::is_socket(path));
  EXPECT_EQ(listener_refusal(path), "") << "a socket nobody answers on is stale";
  fs::remove(path);
  std::ofstream(path) << "not a socket";
  EXPECT_NE(listener_refusal(path).find("exists and is not a socket"), std::string::npos);
  EXPECT_TRUE(fs::is_regular_file(path)) << "never removes what is not a socket";
}

TEST_F(SocketDirTest, PathsAreTheNodesAliveInTheDirectory) {
  EXPECT_EQ(dial_socket_path("/run/distls"), "/run/distls/distls.sock");
  EXPECT_EQ(node_socket_path("/run/distls", "app"), "/run/distls/app.sock");
}

}  // namespace
}  // namespace distls

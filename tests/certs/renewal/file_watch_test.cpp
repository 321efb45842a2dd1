#include "distls/renewal/file_watch.hpp"

#include <fstream>
#include <sstream>

#include <boost/asio/io_context.hpp>
#include <gtest/gtest.h>

#include "tests/certs/cert_test_support.hpp"

namespace distls {
namespace {

void write(const std::filesystem::path& p, const std::string& s) { std::ofstream(p, std::ios::binary) << s; }

TEST(FileWatch, SeesRewritesRenamesSymlinkSwapsAndRemovals) {
  test::TempDir dir;
  write(dir / "a", "one");
  boost::asio::io_context io;
  std::ostringstream out;
  Logger log(out, LogLevel::debug);
  Metrics metrics;
  Tasks tasks(io.get_executor(), log, metrics);
  int changes = 0;
  FileWatch watch(tasks, {dir / "a"}, std::chrono::hours(1), [&] { ++changes; });
  watch.start();

  watch.check_now();
  EXPECT_EQ(changes, 0) << "nothing changed yet";
  write(dir / "a", "two");
  watch.check_now();
  EXPECT_EQ(changes, 1);
  watch.check_now();
  EXPECT_EQ(changes, 1) << "the same change reported twice";

  // An atomic rename of same-sized content, as cert-manager's csi-driver writes.
  write(dir / "a.tmp", "six");
  std::filesystem::rename(dir / "a.tmp", dir / "a");
  watch.check_now();
  EXPECT_EQ(changes, 2);

  // A Kubernetes Secret mount: the file is a symlink into a directory that is swapped.
  std::filesystem::create_directory(dir / "v1");
  std::filesystem::create_directory(dir / "v2");
  write(dir / "v1" / "tls.crt", "cert one");
  write(dir / "v2" / "tls.crt", "cert two");
  std::filesystem::create_directory_symlink("v1", dir / "..data");
  std::filesystem::create_symlink("..data/tls.crt", dir / "tls.crt");
  FileWatch mounted(tasks, {dir / "tls.crt"}, std::chrono::hours(1), [&] { ++changes; });
  mounted.start();
  std::filesystem::create_directory_symlink("v2", dir / "..data_tmp");
  std::filesystem::rename(dir / "..data_tmp", dir / "..data");
  mounted.check_now();
  EXPECT_EQ(changes, 3);

  std::filesystem::remove(dir / "a");
  watch.check_now();
  EXPECT_EQ(changes, 4);
  write(dir / "a", "");
  watch.check_now();
  EXPECT_EQ(changes, 5) << "an empty file must differ from a missing one";
}

}  // namespace
}  // namespace distls

#include "distls/renewal/file_watch.hpp"

#include <fstream>
#include <sstream>

#include <openssl/evp.h>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/use_awaitable.hpp>

namespace distls {

namespace asio = boost::asio;

FileWatch::FileWatch(Tasks& tasks, std::vector<std::filesystem::path> files, std::chrono::milliseconds interval,
                     std::function<void()> on_change)
    : tasks_(tasks),
      files_(std::move(files)),
      interval_(interval),
      on_change_(std::move(on_change)),
      timer_(tasks.executor()) {}

std::string FileWatch::fingerprint(const std::vector<std::filesystem::path>& files) {
  std::string all;
  for (const auto& f : files) {
    std::ifstream in(f, std::ios::binary);
    std::ostringstream content;
    if (in) content << in.rdbuf();
    all += in ? "+" : "-";  // "missing" must differ from "empty"
    all += content.str();
    all += '\0';
  }
  // SHA-256 so that the fingerprint stays small whatever the files hold.
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  EVP_Digest(all.data(), all.size(), digest, &len, EVP_sha256(), nullptr);
  return std::string(reinterpret_cast<const char*>(digest), len);
}

void FileWatch::start() {
  last_ = fingerprint(files_);
  tasks_.spawn("file-watch", run(), Tasks::Kind::essential);
}

void FileWatch::stop() {
  stopped_ = true;
  timer_.cancel();
}

void FileWatch::check_now() {
  auto now = fingerprint(files_);
  if (now == last_) return;
  last_ = std::move(now);
  on_change_();
}

asio::awaitable<void> FileWatch::run() {
  while (!stopped_) {
    timer_.expires_after(interval_);
    co_await timer_.async_wait(asio::as_tuple(asio::use_awaitable));
    if (stopped_) co_return;
    check_now();
  }
}

}  // namespace distls

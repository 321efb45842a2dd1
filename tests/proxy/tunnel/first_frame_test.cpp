// read_send_name over an in-memory TLS side (memory_sides.hpp): the frame whole, in
// pieces, cut short, too long, malformed, and a failure at every read.
#include "distls/tunnel/first_frame.hpp"

#include <limits>
#include <optional>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/_experimental/test/error.hpp>
#include <gtest/gtest.h>

#include "tests/proxy/tunnel/memory_sides.hpp"

namespace distls {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
using asio::as_tuple;
using asio::use_awaitable;
using boost::system::error_code;
using test::MemorySocket;
using test::MemoryTls;

// A send_name frame as OTP 23+ sends it: length, 'N', flags, creation, name length, name.
std::string n_frame(const std::string& name, std::size_t padding = 0) {
  std::string body = "N";
  body += std::string("\0\0\0\x01\0\0\0\x0d", 8);  // flags
  body += std::string("\x12\x34\x56\x78", 4);      // creation
  body += static_cast<char>(name.size() >> 8);
  body += static_cast<char>(name.size() & 0xff);
  body += name;
  body += std::string(padding, 'x');  // dist_util ignores what follows the name
  return std::string{static_cast<char>(body.size() >> 8), static_cast<char>(body.size() & 0xff)} + body;
}

// The 'n' form of OTP 22 and earlier: version, flags, name.
std::string old_n_frame(const std::string& name) {
  std::string body = std::string("n\0\x06\0\0\x0d\x0f", 7) + name;
  return std::string{static_cast<char>(body.size() >> 8), static_cast<char>(body.size() & 0xff)} + body;
}

class FirstFrameTest : public ::testing::Test {
 protected:
  asio::io_context io;
  beast::test::fail_count never{std::numeric_limits<std::size_t>::max()};
  std::optional<MemoryTls> tls_side{std::in_place, io, never};

  MemoryTls& tls() { return *tls_side; }
  // A new connection, for the next case of a test.
  void fresh() {
    tls_side.reset();
    tls_side.emplace(io, never);
  }

  // read_send_name while the peer sends `bytes`, in pieces of `piece` bytes (each in its
  // own turn of the event loop) or at once, then ends as `then` says.
  Admission read(const std::string& bytes, MemorySocket::Ending then = MemorySocket::Ending::open,
                 std::size_t piece = 0) {
    auto peer = [&]() -> asio::awaitable<void> {
      const std::size_t step = piece == 0 ? bytes.size() : piece;
      for (std::size_t at = 0; at < bytes.size(); at += step) {
        co_await asio::async_write(tls().remote(), asio::buffer(bytes.substr(at, step)), as_tuple(use_awaitable));
        co_await asio::post(io, use_awaitable);
      }
      end(then);
    };
    auto scenario = [&]() -> asio::awaitable<Admission> {
      using namespace asio::experimental::awaitable_operators;
      co_return co_await (peer() && read_send_name(tls()));
    };
    auto a = test::run_or_hang(io, scenario());
    EXPECT_TRUE(a) << "read_send_name hung";
    return a.value_or(Admission{"hung", "", std::nullopt, {}});
  }

  void end(MemorySocket::Ending how) {
    error_code ignored;
    if (how == MemorySocket::Ending::shutdown) tls().remote().shutdown(asio::socket_base::shutdown_send, ignored);
    if (how == MemorySocket::Ending::closed) tls().remote().close();
    if (how == MemorySocket::Ending::reset) tls().remote().reset();
  }

  // What the tunnel would read next from the peer.
  std::string rest() {
    auto r = test::run_or_hang(io, [&]() -> asio::awaitable<std::string> {
      char buf[64];
      auto [ec, n] = co_await tls().read_some(asio::buffer(buf));
      co_return ec ? "(" + ec.message() + ")" : std::string(buf, n);
    }());
    return r.value_or("(hung)");
  }

  static std::string bytes(const Admission& a) { return std::string(a.frame.begin(), a.frame.end()); }
};

TEST_F(FirstFrameTest, ReadsExactlyTheFrameAndNotAByteMore) {
  const auto frame = n_frame("app@127.0.0.3");
  const auto a = read(frame + "the node's next frame");
  EXPECT_EQ(a.reason, "") << a.detail;
  ASSERT_TRUE(a.node);
  EXPECT_EQ(a.node->full(), "app@127.0.0.3");
  EXPECT_EQ(bytes(a), frame);
  EXPECT_EQ(rest(), "the node's next frame") << "bytes after the frame belong to the node";
}

TEST_F(FirstFrameTest, TheOldFormIsAccepted) {
  const auto a = read(old_n_frame("app@host.example"));
  EXPECT_EQ(a.reason, "") << a.detail;
  ASSERT_TRUE(a.node);
  EXPECT_EQ(a.node->full(), "app@host.example");
}

TEST_F(FirstFrameTest, AFrameArrivingInPiecesIsAssembled) {
  const auto frame = n_frame("app@127.0.0.3");
  for (std::size_t piece : {1u, 2u, 3u, 5u}) {
    SCOPED_TRACE("pieces of " + std::to_string(piece));
    fresh();
    const auto a = read(frame + "more", MemorySocket::Ending::open, piece);
    EXPECT_EQ(a.reason, "") << a.detail;
    EXPECT_EQ(bytes(a), frame);
    EXPECT_EQ(rest(), "more");
  }
}

TEST_F(FirstFrameTest, ReadsOfOneByteAtATimeAreAssembled) {
  tls().transport().read_size(1);
  const auto frame = n_frame("app@127.0.0.3");
  const auto a = read(frame + "z");
  EXPECT_EQ(a.reason, "") << a.detail;
  EXPECT_EQ(bytes(a), frame);
  EXPECT_EQ(rest(), "z");
}

// The length is judged before anything more is read: a stranger cannot make distls
// buffer more than a send_name can be.
TEST_F(FirstFrameTest, ALengthBeyondTheLargestSendNameIsRefusedUnread) {
  const auto a = read("\x02\x01" + std::string(513, 'N'));
  EXPECT_EQ(a.reason, "bad_send_name");
  EXPECT_EQ(a.detail, "frame length 513");
  EXPECT_FALSE(a.node);
  EXPECT_EQ(rest().size(), 64u) << "the body was not read";
}

TEST_F(FirstFrameTest, TheLargestFrameIsRead) {
  const auto frame = n_frame("app@127.0.0.3", dist::kMaxSendNameFrame - 15 - 13);
  ASSERT_EQ(frame.size(), 2 + dist::kMaxSendNameFrame);
  const auto a = read(frame);
  EXPECT_EQ(a.reason, "") << a.detail;
  EXPECT_EQ(bytes(a), frame);
}

TEST_F(FirstFrameTest, AnEmptyFrameIsRefused) {
  const auto a = read(std::string("\0\0", 2));
  EXPECT_EQ(a.reason, "bad_send_name");
  EXPECT_EQ(a.detail, "frame length 0");
}

TEST_F(FirstFrameTest, AFrameCutShortIsPeerClosed) {
  const auto frame = n_frame("app@127.0.0.3");
  struct Case {
    std::string sent;
    MemorySocket::Ending then;
    std::string detail;
  };
  const std::vector<Case> cases{
      {frame.substr(0, 1), MemorySocket::Ending::shutdown, "End of file"},  // within the length
      {frame.substr(0, 2), MemorySocket::Ending::shutdown, "End of file"},  // only the length
      {frame.substr(0, 10), MemorySocket::Ending::shutdown, "End of file"},
      {frame.substr(0, 10), MemorySocket::Ending::closed, "memory: stream truncated"},
      {frame.substr(0, 10), MemorySocket::Ending::reset, "memory: Connection reset by peer"},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(std::to_string(c.sent.size()) + " bytes, then " + std::to_string(static_cast<int>(c.then)));
    fresh();
    const auto a = read(c.sent, c.then);
    EXPECT_EQ(a.reason, "peer_closed");
    EXPECT_EQ(a.detail, c.detail);
    EXPECT_FALSE(a.node);
  }
}

TEST_F(FirstFrameTest, MalformedFramesAreRefusedWithTheParsersReason) {
  const std::vector<std::pair<std::string, std::string>> cases{
      {std::string("\0\x05hello", 7), "not_send_name"},
      {std::string("\0\x05N\0\0\0\0", 7), "truncated_send_name"},
      {n_frame("app"), "not a full node name: app"},
      {n_frame("app@bad host"), "not a full node name: app@bad host"},
  };
  for (const auto& [frame, detail] : cases) {
    fresh();
    const auto a = read(frame);
    EXPECT_EQ(a.reason, "bad_send_name") << detail;
    EXPECT_EQ(a.detail, detail);
    EXPECT_FALSE(a.node) << detail;
  }
}

// Beast's way: fail the Nth read for N = 0, 1, ... until the frame is read. Every
// failure is peer_closed with the stream's own words, and nothing hangs.
TEST(FirstFrame, AFailureAtEveryReadIsPeerClosed) {
  const auto frame = n_frame("app@127.0.0.3");
  std::size_t n = 0;
  for (; n < 100; ++n) {
    SCOPED_TRACE("N = " + std::to_string(n));
    asio::io_context io;
    beast::test::fail_count fc(n);
    MemoryTls tls(io, fc);
    tls.transport().read_size(4);
    auto a = test::run_or_hang(io, [&]() -> asio::awaitable<Admission> {
      co_await asio::async_write(tls.remote(), asio::buffer(frame), as_tuple(use_awaitable));
      co_return co_await read_send_name(tls);
    }());
    ASSERT_TRUE(a) << "hung";
    if (a->reason.empty()) {
      EXPECT_EQ(std::string(a->frame.begin(), a->frame.end()), frame);
      break;
    }
    EXPECT_EQ(a->reason, "peer_closed");
    EXPECT_EQ(a->detail, "memory: " + error_code(beast::test::error::test_failure).message());
  }
  // One read for the length, then the body four bytes a read; fail_count(N) fails the
  // operation max(N, 1), counting from 1, so the first N that fails none is one more.
  const std::size_t reads = 1 + (frame.size() - 2 + 3) / 4;
  EXPECT_EQ(n, reads + 1);
}

}  // namespace
}  // namespace distls

#include "distls/tunnel/lobby.hpp"

#include <boost/asio/io_context.hpp>
#include <boost/asio/write.hpp>
#include <gtest/gtest.h>

namespace distls {
namespace {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;

class LobbyTest : public ::testing::Test {
 protected:
  asio::io_context io;
  ConnectionLimiter limiter{8};
  tcp::acceptor acceptor{io, tcp::endpoint(asio::ip::address_v4::loopback(), 0)};
  std::vector<std::string> admitted, rejected;
  std::vector<tcp::socket> kept;

  Lobby make(std::chrono::milliseconds timeout) {
    return Lobby(io.get_executor(), timeout,
                 [this](tcp::socket s, ConnectionLimiter::Slot, tcp::endpoint, Lobby::clock::time_point) {
                   char c = 0;
                   s.read_some(asio::buffer(&c, 1));
                   admitted.emplace_back(1, c);
                 },
                 [this](const tcp::endpoint&, std::string_view reason, const std::string&) {
                   rejected.emplace_back(reason);
                 });
  }

  // A client connected to the lobby; the accepted end is handed in.
  tcp::socket guest(Lobby& lobby) {
    tcp::socket client(io), server(io);
    client.connect(acceptor.local_endpoint());
    acceptor.accept(server);
    auto slot = limiter.try_acquire();
    lobby.enter(std::move(server), std::move(*slot), client.local_endpoint());
    return client;
  }

  void run_until(const std::function<bool()>& done) {
    for (int i = 0; i < 20000 && !done(); ++i) io.run_one_for(std::chrono::milliseconds(1));
  }
};

TEST_F(LobbyTest, GuestsThatSpeakAreAdmittedOthersAreTurnedAway) {
  auto lobby = make(std::chrono::seconds(60));
  auto talker = guest(lobby);
  auto leaver = guest(lobby);
  auto silent = guest(lobby);
  EXPECT_EQ(lobby.size(), 3u);
  EXPECT_EQ(limiter.active(), 3u) << "a guest holds its slot";
  asio::write(talker, asio::buffer("x", 1));
  leaver.close();
  run_until([&] { return admitted.size() + rejected.size() == 2; });
  EXPECT_EQ(admitted, (std::vector<std::string>{"x"}));
  EXPECT_EQ(rejected, (std::vector<std::string>{"peer_closed"}));
  EXPECT_EQ(lobby.size(), 1u);
  EXPECT_EQ(limiter.active(), 1u) << "slots leave with their guests";
  lobby.close_all();
  io.poll();
  EXPECT_EQ(lobby.size(), 0u);
  EXPECT_EQ(rejected.size(), 1u) << "shutdown is no refusal";
}

TEST_F(LobbyTest, SilentGuestsLeaveAtTheirDeadlineInOrder) {
  auto lobby = make(std::chrono::milliseconds(50));
  auto first = guest(lobby);
  auto second = guest(lobby);
  run_until([&] { return rejected.size() == 2; });
  EXPECT_EQ(rejected, (std::vector<std::string>{"handshake_timeout", "handshake_timeout"}));
  EXPECT_EQ(lobby.size(), 0u);
  EXPECT_EQ(limiter.active(), 0u);
  // The lobby still works after it emptied: the timer is armed again for a newcomer.
  auto third = guest(lobby);
  run_until([&] { return rejected.size() == 3; });
  EXPECT_EQ(rejected.back(), "handshake_timeout");
}

}  // namespace
}  // namespace distls

// Asynchronous DNS through c-ares, on the Asio event loop: c-ares tells us which sockets
// it wants watched (its socket-state callback), Asio waits on them and a timer drives its
// timeouts. No thread, no blocking getaddrinfo. Answers and failures (NXDOMAIN,
// SERVFAIL, timeouts) come back as data, never as exceptions.
#pragma once

#include <chrono>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <ares.h>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/ip/address.hpp>
#include <boost/asio/steady_timer.hpp>

namespace distls {

struct SrvTarget {
  std::string host;  // without the trailing dot
  std::uint16_t port = 0;
  std::uint16_t priority = 0;
  std::uint16_t weight = 0;
};

struct DnsAnswer {
  // Empty on success. Otherwise a stable label (nxdomain, servfail, timeout, refused,
  // nodata, bad_response, unreachable, error), which becomes a metric label...
  std::string error;
  // ...and c-ares's own words, for the log.
  std::string detail;
  std::vector<boost::asio::ip::address> addresses;
  std::vector<SrvTarget> targets;
  // A failed answer that still carries what the queries that worked found (A answered,
  // AAAA was refused): the caller decides whether that is better than nothing.
  bool partial = false;

  bool ok() const { return error.empty(); }
};

// Which address records to ask for.
enum class AddressFamilies { v4, v6, both };

class DnsResolver {
 public:
  struct Options {
    std::string servers;  // "127.0.0.1:5353,[::1]:53"; empty: the system's resolv.conf
    std::chrono::milliseconds timeout{2000};
    int tries = 2;
  };

  // Throws std::runtime_error when c-ares cannot be set up or `servers` is malformed.
  DnsResolver(boost::asio::any_io_executor ex, const Options& options);
  ~DnsResolver();
  DnsResolver(const DnsResolver&) = delete;
  DnsResolver& operator=(const DnsResolver&) = delete;

  // A and/or AAAA records. Succeeds when at least one family has records and none
  // failed for another reason than "no records of this type"; when one family failed and
  // another answered, the answer is an error that is `partial` and keeps those records.
  boost::asio::awaitable<DnsAnswer> addresses(std::string name, AddressFamilies families = AddressFamilies::both);
  // SRV records, sorted by priority then weight (descending).
  boost::asio::awaitable<DnsAnswer> srv(std::string name);
  // A host to dial, as getaddrinfo would find it: /etc/hosts first, then DNS.
  boost::asio::awaitable<DnsAnswer> host(std::string name);

  // Shutdown: pending lookups end (cancelled) and nothing is left waiting on the event
  // loop, so that it can run out of work. Lookups started afterwards fail at once.
  void stop();

 private:
  struct Watch;
  struct Query;
  static void on_socket_state(void* self, ares_socket_t fd, int readable, int writable);
  void socket_state(ares_socket_t fd, bool readable, bool writable);
  void arm(const std::shared_ptr<Watch>& w);
  void reschedule();
  void start_query(const std::string& name, int type, std::shared_ptr<Query> q);
  static boost::asio::awaitable<DnsAnswer> wait(std::shared_ptr<Query> q);

  boost::asio::any_io_executor ex_;
  ares_channel channel_ = nullptr;
  std::map<ares_socket_t, std::shared_ptr<Watch>> watches_;
  boost::asio::steady_timer timer_;
  bool stopped_ = false;
};

// Maps a c-ares status to the stable label of DnsAnswer::error.
std::string dns_error_label(int ares_status);

}  // namespace distls

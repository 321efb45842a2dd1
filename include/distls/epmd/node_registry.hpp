// The nodes registered on this host through ALIVE2_REQ, as epmd keeps them: a name is
// held for as long as the registering connection stays open.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include <boost/asio/ip/address.hpp>

#include "distls/epmd/epmd_protocol.hpp"

namespace distls {

struct Registration {
  epmd::Alive2Request request;
  std::uint32_t creation = 0;
  // Where the node listens: the loopback it registered from. ALIVE2_REQ's protocol
  // field is always 0, even for inet6_tcp nodes, which register over ::1.
  boost::asio::ip::address loopback = boost::asio::ip::address_v4::loopback();
};

class NodeRegistry {
 public:
  explicit NodeRegistry(std::uint32_t seed = std::random_device{}()) : rng_(seed) {}

  // The creation for a new registration, or nullopt when the name is taken.
  std::optional<std::uint32_t> add(const epmd::Alive2Request& request,
                                   boost::asio::ip::address loopback = boost::asio::ip::address_v4::loopback());
  // Removes the registration only if it is still the one with this creation.
  void remove(const std::string& name, std::uint32_t creation);
  const Registration* find(const std::string& name) const;
  std::vector<epmd::NameEntry> names() const;

 private:
  std::map<std::string, Registration> nodes_;
  std::mt19937 rng_;
  std::uint32_t last_creation_ = 0;
};

}  // namespace distls

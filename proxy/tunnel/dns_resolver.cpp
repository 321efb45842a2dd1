#include "distls/tunnel/dns_resolver.hpp"

#include <algorithm>
#include <cstring>
#include <stdexcept>

#include <arpa/nameser.h>
#include <netinet/in.h>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/async_result.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <boost/asio/use_awaitable.hpp>

namespace distls {

namespace asio = boost::asio;

std::string dns_error_label(int status) {
  switch (status) {
    case ARES_SUCCESS: return "";
    case ARES_ENOTFOUND: return "nxdomain";
    case ARES_ENODATA: return "nodata";
    case ARES_ESERVFAIL: return "servfail";
    case ARES_ETIMEOUT: return "timeout";
    case ARES_EREFUSED: return "refused";
    case ARES_EBADRESP:
    case ARES_EFORMERR:
    case ARES_EBADNAME: return "bad_response";
    case ARES_ECONNREFUSED: return "unreachable";
    default: return "error";
  }
}

// One descriptor c-ares asked us to watch. The descriptor stays c-ares's: we release it
// from Asio, never close it.
struct DnsResolver::Watch {
  Watch(asio::any_io_executor ex, ares_socket_t fd) : fd(fd), desc(ex, fd) {}
  ares_socket_t fd;
  asio::posix::stream_descriptor desc;
  bool want_read = false, want_write = false;
  bool reading = false, writing = false;
  bool gone = false;
};

// The state of one lookup: one or two c-ares queries feeding one answer. The waiting
// coroutine sleeps on `done`, which the last c-ares callback cancels; c-ares may also
// answer synchronously (a malformed name), hence `complete`.
struct DnsResolver::Query {
  explicit Query(asio::any_io_executor ex) : done(ex, asio::steady_timer::time_point::max()) {}
  asio::steady_timer done;
  bool complete = false;
  int outstanding = 0;
  DnsAnswer answer;
  std::vector<int> statuses;
};

DnsResolver::DnsResolver(asio::any_io_executor ex, const Options& o) : ex_(ex), timer_(ex) {
  ares_options opts{};
  int mask = ARES_OPT_SOCK_STATE_CB | ARES_OPT_TIMEOUTMS | ARES_OPT_TRIES | ARES_OPT_FLAGS;
  // Hand SERVFAIL/REFUSED answers to us as such: otherwise c-ares reports every refusing
  // server as "could not contact", and the log would blame the network for a DNS answer.
  opts.flags = ARES_FLAG_NOCHECKRESP;
  opts.sock_state_cb = &DnsResolver::on_socket_state;
  opts.sock_state_cb_data = this;
  opts.timeout = static_cast<int>(o.timeout.count());
  opts.tries = o.tries;
  if (const int rc = ares_init_options(&channel_, &opts, mask); rc != ARES_SUCCESS)
    throw std::runtime_error(std::string("c-ares: ") + ares_strerror(rc));
  if (!o.servers.empty())
    if (const int rc = ares_set_servers_ports_csv(channel_, o.servers.c_str()); rc != ARES_SUCCESS) {
      ares_destroy(channel_);
      throw std::runtime_error("'" + o.servers + "' is not a list of IP[:PORT] DNS servers (" +
                               ares_strerror(rc) + ")");
    }
}

DnsResolver::~DnsResolver() {
  timer_.cancel();
  // Pending queries complete with ARES_EDESTRUCTION; their handlers are posted.
  ares_destroy(channel_);
  for (auto& [fd, w] : watches_) {
    w->gone = true;
    w->desc.release();
  }
}

void DnsResolver::stop() {
  stopped_ = true;
  ares_cancel(channel_);  // every pending query's callback runs now, with ARES_ECANCELLED
  timer_.cancel();
  for (auto& [fd, w] : watches_) {
    boost::system::error_code ignored;
    w->gone = true;
    w->desc.cancel(ignored);
  }
}

void DnsResolver::on_socket_state(void* self, ares_socket_t fd, int readable, int writable) {
  static_cast<DnsResolver*>(self)->socket_state(fd, readable != 0, writable != 0);
}

void DnsResolver::socket_state(ares_socket_t fd, bool readable, bool writable) {
  auto it = watches_.find(fd);
  if (!readable && !writable) {
    if (it != watches_.end()) {
      it->second->gone = true;
      it->second->desc.release();  // c-ares closes it
      watches_.erase(it);
    }
    return;
  }
  if (it == watches_.end()) it = watches_.emplace(fd, std::make_shared<Watch>(ex_, fd)).first;
  it->second->want_read = readable;
  it->second->want_write = writable;
  arm(it->second);
}

void DnsResolver::arm(const std::shared_ptr<Watch>& w) {
  auto process = [this, w](bool read) {
    return [this, w, read](boost::system::error_code ec) {
      (read ? w->reading : w->writing) = false;
      if (ec || w->gone) return;
      ares_process_fd(channel_, read ? w->fd : ARES_SOCKET_BAD, read ? ARES_SOCKET_BAD : w->fd);
      if (!w->gone) arm(w);
      reschedule();
    };
  };
  if (w->want_read && !w->reading) {
    w->reading = true;
    w->desc.async_wait(asio::posix::stream_descriptor::wait_read, process(true));
  }
  if (w->want_write && !w->writing) {
    w->writing = true;
    w->desc.async_wait(asio::posix::stream_descriptor::wait_write, process(false));
  }
}

void DnsResolver::reschedule() {
  timeval tv{};
  if (ares_timeout(channel_, nullptr, &tv) == nullptr) {
    timer_.cancel();
    return;
  }
  timer_.expires_after(std::chrono::seconds(tv.tv_sec) + std::chrono::microseconds(tv.tv_usec));
  timer_.async_wait([this](boost::system::error_code ec) {
    if (ec) return;
    ares_process_fd(channel_, ARES_SOCKET_BAD, ARES_SOCKET_BAD);  // expire timed-out queries
    reschedule();
  });
}

namespace {

void parse_into(DnsAnswer& a, int type, const unsigned char* buf, int len, int& status) {
  if (type == ns_t_a || type == ns_t_aaaa) {
    hostent* host = nullptr;
    status = type == ns_t_a ? ares_parse_a_reply(buf, len, &host, nullptr, nullptr)
                            : ares_parse_aaaa_reply(buf, len, &host, nullptr, nullptr);
    if (status != ARES_SUCCESS) return;
    for (char** p = host->h_addr_list; p != nullptr && *p != nullptr; ++p) {
      if (host->h_addrtype == AF_INET) {
        asio::ip::address_v4::bytes_type b;
        std::memcpy(b.data(), *p, b.size());
        a.addresses.emplace_back(asio::ip::address_v4(b));
      } else if (host->h_addrtype == AF_INET6) {
        asio::ip::address_v6::bytes_type b;
        std::memcpy(b.data(), *p, b.size());
        a.addresses.emplace_back(asio::ip::address_v6(b));
      }
    }
    ares_free_hostent(host);
    return;
  }
  ares_srv_reply* srv = nullptr;
  status = ares_parse_srv_reply(buf, len, &srv);
  if (status != ARES_SUCCESS) return;
  for (auto* r = srv; r != nullptr; r = r->next) {
    std::string host = r->host;
    if (!host.empty() && host.back() == '.') host.pop_back();
    a.targets.push_back({host, r->port, r->priority, r->weight});
  }
  ares_free_data(srv);
  std::stable_sort(a.targets.begin(), a.targets.end(), [](const SrvTarget& x, const SrvTarget& y) {
    return x.priority != y.priority ? x.priority < y.priority : x.weight > y.weight;
  });
}

// Several queries make one answer: any hard failure wins; "no records of this type"
// counts only when no query found anything.
void finish(DnsAnswer& a, const std::vector<int>& statuses) {
  for (int s : statuses)
    if (s != ARES_SUCCESS && s != ARES_ENODATA) {
      a.error = dns_error_label(s);
      a.detail = ares_strerror(s);
      a.partial = !a.addresses.empty() || !a.targets.empty();
      return;
    }
  if (a.addresses.empty() && a.targets.empty()) {
    a.error = "nodata";
    a.detail = "no records";
  }
}

struct Callback {
  std::shared_ptr<void> query;
  int type;
};

// Wakes the waiting coroutine through the executor, never inside c-ares: it may start
// another query at once.
template <class Query>
void complete(const std::shared_ptr<Query>& q) {
  finish(q->answer, q->statuses);
  q->complete = true;
  q->done.cancel();
}

}  // namespace

void DnsResolver::start_query(const std::string& name, int type, std::shared_ptr<Query> q) {
  if (stopped_) {
    q->statuses.push_back(ARES_ECANCELLED);
    if (--q->outstanding == 0) complete(q);
    return;
  }
  auto* cb = new Callback{q, type};  // owned by c-ares until the callback runs
  ares_search(
      channel_, name.c_str(), ns_c_in, type,
      [](void* arg, int status, int, unsigned char* buf, int len) {
        std::unique_ptr<Callback> cb(static_cast<Callback*>(arg));
        auto q = std::static_pointer_cast<Query>(cb->query);
        if (status == ARES_SUCCESS) parse_into(q->answer, cb->type, buf, len, status);
        q->statuses.push_back(status);
        if (--q->outstanding == 0) complete(q);
      },
      cb);
  reschedule();
}

asio::awaitable<DnsAnswer> DnsResolver::wait(std::shared_ptr<Query> q) {
  if (!q->complete) co_await q->done.async_wait(asio::as_tuple(asio::use_awaitable));
  if (!q->complete) co_return DnsAnswer{"timeout", "cancelled", {}, {}};  // our caller gave up
  co_return std::move(q->answer);
}

asio::awaitable<DnsAnswer> DnsResolver::addresses(std::string name, AddressFamilies families) {
  auto q = std::make_shared<Query>(ex_);
  q->outstanding = families == AddressFamilies::both ? 2 : 1;
  if (families != AddressFamilies::v6) start_query(name, ns_t_a, q);
  if (families != AddressFamilies::v4) start_query(name, ns_t_aaaa, q);
  return wait(std::move(q));
}

asio::awaitable<DnsAnswer> DnsResolver::srv(std::string name) {
  auto q = std::make_shared<Query>(ex_);
  q->outstanding = 1;
  start_query(name, ns_t_srv, q);
  return wait(std::move(q));
}

asio::awaitable<DnsAnswer> DnsResolver::host(std::string name) {
  auto q = std::make_shared<Query>(ex_);
  q->outstanding = 1;
  ares_addrinfo_hints hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  if (stopped_) {
    q->statuses.push_back(ARES_ECANCELLED);
    complete(q);
    return wait(std::move(q));
  }
  ares_getaddrinfo(
      channel_, name.c_str(), nullptr, &hints,
      [](void* arg, int status, int, ares_addrinfo* res) {
        std::unique_ptr<Callback> cb(static_cast<Callback*>(arg));
        auto q = std::static_pointer_cast<Query>(cb->query);
        for (auto* n = res ? res->nodes : nullptr; n != nullptr; n = n->ai_next) {
          if (n->ai_family == AF_INET) {
            asio::ip::address_v4::bytes_type b;
            std::memcpy(b.data(), &reinterpret_cast<sockaddr_in*>(n->ai_addr)->sin_addr, b.size());
            q->answer.addresses.emplace_back(asio::ip::address_v4(b));
          } else if (n->ai_family == AF_INET6) {
            asio::ip::address_v6::bytes_type b;
            std::memcpy(b.data(), &reinterpret_cast<sockaddr_in6*>(n->ai_addr)->sin6_addr, b.size());
            q->answer.addresses.emplace_back(asio::ip::address_v6(b));
          }
        }
        if (res) ares_freeaddrinfo(res);
        q->statuses.push_back(status);
        complete(q);
      },
      new Callback{q, 0});
  reschedule();
  return wait(std::move(q));
}

}  // namespace distls

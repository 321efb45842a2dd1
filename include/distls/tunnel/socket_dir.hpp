// The directory of Unix-domain sockets shared with the node (--socket-dir, for
// `-proto_dist distls`): distls listens at DIR/distls.sock for the node's outbound
// connections, and reaches the node at DIR/ALIVE.sock. Whoever can connect there can
// have tunnels opened with this pod's identity, so the directory is refused unless only
// this user (and its group: a pod's containers may share an fsGroup) can enter it.
#pragma once

#include <string>
#include <string_view>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/local/stream_protocol.hpp>

namespace distls {

using unix_stream = boost::asio::local::stream_protocol;

// Makes `dir` (mode 0770) when it is missing; its parent must exist. Refuses a path that
// is not a directory, a symbolic link, a directory of another user (root's excepted:
// a volume's mount point), or one that others may enter or list. Throws
// std::runtime_error saying what is wrong and how to fix it.
void prepare_socket_dir(const std::string& dir);

// DIR/distls.sock: the node connects here to dial a peer; its first packet names it.
std::string dial_socket_path(const std::string& dir);
// DIR/ALIVE.sock: the node's own listener. Alive names hold no '/' (valid_alive).
std::string node_socket_path(const std::string& dir, const std::string& alive);

// A Unix socket's buffers default to ~208 KiB, where loopback TCP autotunes to
// megabytes: a bulk sender would block every few messages. Asks for 1 MiB each way (the
// kernel caps it at net.core.[rw]mem_max); a refusal only costs speed.
void size_node_socket(unix_stream::socket& socket);

// Listens at `path` (mode 0660). A socket file nobody answers on is left over from a
// process that died and is removed; one that answers belongs to a live distls, and
// this one refuses to start. Throws std::runtime_error naming `option`.
unix_stream::acceptor make_unix_listener(boost::asio::any_io_executor ex, const std::string& path,
                                         std::string_view option);

}  // namespace distls

%% distls_dist: the `-proto_dist distls' entry point of distls, a distribution
%% module for nodes whose distribution is carried over mutual TLS by a distls
%% sidecar. It is the alternative to `-epmd_module distls_epmd'; both give the
%% same node, and nodes started either way cluster with each other.
%%
%% Start a node with:
%%
%%   ERL_EPMD_PORT=4369 erl -name app@POD_IP -proto_dist distls \
%%       -start_epmd false -pa <the distls ebin: distls_dist, distls_epmd, distls_discovery>
%%
%% A release (embedded mode, where -pa loads nothing) depends on the `distls'
%% application instead, this directory; see docs/erlang.md.
%%
%% What it does, and what it leaves to OTP:
%%   - listen/2 opens the node's own listener on 127.0.0.1, whether or not
%%     `-kernel inet_dist_use_interface' is given (when it is, it is obeyed,
%%     with a warning unless it is a loopback address). The port is chosen as
%%     inet_tcp_dist chooses it: the epmd module's listen_port_please (a fixed
%%     `-erl_epmd_port', which relx sets from ERL_DIST_PORT), else
%%     inet_dist_listen_min/max, else any. The node then registers through the
%%     epmd module, by default the stock erl_epmd, which talks to distls since
%%     distls answers at 127.0.0.1:$ERL_EPMD_PORT.
%%   - setup/5 never asks the epmd module where a peer is: erl_epmd would ask
%%     the REMOTE host's port 4369, or with a fixed `-erl_epmd_port' dial that
%%     port on the remote host. It asks the local distls with the FULL node
%%     name (distls_epmd:lookup/3, the same request distls_epmd sends) and
%%     connects to the loopback port distls answers; distls carries the bytes
%%     over TLS to the peer's distls. For a node on this host (a remote
%%     console) distls answers that node's own port.
%%   - The handshake is OTP's own (dist_util), driven exactly as
%%     inet_tcp_dist drives it; accepting, ticks, statistics and socket
%%     options are inet_tcp_dist's.
%%   - select/1 accepts any `alive@host' name without resolving the host:
%%     distls resolves it, possibly with a resolver the node does not use.
%%   - childspecs/0 starts distls_discovery under net_sup, so the node joins
%%     the peers distls discovers, as distls_epmd:start_link/0 arranges for
%%     the other entry point (not twice when both flags are given).
%%
%% IPv4 loopback only: the node reaches distls at 127.0.0.1. Peers may still
%% be anything distls can dial.
%%
%% Unix-domain sockets (DISTLS_SOCKET_DIR, or `-distls socket_dir Dir'): the
%% node side of every hop leaves TCP. The node listens on Dir/ALIVE.sock and
%% registers with distls with port 0 (distls, started with the same
%% --socket-dir, connects there for inbound tunnels); a connection to a peer
%% goes to Dir/distls.sock, whose first packet names the peer. A node of
%% this host (a remote console) is dialled at its own socket, as with TCP it
%% is dialled at its own port. Registration stays over EPMD (loopback TCP),
%% once per node start. The directory is distls's to make and guard.
-module(distls_dist).

%% The distribution module callbacks net_kernel calls.
-export([listen/1, listen/2, accept/1, accept_connection/5,
         setup/5, close/1, select/1, address/0, is_node_name/1,
         setopts/2, getopts/2]).

%% Started by net_kernel: the discovery process.
-export([childspecs/0, start_discovery/0]).

%% Spawned by setup/5.
-export([do_setup/6]).

-include_lib("kernel/include/net_address.hrl").
-include_lib("kernel/include/dist_util.hrl").
-include_lib("kernel/include/file.hrl").

-define(LOOPBACK, {127,0,0,1}).
%% As distls_epmd: distls answers from memory, and this stays below
%% net_setuptime's 7 s default, whose timer bounds the whole setup anyway.
-define(LOOKUP_TIMEOUT, 5000).
%% Where distls listens for the node's connections in a socket directory.
-define(DISTLS_SOCKET, "distls.sock").
%% Every OTP distls supports (25+) speaks version 6; over a Unix socket no
%% lookup asks the peer's.
-define(DIST_VERSION, 6).
%% sun_path holds 108 bytes, the terminating NUL included.
-define(MAX_SOCKET_PATH, 107).

%%----------------------------------------------------------------------
%% Listening and accepting
%%----------------------------------------------------------------------

-spec listen(atom()) -> {ok, {port(), #net_address{}, integer()}} | {error, term()}.
listen(Name) ->
    {ok, Host} = inet:gethostname(),
    listen(Name, Host).

-spec listen(atom(), string()) ->
          {ok, {port(), #net_address{}, integer()}} | {error, term()}.
listen(Name, Host) ->
    case socket_dir() of
        false -> listen_tcp(Name, Host);
        Dir -> listen_local(Name, Host, Dir)
    end.

listen_tcp(Name, Host) ->
    Epmd = net_kernel:epmd_module(),
    {First, Last} = listen_ports(Epmd, Name, Host),
    case listen_in_range(First, Last, listen_options({ip, listen_ip()})) of
        {ok, Socket} ->
            {ok, {_Ip, Port} = Address} = inet:sockname(Socket),
            case Epmd:register_node(Name, Port, inet_tcp) of
                {ok, Creation} when Creation >= 0 ->
                    NetAddress = (inet_tcp_dist:address())#net_address{address = Address},
                    {ok, {Socket, NetAddress, Creation}};
                {ok, _NoCreation} ->
                    %% erl_epmd's answer when registering failed but a fixed
                    %% port (-erl_epmd_port) is set: it carries on without
                    %% epmd. Without a registration distls cannot hand this
                    %% node its inbound tunnels, so refuse to start instead of
                    %% running unreachable.
                    inet_tcp:close(Socket),
                    {error, {not_registered_with_distls, epmd_address()}};
                {error, _} = Error ->
                    inet_tcp:close(Socket),
                    Error
            end;
        {error, _} = Error ->
            Error
    end.

%% The node's listener in the socket directory. Port 0 in the registration
%% tells distls to reach the node at Dir/ALIVE.sock.
listen_local(Name, _Host, Dir) ->
    Path = node_socket(Dir, to_list(Name)),
    case listen_socket(Path) of
        {ok, Socket} ->
            %% Group-writable: the pod's two containers may run as different
            %% users sharing a group (fsGroup); the directory keeps others out.
            _ = file:write_file_info(Path, #file_info{mode = 8#660}, [raw]),
            Epmd = net_kernel:epmd_module(),
            case Epmd:register_node(Name, 0, inet_tcp) of
                {ok, Creation} when Creation >= 0 ->
                    NetAddress = (inet_tcp_dist:address())#net_address{address = {local, Path}},
                    {ok, {Socket, NetAddress, Creation}};
                {ok, _NoCreation} ->
                    close_local(Socket, Path),
                    {error, {not_registered_with_distls, epmd_address()}};
                {error, _} = Error ->
                    close_local(Socket, Path),
                    Error
            end;
        {error, _} = Error ->
            Error
    end.

%% A socket file left by a node that died is removed; one a live node
%% answers on is that node's, and this one does not start.
listen_socket(Path) when length(Path) > ?MAX_SOCKET_PATH ->
    {error, {socket_path_too_long, Path}};
listen_socket(Path) ->
    case gen_tcp:listen(0, listen_options({local, Path})) of
        {error, eaddrinuse} ->
            case gen_tcp:connect({local, Path}, 0, [{active, false}], 1000) of
                {ok, Live} ->
                    gen_tcp:close(Live),
                    {error, {duplicate_name, Path}};
                {error, _} ->
                    %% raw: no file server needed this early in boot.
                    case file:delete(Path, [raw]) of
                        ok -> retry_listen(Path);
                        {error, enoent} -> retry_listen(Path);
                        {error, Reason} -> {error, {stale_socket, Path, Reason}}
                    end
            end;
        Other ->
            Other
    end.

retry_listen(Path) ->
    gen_tcp:listen(0, listen_options({local, Path})).

close_local(Socket, Path) ->
    inet_tcp:close(Socket),
    _ = file:delete(Path, [raw]),
    ok.

-spec accept(port()) -> pid().
accept(Listen) ->
    inet_tcp_dist:accept(Listen).

-spec accept_connection(pid(), port(), node(), [node()], non_neg_integer()) -> pid().
accept_connection(AcceptPid, Socket, MyNode, Allowed, SetupTime) ->
    inet_tcp_dist:accept_connection(AcceptPid, Socket, MyNode, Allowed, SetupTime).

-spec close(port()) -> ok.
close(Socket) ->
    case inet:sockname(Socket) of
        {ok, {local, Path}} when Path =/= <<>> -> close_local(Socket, Path);
        _ -> inet_tcp_dist:close(Socket)
    end.

-spec address() -> #net_address{}.
address() ->
    inet_tcp_dist:address().

-spec is_node_name(term()) -> boolean().
is_node_name(Node) ->
    inet_tcp_dist:is_node_name(Node).

-spec select(node()) -> boolean().
select(Node) ->
    case dist_util:split_node(Node) of
        {node, _Name, _Host} -> true;
        _ -> false
    end.

-spec setopts(port(), [gen_tcp:option()]) -> ok | {error, term()}.
setopts(Socket, Opts) ->
    inet_tcp_dist:setopts(Socket, Opts).

-spec getopts(port(), [atom()]) -> {ok, [gen_tcp:option()]} | {error, term()}.
getopts(Socket, Opts) ->
    inet_tcp_dist:getopts(Socket, Opts).

%%----------------------------------------------------------------------
%% Discovery
%%----------------------------------------------------------------------

%% net_kernel:protocol_childspecs/0 asks every -proto_dist module for these;
%% erl_distribution starts them in net_sup, so they live and die with
%% distribution. temporary: a crash of discovery must not take distribution
%% down with it (net_sup allows no restarts).
-spec childspecs() -> {ok, [supervisor:child_spec()]}.
childspecs() ->
    case net_kernel:epmd_module() of
        distls_epmd ->
            {ok, []};  % distls_epmd:start_link/0 starts it already
        _ ->
            {ok, [#{id => distls_discovery,
                    start => {?MODULE, start_discovery, []},
                    restart => temporary,
                    shutdown => brutal_kill,
                    type => worker,
                    modules => [distls_discovery]}]}
    end.

-spec start_discovery() -> {ok, pid()}.
start_discovery() ->
    {ok, distls_discovery:start(self())}.

%%----------------------------------------------------------------------
%% Connecting to a peer, through distls
%%----------------------------------------------------------------------

-spec setup(node(), normal | hidden, node(), longnames | shortnames,
            non_neg_integer()) -> pid().
setup(Node, Type, MyNode, LongOrShortNames, SetupTime) ->
    spawn_opt(?MODULE, do_setup,
              [self(), Node, Type, MyNode, LongOrShortNames, SetupTime],
              dist_util:net_ticker_spawn_options()).

-spec do_setup(pid(), node(), normal | hidden, node(), longnames | shortnames,
               non_neg_integer()) -> no_return().
do_setup(Kernel, Node, Type, MyNode, LongOrShortNames, SetupTime) ->
    Host = peer_host(Node, LongOrShortNames),
    Timer = dist_util:start_timer(SetupTime),
    case socket_dir() of
        false -> setup_tcp(Kernel, Node, Host, Type, MyNode, Timer);
        Dir -> setup_local(Kernel, Node, Host, Type, MyNode, Timer, Dir)
    end.

setup_tcp(Kernel, Node, Host, Type, MyNode, Timer) ->
    case distls_epmd:lookup(atom_to_list(Node), ?LOOPBACK, ?LOOKUP_TIMEOUT) of
        {ok, Port, Version} ->
            dist_util:reset_timer(Timer),
            Options = connect_options([{active, false}, {packet, 2}]),
            case inet_tcp:connect(?LOOPBACK, Port, Options) of
                {ok, Socket} ->
                    handshake(Kernel, Node, Host, Type, MyNode, Timer, Socket,
                              {?LOOPBACK, Port}, Version);
                {error, Reason} ->
                    %% distls closed that port since the lookup (idle timeout).
                    ?shutdown2(Node, {distls_port_closed, Port, Reason})
            end;
        {error, noport} ->
            %% distls knows no such node: a pang, as with epmd.
            ?shutdown2(Node, noport);
        {error, Reason} ->
            %% distls itself did not answer: every connection will fail
            %% until it does, so say so rather than answer a bare pang.
            error_logger:warning_msg(
              "distls_dist: no answer from distls at ~s when looking up ~s: ~p~n",
              [epmd_address(), Node, Reason]),
            ?shutdown2(Node, {distls_lookup_failed, Reason})
    end.

%% A peer through distls's socket, whose first packet names it; a node of
%% this host at its own socket. No lookup: distls dials the peer once it
%% has the name, and closes the socket when it cannot (a pang, as noport).
setup_local(Kernel, Node, Host, Type, MyNode, Timer, Dir) ->
    {Path, Preamble} =
        case dist_util:split_node(MyNode) of
            {node, _, Host} ->
                {node, Alive, _} = dist_util:split_node(Node),
                {node_socket(Dir, Alive), []};
            _ ->
                {filename:join(Dir, ?DISTLS_SOCKET), [atom_to_list(Node)]}
        end,
    Options = connect_options([{active, false}, {packet, 2}]),
    Buffers = [B || {Key, _} = B <- local_buffers({local, Path}),
                    not lists:keymember(Key, 1, [O || O <- Options, is_tuple(O)])],
    case gen_tcp:connect({local, Path}, 0, Buffers ++ Options) of
        {ok, Socket} ->
            case lists:all(fun(P) -> gen_tcp:send(Socket, P) =:= ok end, Preamble) of
                true ->
                    dist_util:reset_timer(Timer),
                    handshake(Kernel, Node, Host, Type, MyNode, Timer, Socket,
                              {local, Path}, ?DIST_VERSION);
                false ->
                    ?shutdown2(Node, {distls_socket_closed, Path})
            end;
        {error, Reason} ->
            error_logger:warning_msg(
              "distls_dist: cannot connect to ~s for ~s: ~p~n", [Path, Node, Reason]),
            ?shutdown2(Node, {distls_socket_failed, Path, Reason})
    end.

%% The same #hs_data inet_tcp_dist builds for an outgoing connection, with
%% distls's end (loopback port or socket file) as the peer's address.
handshake(Kernel, Node, Host, Type, MyNode, Timer, Socket, Address, Version) ->
    HSData = #hs_data{
                kernel_pid = Kernel,
                other_node = Node,
                this_node = MyNode,
                socket = Socket,
                timer = Timer,
                this_flags = 0,
                other_version = Version,
                f_send = fun inet_tcp:send/2,
                f_recv = fun inet_tcp:recv/3,
                f_setopts_pre_nodeup =
                    fun(S) ->
                            inet:setopts(S, [{active, false}, {packet, 4}, nodelay()])
                    end,
                f_setopts_post_nodeup =
                    fun(S) ->
                            inet:setopts(S, [{active, true}, {deliver, port},
                                             {packet, 4}, nodelay()])
                    end,
                f_getll = fun inet:getll/1,
                f_address =
                    fun(_, _) ->
                            #net_address{address = Address,
                                         host = Host,
                                         protocol = tcp,
                                         family = inet}
                    end,
                mf_tick = fun(S) -> inet_tcp_dist:tick(inet_tcp, S) end,
                mf_getstat = fun inet_tcp_dist:getstat/1,
                request_type = Type,
                mf_setopts = fun inet_tcp_dist:setopts/2,
                mf_getopts = fun inet_tcp_dist:getopts/2
               },
    dist_util:handshake_we_started(HSData).

%%----------------------------------------------------------------------
%% Internal functions
%%----------------------------------------------------------------------

%% The host part, refusing the names inet_tcp_dist refuses (a short host
%% with -name unless it is an address, a dotted one with -sname), with its
%% messages, so the two entry points fail alike.
peer_host(Node, LongOrShortNames) ->
    case dist_util:split_node(Node) of
        {node, _Name, Host} ->
            Dotted = length(string:split(Host, ".", all)) > 1,
            case {LongOrShortNames, Dotted} of
                {longnames, false} ->
                    case inet:parse_address(Host) of
                        {ok, _} ->
                            Host;
                        {error, _} ->
                            error_logger:error_msg(
                              "** System running to use fully qualified hostnames **~n"
                              "** Hostname ~ts is illegal **~n", [Host]),
                            ?shutdown(Node)
                    end;
                {shortnames, true} ->
                    error_logger:error_msg(
                      "** System NOT running to use fully qualified hostnames **~n"
                      "** Hostname ~ts is illegal **~n", [Host]),
                    ?shutdown(Node);
                _ ->
                    Host
            end;
        _ ->
            error_logger:error_msg("** Nodename ~p illegal **~n", [Node]),
            ?shutdown(Node)
    end.

listen_ports(Epmd, Name, Host) ->
    case call_epmd(Epmd, listen_port_please, [Name, Host]) of
        {ok, 0} -> listen_port_range();
        {ok, Port} -> {Port, Port}
    end.

listen_port_range() ->
    case application:get_env(kernel, inet_dist_listen_min) of
        {ok, Min} when is_integer(Min) ->
            case application:get_env(kernel, inet_dist_listen_max) of
                {ok, Max} when is_integer(Max) -> {Min, Max};
                _ -> {Min, Min}
            end;
        _ ->
            {0, 0}
    end.

listen_in_range(First, Last, _Options) when First > Last ->
    {error, eaddrinuse};
listen_in_range(First, Last, Options) ->
    case inet_tcp:listen(First, Options) of
        {error, eaddrinuse} -> listen_in_range(First + 1, Last, Options);
        Other -> Other
    end.

%% inet_tcp_dist's options: its defaults, then the user's
%% inet_dist_listen_options, then what distribution needs, which wins. The
%% address is forced too: loopback unless inet_dist_use_interface says other,
%% or the node's socket file.
listen_options(Where) ->
    Forced = [{active, false}, {packet, 2}, where_option(Where)],
    %% Where to listen is never the user's: neither an ip nor an ifaddr of theirs.
    User = [Opt || Opt <- application:get_env(kernel, inet_dist_listen_options, []),
                   not is_tuple(Opt) orelse
                       not lists:member(element(1, Opt), [active, packet, ip, ifaddr])],
    Defaults = [Opt || {Key, _} = Opt <- [{reuseaddr, true}, {backlog, 128} | local_buffers(Where)],
                       not lists:keymember(Key, 1, [O || O <- User, is_tuple(O)])],
    Defaults ++ User ++ Forced.

%% A Unix socket's buffers default to ~208 KiB, against the megabytes loopback
%% TCP autotunes to: a bulk sender then blocks every few messages. 1 MiB
%% (the kernel caps it at net.core.[rw]mem_max) measured 0.47 GB/s against
%% 0.36 with the defaults, and a third less CPU per GB (docs/benchmarks.md).
local_buffers({local, _}) -> [{recbuf, 1 bsl 20}, {sndbuf, 1 bsl 20}];
local_buffers(_) -> [].

where_option({ip, _} = Ip) -> Ip;
where_option({local, _} = Local) -> {ifaddr, Local}.

%% The socket directory shared with distls, when there is one: the
%% application's environment (sys.config; a release loads every application
%% before distribution starts), `-distls socket_dir "Dir"' on the command line
%% (read here: plain erl loads the application later), then
%% DISTLS_SOCKET_DIR, the variable distls itself reads.
socket_dir() ->
    case application:get_env(distls, socket_dir) of
        {ok, Dir} when is_list(Dir), Dir =/= "" -> Dir;
        _ -> socket_dir_argument()
    end.

socket_dir_argument() ->
    Given = case init:get_argument(distls) of
                {ok, Args} -> [Value || ["socket_dir", Value] <- Args];
                error -> []
            end,
    case Given of
        [Text | _] -> parse_dir(Text);
        [] -> nonempty(os:getenv("DISTLS_SOCKET_DIR"))
    end.

%% As the application environment is given: an Erlang string term.
parse_dir(Text) ->
    case erl_scan:string(Text ++ ".") of
        {ok, Tokens, _} ->
            case erl_parse:parse_term(Tokens) of
                {ok, Dir} when is_list(Dir) -> nonempty(Dir);
                _ -> nonempty(Text)
            end;
        _ -> nonempty(Text)
    end.

nonempty(false) -> false;
nonempty("") -> false;
nonempty(Dir) -> Dir.

node_socket(Dir, Alive) ->
    filename:join(Dir, Alive ++ ".sock").

to_list(Name) when is_atom(Name) -> atom_to_list(Name);
to_list(Name) when is_list(Name) -> Name.

listen_ip() ->
    case application:get_env(kernel, inet_dist_use_interface) of
        undefined ->
            ?LOOPBACK;
        {ok, {127, _, _, _} = Ip} ->
            Ip;
        {ok, Ip} ->
            error_logger:warning_msg(
              "distls_dist: inet_dist_use_interface is ~p, not loopback: peers can "
              "reach this node's distribution port without distls~n", [Ip]),
            Ip
    end.

connect_options(Opts) ->
    case application:get_env(kernel, inet_dist_connect_options) of
        {ok, ConnectOpts} -> ConnectOpts ++ Opts;
        _ -> Opts
    end.

%% As inet_tcp_dist: on unless dist_nodelay is false.
nodelay() ->
    case application:get_env(kernel, dist_nodelay) of
        {ok, false} -> {nodelay, false};
        _ -> {nodelay, true}
    end.

%% An epmd module need not export every callback; erl_epmd stands in, as
%% inet_tcp_dist does it.
call_epmd(Mod, Fun, Args) ->
    _ = code:ensure_loaded(Mod),
    case erlang:function_exported(Mod, Fun, length(Args)) of
        true -> apply(Mod, Fun, Args);
        false -> apply(erl_epmd, Fun, Args)
    end.

%% Where distls is expected, for messages: as erl_epmd and distls_epmd find it.
epmd_address() ->
    Port = case init:get_argument(epmd_port) of
               {ok, [[PortStr | _] | _]} -> PortStr;
               error -> "4369"
           end,
    "127.0.0.1:" ++ Port.

%% distls_epmd: the Erlang half of distls, an `-epmd_module' for nodes whose
%% distribution is carried over mutual TLS by a distls sidecar.
%%
%% The node keeps stock `inet_tcp' distribution, but listens on loopback only
%% and never dials a peer directly. Every lookup of a remote node goes to the
%% local distls, which answers with a loopback port of its own; a connection to
%% that port is tunnelled over TLS to the peer's distls, which checks the peer's
%% certificate against the node name before handing the bytes to its node.
%%
%% Start a node with:
%%
%%   ERL_EPMD_PORT=4369 erl -name app@POD_IP -epmd_module distls_epmd \
%%       -start_epmd false -kernel inet_dist_use_interface '{127,0,0,1}' \
%%       -pa <dir holding distls_epmd.beam>
%%
%% distls is found at 127.0.0.1:$ERL_EPMD_PORT (default 4369): erlexec turns
%% that variable into the `-epmd_port' argument, which is what erl_epmd reads
%% too, so registration and lookups always reach the same listener.
%%
%% What this module changes, and what it leaves to erl_epmd:
%%   - register_node/2,3, listen_port_please/2, names/1 and the gen_server
%%     (start_link/0) are the stock erl_epmd: distls speaks EPMD for them.
%%   - address_please/3 and port_please/2,3 send PORT_PLEASE2_REQ carrying the
%%     FULL node name (`alive@host'), an extension distls understands, and
%%     return distls's loopback address and port. address_please/3 returns the
%%     4-tuple form, so inet_tcp_dist never calls port_please on its own.
%%   - names/0 asks the local distls (loopback), not the host named by
%%     gethostname: distls only listens on loopback.
%%
%% IPv6 (`-proto_dist inet6_tcp'): lookups then go to [::1]:$ERL_EPMD_PORT
%% and the answer is ::1, as erl_epmd's registration does for inet6; distls
%% must listen on ::1 for that to work.
%%
%% lookup/3 is the full-name lookup itself; distls_dist (the `-proto_dist
%% distls' entry point) calls it too, so both entry points ask distls the
%% same question the same way.
-module(distls_epmd).

%% The callbacks net_kernel, erl_distribution, inet_tcp_dist, inet6_tcp_dist,
%% inet_tls_dist and net_adm call on an epmd module.
-export([start_link/0,
         register_node/2, register_node/3,
         listen_port_please/2,
         address_please/3,
         port_please/2, port_please/3,
         names/0, names/1]).

%% The full-name lookup, shared with distls_dist; where distls listens.
-export([lookup/3, request/4, epmd_port/0]).

-include_lib("kernel/include/dist.hrl").

%% Same default as epmd and erl_epmd.
-define(DEFAULT_EPMD_PORT, 4369).
%% address_please/3 has no timeout argument; distls answers from memory, so a
%% few seconds is generous, and it stays below net_setuptime's 7 s default.
-define(LOOKUP_TIMEOUT, 5000).

-define(PORT_PLEASE2_REQ, $z).
-define(PORT2_RESP, $w).

%%----------------------------------------------------------------------
%% Delegated to erl_epmd
%%----------------------------------------------------------------------

%% The stock erl_epmd server holds the registration; beside it, linked to it,
%% distls_discovery dials the peers distls discovered.
-spec start_link() -> {ok, pid()} | ignore | {error, term()}.
start_link() ->
    case erl_epmd:start_link() of
        {ok, Pid} = Ok ->
            _ = distls_discovery:start(Pid),
            Ok;
        Other ->
            Other
    end.

-spec register_node(Name, Port) -> {ok, Creation} | {error, term()} when
      Name :: atom() | string(),
      Port :: inet:port_number(),
      Creation :: integer().
register_node(Name, Port) ->
    erl_epmd:register_node(Name, Port).

-spec register_node(Name, Port, Driver) -> {ok, Creation} | {error, term()} when
      Name :: atom() | string(),
      Port :: inet:port_number(),
      Driver :: inet_tcp | inet6_tcp | inet | inet6,
      Creation :: integer().
register_node(Name, Port, Driver) ->
    erl_epmd:register_node(Name, Port, Driver).

-spec listen_port_please(Name, Host) -> {ok, inet:port_number()} when
      Name :: atom() | string(),
      Host :: atom() | string() | inet:ip_address().
listen_port_please(Name, Host) ->
    erl_epmd:listen_port_please(Name, Host).

-spec names() -> {ok, [{string(), inet:port_number()}]} | {error, term()}.
names() ->
    erl_epmd:names({127,0,0,1}).

-spec names(Host) -> {ok, [{string(), inet:port_number()}]} | {error, term()} when
      Host :: atom() | string() | inet:ip_address().
names(Host) ->
    erl_epmd:names(Host).

%%----------------------------------------------------------------------
%% Full-name lookups through distls
%%----------------------------------------------------------------------

-spec address_please(Name, Host, Family) ->
          {ok, inet:ip_address(), inet:port_number(), Version} | {error, term()} when
      Name :: atom() | string(),
      Host :: atom() | string() | inet:ip_address(),
      Family :: inet | inet6,
      Version :: non_neg_integer().
address_please(Name, Host, Family) ->
    Loopback = loopback(Family),
    case lookup(full_name(Name, Host), Loopback, ?LOOKUP_TIMEOUT) of
        {ok, Port, Version} -> {ok, Loopback, Port, Version};
        {error, _} = Error -> Error
    end.

-spec port_please(Name, Host) ->
          {port, inet:port_number(), Version} | noport | closed | {error, term()} when
      Name :: atom() | string(),
      Host :: atom() | string() | inet:ip_address(),
      Version :: non_neg_integer().
port_please(Name, Host) ->
    port_please(Name, Host, infinity).

-spec port_please(Name, Host, Timeout) ->
          {port, inet:port_number(), Version} | noport | closed | {error, term()} when
      Name :: atom() | string(),
      Host :: atom() | string() | inet:ip_address(),
      Timeout :: timeout(),
      Version :: non_neg_integer().
port_please(Name, Host, Timeout) ->
    case lookup(full_name(Name, Host), loopback(family(Host)),
                erlang:min(Timeout, ?LOOKUP_TIMEOUT)) of
        {ok, Port, Version} -> {port, Port, Version};
        {error, noport} -> noport;
        {error, closed} -> closed;
        {error, _} = Error -> Error
    end.

%%----------------------------------------------------------------------
%% Internal functions
%%----------------------------------------------------------------------

%% port_please has no family argument: take it from the address, or for a
%% name from the resolver's preference, as erl_epmd does.
family(Host) when is_tuple(Host), tuple_size(Host) =:= 8 -> inet6;
family(Host) when is_tuple(Host) -> inet;
family(_Host) ->
    case inet_db:res_option(inet6) of
        true -> inet6;
        false -> inet
    end.

loopback(inet6) -> {0,0,0,0,0,0,0,1};
loopback(_) -> {127,0,0,1}.

full_name(Name, Host) ->
    to_string(Name) ++ "@" ++ host_string(Host).

to_string(S) when is_atom(S) -> atom_to_list(S);
to_string(S) when is_list(S) -> S.

host_string(Host) when is_tuple(Host) -> inet:ntoa(Host);
host_string(Host) -> to_string(Host).

%% Exactly as erl_epmd:get_epmd_port/0, so lookups go where registration went.
epmd_port() ->
    case init:get_argument(epmd_port) of
        {ok, [[PortStr | _] | _]} when is_list(PortStr) ->
            list_to_integer(PortStr);
        error ->
            ?DEFAULT_EPMD_PORT
    end.

%% PORT_PLEASE2_REQ for FullName (`alive@host') to the local distls at
%% Loopback:$ERL_EPMD_PORT: the loopback port distls holds for that node and
%% the distribution version to speak; {error, noport} when distls knows no
%% such node, other errors when distls did not answer properly.
-spec lookup(FullName, Loopback, Timeout) ->
          {ok, inet:port_number(), Version} | {error, term()} when
      FullName :: string(),
      Loopback :: inet:ip_address(),
      Timeout :: timeout(),
      Version :: non_neg_integer().
lookup(FullName, Loopback, Timeout) ->
    NameBin = unicode:characters_to_binary(FullName),
    request(Loopback, <<?PORT_PLEASE2_REQ, NameBin/binary>>, fun parse_port2_resp/1, Timeout).

%% One request to the local distls at Address:$ERL_EPMD_PORT, as epmd takes them
%% (2-byte length, then the request). Parse sees the bytes received so far and
%% answers `more' until it has a result: distls may send the reply in pieces, and
%% may or may not close afterwards (epmd does), so the reply is not read to close.
-spec request(inet:ip_address(), binary(), fun((binary()) -> more | Result), timeout()) ->
          Result | {error, term()}.
request(Address, Request, Parse, Timeout) ->
    Deadline = deadline(Timeout),
    Family = case tuple_size(Address) of
                 8 -> inet6;
                 4 -> inet
             end,
    case gen_tcp:connect(Address, epmd_port(),
                         [Family, binary, {packet, 0}, {active, false}, {nodelay, true}],
                         Timeout) of
        {ok, Socket} ->
            try
                case gen_tcp:send(Socket, [<<(byte_size(Request)):16>>, Request]) of
                    ok -> recv_reply(Socket, <<>>, Parse, Deadline);
                    {error, _} = Error -> Error
                end
            after
                gen_tcp:close(Socket)
            end;
        {error, _} = Error ->
            Error
    end.

recv_reply(Socket, Buffer, Parse, Deadline) ->
    case Parse(Buffer) of
        more ->
            case gen_tcp:recv(Socket, 0, remaining(Deadline)) of
                {ok, Data} ->
                    recv_reply(Socket, <<Buffer/binary, Data/binary>>, Parse, Deadline);
                {error, closed} when Buffer =:= <<>> ->
                    {error, closed};
                {error, closed} ->
                    {error, {truncated_reply, Buffer}};
                {error, _} = Error ->
                    Error
            end;
        Result ->
            Result
    end.

parse_port2_resp(<<>>) ->
    more;
parse_port2_resp(<<?PORT2_RESP>>) ->
    more;
parse_port2_resp(<<?PORT2_RESP, 0, Port:16, _NodeType:8, _Protocol:8,
                   High:16, Low:16, NameLen:16, _Name:NameLen/binary,
                   ExtraLen:16, _Extra:ExtraLen/binary, _/binary>>) ->
    {ok, Port, best_version(Low, High)};
parse_port2_resp(<<?PORT2_RESP, 0, _/binary>>) ->
    more;
parse_port2_resp(<<?PORT2_RESP, _Result, _/binary>>) ->
    {error, noport};
parse_port2_resp(Garbage) ->
    {error, {garbage_from_epmd, Garbage}}.

%% As erl_epmd: the highest version both ends speak, 0 when none.
best_version(Low, High) ->
    if
        ?ERL_DIST_VER_LOW > High; Low > ?ERL_DIST_VER_HIGH -> 0;
        true -> erlang:min(High, ?ERL_DIST_VER_HIGH)
    end.

deadline(infinity) -> infinity;
deadline(Timeout) -> erlang:monotonic_time(millisecond) + Timeout.

remaining(infinity) -> infinity;
remaining(Deadline) -> erlang:max(0, Deadline - erlang:monotonic_time(millisecond)).

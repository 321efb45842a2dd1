%% bench_epmd: the `-epmd_module' of node A on the benchmark's stunnel path.
%%
%% Every remote node is reached at 127.0.0.1:$BENCH_DIST_PORT, the port where
%% the local stunnel client accepts and tunnels over TLS to the peer's stunnel
%% server, which forwards to the peer's fixed distribution port. Nobody looks A
%% up, so registration is a no-op that hands out a creation and A listens on
%% any free port.
-module(bench_epmd).

-export([start_link/0,
         register_node/2, register_node/3,
         listen_port_please/2,
         address_please/3,
         port_please/2, port_please/3,
         names/0, names/1]).

start_link() ->
    ignore.

register_node(Name, Port) ->
    register_node(Name, Port, inet_tcp).

register_node(_Name, _Port, _Driver) ->
    %% Creation 0 is reserved for "unknown"; any other 32-bit value will do.
    {ok, 1 + erlang:unique_integer([positive]) rem 16#fffffff0}.

listen_port_please(_Name, _Host) ->
    {ok, 0}.

address_please(_Name, _Host, inet) ->
    {ok, {127, 0, 0, 1}, tunnel_port(), 6};
address_please(_Name, _Host, _Family) ->
    {error, address_family}.

port_please(Name, Host) ->
    port_please(Name, Host, infinity).

port_please(_Name, _Host, _Timeout) ->
    {port, tunnel_port(), 6}.

names() ->
    {error, address}.

names(_Host) ->
    {error, address}.

tunnel_port() ->
    case os:getenv("BENCH_DIST_PORT") of
        false -> error(bench_dist_port_unset);
        S -> list_to_integer(S)
    end.

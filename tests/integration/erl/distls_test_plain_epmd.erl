%% distls_test_plain_epmd: an `-epmd_module' for a node WITHOUT distls, used
%% to show that plain (unencrypted, unauthenticated) distribution aimed
%% straight at a pod's TLS port gets nowhere.
%%
%% Every lookup answers the address in the environment variable
%% DISTLS_TEST_TARGET ("IP:PORT", e.g. "127.0.0.3:4370"), whatever node is
%% asked for; registration is a no-op, so no epmd is needed.
-module(distls_test_plain_epmd).

-export([start_link/0,
         register_node/2, register_node/3,
         listen_port_please/2,
         address_please/3,
         port_please/2, port_please/3,
         names/0, names/1]).

-spec start_link() -> ignore.
start_link() ->
    ignore.

register_node(Name, Port) ->
    register_node(Name, Port, inet_tcp).

register_node(_Name, _Port, _Driver) ->
    %% Like epmd, a fresh non-zero creation per registration.
    {ok, 3 + rand:uniform(16#fffffff)}.

listen_port_please(_Name, _Host) ->
    {ok, 0}.

address_please(_Name, _Host, _Family) ->
    {Ip, Port} = target(),
    {ok, Ip, Port, 6}.

port_please(Name, Host) ->
    port_please(Name, Host, infinity).

port_please(_Name, _Host, _Timeout) ->
    {_Ip, Port} = target(),
    {port, Port, 6}.

names() ->
    {error, address}.

names(_Host) ->
    {error, address}.

target() ->
    Target = os:getenv("DISTLS_TEST_TARGET", "127.0.0.3:4370"),
    [IpText, PortText] = string:split(Target, ":", trailing),
    {ok, Ip} = inet:parse_address(IpText),
    {Ip, list_to_integer(PortText)}.

%% distls_discovery: connects the local node to the peers its distls discovered.
%%
%% distls resolves the discovery source (--discovery static:|dns-a:|dns-aaaa:|dns:|dns-srv:) and
%% keeps the peer set; this process asks for it every second through distls's one
%% EPMD extension request ('D', see docs/discovery.md) and calls
%% net_kernel:connect_node/1 for each listed peer not in nodes(), from a
%% short-lived process per attempt, so that a slow or unreachable peer never
%% blocks the others or the node. A peer whose attempt failed waits (1 s doubling
%% up to 30 s) before the next one; success resets its wait.
%%
%% As gen_cluster: a peer that drops out of the set keeps its live connection,
%% but is not redialled once that connection drops; one that comes back is.
%%
%% distls_epmd:start_link/0 starts it, linked to the erl_epmd server, so that it
%% shares the fate of the node's registration. With discovery off in distls the
%% set is empty and this process only asks.
-module(distls_discovery).

-export([start/1, peers/0]).

-define(POLL_MS, 1000).
-define(BACKOFF_MIN_MS, 1000).
-define(BACKOFF_MAX_MS, 30000).
-define(REQUEST_TIMEOUT_MS, 5000).
-define(PEERS_REQ, $D).

%% Started by distls_epmd:start_link/0; linked to Owner (the erl_epmd server).
-spec start(pid()) -> pid().
start(Owner) ->
    spawn(fun() ->
                  link(Owner),
                  loop(#{backoff => #{}, attempts => #{}})
          end).

%% The discovered peer set, as the local distls reports it.
-spec peers() -> {ok, [node()]} | {error, term()}.
peers() ->
    distls_epmd:request(loopback(), <<?PEERS_REQ>>, fun parse/1, ?REQUEST_TIMEOUT_MS).

%% An inet6_tcp node registers over ::1 (erl_epmd does), so distls listens there.
loopback() ->
    case init:get_argument(proto_dist) of
        {ok, [[Proto | _] | _]} ->
            case string:find(Proto, "inet6") of
                nomatch -> {127,0,0,1};
                _ -> {0,0,0,0,0,0,0,1}
            end;
        _ ->
            {127,0,0,1}
    end.

parse(<<?PEERS_REQ, Count:16, Rest/binary>>) ->
    names(Count, Rest, []);
parse(<<?PEERS_REQ>>) ->
    more;
parse(<<>>) ->
    more;
parse(Other) ->
    {error, {unexpected_reply, Other}}.

names(0, _, Acc) ->
    {ok, lists:reverse(Acc)};
names(N, <<Len:16, Name:Len/binary, Rest/binary>>, Acc) ->
    names(N - 1, Rest, [binary_to_atom(Name, utf8) | Acc]);
names(_, _, _) ->
    more.

loop(State0) ->
    State = receive
                {attempt, Peer, Result} -> attempt_done(Peer, Result, State0)
            after ?POLL_MS ->
                    tick(State0)
            end,
    loop(State).

tick(State) ->
    case is_alive() of
        false ->
            State;  % distribution not started yet
        true ->
            case peers() of
                {ok, Peers} -> dial(Peers -- [node() | nodes()], State);
                {error, _} -> State  % distls restarting; ask again next tick
            end
    end.

dial(Peers, #{backoff := Backoff, attempts := Attempts} = State) ->
    Now = erlang:monotonic_time(millisecond),
    Due = [P || P <- Peers,
                not maps:is_key(P, Attempts),
                case maps:find(P, Backoff) of
                    {ok, {_Wait, NotBefore}} -> Now >= NotBefore;
                    error -> true
                end],
    Self = self(),
    lists:foldl(fun(P, S = #{attempts := A}) ->
                        Pid = spawn(fun() -> Self ! {attempt, P, connect(P)} end),
                        S#{attempts := A#{P => Pid}}
                end, State, Due).

%% true, or why not: anything else counts as a failed attempt, a crash included.
%% try, not `catch Expr': OTP 29 deprecates the old form (a warning, an error
%% for whoever builds with warnings_as_errors).
connect(Peer) ->
    try net_kernel:connect_node(Peer)
    catch Class:Reason -> {Class, Reason}
    end.

attempt_done(Peer, true, #{backoff := B, attempts := A} = State) ->
    State#{backoff := maps:remove(Peer, B), attempts := maps:remove(Peer, A)};
attempt_done(Peer, _Failed, #{backoff := B, attempts := A} = State) ->
    Wait = case maps:find(Peer, B) of
               {ok, {W, _}} -> erlang:min(2 * W, ?BACKOFF_MAX_MS);
               error -> ?BACKOFF_MIN_MS
           end,
    NotBefore = erlang:monotonic_time(millisecond) + Wait,
    State#{backoff := B#{Peer => {Wait, NotBefore}}, attempts := maps:remove(Peer, A)}.

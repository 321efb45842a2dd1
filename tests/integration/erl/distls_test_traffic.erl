%% Continuous traffic for tests that change something under a running cluster
%% (certificate renewals, CA rotation): one worker per target node does round trips
%% to that node's echo server (distls_test_repl:serve/0) without pause, checking
%% that every reply comes back, in order and intact; the controller records every
%% nodedown it sees meanwhile.
-module(distls_test_traffic).

-export([start/1, stats/0, stop/0]).

-define(SERVER, distls_test_echo).
-define(REPLY_TIMEOUT, 10000).

%% Starts the traffic under the registered name distls_test_traffic.
-spec start([node()]) -> ok.
start(Targets) ->
    Parent = self(),
    Ref = make_ref(),
    spawn(fun() ->
                  register(?MODULE, self()),
                  ok = net_kernel:monitor_nodes(true, [nodedown_reason]),
                  Workers = [{T, spawn_link(fun() -> worker(T, 1, 0) end)} || T <- Targets],
                  Parent ! {Ref, started},
                  control(Workers, [])
          end),
    receive {Ref, started} -> ok end.

%% Round trips completed so far, per target.
-spec stats() -> [{node(), non_neg_integer()}].
stats() ->
    call(stats).

%% Stops the traffic: {RoundTrips, Failures, NodeDowns}: [{Node, N}], [{Node, Why}], [{Node, Info}].
-spec stop() -> {list(), list(), list()}.
stop() ->
    call(stop).

call(What) ->
    Ref = make_ref(),
    ?MODULE ! {What, self(), Ref},
    receive {Ref, Reply} -> Reply after 30000 -> {error, no_answer} end.

control(Workers, Downs) ->
    receive
        {nodedown, Node, Info} ->
            control(Workers, [{Node, Info} | Downs]);
        {stats, From, Ref} ->
            From ! {Ref, [{T, count(W)} || {T, W} <- Workers]},
            control(Workers, Downs);
        {stop, From, Ref} ->
            Results = [{T, finish(W)} || {T, W} <- Workers],
            From ! {Ref, {[{T, N} || {T, {N, _}} <- Results],
                          [{T, F} || {T, {_, F}} <- Results, F =/= none],
                          lists:reverse(Downs)}};
        _ ->
            control(Workers, Downs)
    end.

count(W) ->
    W ! {count, self()},
    receive {count, W, N} -> N after ?REPLY_TIMEOUT -> unknown end.

finish(W) ->
    W ! {finish, self()},
    receive {finished, W, N, Failure} -> {N, Failure} after 2 * ?REPLY_TIMEOUT -> {unknown, no_finish} end.

%% One message in flight: a lost or reordered message shows as a missing or wrong reply.
worker(Target, Seq, Done) ->
    receive
        {count, From} -> From ! {count, self(), Done}, worker(Target, Seq, Done);
        {finish, From} -> From ! {finished, self(), Done, none}
    after 0 ->
            Payload = {Seq, crypto:strong_rand_bytes(Seq rem 4096)},
            {?SERVER, Target} ! {ping, self(), Seq, Payload},
            receive
                {pong, Target, Seq, Payload} ->
                    worker(Target, Seq + 1, Done + 1);
                {pong, _, _, _} = Other ->
                    failed(Done, {wrong_reply, Seq, Other})
            after ?REPLY_TIMEOUT ->
                    failed(Done, {no_reply, Seq})
            end
    end.

%% After a failure the worker only answers, so that stop/1 reports it.
failed(Done, Why) ->
    receive
        {count, From} -> From ! {count, self(), Done}, failed(Done, Why);
        {finish, From} -> From ! {finished, self(), Done, Why}
    end.

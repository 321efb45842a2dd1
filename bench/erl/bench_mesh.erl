%% bench_mesh: reports a node's connections for bench/mesh.py.
%%
%% Started with `-eval 'bench_mesh:start()'', it prints on stdout
%%
%%   MESH ready COUNT                  once the node is up (COUNT = length(nodes()))
%%   MESH up NODE COUNT                for each node connected before that
%%   MESH up NODE COUNT                for every nodeup
%%   MESH down NODE COUNT              for every nodedown
%%
%% and nothing else, so mesh.py learns when each node reaches the full mesh from
%% the node's own view (nodes()), not from polling it.
-module(bench_mesh).

-export([start/0]).

start() ->
    Parent = self(),
    %% Spawned, not run in the -eval caller: init's -eval process exits once the
    %% expression returns, and with it a monitor it set up.
    Pid = spawn(fun() ->
                        ok = net_kernel:monitor_nodes(true),
                        %% Peers may have connected while the node booted, before the
                        %% monitor: report them, read after the monitor is on, so none is
                        %% missed (one reported twice does no harm).
                        Already = nodes(),
                        Parent ! {self(), monitoring, Already},
                        loop()
                end),
    Already = receive {Pid, monitoring, Ns} -> Ns end,
    io:format("MESH ready ~b~n", [length(Already)]),
    [io:format("MESH up ~s ~b~n", [N, length(Already)]) || N <- Already],
    ok.

loop() ->
    receive
        {nodeup, Node} ->
            say("MESH up ~s ~b~n", [Node, length(nodes())]);
        {nodedown, Node} ->
            say("MESH down ~s ~b~n", [Node, length(nodes())]);
        _ ->
            ok
    end,
    loop().

%% While the node is being stopped, stdout may already be gone: nothing to report then.
say(Fmt, Args) ->
    try io:format(Fmt, Args) catch _:_ -> ok end.

%% bench_peer: the receiving node (B) of the data-path benchmark.
%%
%% Started with `-eval 'bench_peer:start()'', it registers two processes and
%% then does nothing else until the node is killed:
%%
%%   bench_sink  counts the bytes of every binary it receives and, once a
%%               sender has said hello, acknowledges each window of K binaries
%%               with the cumulative byte count. The ack is what bench_driver
%%               times, so throughput is what B really received, not what A
%%               managed to queue in its distribution buffer.
%%   bench_echo  answers {ping, From, Seq} with {pong, Seq}.
-module(bench_peer).

-export([start/0]).

start() ->
    %% Spawned, not run in the -eval caller: init's -eval process exits once
    %% the expression returns.
    Sink = spawn(fun() -> sink_idle() end),
    Echo = spawn(fun echo/0),
    true = register(bench_sink, Sink),
    true = register(bench_echo, Echo),
    ok.

sink_idle() ->
    receive
        {hello, From, Window} when is_pid(From), is_integer(Window), Window > 0 ->
            From ! {hello_ack, self()},
            sink(From, Window, Window, 0);
        _Other ->
            sink_idle()
    end.

%% Left: binaries still due before the next ack. Bytes: received since hello.
sink(From, Window, Left, Bytes) ->
    receive
        Bin when is_binary(Bin) ->
            Total = Bytes + byte_size(Bin),
            case Left of
                1 ->
                    From ! {ack, Total},
                    sink(From, Window, Window, Total);
                _ ->
                    sink(From, Window, Left - 1, Total)
            end;
        {hello, NewFrom, NewWindow} when is_pid(NewFrom), is_integer(NewWindow), NewWindow > 0 ->
            NewFrom ! {hello_ack, self()},
            sink(NewFrom, NewWindow, NewWindow, 0);
        _Other ->
            sink(From, Window, Left, Bytes)
    end.

echo() ->
    receive
        {ping, From, Seq} ->
            From ! {pong, Seq},
            echo();
        _Other ->
            echo()
    end.

%% bench_driver: the sending node (A) of the data-path benchmark.
%%
%%   erl -noshell ... -run bench_driver main PEER BULK_MS WARMUP_MS PINGS WARM_PINGS \
%%       MSG_BYTES WINDOW IN_FLIGHT SMALL_SIZES SMALL_MS SMALL_WINDOW
%%
%% Connects to PEER (polling: the peer may still be starting), measures bulk
%% throughput into PEER's bench_sink, then a pipelined stream of small messages
%% of each size in SMALL_SIZES (comma-separated bytes, or "none") into the same
%% sink, then round trips through its bench_echo; prints one `BENCH ...' line per
%% fact on stdout and halts. run.py reads those lines; `BENCH phase ...' lines
%% let it sample CPU use of every process in the path exactly over each timed
%% window.
-module(bench_driver).

-export([main/1]).

-define(CONNECT_DEADLINE_MS, 30000).
%% A window not acknowledged in this long means the path is stuck, not slow:
%% even OTP's inet_tls_dist moves a 1 MiB window in well under a second.
-define(ACK_TIMEOUT_MS, 30000).
%% Round-trip quantiles reported for the CDF: 0, 1/1000, ..., 1000/1000.
-define(QUANTILES, 1000).

main([PeerS, BulkMsS, WarmupMsS, PingsS, WarmPingsS, MsgBytesS, WindowS, InFlightS,
      SmallSizesS, SmallMsS, SmallWindowS]) ->
    Peer = list_to_atom(PeerS),
    [BulkMs, WarmupMs, Pings, WarmPings, MsgBytes, Window, InFlight, SmallMs, SmallWindow] =
        [list_to_integer(S) || S <- [BulkMsS, WarmupMsS, PingsS, WarmPingsS,
                                     MsgBytesS, WindowS, InFlightS, SmallMsS, SmallWindowS]],
    SmallSizes = [list_to_integer(S) || S <- string:lexemes(SmallSizesS, ","), S =/= "none"],
    try
        {Sink, Echo} = connect(Peer),
        out("phase connected", []),
        sync("bulk"),
        {Bytes, Ns, Msgs, AllMsgs} = bulk(Sink, MsgBytes, Window, InFlight, WarmupMs, BulkMs, "bulk"),
        out("bulk bytes=~b ns=~b msgs=~b all=~b", [Bytes, Ns, Msgs, AllMsgs]),
        %% Small messages: the same acknowledged windows, counted in messages. The
        %% warm-up is shorter: the path is already warm from the bulk transfer.
        lists:foreach(
          fun(Size) ->
                  Tag = "small" ++ integer_to_list(Size),
                  sync(Tag),
                  {SB, SNs, SMsgs, All} = bulk(Sink, Size, SmallWindow, InFlight,
                                               min(WarmupMs, 300), SmallMs, Tag),
                  %% all: every message of the stream, warm-up included: what a profile
                  %% attached for the whole stream (--perf) divides by.
                  out("small size=~b bytes=~b ns=~b msgs=~b all=~b", [Size, SB, SNs, SMsgs, All])
          end, SmallSizes),
        _ = pingpong(Echo, WarmPings),
        sync("rtt"),
        out("phase rtt_begin", []),
        Samples = lists:sort(pingpong(Echo, Pings)),
        out("phase rtt_end", []),
        N = length(Samples),
        out("rtt n=~b median_ns=~b mean_ns=~b p99_ns=~b min_ns=~b",
            [N, median(Samples), lists:sum(Samples) div N,
             lists:nth(max(1, (N * 99) div 100), Samples), hd(Samples)]),
        out("rtt_quantiles ns=~s", [quantiles(Samples, N)]),
        out("done", []),
        erlang:halt(0)
    catch
        Class:Reason:Stack ->
            out("error ~0p", [{Class, Reason, Stack}]),
            erlang:halt(2)
    end.

%% The sorted samples at ?QUANTILES + 1 evenly spaced ranks, min and max included:
%% enough for a CDF without shipping every sample.
quantiles(Sorted, N) ->
    T = list_to_tuple(Sorted),
    Qs = [element(1 + (I * (N - 1)) div ?QUANTILES, T) || I <- lists:seq(0, ?QUANTILES)],
    lists:join(",", [integer_to_list(Q) || Q <- Qs]).

%% With BENCH_SYNC=DIR (run.py --perf), waits before a measurement until run.py has
%% attached its profilers and created DIR/go-PHASE, so the profile covers exactly the
%% measured work.
sync(Phase) ->
    case os:getenv("BENCH_SYNC") of
        false -> ok;
        Dir ->
            out("phase ~s_ready", [Phase]),
            wait_file(filename:join(Dir, "go-" ++ Phase), ?ACK_TIMEOUT_MS div 10)
    end.

wait_file(_File, 0) -> error(sync_timeout);
wait_file(File, N) ->
    case filelib:is_file(File) of
        true -> ok;
        false -> receive after 10 -> wait_file(File, N - 1) end
    end.

out(Fmt, Args) ->
    io:format("BENCH " ++ Fmt ++ "~n", Args).

now_ns() ->
    erlang:monotonic_time(nanosecond).

%%----------------------------------------------------------------------
%% Connection: the peer node and its two processes may not exist yet.
%%----------------------------------------------------------------------

connect(Peer) ->
    connect(Peer, erlang:monotonic_time(millisecond) + ?CONNECT_DEADLINE_MS).

connect(Peer, Deadline) ->
    Found = case net_kernel:connect_node(Peer) of
                true ->
                    case {erpc_whereis(Peer, bench_sink), erpc_whereis(Peer, bench_echo)} of
                        {Sink, Echo} when is_pid(Sink), is_pid(Echo) -> {Sink, Echo};
                        _ -> none
                    end;
                _ ->
                    none
            end,
    case Found of
        none ->
            case erlang:monotonic_time(millisecond) > Deadline of
                true -> error({cannot_reach, Peer});
                false ->
                    %% The peer is still starting; nothing to wait on but time.
                    receive after 50 -> connect(Peer, Deadline) end
            end;
        Pids ->
            Pids
    end.

erpc_whereis(Peer, Name) ->
    try erpc:call(Peer, erlang, whereis, [Name], 5000)
    catch _:_ -> undefined
    end.

%%----------------------------------------------------------------------
%% Bulk: windows of Window binaries, InFlight windows outstanding.
%%
%% The timed interval runs from the first ack after the warm-up to the ack of
%% the last window sent once BulkMs had passed, and counts the bytes acked in
%% between: bytes B received over time measured on acks, with no data left in
%% flight at the end.
%%----------------------------------------------------------------------

bulk(Sink, MsgBytes, Window, InFlight, WarmupMs, BulkMs, Tag) ->
    Bin = binary:copy(<<16#5a>>, MsgBytes),
    Sink ! {hello, self(), Window},
    receive {hello_ack, Sink} -> ok
    after ?ACK_TIMEOUT_MS -> error(no_hello_ack)
    end,
    [send_window(Sink, Bin, Window) || _ <- lists:seq(1, InFlight)],
    WarmEnd = now_ns() + WarmupMs * 1000000,
    bulk_loop(#{sink => Sink, bin => Bin, window => Window, msg => MsgBytes,
                outstanding => InFlight, phase => warm, warm_end => WarmEnd,
                bulk_ns => BulkMs * 1000000, tag => Tag}).

bulk_loop(#{outstanding := Out} = S) ->
    Total = receive {ack, T} -> T
            after ?ACK_TIMEOUT_MS -> error({ack_timeout, maps:get(phase, S)})
            end,
    Now = now_ns(),
    S1 = next_phase(S#{outstanding := Out - 1}, Now, Total),
    case S1 of
        #{phase := drain, outstanding := 0, t0 := T0, b0 := B0, msg := M, tag := Tag} ->
            out("phase ~s_end", [Tag]),
            {Total - B0, Now - T0, (Total - B0) div M, Total div M};
        #{phase := drain} ->
            bulk_loop(S1);
        #{sink := Sink, bin := Bin, window := W, outstanding := O} ->
            send_window(Sink, Bin, W),
            bulk_loop(S1#{outstanding := O + 1})
    end.

next_phase(#{phase := warm, warm_end := WarmEnd, bulk_ns := BulkNs, tag := Tag} = S, Now, Total)
  when Now >= WarmEnd ->
    out("phase ~s_begin", [Tag]),
    S#{phase := measure, t0 => Now, b0 => Total, stop_at => Now + BulkNs};
next_phase(#{phase := measure, stop_at := StopAt} = S, Now, _Total) when Now >= StopAt ->
    S#{phase := drain};
next_phase(S, _Now, _Total) ->
    S.

send_window(_Sink, _Bin, 0) -> ok;
send_window(Sink, Bin, N) ->
    Sink ! Bin,
    send_window(Sink, Bin, N - 1).

%%----------------------------------------------------------------------
%% Round trips: one small message there and back, timed one at a time.
%%----------------------------------------------------------------------

pingpong(Echo, N) ->
    pingpong(Echo, N, []).

pingpong(_Echo, 0, Acc) ->
    Acc;
pingpong(Echo, N, Acc) ->
    T0 = now_ns(),
    Echo ! {ping, self(), N},
    receive {pong, N} -> ok
    after ?ACK_TIMEOUT_MS -> error({pong_timeout, N})
    end,
    pingpong(Echo, N - 1, [now_ns() - T0 | Acc]).

median(Sorted) ->
    N = length(Sorted),
    case N rem 2 of
        1 -> lists:nth(N div 2 + 1, Sorted);
        0 -> (lists:nth(N div 2, Sorted) + lists:nth(N div 2 + 1, Sorted)) div 2
    end.

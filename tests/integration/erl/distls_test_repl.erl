%% distls_test_repl: lets the Python integration harness drive an Erlang node.
%%
%% Start the node with `-noshell -s distls_test_repl start'. The REPL prints
%% `@@READY <node>' once, then reads one Erlang expression sequence per line
%% from stdin (ending in '.'), evaluates it in a fresh process with fresh
%% bindings, and prints exactly one line per input line:
%%
%%   @@RESULT <seq> <term printed with ~0tp>
%%   @@ERROR <seq> <class>:<reason printed with ~0tp>
%%
%% where <seq> counts the non-blank input lines from 1, so the harness can tell
%% a late answer from the one it is waiting for. Anything else on stdout (logger
%% reports) is not prefixed with `@@'. End of input halts the node.
%%
%% Helpers for the tests, callable from the expressions:
%%   serve() / serve(Name)     a registered echo-and-relay server on this node
%%   round_trips(Node, Name, N)  N ping-pong round trips with {Name, Node},
%%                               each reply checked; {ok, N} or {error, _}
%%   ring(Nodes, Msg)          Msg passed from server to server along Nodes
%%                             and back here: {ok, NodesVisited, Msg}
-module(distls_test_repl).

-export([start/0, serve/0, serve/1,
         round_trips/3, round_trips/4,
         ring/2, ring/3]).

-define(SERVER, distls_test_echo).
-define(REPLY_TIMEOUT, 10000).

%%----------------------------------------------------------------------
%% The REPL
%%----------------------------------------------------------------------

-spec start() -> ok.
start() ->
    ok = io:setopts(standard_io, [{encoding, unicode}]),
    _ = spawn(fun() ->
                      emit("@@READY ~0tp", [node()]),
                      loop(1)
              end),
    ok.

loop(Seq) ->
    case io:get_line(standard_io, "") of
        eof ->
            erlang:halt(0);
        {error, Reason} ->
            emit("@@ERROR 0 stdin:~0tp", [Reason]),
            erlang:halt(1);
        Line ->
            case string:trim(Line) of
                "" ->
                    loop(Seq);
                Text ->
                    answer(Seq, eval(Text)),
                    loop(Seq + 1)
            end
    end.

answer(Seq, {ok, Value}) ->
    emit("@@RESULT ~b ~0tp", [Seq, Value]);
answer(Seq, {error, Class, Reason}) ->
    emit("@@ERROR ~b ~0tp:~0tp", [Seq, Class, Reason]).

%% One io request per line, so a logger report cannot split it.
emit(Format, Args) ->
    io:put_chars(standard_io, [io_lib:format(Format, Args), $\n]).

%% A fresh process per expression: a crash, an exit or a stray message in
%% one test step cannot leak into the next.
eval(Text) ->
    case parse(Text) of
        {ok, Exprs} ->
            {Pid, Ref} = spawn_monitor(fun() -> exit({done, run(Exprs)}) end),
            receive
                {'DOWN', Ref, process, Pid, {done, Result}} -> Result;
                {'DOWN', Ref, process, Pid, Other} -> {error, exit, Other}
            end;
        {error, _} = Error ->
            {error, parse, Error}
    end.

parse(Text) ->
    case erl_scan:string(Text) of
        {ok, Tokens, _} -> erl_parse:parse_exprs(Tokens);
        {error, Info, Location} -> {error, {scan, Info, Location}}
    end.

run(Exprs) ->
    try erl_eval:exprs(Exprs, erl_eval:new_bindings()) of
        {value, Value, _Bindings} -> {ok, Value}
    catch
        Class:Reason -> {error, Class, Reason}
    end.

%%----------------------------------------------------------------------
%% Test helpers
%%----------------------------------------------------------------------

-spec serve() -> {ok, pid()}.
serve() ->
    serve(?SERVER).

%% Idempotent: a second call returns the server already running.
-spec serve(atom()) -> {ok, pid()}.
serve(Name) ->
    Parent = self(),
    Ref = make_ref(),
    {Pid, MRef} = spawn_monitor(
                    fun() ->
                            try register(Name, self()) of
                                true ->
                                    Parent ! {Ref, {ok, self()}},
                                    server_loop(Name)
                            catch
                                error:badarg ->
                                    Parent ! {Ref, {ok, whereis(Name)}}
                            end
                    end),
    receive
        {Ref, Result} ->
            erlang:demonitor(MRef, [flush]),
            Result;
        {'DOWN', MRef, process, Pid, Reason} ->
            {error, Reason}
    end.

server_loop(Name) ->
    receive
        {ping, From, Seq, Payload} ->
            From ! {pong, node(), Seq, Payload};
        {ring, [], Visited, Origin, Ref, Msg} ->
            Origin ! {ring_done, Ref, lists:reverse([node() | Visited]), Msg};
        {ring, [Next | Rest], Visited, Origin, Ref, Msg} ->
            {Name, Next} ! {ring, Rest, [node() | Visited], Origin, Ref, Msg};
        _ ->
            ok
    end,
    server_loop(Name).

-spec round_trips(node(), atom(), pos_integer()) ->
          {ok, non_neg_integer()} | {error, term()}.
round_trips(Node, Name, N) ->
    round_trips(Node, Name, N, ?REPLY_TIMEOUT).

%% Strictly one message in flight: each is a true round trip, and a reply
%% that differs in any way from what was sent is reported, not retried.
-spec round_trips(node(), atom(), non_neg_integer(), timeout()) ->
          {ok, non_neg_integer()} | {error, term()}.
round_trips(Node, Name, N, Timeout) ->
    round_trips({Name, Node}, Node, 1, N, Timeout).

round_trips(_Dest, _Node, Seq, N, _Timeout) when Seq > N ->
    {ok, N};
round_trips(Dest, Node, Seq, N, Timeout) ->
    Payload = payload(Seq),
    Dest ! {ping, self(), Seq, Payload},
    receive
        {pong, Node, Seq, Payload} ->
            round_trips(Dest, Node, Seq + 1, N, Timeout);
        {pong, _, _, _} = Other ->
            {error, {wrong_reply, Seq, Other}}
    after Timeout ->
            {error, {no_reply, Seq}}
    end.

%% Varied sizes and types, so framing and term encoding both get exercised.
payload(Seq) ->
    {node(), Seq, rand:bytes(Seq rem 2048), lists:seq(1, Seq rem 17),
     integer_to_list(Seq * 7919)}.

-spec ring([node()], term()) -> {ok, [node()], term()} | {error, term()}.
ring(Nodes, Msg) ->
    ring(Nodes, Msg, ?REPLY_TIMEOUT).

-spec ring([node()], term(), timeout()) -> {ok, [node()], term()} | {error, term()}.
ring([First | Rest], Msg, Timeout) ->
    Ref = make_ref(),
    {?SERVER, First} ! {ring, Rest, [], self(), Ref, Msg},
    receive
        {ring_done, Ref, Visited, Msg2} -> {ok, Visited, Msg2}
    after Timeout ->
            {error, timeout}
    end.

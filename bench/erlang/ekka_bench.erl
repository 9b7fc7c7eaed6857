%% ekka_bench: the Erlang distribution side of ekka-mesh's benchmark suite
%% (package bench, bench/baseline/erlang.go drives it).
%%
%% Two nodes on one machine, each in its own erl process:
%%
%%   erl -name S@127.0.0.1 -setcookie C -noshell -pa DIR -eval 'ekka_bench:serve()'
%%   erl -name K@127.0.0.1 -setcookie C -noshell -pa DIR -eval "ekka_bench:client('S@127.0.0.1')"
%%
%% Each prints "ready" once it is up. The client then reads one command a
%% line on standard input and answers each with one line:
%%
%%   call SIZE N            N sequential erpc:call(S, ekka_bench, echo, [Bin])
%%   inflight K SIZE N      the same from K processes at once, N calls in all
%%   bulkcall SIZE N        N sequential erpc:call(S, ekka_bench, sink, [Bin])
%%   cast SIZE N            N messages {ekka_bench_sink, S} ! Bin, then a count
%%                          request on the same path, answered once all arrived
%%
%%   ok OPS ELAPSED_NS P50_NS P99_NS      (OPS: calls made, or messages the
%%                                         server counted; 0 percentiles for cast)
%%   error CLASS:REASON
%%
%% Both nodes halt when their standard input closes.
-module(ekka_bench).
-export([serve/0, client/1, echo/1, sink/1]).

echo(Bin) -> Bin.
sink(_Bin) -> ok.

serve() ->
    register(ekka_bench_sink, spawn(fun() -> sink_loop(0, 0) end)),
    io:format("ready~n"),
    wait_eof().

wait_eof() ->
    case io:get_line("") of
        eof -> halt(0);
        {error, _} -> halt(0);
        _ -> wait_eof()
    end.

sink_loop(Msgs, Bytes) ->
    receive
        Bin when is_binary(Bin) -> sink_loop(Msgs + 1, Bytes + byte_size(Bin));
        {count, From} -> From ! {count, Msgs, Bytes}, sink_loop(Msgs, Bytes)
    end.

client(Srv) ->
    case net_kernel:connect_node(Srv) of
        true -> ok;
        Other -> io:format("error cannot connect to ~p: ~p~n", [Srv, Other]), halt(1)
    end,
    io:format("ready~n"),
    loop(Srv).

loop(Srv) ->
    case io:get_line("") of
        eof -> halt(0);
        {error, _} -> halt(0);
        Line ->
            Reply = try run(Srv, string:lexemes(string:trim(Line), " "))
                    catch C:R -> io_lib:format("error ~p:~p", [C, R])
                    end,
            io:format("~s~n", [Reply]),
            loop(Srv)
    end.

run(Srv, ["call", Size, N]) -> calls(Srv, echo, 1, int(Size), int(N));
run(Srv, ["inflight", K, Size, N]) -> calls(Srv, echo, int(K), int(Size), int(N));
run(Srv, ["bulkcall", Size, N]) -> calls(Srv, sink, 1, int(Size), int(N));
run(Srv, ["cast", Size, N]) -> cast(Srv, int(Size), int(N));
run(_Srv, Cmd) -> error({unknown_command, Cmd}).

int(S) -> list_to_integer(S).

now_ns() -> erlang:monotonic_time(nanosecond).

calls(Srv, F, K, Size, N) ->
    Bin = rand:bytes(Size),
    Next = atomics:new(1, []),
    Parent = self(),
    T0 = now_ns(),
    Pids = [spawn_link(fun() -> Parent ! {lat, self(), worker(Srv, F, Bin, Next, N, [])} end)
            || _ <- lists:seq(1, K)],
    Lats = lists:append([receive {lat, P, L} -> L end || P <- Pids]),
    Elapsed = now_ns() - T0,
    Sorted = list_to_tuple(lists:sort(Lats)),
    io_lib:format("ok ~b ~b ~b ~b", [tuple_size(Sorted), Elapsed, pct(Sorted, 50), pct(Sorted, 99)]).

worker(Srv, F, Bin, Next, N, Acc) ->
    case atomics:add_get(Next, 1, 1) =< N of
        false -> Acc;
        true ->
            S = now_ns(),
            Reply = erpc:call(Srv, ekka_bench, F, [Bin]),
            ok = check(F, Reply, Bin),
            worker(Srv, F, Bin, Next, N, [now_ns() - S | Acc])
    end.

check(echo, Bin, Bin) -> ok;
check(sink, ok, _) -> ok;
check(F, Reply, _) -> {bad_reply, F, Reply}.

%% pct picks the same element as the Go side: sorted[len*Q/100], 0-based.
pct(T, _Q) when tuple_size(T) =:= 0 -> 0;
pct(T, Q) -> element(min(tuple_size(T), tuple_size(T) * Q div 100 + 1), T).

cast(Srv, Size, N) ->
    Bin = rand:bytes(Size),
    Dest = {ekka_bench_sink, Srv},
    {M0, _} = count(Dest),
    T0 = now_ns(),
    send_n(Dest, Bin, N),
    {M1, _} = count(Dest),
    Elapsed = now_ns() - T0,
    io_lib:format("ok ~b ~b 0 0", [M1 - M0, Elapsed]).

count(Dest) ->
    Dest ! {count, self()},
    receive {count, Msgs, Bytes} -> {Msgs, Bytes} end.

send_n(_Dest, _Bin, 0) -> ok;
send_n(Dest, Bin, N) -> Dest ! Bin, send_n(Dest, Bin, N - 1).

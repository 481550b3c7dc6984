#!/usr/bin/env python3
"""Turns bench/compare's JSON results into docs/benchmarks.md and PNG plots.
Usage: compare_report.py RESULTS_DIR MARKDOWN_OUT PLOTS_DIR
       compare_report.py RESULTS_DIR --cluster   (`bench/compare cluster`: that section alone, on stdout)
       compare_report.py RESULTS_DIR --c-loop    (`bench/compare c-loop`: that section alone, on stdout)"""
import glob
import json
import os
import statistics
import platform
import subprocess
import sys

results = sys.argv[1]


def load(label):
    try:
        with open(os.path.join(results, label + ".json")) as f:
            return json.load(f)
    except (OSError, ValueError):
        return None


def get(label, *path):
    value = load(label)
    for key in path:
        if not isinstance(value, dict) or key not in value:
            return None
        value = value[key]
    return value


def num(x, digits=0):
    return "n/a" if x is None else f"{x:,.{digits}f}"


def ratio(ours, theirs, lower_is_better=False):
    if not ours or not theirs:
        return "n/a"
    return f"{(theirs / ours if lower_is_better else ours / theirs):.2f}×"


def verdict(value, target):
    return "n/a" if value is None else ("met" if value >= target else "missed")


def cluster_goal():  # 3-node p99 (paced) at most twice one node's, nothing missing: (what was measured, verdict)
    one, three = get("cluster-paced-one", "latency_us", "p99"), get("cluster-paced-three", "latency_us", "p99")
    missing = [get(f"cluster-{kind}-three", "missing") for kind in ("paced", "closed")]
    if one is None or three is None or None in missing:
        return "n/a", "n/a"
    return (f"{three / one:.2f}× ({num(three)} µs vs {num(one)} µs), missing {num(missing[0])} / {num(missing[1])} "
            "(paced / closed loop)", "met" if three <= 2 * one and missing == [0, 0] else "missed")


def cluster_section():
    rows = [("one node, 200 lines/s", "cluster-paced-one"), ("3 nodes through Redis, 200 lines/s", "cluster-paced-three"),
            ("one node, closed loop", "cluster-closed-one"), ("3 nodes through Redis, closed loop", "cluster-closed-three")]
    out = ["## Chat across nodes (cluster)", "",
           "1,000 receivers and 4 senders in one room: against one `serve chat`, and spread round-robin over three "
           "`serve chat --cluster` nodes sharing the room through one Redis (`bench fanout --targets`, so every "
           "line crosses to the other nodes). Every server, Redis too, on the server core, `--threads 1`. Redis CPU "
           "is its user + system time (`/proc/PID/stat`, in clock ticks) over the load and drain, not the set-up "
           "(`bench fanout --pid`), per million deliveries.", "",
           "| run | p50 µs | p99 µs | missing | deliveries/s | Redis CPU s per million deliveries |",
           "|---|---|---|---|---|---|"]
    for name, label in rows:
        redis_cpu = "—" if label.endswith("one") else num(get(label, "server_cpu_s_per_million_deliveries"), 3)
        out.append(f"| {name} | {num(get(label, 'latency_us', 'p50'))} | {num(get(label, 'latency_us', 'p99'))} "
                   f"| {num(get(label, 'missing'))} of {num(get(label, 'expected_deliveries'))} "
                   f"| {num(get(label, 'deliveries_per_s'))} | {redis_cpu} |")
    text, met = cluster_goal()
    return out + ["", f"Goal: 3-node p99 ≤ 2× one node's (paced) and no loss: {text}: {met}.", ""]


def c_loop_section():  # medians over bench/compare's alternating rounds against the C epoll loop
    def median(peer, p, key):
        values = [get(os.path.basename(f)[:-5], key)
                  for f in glob.glob(os.path.join(results, f"c-loop-r*-p{p}-{peer}.json"))]
        values = [v for v in values if v is not None]
        return (statistics.median(values), len(values)) if values else (None, 0)

    def syscalls(peer):  # per reply, from strace -c (the run under strace is slower: only the counts mean anything)
        try:
            with open(os.path.join(results, f"c-loop-strace-{peer}.txt")) as f:
                table = f.read().splitlines()
        except OSError:
            return {}
        replies = get(f"c-loop-strace-{peer}", "replies")
        counts = {}
        for row in table:
            cols = row.split()
            if len(cols) >= 5 and cols[3].isdigit():
                counts[cols[-1]] = int(cols[3]) / replies if replies else None
        return counts

    rows = []
    for p in (1, 16):
        (ours, n), (theirs, _) = median("enchufe", p, "replies_per_s"), median("c", p, "replies_per_s")
        (cpu_ours, _), (cpu_theirs, _) = (median("enchufe", p, "server_cpu_us_per_reply"),
                                          median("c", p, "server_cpu_us_per_reply"))
        rows.append(f"| pipeline {p} | {num(ours)} | {num(theirs)} | {ratio(ours, theirs)} "
                    f"| {num(cpu_ours, 2)} | {num(cpu_theirs, 2)} | {ratio(cpu_theirs, cpu_ours) if cpu_ours else 'n/a'} |")
    ours_calls, theirs_calls = syscalls("enchufe"), syscalls("c")
    names = sorted(set(ours_calls) | set(theirs_calls), key=lambda k: -max(ours_calls.get(k) or 0, theirs_calls.get(k) or 0))
    calls = [f"| {name} | {num(ours_calls.get(name), 3)} | {num(theirs_calls.get(name), 3)} |" for name in names[:6]]
    return ["## TCP echo against a bare C epoll loop", "",
            f"`bench/peers/tcp_echo_loop.c`: one thread, level-triggered epoll, every whole line answered "
            f"(`Eco: ...`) in one write per read, nothing else. Both servers pinned to the server core, 50 "
            f"connections, medians of {n} alternating rounds. CPU is the server's user + system time per reply "
            f"(`bench echo --pid`, from `/proc/PID/stat`); the ratios are ours over the C loop's (CPU: the C loop's "
            f"over ours, so 1.00× is even and below is worse).", "",
            "| load | enchufe req/s | C loop req/s | ratio | enchufe CPU µs/reply | C loop CPU µs/reply | ratio |",
            "|---|---|---|---|---|---|---|", *rows, "",
            "System calls per reply at pipeline 1 (`strace -c -f`, one run each):", "",
            "| call | enchufe | C loop |", "|---|---|---|", *calls, ""]


if sys.argv[2:] == ["--cluster"]:
    print("\n".join(cluster_section()))
    sys.exit(0)
if sys.argv[2:] == ["--c-loop"]:
    print("\n".join(c_loop_section()))
    sys.exit(0)
markdown, plots = sys.argv[2], sys.argv[3]


peers = [("enchufe", "enchufe (1 thread)"), ("redis", "Redis 7, inline PING"), ("asyncio", "Python asyncio"),
         ("threads", "Python, thread per client (tutorial)"), ("socat", "socat fork + cat"), ("ncat", "ncat --exec cat")]

lines = ["# Benchmarks", "",
         "Written by `bench/compare` (one run, one machine). Every server runs pinned to one core "
         "and the load (`enchufe bench`, one thread) to the other; each run lasts the same time. "
         "Ratios are enchufe's number over the peer's (for latency, the peer's over ours: above 1 is better for us).", ""]

cpu = subprocess.run(["sh", "-c", "lscpu | sed -n 's/^Model name: *//p'"], capture_output=True, text=True).stdout.strip()
lines += [f"Machine: {cpu or platform.processor()}, {os.cpu_count()} cores, Linux {platform.release()}.", ""]

lines += ["## TCP echo", "", "| server | req/s, 50 conn | ratio | p50 µs | p99 µs | req/s, pipeline 16 | ratio |",
          "|---|---|---|---|---|---|---|"]
base1 = get("echo-c50-p1-enchufe", "replies_per_s")
base16 = get("echo-c50-p16-enchufe", "replies_per_s")
for key, name in peers:
    r1 = get(f"echo-c50-p1-{key}", "replies_per_s")
    r16 = get(f"echo-c50-p16-{key}", "replies_per_s")
    p50 = get(f"echo-c50-p1-{key}", "latency_us", "p50")
    p99 = get(f"echo-c50-p1-{key}", "latency_us", "p99")
    lines.append(f"| {name} | {num(r1)} | {'—' if key == 'enchufe' else ratio(base1, r1)} | {num(p50)} | {num(p99)} "
                 f"| {num(r16)} | {'—' if key == 'enchufe' else ratio(base16, r16)} |")
lines.append("")

lines += c_loop_section()

lines += ["## Throughput against connections", "", "| connections | enchufe req/s | Redis req/s | ratio |",
          "|---|---|---|---|"]
sweep = []
for c in (1, 10, 50, 200, 1000):
    ours, redis = get(f"sweep-c{c}-enchufe", "replies_per_s"), get(f"sweep-c{c}-redis", "replies_per_s")
    sweep.append((c, ours or 0, redis or 0))
    lines.append(f"| {c} | {num(ours)} | {num(redis)} | {ratio(ours, redis)} |")
lines += ["", "![throughput against connections](benchmarks/throughput.png)",
          "![latency percentiles at 50 connections](benchmarks/latency.png)", ""]

udp_ours, udp_c = get("udp-enchufe", "replies_per_s"), get("udp-c-loop", "replies_per_s")
bulk_ours = get("bulk-enchufe", "mb_per_s")
iperf_bits = get("bulk-iperf3", "end", "sum_received", "bits_per_second")
iperf = iperf_bits / 8e6 if iperf_bits else None
fan = {f"{kind}-{peer}": load(f"fanout-{kind}-{peer}") or {} for kind in ("closed", "paced")
       for peer in ("enchufe", "redis")}
fan_rate = {peer: fan[f"closed-{peer}"].get("deliveries_per_s") for peer in ("enchufe", "redis")}
fan_p99 = {peer: (fan[f"paced-{peer}"].get("latency_us") or {}).get("p99") for peer in ("enchufe", "redis")}
fan_closed_p99 = {peer: (fan[f"closed-{peer}"].get("latency_us") or {}).get("p99") for peer in ("enchufe", "redis")}
idle = {k: load(f"idle-{k}") or {} for k in ("enchufe", "redis")}

lines += ["## Other workloads", "", "| workload | enchufe | peer | ratio |", "|---|---|---|---|",
          f"| UDP echo, datagrams/s (8 sockets × 8 in flight) | {num(udp_ours)} | {num(udp_c)} (C, one datagram per syscall) "
          f"| {ratio(udp_ours, udp_c)} |",
          f"| bulk echo of 64 KiB messages, MB/s | {num(bulk_ours, 1)} | {num(iperf, 1)} (iperf3, one stream, one way) "
          f"| {ratio(bulk_ours, iperf)} |",
          f"| chat fan-out to 1,000 receivers, closed loop: deliveries/s | {num(fan_rate['enchufe'])} "
          f"| {num(fan_rate['redis'])} (Redis PUBLISH to 1,000 subscribers) | {ratio(fan_rate['enchufe'], fan_rate['redis'])} |",
          f"| fan-out, closed loop: p99 send-to-receive µs | {num(fan_closed_p99['enchufe'])} "
          f"| {num(fan_closed_p99['redis'])} (Redis) | {ratio(fan_closed_p99['enchufe'], fan_closed_p99['redis'], True)} |",
          f"| fan-out at 400 lines/s (400,000 deliveries/s): p99 send-to-receive µs | {num(fan_p99['enchufe'])} "
          f"| {num(fan_p99['redis'])} (Redis) | {ratio(fan_p99['enchufe'], fan_p99['redis'], True)} |",
          f"| 15,000 idle connections: held | {num(idle['enchufe'].get('held'))} | {num(idle['redis'].get('held'))} (Redis) | |",
          f"| idle: server RSS per connection, bytes | {num(idle['enchufe'].get('server_bytes_per_connection'))} "
          f"| {num(idle['redis'].get('server_bytes_per_connection'))} (Redis) "
          f"| {ratio(idle['redis'].get('server_bytes_per_connection'), idle['enchufe'].get('server_bytes_per_connection'))} |",
          ""]

# Web fan-out: the chat's web front door, the Node.js ws peer, and the same
# chat's TCP door under the same load.
web_peers = [("enchufe", "enchufe chat, web front door (WebSocket)"),
             ("node", "Node.js + ws (bench/peers/ws_broadcast.mjs)"),
             ("tcp", "enchufe chat, TCP door (reference)")]
web = {f"{kind}-{key}": load(f"web-{kind}-{key}") or {} for kind in ("closed", "paced") for key, _ in web_peers}
web_rate = {key: web[f"closed-{key}"].get("deliveries_per_s") for key, _ in web_peers}
web_p99 = {key: (web[f"paced-{key}"].get("latency_us") or {}).get("p99") for key, _ in web_peers}
web_lines = web["paced-enchufe"].get("rate") or web["paced-node"].get("rate")
web_receivers = web["paced-enchufe"].get("receivers") or web["paced-node"].get("receivers") or 1000
lines += ["## Web fan-out (WebSocket)", "",
          "1,000 receivers and 4 senders in one room, every client over WebSocket (`enchufe bench fanout --ws`: "
          "a line goes as `{\"type\":\"line\",...}`, each delivery comes as a `message` event); the TCP row is the "
          f"same chat server's TCP door under the same load. Deliveries/s in closed loop; latency paced at "
          f"{num(web_lines)} lines/s ({num(web_lines * web_receivers if web_lines else None)} deliveries/s). "
          "Ratios are enchufe's web door over the row's.", "",
          "| server | deliveries/s, closed loop | ratio | p99 µs, closed loop | p50 µs, paced | p99 µs, paced | "
          "ratio (p99) | missing (closed / paced) |", "|---|---|---|---|---|---|---|---|"]
for key, name in web_peers:
    closed, paced = web[f"closed-{key}"], web[f"paced-{key}"]
    own = key == "enchufe"
    lines.append(f"| {name} | {num(web_rate[key])} | {'—' if own else ratio(web_rate['enchufe'], web_rate[key])} "
                 f"| {num((closed.get('latency_us') or {}).get('p99'))} | {num((paced.get('latency_us') or {}).get('p50'))} "
                 f"| {num(web_p99[key])} | {'—' if own else ratio(web_p99['enchufe'], web_p99[key], True)} "
                 f"| {num(closed.get('missing'))} / {num(paced.get('missing'))} |")
lines.append("")

lines += cluster_section()

# Echo over WebSocket: our echo server's WebSocket port, the Node.js ws
# peer, and the same server's TCP port under the same load; then what
# permessage-deflate costs an idle connection and a message.
wsecho_peers = [("enchufe", "enchufe serve echo, WebSocket (--web-port)"),
                ("node", "Node.js + ws (bench/peers/ws_echo.mjs)"),
                ("tcp", "enchufe serve echo, TCP (reference)")]
wsecho = {(p, key): get(f"wsecho-p{p}-{key}", "replies_per_s") for p in (1, 16) for key, _ in wsecho_peers}
lines += ["## WebSocket echo and permessage-deflate", "",
          "50 connections, each request one WebSocket text message and each reply one message (`enchufe bench "
          "echo --ws`, the messages of a pipelined batch in one write); the TCP row is the same server's TCP port "
          "under the same load. Ratios are our WebSocket row over the row's.", "",
          "| server | msg/s, pipeline 1 | ratio | p50 µs | p99 µs | msg/s, pipeline 16 | ratio |",
          "|---|---|---|---|---|---|---|"]
for key, name in wsecho_peers:
    own = key == "enchufe"
    lines.append(f"| {name} | {num(wsecho[1, key])} | {'—' if own else ratio(wsecho[1, 'enchufe'], wsecho[1, key])} "
                 f"| {num(get(f'wsecho-p1-{key}', 'latency_us', 'p50'))} | {num(get(f'wsecho-p1-{key}', 'latency_us', 'p99'))} "
                 f"| {num(wsecho[16, key])} | {'—' if own else ratio(wsecho[16, 'enchufe'], wsecho[16, key])} |")
idle_ws = {(hello, d): load(f"deflate-idle-{hello}-{d}") or {} for hello in ("none", "line") for d in ("on", "off")}
deflate_echo = {d: load(f"deflate-echo-{d}") or {} for d in ("on", "off")}
lines += ["", "permessage-deflate: the same client offers it (`ws` on Node.js for the idle connections, Beast in "
          "`bench echo --ws --deflate` for the messages); the server accepts it, or not (`--no-deflate`). "
          "\"accepted\" counts the upgrades whose answer took the offer.", "",
          "| | deflate on | deflate off | on − off |", "|---|---|---|---|"]
for hello, what in (("none", "just upgraded"), ("line", "after one 200-byte chat line each")):
    on, off = idle_ws[hello, "on"], idle_ws[hello, "off"]
    b_on, b_off = on.get("server_bytes_per_connection"), off.get("server_bytes_per_connection")
    lines.append(f"| server RSS per idle WebSocket, {what} (2,000 held; accepted {num(on.get('deflate_accepted'))} / "
                 f"{num(off.get('deflate_accepted'))}), bytes | {num(b_on)} | {num(b_off)} "
                 f"| {num(b_on - b_off if b_on is not None and b_off is not None else None)} |")
e_on, e_off = deflate_echo["on"].get("replies_per_s"), deflate_echo["off"].get("replies_per_s")
lines.append(f"| echo of a 200-byte chat line, 50 connections (accepted {num(deflate_echo['on'].get('deflate_accepted'))} / "
             f"{num(deflate_echo['off'].get('deflate_accepted'))}), msg/s | {num(e_on)} | {num(e_off)} "
             f"| {num((e_on / e_off - 1) * 100 if e_on and e_off else None)}% |")


def wire_bytes(run):  # bytes on the wire (frames, both ways) per request and its reply
    return (run["bytes_sent"] + run["bytes_received"]) / run["replies"] if run.get("replies") else None


lines += [f"| the same: p99 µs | {num((deflate_echo['on'].get('latency_us') or {}).get('p99'))} "
          f"| {num((deflate_echo['off'].get('latency_us') or {}).get('p99'))} | |",
          f"| the same: bytes on the wire per message and its reply | {num(wire_bytes(deflate_echo['on']))} "
          f"| {num(wire_bytes(deflate_echo['off']))} | |", ""]

# TLS: full handshakes against nginx (same certificate, TLS 1.3), and the
# same echo server's TLS port against its plaintext one.
hs = {k: load(f"tls-handshake-{k}") or {} for k in ("enchufe", "nginx")}
hs_rate = {k: hs[k].get("handshakes_per_s") for k in hs}
hs_cpu = {k: hs[k].get("server_cpu_us_per_handshake") for k in hs}
tls_echo = {(p, k): get(f"tls-echo-p{p}-{k}", "replies_per_s") for p in (1, 16) for k in ("tls", "plain")}
tls_bulk = {k: get(f"tls-bulk-{k}", "mb_per_s") for k in ("tls", "plain")}


def share(part, whole):
    return part / whole if part and whole else None


def percent(part, whole):
    value = share(part, whole)
    return "n/a" if value is None else f"{value * 100:.0f}%"


def bench_bound(run):  # the one-core client near its limit: the rate is the bench's as much as the server's
    return " (bench CPU {:.0f}%)".format(run["bench_cpu"] * 100) if (run.get("bench_cpu") or 0) > 0.9 else ""


lines += ["## TLS", "",
          "One certificate for every server (`enchufe cert`: ECDSA P-256); the handshakes agreed on "
          f"{hs['enchufe'].get('tls') or hs['nginx'].get('tls') or 'n/a'}. Handshakes: 32 clients each connecting, "
          "doing a full handshake (nothing resumed) and reading the greeting, again and again (`enchufe bench "
          "handshake`), against `serve greet` over TLS and nginx's stream module (`ssl`, `return` of the same "
          "greeting, one process); the server's CPU time per handshake counts what the server spent, whoever "
          "set the rate. Echo and bulk: the same echo server's TLS and plaintext ports under the same load "
          "(the handshakes happen before the clock starts).", "",
          "| workload | enchufe | peer | ratio |", "|---|---|---|---|",
          f"| full handshakes/s | {num(hs_rate['enchufe'])}{bench_bound(hs['enchufe'])} "
          f"| {num(hs_rate['nginx'])}{bench_bound(hs['nginx'])} (nginx) | {ratio(hs_rate['enchufe'], hs_rate['nginx'])} |",
          f"| server CPU per handshake, µs | {num(hs_cpu['enchufe'])} | {num(hs_cpu['nginx'])} (nginx) "
          f"| {ratio(hs_cpu['enchufe'], hs_cpu['nginx'], True)} |",
          f"| handshake to greeting, p99 µs | {num((hs['enchufe'].get('latency_us') or {}).get('p99'))} "
          f"| {num((hs['nginx'].get('latency_us') or {}).get('p99'))} (nginx) "
          f"| {ratio((hs['enchufe'].get('latency_us') or {}).get('p99'), (hs['nginx'].get('latency_us') or {}).get('p99'), True)} |"]
for p in (1, 16):
    lines.append(f"| echo over TLS, 50 connections, pipeline {p}: req/s | {num(tls_echo[p, 'tls'])} "
                 f"| {num(tls_echo[p, 'plain'])} (plaintext) | {percent(tls_echo[p, 'tls'], tls_echo[p, 'plain'])} |")
lines += [f"| bulk over TLS, 64 KiB messages: MB/s | {num(tls_bulk['tls'], 1)} | {num(tls_bulk['plain'], 1)} (plaintext) "
          f"| {percent(tls_bulk['tls'], tls_bulk['plain'])} |", ""]

half_ours, half_redis = get("half-enchufe", "latency_us", "p99"), get("half-redis", "latency_us", "p99")
threads1 = get("echo-c50-p1-threads", "replies_per_s")
threads16 = get("echo-c50-p16-threads", "replies_per_s")
redis1, redis16 = get("echo-c50-p1-redis", "replies_per_s"), get("echo-c50-p16-redis", "replies_per_s")
bulk_share = bulk_ours / iperf if bulk_ours and iperf else None
per_conn = idle["enchufe"].get("server_bytes_per_connection")
lines += ["## Targets", "", "| target | measured | |", "|---|---|---|",
          f"| TCP echo, 50 connections: ≥ 1.1× Redis | {ratio(base1, redis1)} | {verdict(base1 / redis1 if base1 and redis1 else None, 1.1)} |",
          f"| pipeline 16: ≥ 1.3× Redis | {ratio(base16, redis16)} | {verdict(base16 / redis16 if base16 and redis16 else None, 1.3)} |",
          f"| UDP: ≥ 1.5× a one-datagram-per-syscall C loop | {ratio(udp_ours, udp_c)} | {verdict(udp_ours / udp_c if udp_ours and udp_c else None, 1.5)} |",
          f"| bulk 64 KiB: ≥ 50% of iperf3 | {num(bulk_share * 100 if bulk_share else None)}% | {verdict(bulk_share, 0.5)} |",
          f"| 15,000 idle connections at ≤ 2 KiB each | {num(per_conn)} B | "
          f"{'n/a' if per_conn is None else ('met' if per_conn <= 2048 and (idle['enchufe'].get('held') or 0) >= 15000 else 'missed')} |",
          f"| ≥ 20× the tutorial-style Python server | {ratio(base1, threads1)} (p1), {ratio(base16, threads16)} (p16) | "
          f"{verdict(min(base1 / threads1, base16 / threads16) if base1 and threads1 and base16 and threads16 else None, 20)} |",
          f"| p99 at half of peak load ≤ Redis's | {num(half_ours)} µs vs {num(half_redis)} µs | "
          f"{'n/a' if half_ours is None or half_redis is None else ('met' if half_ours <= half_redis else 'missed')} |",
          f"| fan-out to 1,000 receivers: deliveries/s ≥ Redis PUBLISH | {ratio(fan_rate['enchufe'], fan_rate['redis'])} | "
          f"{verdict(fan_rate['enchufe'] / fan_rate['redis'] if fan_rate['enchufe'] and fan_rate['redis'] else None, 1.0)} |",
          f"| fan-out p99 ≤ Redis's (paced, same rate) | {num(fan_p99['enchufe'])} µs vs {num(fan_p99['redis'])} µs | "
          f"{'n/a' if fan_p99['enchufe'] is None or fan_p99['redis'] is None else ('met' if fan_p99['enchufe'] <= fan_p99['redis'] else 'missed')} |",
          f"| web fan-out to 1,000: deliveries/s ≥ 3× the Node.js ws peer's | {ratio(web_rate['enchufe'], web_rate['node'])} | "
          f"{verdict(web_rate['enchufe'] / web_rate['node'] if web_rate['enchufe'] and web_rate['node'] else None, 3.0)} |",
          f"| web fan-out p99 < the ws peer's (paced, same rate) | {num(web_p99['enchufe'])} µs vs {num(web_p99['node'])} µs | "
          f"{'n/a' if web_p99['enchufe'] is None or web_p99['node'] is None else ('met' if web_p99['enchufe'] < web_p99['node'] else 'missed')} |",
          f"| WebSocket echo, 50 connections: ≥ 2× the Node.js ws peer's msg/s | "
          f"{ratio(wsecho[1, 'enchufe'], wsecho[1, 'node'])} (p1), {ratio(wsecho[16, 'enchufe'], wsecho[16, 'node'])} (p16) | "
          f"{verdict(min(wsecho[1, 'enchufe'] / wsecho[1, 'node'], wsecho[16, 'enchufe'] / wsecho[16, 'node']) if all(wsecho[p, k] for p in (1, 16) for k in ('enchufe', 'node')) else None, 2.0)} |",
          f"| WebSocket echo ≥ 70% of our TCP echo (msg/s) | "
          f"{num(wsecho[1, 'enchufe'] / wsecho[1, 'tcp'] * 100 if wsecho[1, 'enchufe'] and wsecho[1, 'tcp'] else None)}% (p1), "
          f"{num(wsecho[16, 'enchufe'] / wsecho[16, 'tcp'] * 100 if wsecho[16, 'enchufe'] and wsecho[16, 'tcp'] else None)}% (p16) | "
          f"{verdict(min(wsecho[1, 'enchufe'] / wsecho[1, 'tcp'], wsecho[16, 'enchufe'] / wsecho[16, 'tcp']) if all(wsecho[p, k] for p in (1, 16) for k in ('enchufe', 'tcp')) else None, 0.7)} |",
          f"| TLS: full handshakes/s ≥ 1.0× nginx | {ratio(hs_rate['enchufe'], hs_rate['nginx'])} "
          f"(server CPU per handshake: {num(hs_cpu['enchufe'])} µs vs {num(hs_cpu['nginx'])} µs) | "
          f"{verdict(share(hs_rate['enchufe'], hs_rate['nginx']), 1.0)} |",
          f"| TLS echo, pipeline 16, ≥ 70% of our plaintext echo | "
          f"{percent(tls_echo[16, 'tls'], tls_echo[16, 'plain'])} | "
          f"{verdict(share(tls_echo[16, 'tls'], tls_echo[16, 'plain']), 0.7)} |",
          f"| TLS bulk ≥ 50% of our plaintext bulk | "
          f"{percent(tls_bulk['tls'], tls_bulk['plain'])} | "
          f"{verdict(share(tls_bulk['tls'], tls_bulk['plain']), 0.5)} |",
          f"| web fan-out ≥ 60% of our TCP fan-out (deliveries/s) | "
          f"{num(web_rate['enchufe'] / web_rate['tcp'] * 100 if web_rate['enchufe'] and web_rate['tcp'] else None)}% | "
          f"{verdict(web_rate['enchufe'] / web_rate['tcp'] if web_rate['enchufe'] and web_rate['tcp'] else None, 0.6)} |",
          "| chat across 3 nodes, paced: p99 ≤ 2× one node's, no loss | {} | {} |".format(*cluster_goal()),
          ""]

backend_rows = [("TCP echo, 50 connections, req/s", "backend-echo-p1", "replies_per_s"),
                ("TCP echo, pipeline 16, req/s", "backend-echo-p16", "replies_per_s"),
                ("UDP echo, datagrams/s", "backend-udp", "replies_per_s"),
                ("chat fan-out to 1,000, deliveries/s", "backend-fanout", "deliveries_per_s")]
lines += ["## Asio backend: epoll against io_uring", "",
          "The same server built with `-DENCHUFE_IO_URING=ON` (Asio's io_uring backend for every socket "
          "operation, `BOOST_ASIO_HAS_IO_URING` and `BOOST_ASIO_DISABLE_EPOLL`), same loads. The default is whichever "
          "wins the TCP echo rows, the workload most users run.", "",
          "| workload | epoll | io_uring | epoll / io_uring |", "|---|---|---|---|"]
for name, label, key in backend_rows:
    ep, ur = get(f"{label}-epoll", key), get(f"{label}-uring", key)
    lines.append(f"| {name} | {num(ep)} | {num(ur)} | {ratio(ep, ur)} |")
lines.append("")

# Paths relative to the repository (the commands ran from its root), so the
# page does not carry the checkout's location.
root = os.path.dirname(os.path.dirname(os.path.abspath(__file__))) + os.sep
with open(os.path.join(results, "commands.txt")) as f:
    lines += ["## Exact commands", "", "```", *[l.rstrip().replace(root, "") for l in f], "```", ""]

with open(markdown, "w") as f:
    f.write("\n".join(lines))

os.makedirs(plots, exist_ok=True)
with open(os.path.join(results, "sweep.dat"), "w") as f:
    for c, ours, redis in sweep:
        f.write(f"{c} {ours} {redis}\n")
with open(os.path.join(results, "latency.dat"), "w") as f:
    for key, name in peers:
        lat = get(f"echo-c50-p1-{key}", "latency_us") or {}
        f.write(f"\"{key}\" {lat.get('p50', 0)} {lat.get('p90', 0)} {lat.get('p99', 0)} {lat.get('p99_9', 0)}\n")
gp = f"""
set terminal pngcairo size 800,450
set output '{plots}/throughput.png'
set title 'TCP echo: replies per second against connections (server on one core)'
set logscale x
set xlabel 'connections'; set ylabel 'replies/s'; set key top left; set grid
plot '{results}/sweep.dat' using 1:2 with linespoints title 'enchufe', '' using 1:3 with linespoints title 'Redis'
set output '{plots}/latency.png'
unset logscale x
set title 'Latency percentiles, 50 connections, no pipelining (µs, log scale)'
set logscale y; set ylabel 'µs'; set xlabel ''; set style data histograms; set style fill solid 0.8; set boxwidth 0.9
plot '{results}/latency.dat' using 2:xtic(1) title 'p50', '' using 3 title 'p90', '' using 4 title 'p99', '' using 5 title 'p99.9'
"""
subprocess.run(["gnuplot"], input=gp, text=True, check=False)

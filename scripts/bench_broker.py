#!/usr/bin/env python3
"""Helper for scripts/bench-broker.sh (BENCHMARKS.md, "Broker (strom serve vs Apache Kafka)").

Subcommands (each bounded in time):
  wait-load     wait until the 1-minute load average is below a threshold (bounded)
  startup       exec a broker on a fresh data dir, time exec -> first accepted TCP connection
                and -> first ApiVersions response (monotonic clock), repeat, stop it each time
  idle          sample VmRSS/VmHWM and CPU of an idle broker process
  pagecache-ref kernel CPU for dd to write N MiB into a new file (no fsync): the page-cache cost
  create-topic  create a topic with the confluent-kafka AdminClient and wait for its leaders
  delete-topic  delete a topic
  produce       the confluent-kafka producer (bounded count); prints one JSON line
  measure       run one producer command against a broker: broker CPU (utime+stime from
                /proc/PID/stat), RSS samples (/proc/PID/status), load average, machine CPU
                (/proc/stat) and the client's CPU before/after; appends one JSON line
  report        Markdown tables from the JSON lines
Only the standard library is needed, except create-topic, delete-topic and produce
(confluent-kafka).
"""

import argparse
import json
import os
import re
import signal
import socket
import statistics
import struct
import subprocess
import sys
import threading
import time

CLK_TCK = os.sysconf("SC_CLK_TCK")


# ----------------------------------------------------------------------------------------------
# /proc readers


def loadavg():
    with open("/proc/loadavg") as f:
        return [float(x) for x in f.read().split()[:3]]


def proc_cpu_split(pid):
    """(utime, stime) of the whole process (all threads), in seconds."""
    with open(f"/proc/{pid}/stat") as f:
        data = f.read()
    # comm may contain spaces; fields after the closing parenthesis start at field 3.
    rest = data[data.rindex(")") + 2 :].split()
    return int(rest[11]) / CLK_TCK, int(rest[12]) / CLK_TCK  # fields 14 and 15


def proc_cpu_seconds(pid):
    """utime + stime of the whole process (all threads), in seconds."""
    return sum(proc_cpu_split(pid))


def proc_mem_kib(pid):
    out = {}
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith(("VmRSS:", "VmHWM:")):
                k, v = line.split(":")
                out[k] = int(v.split()[0])
    return out.get("VmRSS", 0), out.get("VmHWM", 0)


def machine_cpu():
    """(busy, total) CPU seconds over all CPUs since boot, from /proc/stat."""
    with open("/proc/stat") as f:
        fields = [int(x) for x in f.readline().split()[1:]]
    # user nice system idle iowait irq softirq steal guest guest_nice
    idle = fields[3] + fields[4]
    total = sum(fields[:8])
    return (total - idle) / CLK_TCK, total / CLK_TCK


def pressure():
    out = {}
    for r in ("cpu", "io"):
        try:
            with open(f"/proc/pressure/{r}") as f:
                m = re.search(r"avg10=([0-9.]+)", f.readline())
                out[r] = float(m.group(1)) if m else None
        except OSError:
            out[r] = None
    return out


# ----------------------------------------------------------------------------------------------
# wait-load


def cmd_wait_load(a):
    t0 = time.monotonic()
    la_first = loadavg()

    def record(reached, la):
        if a.out:
            with open(a.out, "a") as f:
                f.write(json.dumps({"kind": "load-wait", "threshold": a.max_load,
                                    "reached": reached, "waited_s": time.monotonic() - t0,
                                    "load_before": la_first, "load_after": la,
                                    "utc": time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime())})
                        + "\n")

    while True:
        la = loadavg()
        if la[0] < a.max_load:
            print(f"load {la[0]:.2f} {la[1]:.2f} {la[2]:.2f} < {a.max_load} after "
                  f"{time.monotonic() - t0:.0f} s", flush=True)
            record(True, la)
            return 0
        waited = time.monotonic() - t0
        if waited >= a.timeout:
            print(f"load still {la[0]:.2f} {la[1]:.2f} {la[2]:.2f} after {waited:.0f} s "
                  f"(threshold {a.max_load}); measuring anyway, see the per-run load figures",
                  flush=True)
            record(False, la)
            return 0
        if int(waited) % 30 < 5:
            print(f"  waiting for load < {a.max_load}: {la[0]:.2f} ({waited:.0f} s)", flush=True)
        time.sleep(5)


# ----------------------------------------------------------------------------------------------
# startup


KAFKA_PROPS = """process.roles=broker,controller
node.id=1
controller.quorum.voters=1@127.0.0.1:{cport}
listeners=PLAINTEXT://127.0.0.1:{port},CONTROLLER://127.0.0.1:{cport}
advertised.listeners=PLAINTEXT://127.0.0.1:{port}
controller.listener.names=CONTROLLER
listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT
inter.broker.listener.name=PLAINTEXT
log.dirs={data}
num.partitions=1
offsets.topic.replication.factor=1
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
share.coordinator.state.topic.replication.factor=1
share.coordinator.state.topic.min.isr=1
group.initial.rebalance.delay.ms=0
"""


def api_versions_request(corr):
    # Request header v1 (api_key 18 ApiVersions, version 0, correlation id, client_id "bench"),
    # empty v0 body. Every Kafka broker answers v0 (with UNSUPPORTED_VERSION at worst).
    client = b"bench"
    body = struct.pack(">hhih", 18, 0, corr, len(client)) + client
    return struct.pack(">i", len(body)) + body


def recv_exact(sock, n, deadline):
    buf = b""
    while len(buf) < n:
        sock.settimeout(max(0.001, deadline - time.monotonic()))
        chunk = sock.recv(n - len(buf))
        if not chunk:
            raise ConnectionError("closed")
        buf += chunk
    return buf


def wait_ready(proc, port, deadline, poll_s):
    """Returns (t_tcp, t_api) monotonic times: first accepted connection, first ApiVersions
    response. Polls connect() every poll_s."""
    t_tcp = None
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"broker exited with {proc.returncode} before accepting")
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        try:
            s.connect(("127.0.0.1", port))
            # A port inside the ephemeral range can be "connected" to itself (TCP simultaneous
            # open with source port == destination port) while nothing listens, and then the
            # broker cannot bind it. Use ports below ip_local_port_range; refuse self-connects.
            if s.getsockname() == s.getpeername():
                raise OSError("self-connect")
        except (ConnectionRefusedError, OSError):
            s.close()
            time.sleep(poll_s)
            continue
        if t_tcp is None:
            t_tcp = time.monotonic()
        try:
            s.sendall(api_versions_request(1))
            size = struct.unpack(">i", recv_exact(s, 4, deadline))[0]
            resp = recv_exact(s, size, deadline)
            if struct.unpack(">i", resp[:4])[0] == 1:
                return t_tcp, time.monotonic()
        except (ConnectionError, OSError, socket.timeout):
            pass  # accepted but not serving yet (or closed): poll again
        finally:
            s.close()
        time.sleep(poll_s)
    raise TimeoutError(f"no ApiVersions answer on 127.0.0.1:{port}")


def stop_proc(proc, timeout=30):
    if proc.poll() is not None:
        return
    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(10)


def cmd_startup(a):
    os.makedirs(a.workdir, exist_ok=True)
    results = []
    for rep in range(a.rep_base, a.rep_base + a.reps):
        port = a.port + 10 * rep
        data = os.path.join(a.workdir, f"{a.kind}-startup-{rep}")
        subprocess.run(["rm", "-rf", data], check=True)
        os.makedirs(data)
        log = open(os.path.join(a.workdir, f"{a.kind}-startup-{rep}.log"), "w")
        format_s = None
        if a.kind == "strom":
            cmd = [a.strom, "serve", "--listen", f"127.0.0.1:{port}", "--data-dir", data]
        else:
            props = os.path.join(a.workdir, f"kafka-startup-{rep}.properties")
            with open(props, "w") as f:
                f.write(KAFKA_PROPS.format(port=port, cport=port + 1, data=data))
            java = ["java", a.kafka_heap, "-Dlog4j2.level=WARN", "-cp", a.kafka_cp]
            # Kafka (KRaft) refuses to start on an unformatted log dir: format first, as
            # kafka-peer.sh does; its time is reported separately, not in the start-up time.
            t = time.monotonic()
            subprocess.run(java + ["kafka.tools.StorageTool", "format", "-t",
                                   "bench-startup-cluster0", "-c", props],
                           check=True, stdout=log, stderr=log, timeout=120)
            format_s = time.monotonic() - t
            cmd = java + ["kafka.Kafka", props]
        la0 = loadavg()
        t0 = time.monotonic()
        proc = subprocess.Popen(cmd, stdout=log, stderr=log, start_new_session=True)
        try:
            t_tcp, t_api = wait_ready(proc, port, t0 + a.timeout, a.poll_ms / 1000)
            rss, hwm = proc_mem_kib(proc.pid)
            cpu = proc_cpu_seconds(proc.pid)
        finally:
            stop_proc(proc)
            log.close()
        la1 = loadavg()
        r = {"kind": "startup", "broker": a.kind, "rep": rep, "tcp_s": t_tcp - t0,
             "api_s": t_api - t0, "format_s": format_s, "cpu_s_to_ready": cpu,
             "rss_kib_at_ready": rss, "load_start": la0, "load_end": la1}
        results.append(r)
        extra = f", format {format_s:.2f} s beforehand" if format_s is not None else ""
        print(f"  {a.kind} start-up #{rep + 1}: first TCP accept {r['tcp_s'] * 1000:.1f} ms,"
              f" first ApiVersions answer {r['api_s'] * 1000:.1f} ms, CPU {cpu:.2f} s{extra};"
              f" load {la0[0]:.2f} -> {la1[0]:.2f}", flush=True)
        subprocess.run(["rm", "-rf", data], check=True)
    with open(a.out, "a") as f:
        for r in results:
            f.write(json.dumps(r) + "\n")


# ----------------------------------------------------------------------------------------------
# pagecache-ref


def cmd_pagecache_ref(a):
    """Kernel CPU to write MiB of zeros into a new file through the page cache (dd, no fsync):
    what any broker pays to put the same bytes in the page cache on this machine."""
    path = os.path.join(a.dir, f"pagecache-ref.{os.getpid()}")
    time.sleep(a.settle)  # let pages freed by earlier runs go back first (see BENCHMARKS.md)
    t0, c0 = time.monotonic(), os.times()
    subprocess.run(["dd", "if=/dev/zero", f"of={path}", "bs=1M", f"count={a.mib}",
                    "status=none"], check=True, timeout=120)
    t1, c1 = time.monotonic(), os.times()
    os.unlink(path)
    r = {"kind": "pagecache-ref", "phase": a.phase, "mib": a.mib,
         "sys_s": c1.children_system - c0.children_system,
         "user_s": c1.children_user - c0.children_user, "wall_s": t1 - t0, "load": loadavg()}
    print(f"  page-cache reference ({a.phase}): dd {a.mib} MiB, no fsync: {r['sys_s']:.2f} s "
          f"kernel CPU ({r['sys_s'] / a.mib * 1024:.2f} s per GiB), wall {r['wall_s']:.2f} s",
          flush=True)
    with open(a.out, "a") as f:
        f.write(json.dumps(r) + "\n")


# ----------------------------------------------------------------------------------------------
# idle


def cmd_idle(a):
    cpu0 = proc_cpu_seconds(a.pid)
    time.sleep(a.seconds)
    rss, hwm = proc_mem_kib(a.pid)
    cpu1 = proc_cpu_seconds(a.pid)
    r = {"kind": "idle", "broker": a.broker, "phase": a.phase, "rss_kib": rss, "hwm_kib": hwm,
         "cpu_s": cpu1 - cpu0, "seconds": a.seconds, "load": loadavg()}
    print(f"  {a.broker} idle ({a.phase}): VmRSS {rss / 1024:.1f} MiB, VmHWM {hwm / 1024:.1f} MiB,"
          f" CPU {cpu1 - cpu0:.2f} s in {a.seconds:.0f} s", flush=True)
    with open(a.out, "a") as f:
        f.write(json.dumps(r) + "\n")


# ----------------------------------------------------------------------------------------------
# topics


def cmd_create_topic(a):
    from confluent_kafka.admin import AdminClient, NewTopic

    admin = AdminClient({"bootstrap.servers": a.bootstrap})
    config = dict(kv.split("=", 1) for kv in a.config)
    fut = admin.create_topics([NewTopic(a.topic, a.partitions, 1, config=config)],
                              operation_timeout=30, request_timeout=30)[a.topic]
    fut.result(timeout=40)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:  # wait until every partition has a leader
        md = admin.list_topics(a.topic, timeout=10).topics.get(a.topic)
        if md is not None and md.error is None and len(md.partitions) == a.partitions and all(
            p.leader >= 0 and p.error is None for p in md.partitions.values()
        ):
            return 0
        time.sleep(0.1)
    print(f"topic {a.topic} has no leaders after 30 s", file=sys.stderr)
    return 1


def cmd_delete_topic(a):
    from confluent_kafka.admin import AdminClient

    admin = AdminClient({"bootstrap.servers": a.bootstrap})
    admin.delete_topics([a.topic], operation_timeout=30, request_timeout=30)[a.topic].result(40)


# ----------------------------------------------------------------------------------------------
# produce (confluent-kafka)


def cmd_produce(a):
    from confluent_kafka import KafkaException, Producer

    errors = [0]
    first_error = [None]

    def on_error(err, msg):
        if err is not None:
            errors[0] += 1
            if first_error[0] is None:
                first_error[0] = str(err)

    conf = {
        "bootstrap.servers": a.bootstrap,
        "acks": a.acks,
        "linger.ms": a.linger_ms,
        "batch.size": a.batch_size,
        "batch.num.messages": a.batch_num_messages,
        "queue.buffering.max.messages": 1_000_000,
        "queue.buffering.max.kbytes": 1_048_576,
        "compression.type": "none",
        "enable.idempotence": False,
        "delivery.report.only.error": True,  # callbacks for failures only: no per-record cost
        "message.timeout.ms": 60_000,
    }
    p = Producer(conf)
    # Same payload shape as ProducerPerformance: random upper-case letters, no key.
    import random

    rnd = random.Random(0)
    payload = bytes(rnd.randrange(65, 91) for _ in range(a.size))
    produce = p.produce
    topic = a.topic
    # Connect and fetch metadata before starting the clock (ProducerPerformance also does its
    # metadata fetch on the first send, but it is small next to a 5-15 s run).
    p.list_topics(topic, timeout=30)
    t0 = time.monotonic()
    sent = 0
    while sent < a.count:
        try:
            produce(topic, payload, on_delivery=on_error)
            sent += 1
        except BufferError:
            p.poll(0.005)
            continue
        except KafkaException as e:
            print(json.dumps({"error": str(e)}))
            return 1
        if sent % 10000 == 0:
            p.poll(0)
    left = p.flush(a.timeout)
    elapsed = time.monotonic() - t0
    acked = a.count - errors[0] - left
    print(json.dumps({"records": acked, "seconds": elapsed, "errors": errors[0],
                      "unflushed": left, "first_error": first_error[0]}))
    return 0 if errors[0] == 0 and left == 0 else 1


# ----------------------------------------------------------------------------------------------
# measure


PP_FINAL = re.compile(r"^(\d+) records sent, ([0-9.]+) records/sec \(([0-9.]+) MB/sec\), "
                      r"([0-9.]+) ms avg latency, ([0-9.]+) ms max latency"
                      r"(?:, (\d+) ms 50th, (\d+) ms 95th, (\d+) ms 99th)?")


def cmd_measure(a):
    sampled = {"rss_max": 0, "n": 0}
    stop = threading.Event()

    def sampler():
        while not stop.is_set():
            try:
                rss, _ = proc_mem_kib(a.pid)
            except OSError:
                break
            sampled["rss_max"] = max(sampled["rss_max"], rss)
            sampled["n"] += 1
            stop.wait(0.1)

    la0, psi0 = loadavg(), pressure()
    busy0, total0 = machine_cpu()
    u0, s0 = proc_cpu_split(a.pid)
    other0 = proc_cpu_seconds(a.other_pid) if a.other_pid else None
    ru0 = os.times()
    th = threading.Thread(target=sampler, daemon=True)
    th.start()
    t0 = time.monotonic()
    proc = subprocess.Popen(a.command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        out, _ = proc.communicate(timeout=a.timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        out, _ = proc.communicate()
        out += f"\n(killed after {a.timeout} s)"
    wall = time.monotonic() - t0
    u1, s1 = proc_cpu_split(a.pid)
    other1 = proc_cpu_seconds(a.other_pid) if a.other_pid else None
    busy1, total1 = machine_cpu()
    ru1 = os.times()
    stop.set()
    th.join()
    la1, psi1 = loadavg(), pressure()
    rss, hwm = proc_mem_kib(a.pid)

    rec = {"kind": "run", "broker": a.broker, "tool": a.tool, "size": a.size, "acks": a.acks,
           "partitions": a.partitions, "rep": a.rep, "variant": a.variant,
           "requested": a.records,
           "rc": proc.returncode,
           "wall_s": wall, "broker_cpu_s": (u1 - u0) + (s1 - s0),
           "broker_user_s": u1 - u0, "broker_sys_s": s1 - s0,
           "other_broker_cpu_s": (other1 - other0) if a.other_pid else None,
           "client_cpu_s": (ru1.children_user - ru0.children_user)
           + (ru1.children_system - ru0.children_system),
           "machine_busy_cpu_s": busy1 - busy0, "machine_total_cpu_s": total1 - total0,
           "rss_max_kib": max(sampled["rss_max"], rss), "hwm_kib": hwm,
           "rss_samples": sampled["n"], "load_start": la0, "load_end": la1,
           "cpu_stall10_start": psi0["cpu"], "cpu_stall10_end": psi1["cpu"]}
    if a.tool == "pp":
        m = None
        for line in out.splitlines():
            mm = PP_FINAL.match(line.strip())
            if mm and mm.group(6):
                m = mm
        if m:
            rec.update(records=int(m.group(1)), rps=float(m.group(2)),
                       lat_avg_ms=float(m.group(4)), lat_max_ms=float(m.group(5)),
                       lat_p50_ms=int(m.group(6)), lat_p99_ms=int(m.group(8)))
    else:
        for line in out.splitlines():
            if line.startswith("{"):
                j = json.loads(line)
                if "records" in j:
                    rec.update(records=j["records"], rps=j["records"] / j["seconds"],
                               errors=j["errors"], unflushed=j["unflushed"],
                               first_error=j["first_error"])
    ok = proc.returncode == 0 and rec.get("records") == a.records
    rec["ok"] = ok
    if not ok:
        rec["output_tail"] = out[-2000:]
    with open(a.out, "a") as f:
        f.write(json.dumps(rec) + "\n")
    if ok:
        per_m = rec["broker_cpu_s"] / rec["records"] * 1e6
        print(f"  {a.broker:5} {a.tool} {a.size:>4} B acks={a.acks:<3} p={a.partitions}"
              f"{' ' + a.variant if a.variant else ''}: "
              f"{rec['rps']:>9,.0f} rec/s {rec['rps'] * a.size / 1e6:6.1f} MB/s, broker CPU "
              f"{rec['broker_cpu_s']:5.2f} s ({per_m:.2f} s/M rec, sys "
              f"{rec['broker_sys_s'] / max(rec['broker_cpu_s'], 1e-9):.0%}), client CPU "
              f"{rec['client_cpu_s']:.1f} s, RSS max {rec['rss_max_kib'] / 1024:.0f} MiB, "
              f"wall {wall:.1f} s, load {la0[0]:.2f} -> {la1[0]:.2f}", flush=True)
    else:
        print(f"  {a.broker} {a.tool} {a.size} acks={a.acks} p={a.partitions}: FAILED "
              f"(rc {proc.returncode}, records {rec.get('records')})\n{out[-2000:]}", flush=True)
    return 0


# ----------------------------------------------------------------------------------------------
# report


def fmt_ratio(x):
    return "—" if x is None else f"{x:.2f}×"


def cmd_report(a):
    rows = [json.loads(line) for line in open(a.results) if line.strip()]
    runs = [r for r in rows if r["kind"] == "run"]
    out = []
    w = out.append

    def key(r):
        return (r["tool"], r["size"], r["acks"], r["partitions"], r.get("variant", ""))

    configs, variants = [], []
    for r in runs:
        c = key(r)
        lst = variants if c[4] else configs
        if c not in lst:
            lst.append(c)
    tool_name = {"pp": "ProducerPerformance", "ck": "confluent-kafka"}

    def ok(r):
        return r is not None and r.get("ok")

    def agg(c, broker):
        """All repeats of one configuration on one broker, pooled: records/s = records over
        the producers' own measured seconds, CPU per record = CPU-seconds over records.
        None if any repeat failed."""
        rs = sorted((r for r in runs if key(r) == c and r["broker"] == broker),
                    key=lambda r: r.get("rep", 1))
        if not rs or not all(ok(r) for r in rs):
            return None
        records = sum(r["records"] for r in rs)
        seconds = sum(r["records"] / r["rps"] for r in rs)
        cpu = sum(r["broker_cpu_s"] for r in rs)
        sys_s = sum(r.get("broker_sys_s") or 0 for r in rs)
        user = sum(r.get("broker_user_s") or 0 for r in rs)
        return {"rps": records / seconds, "cpu_per_m": cpu / records * 1e6,
                "user_per_m": user / records * 1e6, "sys_per_m": sys_s / records * 1e6,
                "user_eff": records / user if user > 0 else None,
                "eff": records / cpu if cpu > 0 else None, "sys_share": sys_s / cpu if cpu else 0,
                "reps": rs}

    def per_rep(s, k, f):
        """strom / Kafka ratio of f for each repeat, in repeat order."""
        out = []
        for rs, rk in zip(s["reps"], k["reps"]):
            fs, fk = f(rs), f(rk)
            out.append(f"{fs / fk:.2f}" if fs and fk else "—")
        return ", ".join(out)

    reps = max((r.get("rep", 1) for r in runs), default=1)
    w(f"#### Throughput (records/s and MB/s of record values, {reps} repeat(s) pooled; higher "
      "is better)\n")
    w("| producer | record | acks | partitions | strom rec/s | strom MB/s | Kafka rec/s "
      "| Kafka MB/s | strom / Kafka | per repeat |")
    w("|---|---|---|---|---|---|---|---|---|---|")
    for c in configs:
        s, k = agg(c, "strom"), agg(c, "kafka")
        cells = []
        for x in (s, k):
            if x:
                cells += [f"{x['rps']:,.0f}", f"{x['rps'] * c[1] / 1e6:.1f}"]
            else:
                cells += ["failed", "—"]
        ratio = s["rps"] / k["rps"] if s and k else None
        reps_txt = per_rep(s, k, lambda r: r["rps"]) if s and k else "—"
        w(f"| {tool_name[c[0]]} | {c[1]} B | {c[2]} | {c[3]} | " + " | ".join(cells)
          + f" | {fmt_ratio(ratio)} | {reps_txt} |")

    w("\n#### Broker CPU (utime+stime of the broker process per million records, repeats "
      "pooled; lower is better)\n")
    w("| producer | record | acks | partitions | strom CPU-s/M (kernel share) | Kafka CPU-s/M "
      "(kernel share) | strom rec per CPU-s | Kafka rec per CPU-s | strom / Kafka (rec per "
      "CPU-s) | per repeat |")
    w("|---|---|---|---|---|---|---|---|---|---|")
    eff_ratios = {}
    for c in configs:
        s, k = agg(c, "strom"), agg(c, "kafka")
        cells = []
        for x in (s, k):
            cells.append(f"{x['cpu_per_m']:.2f} ({x['sys_share']:.0%})" if x else "—")
        for x in (s, k):
            cells.append(f"{x['eff']:,.0f}" if x and x["eff"] else "—")
        ratio = s["eff"] / k["eff"] if s and k and s["eff"] and k["eff"] else None
        if ratio is not None:
            eff_ratios[c] = ratio
        reps_txt = (per_rep(s, k, lambda r: r["records"] / r["broker_cpu_s"]
                            if r["broker_cpu_s"] > 0 else None) if s and k else "—")
        w(f"| {tool_name[c[0]]} | {c[1]} B | {c[2]} | {c[3]} | " + " | ".join(cells)
          + f" | {fmt_ratio(ratio)} | {reps_txt} |")
    if eff_ratios:
        vals = sorted(eff_ratios.values())
        w(f"\nRecords per broker CPU-second, strom / Kafka over the {len(vals)} configurations: "
          f"min {vals[0]:.2f}×, median {statistics.median(vals):.2f}×, max {vals[-1]:.2f}× "
          f"(goal ≥ 2×: met in {sum(v >= 2 for v in vals)} of {len(vals)}).")
        for acks in ("1", "all"):
            v = sorted(x for c, x in eff_ratios.items() if c[2] == acks)
            if v:
                w(f"acks={acks}: median {statistics.median(v):.2f}× (min {v[0]:.2f}×, max "
                  f"{v[-1]:.2f}×, ≥ 2× in {sum(x >= 2 for x in v)} of {len(v)}).")

    w("\n#### Broker CPU split: user space (utime) and kernel (stime), CPU-seconds per million "
      "records\n")
    w("| producer | record | acks | partitions | strom user | strom kernel | Kafka user | "
      "Kafka kernel | strom / Kafka, records per user CPU-s |")
    w("|---|---|---|---|---|---|---|---|---|")
    for c in configs:
        s, k = agg(c, "strom"), agg(c, "kafka")
        if not (s and k):
            continue
        ratio = s["user_eff"] / k["user_eff"] if s["user_eff"] and k["user_eff"] else None
        w(f"| {tool_name[c[0]]} | {c[1]} B | {c[2]} | {c[3]} | {s['user_per_m']:.2f} | "
          f"{s['sys_per_m']:.2f} | {k['user_per_m']:.2f} | {k['sys_per_m']:.2f} | "
          f"{fmt_ratio(ratio)} |")

    refs = [r for r in rows if r["kind"] == "pagecache-ref"]
    if refs:
        per_gib = [r["sys_s"] / r["mib"] * 1024 for r in refs]
        w("\nPage-cache reference, same run: `dd if=/dev/zero bs=1M` of "
          f"{refs[0]['mib']} MiB into a new file (no fsync) cost "
          + ", ".join(f"{r['sys_s'] / r['mib'] * 1024:.2f} ({r['phase']})" for r in refs)
          + " kernel CPU-seconds per GiB, i.e. about "
          f"{statistics.median(per_gib) * 1024e6 / 2**30:.2f} CPU-s per million 1024 B records "
          f"and {statistics.median(per_gib) * 100e6 / 2**30:.2f} per million 100 B records just "
          "to put the bytes in the page cache, for any writer.")

    if variants:
        w("\n#### Durable variant (topic config on both brokers; repeats pooled)\n")
        w("| producer | record | acks | partitions | topic config | strom rec/s | Kafka rec/s | "
          "strom CPU-s/M (kernel share) | Kafka CPU-s/M (kernel share) | strom / Kafka (rec per "
          "CPU-s) | per repeat |")
        w("|---|---|---|---|---|---|---|---|---|---|---|")
        for c in variants:
            s, k = agg(c, "strom"), agg(c, "kafka")
            if not (s and k):
                w(f"| {tool_name[c[0]]} | {c[1]} B | {c[2]} | {c[3]} | `{c[4]}` | failed |||||")
                continue
            ratio = s["eff"] / k["eff"] if s["eff"] and k["eff"] else None
            reps_txt = per_rep(s, k, lambda r: r["records"] / r["broker_cpu_s"]
                               if r["broker_cpu_s"] > 0 else None)
            w(f"| {tool_name[c[0]]} | {c[1]} B | {c[2]} | {c[3]} | `{c[4]}` | {s['rps']:,.0f} | "
              f"{k['rps']:,.0f} | {s['cpu_per_m']:.2f} ({s['sys_share']:.0%}) | "
              f"{k['cpu_per_m']:.2f} ({k['sys_share']:.0%}) | {fmt_ratio(ratio)} | {reps_txt} |")

    st = [r for r in rows if r["kind"] == "startup"]
    if st:
        w("\n#### Start-up (exec → first accepted TCP connection; fresh data dir; median of "
          "repeats)\n")
        w("| | strom | Kafka | Kafka / strom |")
        w("|---|---|---|---|")
        med = {}
        for b in ("strom", "kafka"):
            rs = [r for r in st if r["broker"] == b]
            if rs:
                med[b] = {k: statistics.median(r[k] for r in rs)
                          for k in ("tcp_s", "api_s", "cpu_s_to_ready", "rss_kib_at_ready")}
                med[b]["all_tcp"] = ", ".join(f"{r['tcp_s'] * 1000:.1f}" for r in rs)
                med[b]["n"] = len(rs)
                fm = [r["format_s"] for r in rs if r["format_s"] is not None]
                med[b]["format_s"] = statistics.median(fm) if fm else None

        def row(label, key, scale, unit, digits=1):
            if "strom" in med and "kafka" in med:
                s, k = med["strom"][key], med["kafka"][key]
                least = 10 ** -digits
                sv = f"{s * scale:.{digits}f} {unit}" if s * scale >= least else f"< {least} {unit}"
                ratio = f"{k / s:.0f}×" if s > 0 else "—"
                w(f"| {label} | {sv} | {k * scale:.{digits}f} {unit} | {ratio} |")

        row("first accepted TCP connection (median)", "tcp_s", 1000, "ms")
        row("first ApiVersions response (median)", "api_s", 1000, "ms")
        row("broker CPU until ready (median; /proc ticks are 10 ms)", "cpu_s_to_ready", 1, "s",
            2)
        if "strom" in med and "kafka" in med:
            w(f"| each repeat, TCP accept (ms) | {med['strom']['all_tcp']} | "
              f"{med['kafka']['all_tcp']} | |")
            if med["kafka"]["format_s"] is not None:
                w(f"| *not included:* `StorageTool format` before Kafka's exec (median) | "
                  f"not needed | {med['kafka']['format_s']:.2f} s | |")

    idle = [r for r in rows if r["kind"] == "idle"]
    if idle or runs:
        w("\n#### Memory (VmRSS / VmHWM from /proc/PID/status)\n")
        w("| | strom | Kafka | Kafka / strom |")
        w("|---|---|---|---|")

        def mem_row(label, s, k):
            if s and k:
                w(f"| {label} | {s / 1024:.1f} MiB | {k / 1024:.1f} MiB | {k / s:.1f}× |")

        for phase in ("before-load", "after-load"):
            got = {r["broker"]: r for r in idle if r["phase"] == phase}
            if "strom" in got and "kafka" in got:
                mem_row(f"idle RSS, {phase.replace('-', ' ')}", got["strom"]["rss_kib"],
                        got["kafka"]["rss_kib"])
        if runs:
            mx = {b: max((r["rss_max_kib"] for r in runs if r["broker"] == b and ok(r)),
                         default=0) for b in ("strom", "kafka")}
            hw = {b: max((r["hwm_kib"] for r in runs if r["broker"] == b), default=0)
                  for b in ("strom", "kafka")}
            mem_row("RSS under load (max of 100 ms samples over all runs)", mx["strom"],
                    mx["kafka"])
            mem_row("peak RSS (VmHWM at the end of the last run)", hw["strom"], hw["kafka"])
        got = {r["broker"]: r for r in idle if r["phase"] == "before-load"}
        if "strom" in got and "kafka" in got:
            w(f"\nIdle CPU over {got['strom']['seconds']:.0f} s with no clients: strom "
              f"{got['strom']['cpu_s']:.2f} s, Kafka {got['kafka']['cpu_s']:.2f} s.")

    if runs:
        w("\n#### Machine state per run\n")
        w("1-minute load average at start → end of each run, and where the machine's CPU-seconds "
          "went during it (from /proc/stat): the broker, the producer process (client), the "
          "other, idle broker, and everything else (others: other users, kernel threads such as "
          "writeback). 2 CPUs = 2 CPU-seconds per wall second.\n")
        w("<details><summary>every run</summary>\n")
        w("| producer | record | acks | part. | config | rep | broker | rec/s | load | machine "
          "busy CPU-s | broker | client | idle broker | others | wall s |")
        w("|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|")
        for r in runs:
            others = (r["machine_busy_cpu_s"] - r["broker_cpu_s"] - r["client_cpu_s"]
                      - (r["other_broker_cpu_s"] or 0))
            rps = f"{r['rps']:,.0f}" if ok(r) else "failed"
            w(f"| {tool_name[r['tool']]} | {r['size']} B | {r['acks']} | {r['partitions']} | "
              f"{r.get('variant') or '—'} | {r.get('rep', 1)} | {r['broker']} | {rps} | "
              f"{r['load_start'][0]:.2f} → {r['load_end'][0]:.2f} | "
              f"{r['machine_busy_cpu_s']:.1f} | "
              f"{r['broker_cpu_s']:.1f} | {r['client_cpu_s']:.1f} | "
              f"{r['other_broker_cpu_s'] or 0:.1f} | {max(others, 0):.1f} | {r['wall_s']:.1f} |")
        w("\n</details>")
        busy = sum(r["machine_busy_cpu_s"] for r in runs)
        tot = sum(r["machine_total_cpu_s"] for r in runs)
        oth = sum(max(0, r["machine_busy_cpu_s"] - r["broker_cpu_s"] - r["client_cpu_s"]
                      - (r["other_broker_cpu_s"] or 0)) for r in runs)
        cli = sum(r["client_cpu_s"] for r in runs)
        brk = sum(r["broker_cpu_s"] for r in runs)
        w(f"\nOver all load runs the machine's CPUs were {busy / tot:.0%} busy: brokers "
          f"{brk / tot:.0%}, producers {cli / tot:.0%}, everything else {oth / tot:.0%} of the "
          f"CPU time available.")
        lw = [r for r in rows if r["kind"] == "load-wait"]
        for r in lw:
            verdict = "reached" if r["reached"] else "NOT reached"
            before = " ".join(f"{x:.2f}" for x in r["load_before"])
            after = " ".join(f"{x:.2f}" for x in r["load_after"])
            w(f"\nLoad wait at {r['utc']} UTC: threshold {r['threshold']} {verdict} after "
              f"{r['waited_s']:.0f} s (1/5/15-min load {before} → {after}).")
        if runs:
            w(f"\nLoad over the load runs: {runs[0]['load_start'][0]:.2f} at the first start, "
              f"{runs[-1]['load_end'][0]:.2f} at the last end; range "
              f"{min(min(r['load_start'][0], r['load_end'][0]) for r in runs):.2f}-"
              f"{max(max(r['load_start'][0], r['load_end'][0]) for r in runs):.2f}.")
        failed = [r for r in runs if not ok(r)]
        for r in failed:
            w(f"\nFAILED: {r['broker']} {r['tool']} {r['size']} B acks={r['acks']} "
              f"p={r['partitions']}: rc {r['rc']}, records {r.get('records')}")
    print("\n".join(out))


# ----------------------------------------------------------------------------------------------


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    sub = ap.add_subparsers(dest="cmd", required=True)

    p = sub.add_parser("wait-load")
    p.add_argument("--max-load", type=float, default=1.5)
    p.add_argument("--timeout", type=float, default=600)
    p.add_argument("--out")

    p = sub.add_parser("startup")
    p.add_argument("--kind", choices=["strom", "kafka"], required=True)
    p.add_argument("--reps", type=int, default=5)
    p.add_argument("--rep-base", type=int, default=0, help="index of the first repeat")
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--workdir", required=True)
    p.add_argument("--strom")
    p.add_argument("--kafka-cp")
    p.add_argument("--kafka-heap", default="-Xmx1g")
    p.add_argument("--timeout", type=float, default=120)
    p.add_argument("--poll-ms", type=float, default=0.5)
    p.add_argument("--out", required=True)

    p = sub.add_parser("pagecache-ref")
    p.add_argument("--dir", required=True)
    p.add_argument("--mib", type=int, default=1024)
    p.add_argument("--settle", type=float, default=5)
    p.add_argument("--phase", required=True)
    p.add_argument("--out", required=True)

    p = sub.add_parser("idle")
    p.add_argument("--broker", required=True)
    p.add_argument("--pid", type=int, required=True)
    p.add_argument("--phase", required=True)
    p.add_argument("--seconds", type=float, default=10)
    p.add_argument("--out", required=True)

    for name in ("create-topic", "delete-topic"):
        p = sub.add_parser(name)
        p.add_argument("bootstrap")
        p.add_argument("topic")
        if name == "create-topic":
            p.add_argument("partitions", type=int)
            p.add_argument("--config", action="append", default=[], help="topic config k=v")

    p = sub.add_parser("produce")
    p.add_argument("--bootstrap", required=True)
    p.add_argument("--topic", required=True)
    p.add_argument("--count", type=int, required=True)
    p.add_argument("--size", type=int, required=True)
    p.add_argument("--acks", default="1")
    p.add_argument("--linger-ms", type=int, default=5)
    p.add_argument("--batch-size", type=int, default=1_000_000)
    p.add_argument("--batch-num-messages", type=int, default=10_000)
    p.add_argument("--timeout", type=float, default=120)

    p = sub.add_parser("measure")
    p.add_argument("--broker", required=True)
    p.add_argument("--pid", type=int, required=True)
    p.add_argument("--other-pid", type=int)
    p.add_argument("--tool", choices=["pp", "ck"], required=True)
    p.add_argument("--size", type=int, required=True)
    p.add_argument("--acks", required=True)
    p.add_argument("--partitions", type=int, required=True)
    p.add_argument("--records", type=int, required=True)
    p.add_argument("--rep", type=int, default=1)
    p.add_argument("--variant", default="", help="label, e.g. the topic config used")
    p.add_argument("--timeout", type=float, default=120)
    p.add_argument("--out", required=True)
    p.add_argument("command", nargs=argparse.REMAINDER, help="-- then the producer command")

    p = sub.add_parser("report")
    p.add_argument("results")

    a = ap.parse_args()
    if a.cmd == "measure":
        a.command = a.command[1:] if a.command[:1] == ["--"] else a.command
    fn = {"wait-load": cmd_wait_load, "startup": cmd_startup, "idle": cmd_idle,
          "pagecache-ref": cmd_pagecache_ref,
          "create-topic": cmd_create_topic, "delete-topic": cmd_delete_topic,
          "produce": cmd_produce, "measure": cmd_measure, "report": cmd_report}[a.cmd]
    return fn(a) or 0


if __name__ == "__main__":
    sys.exit(main())

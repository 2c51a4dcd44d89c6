#!/usr/bin/env python3
"""perf/report.py OUTDIR: turn perf/run.sh's runs.jsonl into table.md,
results.json (absolute figures, ratios to the baselines of the same run,
goals) and gnuplot scripts + data for the plots (run.sh runs gnuplot).
Standard library only."""
import argparse
import json
import os
import platform
import subprocess


def sh(cmd):
    try:
        return subprocess.run(cmd, shell=True, capture_output=True, text=True,
                              timeout=10).stdout.strip()
    except Exception:
        return ""


def machine():
    model = ""
    try:
        for line in open("/proc/cpuinfo"):
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return {
        "nproc": os.cpu_count(),
        "cpu_model": model,
        "kernel": platform.release(),
        "kamailio": sh("kamailio -v 2>/dev/null | head -n 1"),
        "socat": sh("socat -V 2>/dev/null | grep 'socat version' | head -n 1"),
        "mem_total": sh("awk '/MemTotal/{print $2\" kB\"}' /proc/meminfo"),
    }


def ratio(a, b):
    return round(a / b, 3) if a and b else None


def fmt(x, nd=1):
    if x is None:
        return "n/a"
    if isinstance(x, float):
        return f"{x:,.{nd}f}"
    return f"{x:,}" if isinstance(x, int) else str(x)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("out")
    ap.add_argument("--quick", default="0")
    ap.add_argument("--seconds", type=int, default=0)
    ap.add_argument("--load-threads", default="1")
    a = ap.parse_args()
    runs = [json.loads(l) for l in open(os.path.join(a.out, "runs.jsonl")) if l.strip()]

    def get(wl, target, variant):
        for r in runs:
            if r["workload"] == wl and r["system"] == target and r["variant"] == variant:
                return r
        return None

    def tcpu(r, key):
        return (r or {}).get("target", {}).get(key)

    def median_run(wl, target, variant):
        """W5_REPS > 1 repeats a variant: one run whose figures are the
        medians of its repetitions (the first run when there is one)."""
        rs = [r for r in runs if r["workload"] == wl and r["system"] == target
              and r["variant"] == variant]
        if len(rs) < 2:
            return rs[0] if rs else None
        def med(vals):
            vals = sorted(v for v in vals if v is not None)
            return vals[len(vals) // 2] if vals else None
        m = dict(rs[0])
        m["goodput_MBps"] = med(r.get("goodput_MBps") for r in rs)
        m["target"] = dict(rs[0].get("target", {}))
        for k in ("bytes_per_cpu_s", "cpu_s"):
            m["target"][k] = med(tcpu(r, k) for r in rs)
        m["reps"] = len(rs)
        return m

    gw_targets = sorted({r["system"] for r in runs if r["system"].startswith("msrpgw")})
    md = []
    res = {"machine": machine(), "quick": a.quick == "1", "seconds": a.seconds,
           "load_threads": int(a.load_threads), "runs": runs, "ratios": {}, "goals": []}
    m = res["machine"]
    md.append(f"# msrpgw perf run{' (--quick: small sizes, not for conclusions)' if a.quick == '1' else ''}\n")
    md.append(f"Machine: {m['nproc']} CPUs, {m['cpu_model']}, kernel {m['kernel']}, "
              f"{m['mem_total']} RAM. Peers: {m['kamailio']}; {m['socat']}. msrpload threads: "
              f"{a.load_threads}. Harness wall time: {a.seconds} s. Everything on loopback, "
              "msrpload and the target share the machine's CPUs.\n")
    md.append("Targets: `raw-splice` = perf/bench_rawproxy (splice(2) forwarder, the physical "
              "limit), `socat` = socat TCP forwarder, `msrpgw-tN` = msrpgw with threads = N, "
              "`kamailio` = Kamailio msrp module (tests/peers/kamailio), `self` = msrpload "
              "direct with no target (its own ceiling). MB = 10^6 bytes of MSRP body answered 200.\n")

    # W1
    md.append("## W1 large files (one message per session)\n")
    md.append("| target | variant | chunk B | goodput MB/s | / raw-splice | / socat | / kamailio | "
              "target CPU-s | MB per target CPU-s | p99 ms | ok |")
    md.append("|---|---|---|---|---|---|---|---|---|---|---|")
    w1_rows = [r for r in runs if r["workload"] == "W1"]
    for r in w1_rows:
        n = r["variant"].split(" ")[0] + (" sessions" if r["variant"].split(" ")[0] != "1" else " session")
        raw = get("W1", "raw-splice", n)
        soc = get("W1", "socat", n)
        kam = get("W1", "kamailio", n + " 10KB")
        g = r.get("goodput_MBps")
        rr = {"raw": ratio(g, (raw or {}).get("goodput_MBps")),
              "socat": ratio(g, (soc or {}).get("goodput_MBps")),
              "kamailio": ratio(g, (kam or {}).get("goodput_MBps"))}
        res["ratios"][f"W1 {r['system']} {r['variant']}"] = rr
        bpc = tcpu(r, "bytes_per_cpu_s")
        md.append(f"| {r['system']} | {r['variant']} | {r.get('chunk_size')} | {fmt(g)} | "
                  f"{fmt(rr['raw'], 2)} | {fmt(rr['socat'], 2)} | {fmt(rr['kamailio'], 2)} | "
                  f"{fmt(tcpu(r, 'cpu_s'), 2)} | {fmt(bpc / 1e6 if bpc else None)} | "
                  f"{fmt((r.get('latency_us') or {}).get('p99', 0) / 1e3, 2)} | {r.get('ok')} |")
    md.append("\nKamailio relays chunks of at most ~10.9 KB, so it is driven with 10000 B chunks; "
              "msrpgw is shown at both 64 KiB and 10000 B (the like-for-like ratio is the 10KB row).\n")

    # W2
    md.append("## W2 small chunks (1 KiB SEND + 200, 100 sessions, closed loop)\n")
    md.append("| target | window | chunks/s | / kamailio | MB/s | p50 us | p90 us | p99 us | p99.9 us | max us | "
              "chunks per target CPU-s | ok |")
    md.append("|---|---|---|---|---|---|---|---|---|---|---|---|")
    kam2 = get("W2", "kamailio", "window 8")
    for r in sorted([r for r in runs if r["workload"] == "W2"], key=lambda r: -r.get("window", 0)):
        lat = r.get("latency_us") or {}
        kw = get("W2", "kamailio", r["variant"])
        rk = ratio(r.get("chunks_per_s"), (kw or {}).get("chunks_per_s"))
        res["ratios"][f"W2 {r['system']} {r['variant']}"] = {"kamailio": rk}
        md.append(f"| {r['system']} | {r.get('window')} | {fmt(r.get('chunks_per_s'), 0)} | {fmt(rk, 2)} | "
                  f"{fmt(r.get('goodput_MBps'))} | {fmt(lat.get('p50'))} | {fmt(lat.get('p90'))} | "
                  f"{fmt(lat.get('p99'))} | {fmt(lat.get('p999'))} | {fmt(lat.get('max'))} | "
                  f"{fmt(tcpu(r, 'chunks_per_cpu_s'), 0)} | {r.get('ok')} |")

    # W3
    md.append("\n## W3 work per CPU-second of the target (utime+stime of its processes over the run)\n")
    md.append("| target | W1 16 sessions MB per CPU-s (chunk) | / kamailio | W2 (window 8) chunks per CPU-s | / kamailio |")
    md.append("|---|---|---|---|---|")
    k1 = tcpu(get("W1", "kamailio", "16 sessions 10KB"), "bytes_per_cpu_s")
    k2 = tcpu(kam2, "chunks_per_cpu_s")
    for t in ["raw-splice", "socat"] + gw_targets + ["kamailio"]:
        for v in ["16 sessions", "16 sessions 10KB"]:
            r1 = get("W1", t, v)
            if not r1:
                continue
            r2 = get("W2", t, "window 8")
            b1 = tcpu(r1, "bytes_per_cpu_s")
            c2 = tcpu(r2, "chunks_per_cpu_s")
            ra, rb = ratio(b1, k1), ratio(c2, k2)
            res["ratios"][f"W3 {t} {v}"] = {"kamailio_bytes": ra, "kamailio_chunks": rb}
            md.append(f"| {t} | {fmt(b1 / 1e6 if b1 else None)} ({r1.get('chunk_size')}) | {fmt(ra, 2)} | "
                      f"{fmt(c2, 0)} | {fmt(rb, 2)} |")

    # W4
    md.append("\n## W4 many sessions (idle sessions = AUTHed receivers, one connection each)\n")
    md.append("| target | variant | connections | RSS before KiB | RSS all set up KiB | bytes per connection | "
              "active goodput MB/s | setup s | ok |")
    md.append("|---|---|---|---|---|---|---|---|---|")
    for r in [r for r in runs if r["workload"] == "W4"]:
        t = r.get("target", {})
        md.append(f"| {r['system']} | {r['variant']} | {fmt(t.get('connections'))} | "
                  f"{fmt(t.get('rss_kib_before'))} | {fmt(t.get('rss_kib_ready'))} | "
                  f"{fmt(t.get('rss_bytes_per_conn'), 0)} | {fmt(r.get('goodput_MBps'))} | "
                  f"{fmt(r.get('setup_s'), 2)} | {r.get('ok')} |")

    # W5, with the crypto micro-benchmark of each build
    w5 = {}
    crypto = [r for r in runs if r["workload"] == "C"]
    md.append("\n## W5 msrps (TLS, wolfSSL) vs plain through msrpgw, 64 KiB chunks\n")
    if crypto:
        md.append("perf/bench_crypto, 16 KiB records, GB/s per CPU-second of one core:\n")
        md.append("| wolfSSL | AES-128-GCM seal | open | ChaCha20-Poly1305 seal | open | default AEAD |")
        md.append("|---|---|---|---|---|---|")
        for c in crypto:
            md.append(f"| {c['variant']} | {fmt(c.get('aes128gcm_seal_GBps'), 2)} | "
                      f"{fmt(c.get('aes128gcm_open_GBps'), 2)} | {fmt(c.get('chacha20poly1305_seal_GBps'), 2)} | "
                      f"{fmt(c.get('chacha20poly1305_open_GBps'), 2)} | "
                      f"{'AES-GCM' if c.get('aes_fast') else 'ChaCha20-Poly1305'} |")
        md.append("")
    md.append("| target | wolfSSL | sessions | plain MB/s | TLS MB/s | TLS / plain | plain MB per gw CPU-s | "
              "TLS MB per gw CPU-s | TLS / plain per CPU-s | TLS gw CPU-s | TLS connections (resumed) |")
    md.append("|---|---|---|---|---|---|---|---|---|---|---|")
    libs = sorted({r["variant"].split()[-1] for r in runs if r["workload"] == "W5"
                   and len(r["variant"].split()) == 3})
    for t in gw_targets:
        for lib in libs:
            for s_ in (1, 16):
                p, tl = median_run("W5", t, f"plain {s_} {lib}"), median_run("W5", t, f"tls {s_} {lib}")
                if not p or not tl:
                    continue
                rt = ratio(tl.get("goodput_MBps"), p.get("goodput_MBps"))
                bp, bt = tcpu(p, "bytes_per_cpu_s"), tcpu(tl, "bytes_per_cpu_s")
                rc = ratio(bt, bp)
                w5[(t, lib, s_)] = {"tls_over_plain": rt, "tls_over_plain_per_cpu": rc}
                res["ratios"][f"W5 {t} {lib} {s_}"] = w5[(t, lib, s_)]
                md.append(f"| {t} | {lib} | {s_} | {fmt(p.get('goodput_MBps'))} | {fmt(tl.get('goodput_MBps'))} | "
                          f"{fmt(rt, 2)} | {fmt(bp / 1e6 if bp else None)} | {fmt(bt / 1e6 if bt else None)} | "
                          f"{fmt(rc, 2)} | {fmt(tcpu(tl, 'cpu_s'), 2)} | "
                          f"{tl.get('tls_connections', '-')} ({tl.get('tls_resumed', '-')}) |")

    # W6
    w6 = {}
    if any(r["workload"] == "W6" for r in runs):
        md.append("\n## W6 attack mix (W2 window 8, default config; attackers from 127.0.0.2)\n")
        md.append("Attack mix: slowloris, idle connections, an AUTH flood (wrong passwords) and a "
                  "client that never reads its responses, all running during the second run "
                  "(perf/attack_mix.sh; counts in logs/w6-*/summary.txt). The gateway's CPU-seconds "
                  "include the work the attackers cost it.\n")
        md.append("| target | run | chunks/s | MB/s | body MB per gateway CPU-s | gateway CPU-s | "
                  "p99 us | bystander errors | verified | ok |")
        md.append("|---|---|---|---|---|---|---|---|---|---|")
        for t in gw_targets:
            un, at = get("W6", t, "unloaded"), get("W6", t, "attack mix")
            for r in (un, at):
                if not r:
                    continue
                bpc = tcpu(r, "bytes_per_cpu_s")
                errs = (r.get("error_count") or 0) + (r.get("setup_failures") or 0)
                md.append(f"| {t} | {r['variant']} | {fmt(r.get('chunks_per_s'), 0)} | "
                          f"{fmt(r.get('goodput_MBps'))} | {fmt(bpc / 1e6 if bpc else None, 2)} | "
                          f"{fmt(tcpu(r, 'cpu_s'), 2)} | {fmt((r.get('latency_us') or {}).get('p99'))} | "
                          f"{errs} | {r.get('verified')} | {r.get('ok')} |")
            if un and at:
                w6[t] = {"per_cpu": ratio(tcpu(at, "bytes_per_cpu_s"), tcpu(un, "bytes_per_cpu_s")),
                         "wall": ratio(at.get("goodput_MBps"), un.get("goodput_MBps")),
                         "errors": (at.get("error_count") or 0) + (at.get("setup_failures") or 0)
                         + (0 if at.get("verified") else 1)}
                res["ratios"][f"W6 {t}"] = w6[t]
                md.append(f"| {t} | attack / unloaded | {fmt(w6[t]['wall'], 2)} (wall) | | "
                          f"{fmt(w6[t]['per_cpu'], 2)} (per CPU-s) | | | | | |")

    # W7: msrpgw-t1 / raw-splice per cell, medians over the reps.
    w7 = {}
    w7_runs = [r for r in runs if r["workload"] == "W7"]
    if w7_runs:
        md.append("\n## W7 per CPU-s vs splice (window 8; msrpgw threads = 1, relay mode with Digest)\n")
        md.append("msrpgw / raw-splice and msrpgw / raw-copy in the same run: body bytes per server "
                  "CPU-second and wall goodput, medians over the reps; SEND->200 p99. raw-copy "
                  "(bench_rawproxy --copy) reads and writes every byte and parses nothing: the "
                  "least a relay pays that must scan bodies for end-lines. Per-chunk instruction "
                  "counts of msrpgw: perf/chunk_cost.sh.\n")
        md.append("| chunk B | N | msrpgw MB/s | splice MB/s | copy MB/s | msrpgw / splice, per "
                  "server CPU-s | msrpgw / copy, per server CPU-s | copy / splice, per server "
                  "CPU-s | msrpgw / splice, wall goodput | msrpgw p99 us | splice p99 us | reps |")
        md.append("|---|---|---|---|---|---|---|---|---|---|---|---|")

        def med(xs):
            xs = sorted(x for x in xs if x is not None)
            if not xs:
                return None
            k = len(xs) // 2
            return xs[k] if len(xs) % 2 else (xs[k - 1] + xs[k]) / 2

        cells = []
        for r in w7_runs:
            c, n = (int(x) for x in r["variant"].split(" ")[:2])
            if (c, n) not in cells:
                cells.append((c, n))
        for c, n in sorted(cells):
            def pick(t):
                return [r for r in w7_runs if r["system"] == t and
                        r["variant"].startswith(f"{c} {n} ")]
            g, sp, cp = pick("msrpgw-t1"), pick("raw-splice"), pick("raw-copy")
            g_cpu = med(tcpu(r, "bytes_per_cpu_s") for r in g)
            cp_cpu = med(tcpu(r, "bytes_per_cpu_s") for r in cp)
            sp_cpu = med(tcpu(r, "bytes_per_cpu_s") for r in sp)
            cell = {"per_cpu": ratio(g_cpu, sp_cpu),
                    "per_cpu_vs_copy": ratio(g_cpu, cp_cpu),
                    "copy_per_cpu": ratio(cp_cpu, sp_cpu),
                    "wall": ratio(med(r.get("goodput_MBps") for r in g),
                                  med(r.get("goodput_MBps") for r in sp)),
                    "p99_us": med((r.get("latency_us") or {}).get("p99") for r in g),
                    "splice_p99_us": med((r.get("latency_us") or {}).get("p99") for r in sp)}
            w7[(c, n)] = cell
            res["ratios"][f"W7 {c} {n}"] = cell
            md.append(f"| {c} | {n} | {fmt(med(r.get('goodput_MBps') for r in g))} | "
                      f"{fmt(med(r.get('goodput_MBps') for r in sp))} | "
                      f"{fmt(med(r.get('goodput_MBps') for r in cp))} | {fmt(cell['per_cpu'], 2)} | "
                      f"{fmt(cell['per_cpu_vs_copy'], 2)} | {fmt(cell['copy_per_cpu'], 2)} | "
                      f"{fmt(cell['wall'], 2)} | {fmt(cell['p99_us'], 0)} | "
                      f"{fmt(cell['splice_p99_us'], 0)} | {len(g)}/{len(sp)}/{len(cp)} |")

    # Goals
    def goal(name, value, want, ge=True):
        met = value is not None and (value >= want if ge else value <= want)
        res["goals"].append({"goal": name, "value": value, "want": want, "met": met})
        return met

    for t in gw_targets:
        for v in ("1 session", "16 sessions"):
            goal(f"W1 {t} {v} goodput / raw-splice >= 0.8",
                 res["ratios"].get(f"W1 {t} {v}", {}).get("raw"), 0.8)
        goal(f"W2 {t} chunks/s (window 8) / kamailio >= 5",
             res["ratios"].get(f"W2 {t} window 8", {}).get("kamailio"), 5)
        goal(f"W3 {t} W1 bytes per CPU-s (10KB chunks) / kamailio >= 5",
             res["ratios"].get(f"W3 {t} 16 sessions 10KB", {}).get("kamailio_bytes"), 5)
        goal(f"W3 {t} W2 chunks per CPU-s / kamailio >= 5",
             res["ratios"].get(f"W3 {t} 16 sessions", {}).get("kamailio_chunks"), 5)
        w4 = [r for r in runs if r["workload"] == "W4" and r["system"] == t]
        if w4:
            goal(f"W4 {t} RSS per connection <= 8192 B",
                 w4[0].get("target", {}).get("rss_bytes_per_conn"), 8192, ge=False)
        for s_ in (1, 16):
            if (t, "aesni", s_) in w5:
                goal(f"W5 {t} aesni {s_} msrps / plain per gateway CPU-s >= 0.5",
                     w5[(t, "aesni", s_)]["tls_over_plain_per_cpu"], 0.5)
                goal(f"W5 {t} aesni {s_} msrps / plain goodput >= 0.3",
                     w5[(t, "aesni", s_)]["tls_over_plain"], 0.3)
        if t in w6:
            goal(f"W6 {t} goodput per gateway CPU-s under attack / unloaded >= 0.8",
                 w6[t]["per_cpu"], 0.8)
            goal(f"W6 {t} bystander errors under attack = 0", w6[t]["errors"], 0, ge=False)
    for (c, n), cell in sorted(w7.items()):
        want = 0.9 if c < 8192 else 1.0
        goal(f"W7 {c} B N={n} msrpgw / splice per server CPU-s >= {want}", cell["per_cpu"], want)
        goal(f"W7 {c} B N={n} msrpgw / splice wall goodput >= 0.9", cell["wall"], 0.9)
        if c == 2048 and n == 100:
            goal("W7 2048 B N=100 msrpgw SEND->200 p99 (us) <= splice's", cell["p99_us"],
                 cell["splice_p99_us"] if cell["splice_p99_us"] is not None else 0, ge=False)
    md.append("\n## Goals\n")
    md.append("| goal | measured | met |")
    md.append("|---|---|---|")
    for g in res["goals"]:
        md.append(f"| {g['goal']} | {fmt(g['value'], 2) if isinstance(g['value'], float) else fmt(g['value'])} | "
                  f"{'yes' if g['met'] else '**no**'} |")
    bad = [r for r in runs if not r.get("ok")]
    md.append(f"\nRuns: {len(runs)}, failed: {len(bad)}"
              + ("".join(f"\n- {r['workload']} {r['system']} {r['variant']}: errors "
                         f"{r.get('errors')}, setup {r.get('setup_errors')}, verified "
                         f"{r.get('verified')}" for r in bad)) + "\n")
    md.append("Plots: w1_goodput.png, w2_chunks.png, w2_latency.png"
              + (", w7_vs_splice.png" if w7 else "") + ".\n")

    with open(os.path.join(a.out, "table.md"), "w") as f:
        f.write("\n".join(md))
    with open(os.path.join(a.out, "results.json"), "w") as f:
        json.dump(res, f, indent=1)

    # Plot data and gnuplot scripts.
    tg = []
    for r in w1_rows:
        if r["system"] not in tg:
            tg.append(r["system"])
    with open(os.path.join(a.out, "w1.dat"), "w") as f:
        f.write("# target 1-session 16-sessions 1-session-10KB 16-sessions-10KB\n")
        for t in tg:
            vals = []
            for v in ("1 session", "16 sessions", "1 session 10KB", "16 sessions 10KB"):
                r = get("W1", t, v)
                vals.append(str(r.get("goodput_MBps", 0)) if r else "0")
            f.write(f"{t} {' '.join(vals)}\n")
    w2r = [r for r in runs if r["workload"] == "W2" and r["variant"] == "window 8"]
    with open(os.path.join(a.out, "w2.dat"), "w") as f:
        f.write("# target chunks/s p50 p90 p99 p99.9 (us)\n")
        for r in w2r:
            lat = r.get("latency_us") or {}
            f.write(f"{r['system']} {r.get('chunks_per_s', 0)} {lat.get('p50', 0)} "
                    f"{lat.get('p90', 0)} {lat.get('p99', 0)} {lat.get('p999', 0)}\n")
    common = ("set terminal pngcairo size 1000,560 noenhanced\nset style data histograms\n"
              "set style histogram clustered gap 1\nset style fill solid 0.8 border -1\n"
              "set key top right\nset grid ytics\nset xtics rotate by -20\n")
    # No plot without its rows (W7_ONLY=1 runs): gnuplot fails on empty data.
    if w1_rows:
        with open(os.path.join(a.out, "w1.gp"), "w") as f:
            f.write(common + "set output 'w1_goodput.png'\nset title 'W1 goodput (MB/s): 64 KiB chunks, "
                    "and 10000 B chunks (Kamailio limit)'\nset ylabel 'MB/s'\n"
                    "plot 'w1.dat' using 2:xtic(1) title '1 session', '' using 3 title '16 sessions', "
                    "'' using 4 title '1 session, 10000 B chunks', '' using 5 title '16 sessions, 10000 B chunks'\n")
    if w7:
        with open(os.path.join(a.out, "w7.dat"), "w") as f:
            f.write("# cell per-CPU-s-ratio wall-ratio\n")
            for (c, n), cell in sorted(w7.items()):
                f.write(f"{c // 1024}KiB/N={n} {cell['per_cpu'] or 0} {cell['wall'] or 0}\n")
        with open(os.path.join(a.out, "w7.gp"), "w") as f:
            f.write(common + "set output 'w7_vs_splice.png'\nset title 'W7: msrpgw (threads = 1) / "
                    "splice forwarder'\nset ylabel 'ratio (1 = splice)'\nset yrange [0:*]\n"
                    "plot 'w7.dat' using 2:xtic(1) title 'per server CPU-s', "
                    "'' using 3 title 'wall goodput', 1 with lines lw 2 title 'splice'\n")
    if w2r:
        with open(os.path.join(a.out, "w2.gp"), "w") as f:
            f.write(common + "set output 'w2_chunks.png'\nset title 'W2: 1 KiB chunks per second "
                    "(100 sessions, window 8)'\nset ylabel 'chunks/s'\n"
                    "plot 'w2.dat' using 2:xtic(1) title 'chunks/s'\n"
                    "set output 'w2_latency.png'\nset title 'W2: SEND -> 200 latency (us, log scale)'\n"
                    "set logscale y\nset yrange [10:*]\nset ylabel 'us'\n"
                    "plot 'w2.dat' using 3:xtic(1) title 'p50', '' using 4 title 'p90', "
                    "'' using 5 title 'p99', '' using 6 title 'p99.9'\n")


if __name__ == "__main__":
    main()

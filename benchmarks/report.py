#!/usr/bin/env python3
"""Turns benchmarks/run's raw measurements (one JSON object a line) into
results/latest.json and results/latest.md: medians over repetitions, ratios to the
baselines of the same run, targets of issue #6 met or missed, machine facts."""
import json, os, platform, re, statistics, subprocess, sys, datetime

raw_path, results_dir, quick, reps, args = sys.argv[1], sys.argv[2], sys.argv[3] == "1", int(sys.argv[4]), sys.argv[5]
rows = [json.loads(line) for line in open(raw_path) if line.strip()]


def sh(cmd):
    try:
        return subprocess.run(cmd, shell=True, capture_output=True, text=True, timeout=20).stdout.strip()
    except Exception:
        return ""


machine = {
    # The run's own end (benchmarks/run records it), so that a report made again
    # from latest-raw.jsonl keeps the run's date and load, not the re-run's.
    "date": next((r["date"] for r in rows if r.get("section") == "load" and r.get("when") == "end"),
                 datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")),
    "cores": os.cpu_count(),
    "cpu": sh("lscpu | sed -n 's/^Model name: *//p'") or platform.processor(),
    "memory": sh("free -h | awk '/Mem:/{print $2}'"),
    "kernel": platform.release(),
    "load_average_at_start": next((r["load"] for r in rows if r.get("section") == "load" and r.get("when") == "start"), "not recorded"),
    "load_average_at_end": next((r["load"] for r in rows if r.get("section") == "load" and r.get("when") == "end"),
                                sh("cut -d' ' -f1-3 /proc/loadavg")),
    "swift": sh("swift --version 2>&1 | head -1"),
    "postfix": sh("postconf -d -h mail_version"),
    "libmilter": sh("dpkg-query -W -f='${Version}' libmilter1.0.1"),
    "opendkim": sh("dpkg-query -W -f='${Version}' opendkim"),
    "vigie_commit": sh("git -C " + os.path.dirname(results_dir) + " rev-parse --short HEAD") +
                    (" + uncommitted changes" if sh("git -C " + os.path.dirname(results_dir) + "/.. status --porcelain -- Sources") else ""),
    "mode": "quick" if quick else "full",
    "repetitions": reps,
    "command": "benchmarks/run " + args,
}

med = statistics.median
out = {"machine": machine, "micro": {}, "memory": None, "wire": {}, "e2e": {}, "e2e_inbound": {}, "targets": []}
md = []
target = lambda name, ok, figure, evidence: out["targets"].append(
    {"target": name, "met": ok, "figure": figure, "evidence": evidence})

# ---------------------------------------------------------------- micro
micro = [r for r in rows if r["section"] == "micro"]


def percentile_ns(metric, p):
    """JMH percentiles are in the metric's unit; convert time to ns."""
    unit = metric.get("scoreUnit", "")
    value = metric.get("scorePercentiles", {}).get(p, metric.get("score"))
    scale = {"ns": 1, "us": 1e3, "μs": 1e3, "ms": 1e6, "s": 1e9}.get(unit.split("/")[0].strip(), 1)
    return value * scale


if micro:
    table = {}
    for r in micro:
        name = r["benchmark"]
        m = re.search(r"accounts=(\d+)[ _]threads=(\d+)[ _]burst=(on|off)", name)
        if not m:
            continue
        accounts, threads, burst = int(m.group(1)), int(m.group(2)), m.group(3)
        gang = name.endswith("gang")
        d = r["decisions_per_iteration"]
        # The harness's primary metric is throughput; the wall clock is a secondary one.
        primary = next((v for k, v in r["secondary"].items() if "wall" in k.lower()), r["primary"])
        entry = {"benchmark": name, "accounts": accounts, "threads": threads, "burst": burst, "harness": "gang" if gang else "direct",
                 "p50_ns_per_decision": percentile_ns(primary, "50.0") / d,
                 "p90_ns_per_decision": percentile_ns(primary, "90.0") / d,
                 "p99_ns_per_decision": percentile_ns(primary, "99.0") / d}
        for key, metric in r["secondary"].items():
            if "malloc" in key.lower():
                entry["mallocs_per_decision_p50"] = metric.get("scorePercentiles", {}).get("50.0", metric.get("score", 0)) / d
        table[name] = entry
    out["micro"] = table

    def find(accounts, threads, burst, gang):
        for e in table.values():
            if e["accounts"] == accounts and e["threads"] == threads and e["burst"] == burst and (e["harness"] == "gang") == gang:
                return e
        return None

    md += ["## Micro: SendPolicy check + commit for one message", "",
           "Per decision (one message = `check` at RCPT + `commit` at end of message), steady state, wall clock "
           "from ordo-one/benchmark (median of iterations of 1,000 decisions per thread).", "",
           "| accounts | threads | burst rule | p50 ns/decision | p99 ns/decision | mallocs/decision |", "|---:|---:|---|---:|---:|---:|"]
    for e in sorted(table.values(), key=lambda e: (e["harness"], e["burst"], e["threads"], e["accounts"])):
        md.append(f"| {e['accounts']:,} | {e['threads']}{' (gang)' if e['harness']=='gang' else ''} | {e['burst']} | "
                  f"{e['p50_ns_per_decision']:.0f} | {e['p99_ns_per_decision']:.0f} | {e.get('mallocs_per_decision_p50', float('nan')):.2f} |")
    md.append("")
    one_m = find(1_000_000, 1, "off", False)
    if one_m:
        target("Policy decision < 1 µs median at 1M accounts", one_m["p50_ns_per_decision"] < 1000,
               f"{one_m['p50_ns_per_decision']:.0f} ns", one_m["benchmark"])
        allocs = one_m.get("mallocs_per_decision_p50")
        if allocs is not None:
            target("No allocation on the steady-state path (16 mallocs per iteration are the harness)", allocs < 0.05, f"{allocs:.2f} mallocs/decision", one_m["benchmark"])
    burst_on, burst_off = find(10_000, 1, "on", False), find(10_000, 1, "off", False)
    if burst_on and burst_off:
        out["micro_burst_cost_ratio_10k"] = burst_on["p50_ns_per_decision"] / burst_off["p50_ns_per_decision"]
        md.append(f"Burst rule cost (10k accounts): on/off = {out['micro_burst_cost_ratio_10k']:.2f}×, "
                  f"{burst_on['p50_ns_per_decision'] - burst_off['p50_ns_per_decision']:.0f} ns per decision.")
    b1on, b1off = find(1, 1, "on", False), find(1, 1, "off", False)
    if b1on and b1off:
        md.append(f"Burst rule cost (one busy account): on/off = {b1on['p50_ns_per_decision'] / b1off['p50_ns_per_decision']:.2f}×.")
    scaling = []
    for accounts in (1, 10_000, 1_000_000):
        g1, g8 = find(accounts, 1, "off", True), find(accounts, 8, "off", True)
        if g1 and g8:
            speedup = g1["p50_ns_per_decision"] / g8["p50_ns_per_decision"]
            scaling.append((accounts, speedup))
            md.append(f"8 threads vs 1 at {accounts:,} accounts: {speedup:.2f}× the throughput "
                      f"({g8['p50_ns_per_decision']:.0f} vs {g1['p50_ns_per_decision']:.0f} ns/decision amortised; "
                      f"{machine['cores']} cores, so {machine['cores']}× is the ceiling).")
    if scaling:
        big = [s for a, s in scaling if a >= 10_000]
        target("Decisions scale with threads (no global lock)", bool(big) and min(big) >= 1.3,
               ", ".join(f"{a:,} accts: {s:.2f}×" for a, s in scaling), "8-thread gang vs 1-thread gang")
    md.append("")

mem = [r for r in rows if r["section"] == "memory"]
if mem:
    m = mem[0]
    out["memory"] = m
    md += ["## Memory per tracked account", "",
           f"{m['accounts']:,} accounts each sending one message under the shipped limits: RSS delta "
           f"{m['rss_delta_bytes'] / 1048576:.1f} MB, {m['bytes_per_account']} bytes per account; "
           f"process RSS {m['rss_total_mb']:.1f} MB (names allocated before the baseline).", ""]
    target("Resident set < 40 MB with 100k tracked accounts (policy process)", m["rss_total_mb"] < 40,
           f"{m['rss_total_mb']:.1f} MB total, {m['bytes_per_account']} B/account", "PolicyMemory 100000")
dmem = [r for r in rows if r["section"] == "daemon-memory"]
if dmem:
    d = dmem[0]
    out["daemon_memory"] = d
    md += ["The `vigie` daemon itself (release, the Swift runtime and Foundation linked in statically as "
           "`scripts/install` builds it, MALLOC_ARENA_MAX=2 as its systemd unit sets it), 100,000 "
           "distinct `{auth_authen}` logins sending one message each over the milter protocol (MilterLoad, "
           f"8 connections): RSS {d['idle_rss_kb'] / 1024:.1f} MB idle, {d['rss_kb'] / 1024:.1f} MB after "
           f"({d['accounts_accepted']:,} accounts accepted), {d['bytes_per_account']} bytes per account. "
           + (f"Idle, of /proc/PID/smaps_rollup: {d['idle_smaps']['Private_Dirty'] / 1024:.1f} MB private dirty "
              f"(heap, stacks, relocated data), {d['idle_smaps']['Shared_Clean'] / 1024:.1f} MB shared clean and "
              f"{d['idle_smaps']['Private_Clean'] / 1024:.1f} MB private clean (file-backed: library and program "
              "text, read-only data)." if d.get("idle_smaps") else ""), ""]
    target("Resident set < 40 MB with 100k tracked accounts (vigie daemon)", d["rss_kb"] / 1024 < 40,
           f"{d['rss_kb'] / 1024:.1f} MB ({d['idle_rss_kb'] / 1024:.1f} MB idle + {d['bytes_per_account']} B/account)",
           "daemon + MilterLoad --accounts 100000")

# ---------------------------------------------------------------- wire
wire = [r for r in rows if r["section"] == "wire"]
if wire:
    groups = {}
    for r in wire:
        groups.setdefault((r["label"], r["concurrency"]), []).append(r)
    summary = {}
    for (label, c), rs in groups.items():
        summary[f"{label}@{c}"] = {
            "label": label, "concurrency": c, "runs": len(rs),
            "messages_per_second": med([r["messages_per_second"] for r in rs]),
            "p50_ms": med([r["latency_ms"]["p50"] for r in rs]), "p99_ms": med([r["latency_ms"]["p99"] for r in rs]),
            "errors": sum(r["outcomes"].get("error", 0) for r in rs),
            "outcomes": {k: sum(r["outcomes"].get(k, 0) for r in rs) for k in {k for r in rs for k in r["outcomes"]}},
            "negotiated": rs[0].get("negotiated", ""),
        }
    out["wire"] = summary
    md += ["## Wire: milter protocol only (MilterLoad, no MTA)", "",
           "One session = connect + OPTNEG + the stages the milter negotiated + end of message + QUIT, one milter "
           "connection per session as Postfix does, writes buffered and flushed before each read as Postfix's milter8.c "
           "does. `noop` = C libmilter filter answering every stage; `noopmin` = the same filter with only Vigie's "
           "callbacks (RCPT, EOM), so libmilter negotiates the same stages away as Vigie. Medians of "
           f"{reps} interleaved repetitions.", "",
           "| socket | c | noop msg/s | noopmin msg/s | vigie msg/s | vigie/noop | vigie/noopmin | p50 ms noop / noopmin / vigie | p99 ms noop / noopmin / vigie |",
           "|---|---:|---:|---:|---:|---:|---:|---|---|"]
    for sock in ("unix", "inet"):
        for c in (1, 8, 64):
            n, nm, v = (summary.get(f"{x}-{sock}@{c}") for x in ("noop", "noopmin", "vigie"))
            if not (n and nm and v):
                continue
            md.append(f"| {sock} | {c} | {n['messages_per_second']:.0f} | {nm['messages_per_second']:.0f} | {v['messages_per_second']:.0f} | "
                      f"{v['messages_per_second'] / n['messages_per_second']:.2f} | {v['messages_per_second'] / nm['messages_per_second']:.2f} | "
                      f"{n['p50_ms']:.2f} / {nm['p50_ms']:.2f} / {v['p50_ms']:.2f} | {n['p99_ms']:.2f} / {nm['p99_ms']:.2f} / {v['p99_ms']:.2f} |")
            if c in (8, 64) and sock == "unix":
                target(f"Wire c={c} (unix): ≥ 0.9× noop msg/s, same stages (noopmin)",
                       v["messages_per_second"] >= 0.9 * nm["messages_per_second"],
                       f"{v['messages_per_second'] / nm['messages_per_second']:.2f}× noopmin, "
                       f"{v['messages_per_second'] / n['messages_per_second']:.2f}× noop(all stages)", "wire table")
                target(f"Wire c={c} (unix): p99 ≤ 1.5× noop's (same stages)", v["p99_ms"] <= 1.5 * nm["p99_ms"],
                       f"{v['p99_ms']:.2f} ms vs {nm['p99_ms']:.2f} ms ({v['p99_ms'] / nm['p99_ms']:.2f}×)", "wire table")
                # Issue 13's tighter versions of the same two.
                target(f"Issue 13: wire c={c} (unix) ≥ 0.95× noopmin msg/s",
                       v["messages_per_second"] >= 0.95 * nm["messages_per_second"],
                       f"{v['messages_per_second'] / nm['messages_per_second']:.2f}× noopmin", "wire table")
                target(f"Issue 13: wire c={c} (unix) p99 ≤ 1.2× noopmin's", v["p99_ms"] <= 1.2 * nm["p99_ms"],
                       f"{v['p99_ms']:.2f} ms vs {nm['p99_ms']:.2f} ms ({v['p99_ms'] / nm['p99_ms']:.2f}×)", "wire table")
    vu, vi = summary.get("vigie-unix@1"), summary.get("vigie-inet@1")
    if vu and vi:
        diff = vi["p50_ms"] - vu["p50_ms"]
        md += ["", f"Single sequential sender (c=1): vigie p50 {vu['p50_ms']:.2f} ms over unix, {vi['p50_ms']:.2f} ms over "
                   f"TCP loopback (difference {diff:+.2f} ms; p99 {vu['p99_ms']:.2f} vs {vi['p99_ms']:.2f} ms)."]
        target("No stall over TCP: inet p50 within 1 ms of unix (one sequential sender)", diff < 1.0,
               f"{diff:+.2f} ms (p99 {vi['p99_ms']:.2f} vs {vu['p99_ms']:.2f} ms)", "wire c=1")
    negotiated = {s["label"].split("-")[0]: s["negotiated"] for s in summary.values()}
    md += ["", "Negotiated (as MilterLoad saw it):", ""] + [f"- {k}: `{v}`" for k, v in sorted(negotiated.items())]
    errs = {k: s["errors"] for k, s in summary.items() if s["errors"]}
    if errs:
        md += ["", f"Errors: {errs}"]
    md.append("")

# ---------------------------------------------------------------- e2e
e2e = [r for r in rows if r["section"] == "e2e"]
if e2e:
    groups = {}
    for r in e2e:
        groups.setdefault((r["label"], r["concurrency"]), []).append(r)
    summary = {f"{l}@{c}": {"label": l, "concurrency": c, "runs": len(rs),
                            "messages_per_second": med([r["messages_per_second"] for r in rs]),
                            "all_runs_messages_per_second": [round(r["messages_per_second"], 1) for r in rs],
                            "ms_per_message_c1": med([r["seconds"] * 1000 / r["messages"] for r in rs]) if c == 1 else None,
                            "milter_cpu_us_per_message": med([r["milter_cpu_us_per_message"] for r in rs])
                            if all(r.get("milter_cpu_us_per_message") is not None for r in rs) else None,
                            "errors": sum(r["errors"] for r in rs)}
               for (l, c), rs in groups.items()}
    out["e2e"] = summary
    md += ["## End to end: smtp-source → private Postfix 3.7 → smtp-sink", "",
           "4 KB messages, one message per SMTP session (smtp-source), messages/s accepted by Postfix (smtp-source wall "
           f"time), medians of {reps} interleaved repetitions; the queue is drained between runs. `vigie` = Vigie on "
           "the submission path (every message is member1's: `milter_macro_defaults`), `noop` = the C libmilter "
           "filter answering every stage, `noopmin` = the same filter with only Vigie's stages (RCPT, end of "
           "message): the floor of any libmilter filter doing Vigie's round trips, `opendkim` = opendkim 2.11 "
           "in verify mode (unsigned mail, AlwaysAddARHeader).", "",
           "| c | none msg/s | noop msg/s | noopmin msg/s | vigie msg/s | opendkim msg/s | vigie/none | noopmin/none | vigie/noopmin | vigie/noop | noop/none | vigie/opendkim |",
           "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
    e2e_labels = ("none", "noop", "noopmin", "vigie", "opendkim")
    for c in (1, 8, 32):
        g = {l: summary.get(f"{l}@{c}") for l in e2e_labels}
        if not all(g.values()):
            continue
        x = {l: g[l]["messages_per_second"] for l in g}
        md.append(f"| {c} | {x['none']:.0f} | {x['noop']:.0f} | {x['noopmin']:.0f} | {x['vigie']:.0f} | {x['opendkim']:.0f} | "
                  f"{x['vigie']/x['none']:.2f} | {x['noopmin']/x['none']:.2f} | {x['vigie']/x['noopmin']:.2f} | "
                  f"{x['vigie']/x['noop']:.2f} | {x['noop']/x['none']:.2f} | {x['vigie']/x['opendkim']:.2f} |")
        target(f"Submission path ≥ 0.9× Postfix with no milter, c={c}", x["vigie"] >= 0.9 * x["none"],
               f"{x['vigie'] / x['none']:.2f}× (libmilter floor for the same stages, noopmin: {x['noopmin'] / x['none']:.2f}×)",
               f"e2e runs: vigie {g['vigie']['all_runs_messages_per_second']} none {g['none']['all_runs_messages_per_second']}")
        target(f"Issue 13: submission path ≥ 0.95× the libmilter floor of its stages (noopmin), c={c}",
               x["vigie"] >= 0.95 * x["noopmin"], f"{x['vigie'] / x['noopmin']:.2f}× noopmin",
               f"e2e runs: vigie {g['vigie']['all_runs_messages_per_second']} noopmin {g['noopmin']['all_runs_messages_per_second']}")
    cpu = {k: s["milter_cpu_us_per_message"] for k, s in summary.items() if s.get("milter_cpu_us_per_message") is not None}
    if cpu:
        md += ["", "Milter process CPU time per message (user+system, µs, medians): " + "; ".join(
            f"c={c}: " + ", ".join(f"{l} {cpu[f'{l}@{c}']:.0f}" for l in e2e_labels if f"{l}@{c}" in cpu)
            for c in (1, 8, 32)) + "."]
    c1 = {l: summary.get(f"{l}@1") for l in e2e_labels}
    if all(c1.values()):
        md += ["", "Single sequential sender (c=1), ms per message: " +
               ", ".join(f"{l} {c1[l]['ms_per_message_c1']:.2f}" for l in c1) + "."]
    errs = {k: s["errors"] for k, s in summary.items() if s["errors"]}
    check = [r for r in rows if r["section"] == "e2e-check"]
    if check:
        out["e2e_check"] = check[0]
        total_vigie = sum(r["messages"] for r in e2e if r["label"] == "vigie")
        md += ["", f"Check: Vigie logged {check[0]['vigie_accepted_member1']} messages accepted for account member1 over "
                   f"SMTP (sent through it: {total_vigie}); milter rejects in the Postfix log: {check[0]['milter_rejects']}."]
    if errs:
        md += ["", f"smtp-source error lines: {errs}"]
    md.append("")
    if not any(r["section"] == "e2e-inbound" for r in rows):
        md += ["Not measured here: Vigie on the inbound path through Postfix. Its DKIM wire figure against opendkim is in benchmarks/dkim/RESULTS.md, SRS lookups against postsrsd in benchmarks/srs/RESULTS.md.", ""]

# ---------------------------------------------------------------- e2e, inbound
inbound = [r for r in rows if r["section"] == "e2e-inbound"]
if inbound:
    # What the sink received, per label: the message counts only if its verifier's
    # Authentication-Results says dkim=pass (and, for Vigie, spf=pass).
    verified_key = {"vigie": ("vigie_dkim_pass", "vigie_spf_pass"), "opendkim": ("opendkim_dkim_pass",)}
    groups = {}
    for r in inbound:
        groups.setdefault((r["label"], r["concurrency"]), []).append(r)
    summary = {}
    for (l, c), rs in groups.items():
        sent = sum(r["messages"] for r in rs)
        v = {k: sum(r["verified"].get(k, 0) for r in rs) for k in rs[0]["verified"]}
        passed = min((v.get(k, 0) for k in verified_key.get(l, ())), default=None)
        summary[f"{l}@{c}"] = {
            "label": "vigie-inbound" if l == "vigie" else l, "concurrency": c, "runs": len(rs),
            "messages_per_second": med([r["messages_per_second"] for r in rs]),
            "all_runs_messages_per_second": [round(r["messages_per_second"], 1) for r in rs],
            "p50_ms": med([r["latency_ms"].get("p50", 0) for r in rs]), "p99_ms": med([r["latency_ms"].get("p99", 0) for r in rs]),
            "milter_cpu_us_per_message": med([r["milter_cpu_us_per_message"] for r in rs])
            if all(r.get("milter_cpu_us_per_message") is not None for r in rs) else None,
            "messages": sent, "delivered": v.get("delivered", 0), "verified": v,
            "verified_pass": passed, "all_verified": passed is None or passed == sent,
            "errors": sum(r["errors"] for r in rs),
            "error_samples": [e for r in rs for e in r.get("error_samples", [])][:3],
        }
    out["e2e_inbound"] = summary
    md += ["## End to end, inbound: SMTPLoad → private Postfix 3.7 → smtp-sink", "",
           "The same DKIM-signed message every time (`benchmarks/e2e-fixtures/signed-4k.eml`: 4 KB, rsa-sha256 2048-bit, "
           "relaxed/relaxed, d=vigie-bench.example), sent by SMTPLoad as an internet client (no `{auth_authen}`) from "
           "127.0.0.1, which the domain's SPF record allows; one message per SMTP session; the key and SPF record come "
           "from nsd on loopback. messages/s accepted by Postfix (SMTPLoad wall time), medians of "
           f"{reps} interleaved repetitions (each repetition runs both tables at every concurrency); the queue is drained "
           "between runs. `none` = no milter, `noop` = the C libmilter filter answering every stage, `noopin` = the same "
           "C filter negotiating exactly the inbound role's stages (no-reply connect, HELO, headers and body; replies at "
           "MAIL and end of message) and inserting two header fields of the same sizes: the floor of Vigie's protocol "
           "work, with no checking, `vigie-inbound` = "
           "`vigie --role inbound`: SPF at MAIL, DKIM verify, Authentication-Results and Received-SPF, `opendkim` = "
           "opendkim 2.11 `Mode v` (DKIM and Authentication-Results only). CPU = the milter process's user+system time "
           "per message. Verified = messages the sink received with the label's Authentication-Results saying "
           "dkim=pass (Vigie: and spf=pass), out of those sent.", "",
           "| c | none msg/s | noop msg/s | noopin msg/s | vigie-inbound msg/s | opendkim msg/s | vigie-inbound/none | "
           "vigie-inbound/noop | vigie-inbound/noopin | vigie-inbound/opendkim | noopin/opendkim | opendkim/none | "
           "CPU µs/msg noop / noopin / vigie-inbound / opendkim | verified vigie-inbound / opendkim |",
           "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|---|"]
    fmt_cpu = lambda s: f"{s['milter_cpu_us_per_message']:.0f}" if s.get("milter_cpu_us_per_message") is not None else "–"
    fmt_ver = lambda s: f"{s['verified_pass']}/{s['messages']}" + ("" if s["all_verified"] else " **(not all)**")
    for c in (1, 8, 32):
        g = {l: summary.get(f"{l}@{c}") for l in ("none", "noop", "vigie", "opendkim")}
        if not all(g.values()):
            continue
        floor = summary.get(f"noopin@{c}")  # absent from runs made before it existed
        x = {l: g[l]["messages_per_second"] or float("nan") for l in g}
        x["noopin"] = (floor or {}).get("messages_per_second") or float("nan")
        md.append(f"| {c} | {x['none']:.0f} | {x['noop']:.0f} | {x['noopin']:.0f} | {x['vigie']:.0f} | {x['opendkim']:.0f} | "
                  f"{x['vigie']/x['none']:.2f} | {x['vigie']/x['noop']:.2f} | {x['vigie']/x['noopin']:.2f} | "
                  f"{x['vigie']/x['opendkim']:.2f} | {x['noopin']/x['opendkim']:.2f} | "
                  f"{x['opendkim']/x['none']:.2f} | {fmt_cpu(g['noop'])} / {fmt_cpu(floor or {})} / {fmt_cpu(g['vigie'])} / "
                  f"{fmt_cpu(g['opendkim'])} | {fmt_ver(g['vigie'])} / {fmt_ver(g['opendkim'])} |")
        # A run whose mail was not verified measured nothing: the target is missed.
        checked = g["vigie"]["all_verified"] and g["opendkim"]["all_verified"]
        note = "" if checked else " (not every message verified: see the table)"
        target(f"Inbound path ≥ noop (all stages), c={c}", checked and x["vigie"] >= x["noop"],
               f"{x['vigie'] / x['noop']:.2f}× noop{note}",
               f"e2e inbound runs: vigie-inbound {g['vigie']['all_runs_messages_per_second']} noop {g['noop']['all_runs_messages_per_second']}")
        floor_note = f" (the no-op floor of the same stages, noopin: {x['noopin'] / x['opendkim']:.2f}×)" if floor else ""
        target(f"Inbound path ≥ 1.3× opendkim verify, c={c}", checked and x["vigie"] >= 1.3 * x["opendkim"],
               f"{x['vigie'] / x['opendkim']:.2f}× opendkim{floor_note}{note}",
               f"e2e inbound runs: vigie-inbound {g['vigie']['all_runs_messages_per_second']} opendkim {g['opendkim']['all_runs_messages_per_second']}")
    c1 = {l: summary.get(f"{l}@1") for l in ("none", "noop", "vigie", "opendkim")}
    if all(c1.values()):
        md += ["", "Single sequential sender (c=1), ms per SMTP session (p50 / p99): " +
               ", ".join(f"{s['label']} {s['p50_ms']:.2f} / {s['p99_ms']:.2f}" for s in c1.values()) + "."]
    warm = [r for r in rows if r["section"] == "e2e-inbound-warmup"]
    check = [r for r in rows if r["section"] == "e2e-check" and "vigie_inbound_checked" in r]
    if check:
        sent = sum(r["messages"] for r in inbound if r["label"] == "vigie") + len(warm)
        md += ["", f"Check: Vigie's inbound role logged {check[0]['vigie_inbound_checked']} messages checked, "
                   f"{check[0]['vigie_inbound_checked_pass']} with spf=pass and dkim=pass (sent through it: {sent}, "
                   f"warm-up included); other Authentication-Results received by the sink: "
                   f"{sum(r['verified'].get('other_ar', 0) for r in inbound)}."]
    errs = {k: (s["errors"], s["error_samples"]) for k, s in summary.items() if s["errors"]}
    if errs:
        md += ["", f"SMTPLoad errors (count, samples): {errs}"]
    md += ["", "Not measured here: SRS through Postfix (lookups against postsrsd are in benchmarks/srs/RESULTS.md); "
               "DKIM over the milter protocol alone, without Postfix: benchmarks/dkim/RESULTS.md.", ""]

# ---------------------------------------------------------------- redis store
store_rows = [r for r in rows if r["section"] == "redis"]
if store_rows:
    groups = {}
    for r in store_rows:
        groups.setdefault((r["label"], r["concurrency"]), []).append(r)
    summary = {}
    for (label, c), rs in groups.items():
        summary[f"{label}@{c}"] = {
            "label": label, "concurrency": c, "runs": len(rs),
            "messages_per_second": med([r["messages_per_second"] for r in rs]),
            "decision_p50_ms": med([r["decision_ms"]["p50"] for r in rs]),
            "decision_p99_ms": med([r["decision_ms"]["p99"] for r in rs]),
            "errors": sum(r["outcomes"].get("error", 0) for r in rs),
            "outcomes": {k: sum(r["outcomes"].get(k, 0) for r in rs) for k in {k for r in rs for k in r["outcomes"]}},
        }
        if all("vigie_cpu_seconds" in r for r in rs):
            # CPU per message sent (warm-up included, as the CPU figures include it).
            def per_message(key):
                return med([r[key] / (r["messages"] + r["warmup"]) * 1e6 for r in rs])
            summary[f"{label}@{c}"]["cpu_us_per_message"] = {
                "vigie": per_message("vigie_cpu_seconds"), "redis-server": per_message("redis_cpu_seconds"),
                "generator": per_message("cpu_seconds")}
    out["redis"] = summary
    table = ["## Redis store vs SQLite store, over the milter wire (MilterLoad, no MTA)", "",
             "The same release `vigie`, once on `[store] backend = \"sqlite\"` (counting in memory), once on "
             "`\"redis\"` (every RCPT one read, TIME and GET pipelined, and every end of message one Lua "
             "round trip, to a redis-server on a unix socket), "
             "limits finite and never reached, interleaved runs, medians of " + str(reps) + ". Decision = the RCPT "
             "or end-of-message round trip as the MTA waits for it (write, decide, reply).", "",
             "| c | SQLite msg/s | Redis msg/s | Redis/SQLite | decision p50 SQLite | decision p50 Redis | p99 SQLite | p99 Redis | errors |",
             "|---|---|---|---|---|---|---|---|---|"]
    for c in (1, 8, 64):
        sq, rd = summary.get(f"store-sqlite@{c}"), summary.get(f"store-redis@{c}")
        if not sq or not rd:
            continue
        table.append(f"| {c} | {sq['messages_per_second']:.0f} | {rd['messages_per_second']:.0f} | "
                     f"{rd['messages_per_second'] / sq['messages_per_second']:.2f}× | {sq['decision_p50_ms']:.3f} ms | "
                     f"{rd['decision_p50_ms']:.3f} ms | {sq['decision_p99_ms']:.3f} ms | {rd['decision_p99_ms']:.3f} ms | "
                     f"{sq['errors'] + rd['errors']} |")
        if c == 8:
            target("Redis store >= 0.8x SQLite throughput at c=8 (issue 12)",
                   rd['messages_per_second'] >= 0.8 * sq['messages_per_second'],
                   f"{rd['messages_per_second'] / sq['messages_per_second']:.2f}×", "redis table")
        if c == 1:
            target("Redis store p50 decision < 0.5 ms on loopback (issue 12)", rd['decision_p50_ms'] < 0.5,
                   f"{rd['decision_p50_ms']:.3f} ms", "redis table")
    # The floor: CPU per PING round trip from blocked threads, client + server
    # (benchmarks/redis-floor/roundtrip.c), medians per concurrency.
    floors = {}
    for c in (1, 8, 64):
        fs = [r for r in rows if r["section"] == "redis-floor" and r["concurrency"] == c]
        if fs:
            floors[c] = {
                "client_us": med([(r["user_seconds"] + r["system_seconds"]) / r["round_trips"] * 1e6 for r in fs]),
                "server_us": med([r["redis_cpu_seconds"] / r["round_trips"] * 1e6 for r in fs]),
                "round_trips_per_second": med([r["round_trips"] / r["seconds"] for r in fs])}
    if floors:
        out["redis_floor"] = floors
    cpu_rows = []
    for c in (1, 8, 64):
        sq, rd = summary.get(f"store-sqlite@{c}"), summary.get(f"store-redis@{c}")
        if not sq or not rd or "cpu_us_per_message" not in sq or "cpu_us_per_message" not in rd:
            continue
        a, b = sq["cpu_us_per_message"], rd["cpu_us_per_message"]
        total_a, total_b = sum(a.values()), sum(b.values())
        floor = floors.get(c)
        floor_cells = (f" {floor['client_us']:.1f} + {floor['server_us']:.1f} | "
                       f"{total_a / (total_a + 2 * (floor['client_us'] + floor['server_us'])):.2f}× |") if floor else " | |"
        cpu_rows.append(f"| {c} | {a['vigie']:.0f} + {a['generator']:.0f} = {total_a:.0f} | "
                        f"{b['vigie']:.0f} + {b['redis-server']:.0f} + {b['generator']:.0f} = {total_b:.0f} | "
                        f"{total_a / total_b:.2f}× | {total_a / (total_b - b['redis-server']):.2f}× |" + floor_cells)
    if cpu_rows:
        table += ["", "Where the cores went, CPU µs per message (utime + stime over each run, warm-ups included, "
                      "medians). When the two cores are saturated (c=8 and c=64 here), throughput is bounded by the "
                      "CPU all processes spend per message: SQLite total / Redis total is the ratio the Redis store "
                      "can reach on this machine, and the last column the ratio with redis-server's CPU on another "
                      "machine (a Redis shared by several hosts is off at least one of them). The floor is what one "
                      "round trip costs when neither side does anything: PING from threads blocked in read(), at the "
                      "same concurrency, in the same reps (benchmarks/redis-floor/roundtrip.c), client + redis-server "
                      "CPU µs; the Redis store adds two round trips to a message, so the last column, SQLite total / "
                      "(SQLite total + 2 × floor), is the most the Redis store could reach here if its scripts and its "
                      "client code cost nothing.", "",
                  "| c | SQLite: vigie + generator | Redis: vigie + redis-server + generator | CPU bound here | "
                  "bound with redis-server elsewhere | floor per round trip: client + server | ceiling with free scripts and client |",
                  "|---|---|---|---|---|---|---|"] + cpu_rows
    server = next((r for r in rows if r["section"] == "redis-server"), None)
    if server:
        out["redis_server"] = server
        stats = server["commandstats"]
        shown = ", ".join(f"{name} {s['usec_per_call']:.2f} µs × {s['calls']}" for name, s in sorted(stats.items())
                          if name in ("evalsha", "get", "time", "hset", "exec", "set"))
        redis_messages = sum(r["messages"] for r in store_rows if r["label"] == "store-redis")
        table += ["", f"redis-server's own time per command over the section (INFO commandstats; a script's inner "
                      f"commands are counted apart and inside its time): {shown}; {redis_messages} messages sent to "
                      f"the Redis daemon (warm-ups apart). Load average before the section {server['load_before']}, "
                      f"after {server['load_after']}."]
    md += table + [""]
    os.makedirs(results_dir, exist_ok=True)
    with open(os.path.join(results_dir, "redis-store.md"), "w") as f:
        f.write("\n".join(["# Redis store vs SQLite store", "", "Command: `" + args + "`; machine: "
                           + json.dumps(machine, sort_keys=True), ""] + table) + "\n")

# ---------------------------------------------------------------- write
head = ["# Vigie benchmarks: latest run", "",
        f"{machine['date']} · {machine['mode']} mode · `{machine['command'].strip()}`", "",
        f"Machine: {machine['cores']} cores, {machine['cpu']}, {machine['memory']} RAM, Linux {machine['kernel']}, "
        f"load average at the start {machine['load_average_at_start']}, at the end {machine['load_average_at_end']} (shared machine: absolute figures are noisy, "
        "ratios are taken within the run).  ",
        f"{machine['swift']} · Postfix {machine['postfix']} · libmilter {machine['libmilter']} · opendkim {machine['opendkim']} · "
        f"Vigie {machine['vigie_commit']}", ""]
if out["targets"]:
    head += ["## Targets (issue 6; issue 13's tighter lines say so; issue 12's Redis lines)", "",
             "| target | met | figure |", "|---|---|---|"]
    head += [f"| {t['target']} | {'yes' if t['met'] else '**no**'} | {t['figure']} |" for t in out["targets"]]
    head.append("")
os.makedirs(results_dir, exist_ok=True)
with open(os.path.join(results_dir, "latest.json"), "w") as f:
    json.dump(out, f, indent=2, sort_keys=True)
with open(os.path.join(results_dir, "latest.md"), "w") as f:
    f.write("\n".join(head + md) + "\n")
print("\n".join(head + md))

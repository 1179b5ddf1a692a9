"""The benchmark report as a table: each figure beside its reference, the ratio and PASS/MISS."""
from __future__ import annotations

BOT_OVERHEAD_TARGET = 0.15  # (ours p50 - Rasa p50) / Rasa p50
RELAY_P99_TARGET = 1.5      # ours p99 / echo p99


def _ms(value) -> str:
    return "-" if value is None else f"{value:,.1f} ms"


def _ratio(ours, ref) -> float | None:
    return None if ours is None or not ref else ours / ref


def _verdict(ok: bool | None) -> str:
    return "n/a" if ok is None else ("PASS" if ok else "MISS")


def _row(cells, widths) -> str:
    return "  ".join(str(c).ljust(w) if i == 0 else str(c).rjust(w) for i, (c, w) in enumerate(zip(cells, widths)))


def _relay(lines: list, verdicts: list, number: str, relay: dict, s: dict) -> None:
    ours, echo = relay["ours"], relay["echo"]
    widths = [26, 12, 12, 8, 8, 6]
    lines += ["", f"{number}. Relay latency at {s['conversations']} live conversations ({s['agents']} agents), "
              f"each side sending every {s['interval_s']:g} s for {s['duration_s']:g} s",
              "   reference: bare python-socketio echo server, same clients, served the same way",
              "   target: ours p99 <= 1.5x echo p99; no message lost", "",
              _row(["", "ours", "bare echo", "ratio", "target", ""], widths)]
    for label, title in (("customer_to_agent", "customer->agent"), ("agent_to_customer", "agent->customer")):
        for stat in ("p50", "p99", "max"):
            o, r = ours[label][f"{stat}_ms"], echo[label][f"{stat}_ms"]
            ratio = _ratio(o, r)
            if stat == "p99":
                ok = None if ratio is None else ratio <= RELAY_P99_TARGET
                verdicts.append(ok)
                target, result = "<=1.5x", _verdict(ok)
            else:
                target, result = "", ""
            lines.append(_row([f"{title} {stat}", _ms(o), _ms(r), "-" if ratio is None else f"{ratio:.2f}x",
                               target, result], widths))
    lost_ours = ours["customer_to_agent"]["lost"] + ours["agent_to_customer"]["lost"]
    lost_echo = echo["customer_to_agent"]["lost"] + echo["agent_to_customer"]["lost"]
    ok = lost_ours == 0
    verdicts.append(ok)
    lines.append(_row(["lost messages", f"{lost_ours} of {ours['sent']}", f"{lost_echo} of {echo['sent']}",
                       "", "0", _verdict(ok)], widths))
    lines.append(_row(["duplicates / ack errors", f"{ours['duplicates']} / {ours['ack_errors']}",
                       f"{echo['duplicates']} / {echo['ack_errors']}", "", "", ""], widths))
    lines.append(_row(["messages/s offered", ours["messages_per_s"], echo["messages_per_s"], "", "", ""], widths))
    lines.append(_row(["server CPU (cores)", ours["server_cpu_share"], echo["server_cpu_share"],
                       "", "", ""], widths))
    lines.append(_row(["load generator CPU", ours["load_generator_cpu_share"],
                       echo["load_generator_cpu_share"], "", "", ""], widths))
    lines.append(_row(["server RSS idle -> peak", f"{ours['server_rss_mb_before_load']:.0f}->"
                       f"{ours['server_rss_mb_peak']:.0f} MB", f"{echo['server_rss_mb_before_load']:.0f}->"
                       f"{echo['server_rss_mb_peak']:.0f} MB", "", "", ""], widths))
    if ours["server_cpu_share"] >= 0.9:
        lines.append("   ours used a whole core during the load: one Python process (GIL) is saturated, so "
                     "latency grows while the load lasts")
    if ours["ack_error_examples"]:
        lines.append(f"   ack errors (ours): {ours['ack_error_examples']}")
    setup = ours.get("setup", {})
    if setup:
        lines.append(f"   set-up (ours): {s['conversations']} handoffs in {setup['handoff_all_s']:.1f} s "
                     f"(first {setup['handoff_first_ms']:.0f} ms, last {setup['handoff_last_ms']:.0f} ms), "
                     f"{s['conversations']} accepts in {setup['accept_all_s']:.1f} s "
                     f"(first {setup['accept_first_ms']:.0f} ms, last {setup['accept_last_ms']:.0f} ms)")


CAPACITY_MB = 600           # one process with the idle crowd and the agents
CAPACITY_ANSWER_MS = 100    # /healthz and agents during a burst, p99


def _capacity(lines: list, verdicts: list, cap: dict) -> None:
    ours, echo, s = cap["ours"], cap["echo"], cap["settings"]
    widths = [36, 22, 22, 10, 6]
    lines += ["", f"4. Capacity of one process: {s['idle']:,} idle customer sockets and {s['agents']} agents, a burst "
              f"of {s['burst']} at once, then {s['refused']} more at the limit (MAX_CHAT_SOCKETS {s['max_chat_sockets']:,})",
              "   reference: the bare python-socketio echo server, same crowd, served the same way "
              "(its /healthz is a 404 from the same loop)",
              f"   targets: under {CAPACITY_MB} MB with the crowd; /healthz and agents p99 within "
              f"{CAPACITY_ANSWER_MS} ms during the burst; every socket beyond the limit refused as busy", "",
              _row(["", "ours", "bare echo", "target", ""], widths)]

    def row(title, o, e, target="", ok=None):
        if ok is not None or target:
            verdicts.append(ok)
        lines.append(_row([title, o, e, target, _verdict(ok) if target else ""], widths))

    idle_o, idle_e = ours["idle_open"], echo["idle_open"]
    row(f"{s['idle']:,} idle: connected in", f"{idle_o['seconds']:.1f} s", f"{idle_e['seconds']:.1f} s")
    row("  connected / failed", f"{idle_o['connected']} / {idle_o['failed']}",
        f"{idle_e['connected']} / {idle_e['failed']}")
    row("  server RSS before -> with crowd", f"{ours['rss_mb_before']:.0f}->{ours['rss_mb_idle']:.0f} MB",
        f"{echo['rss_mb_before']:.0f}->{echo['rss_mb_idle']:.0f} MB", f"<{CAPACITY_MB} MB",
        ours["rss_mb_idle"] < CAPACITY_MB)
    row("  per socket", f"{ours['kb_per_socket']:.1f} KB", f"{echo['kb_per_socket']:.1f} KB")
    quiet_o, quiet_e = ours["while_idle"], echo["while_idle"]
    row("  /healthz p50 / p99", f"{_ms(quiet_o['healthz']['p50_ms'])} / {_ms(quiet_o['healthz']['p99_ms'])}",
        f"{_ms(quiet_e['healthz']['p50_ms'])} / {_ms(quiet_e['healthz']['p99_ms'])}")
    row("  agent round trip p50 / p99", f"{_ms(quiet_o['agent']['p50_ms'])} / {_ms(quiet_o['agent']['p99_ms'])}", "")
    burst_o, burst_e = ours["burst"], echo["burst"]
    row(f"burst of {s['burst']}: all connected in", f"{burst_o['seconds']:.1f} s", f"{burst_e['seconds']:.1f} s")
    row("  connect p50 / p99", f"{_ms(burst_o['connect']['p50_ms'])} / {_ms(burst_o['connect']['p99_ms'])}",
        f"{_ms(burst_e['connect']['p50_ms'])} / {_ms(burst_e['connect']['p99_ms'])}")
    during_o, during_e = ours["during_burst"], echo["during_burst"]
    health_p99 = during_o["healthz"]["p99_ms"]
    row("  /healthz p50 / p99", f"{_ms(during_o['healthz']['p50_ms'])} / {_ms(health_p99)}",
        f"{_ms(during_e['healthz']['p50_ms'])} / {_ms(during_e['healthz']['p99_ms'])}",
        f"<{CAPACITY_ANSWER_MS} ms", health_p99 is not None and health_p99 < CAPACITY_ANSWER_MS)
    agent_p99 = during_o["agent"]["p99_ms"]
    row("  agent round trip p50 / p99", f"{_ms(during_o['agent']['p50_ms'])} / {_ms(agent_p99)}", "",
        f"<{CAPACITY_ANSWER_MS} ms", agent_p99 is not None and agent_p99 < CAPACITY_ANSWER_MS)
    full = ours["full"]
    row(f"{s['refused']} more at the limit: refused", f"{full['refused']} ({', '.join(full['reasons']) or '-'})",
        "", f"{s['refused']} busy", full["refused"] == s["refused"] and full["reasons"] == ["busy"])
    row("  refusal p50 / p99 (echo: a connect)", f"{_ms(full['refusal']['p50_ms'])} / {_ms(full['refusal']['p99_ms'])}",
        f"{_ms(burst_e['connect']['p50_ms'])} / {_ms(burst_e['connect']['p99_ms'])}")
    while_full = ours["while_full"]
    row("  /healthz / agent p99 meanwhile", f"{_ms(while_full['healthz']['p99_ms'])} / "
        f"{_ms(while_full['agent']['p99_ms'])}", "")
    row("server RSS at the peak", f"{ours['rss_mb_peak']:.0f} MB", f"{echo['rss_mb_peak']:.0f} MB")


ROUTING_TITLES = {"ours": "ours", "first_to_accept": "first to accept", "round_robin": "round-robin"}


def _routing(lines: list, verdicts: list, sim: dict) -> None:
    """Our assignment beside the two simple ones on the same simulated day; ours must do no worse on
    SLA and skill than either, or the report says MISS."""
    d = sim["day"]
    names = list(ROUTING_TITLES)
    widths = [34, 16, 16, 16, 8, 6]
    sla = ", ".join(f"{p} {s:g} s" for p, s in sim["chat_sla_s"].items())
    lines += ["", f"5. Routing, simulated: a day of {d['chats']:,} chats and {d['tickets']} tickets "
              f"({d['opens_h']:g}:00-{d['closes_h']:g}:00, peaks late morning and evening), 12 agents in 3 "
              f"teams on 8 h shifts, seed {sim['seed']}",
              f"   chat capacity {d['chat_capacity']}, tickets in hand {d['ticket_capacity']}; handling lognormal "
              f"(chat median {d['chat_median_min']:g} min, ticket {d['ticket_median_min']:g} min), "
              f"{d['unskilled_factor']:g}x without the skill; accept timeout {sim['accept_timeout_s']:g} s, "
              f"skill wait {sim['skill_wait_s']:g} s",
              f"   chat SLA (first response): {sla}; tickets: "
              + ", ".join(f"{p} {m:g} min" for p, m in sim["ticket_sla_min"].items()),
              "   target: ours meets the SLA and reaches a skilled agent at least as often as both others", "",
              _row(["", *(ROUTING_TITLES[n] for n in names), "target", ""], widths)]

    def row(title, values, target="", ok=None):
        if target:
            verdicts.append(ok)
        lines.append(_row([title, *values, target, _verdict(ok) if target else ""], widths))

    def at_least(kind, key):
        ours = sim["ours"][kind][key]
        return all(ours >= sim[n][kind][key] for n in names[1:])

    for kind in ("chat", "ticket"):
        unit = sim["ours"][kind]["wait_unit"]
        row(f"{kind}s: wait p50 / p95 ({unit})",
            [f"{sim[n][kind]['wait_p50']:g} / {sim[n][kind]['wait_p95']:g}" for n in names])
        row(f"  SLA met", [f"{sim[n][kind]['sla_met']:.1%}" for n in names], ">= both", at_least(kind, "sla_met"))
        row(f"  by a skilled agent", [f"{sim[n][kind]['skilled_share']:.1%}" for n in names], ">= both",
            at_least(kind, "skilled_share"))
        row(f"  unserved at the end", [str(sim[n][kind]["unserved"]) for n in names])
    row("load spread: Gini of items", [f"{sim[n]['load']['gini_items']:.3f}" for n in names])
    row("  Gini of busy time", [f"{sim[n]['load']['gini_busy']:.3f}" for n in names])
    row("  items per agent, fewest-most", ["-".join(map(str, sim[n]["load"]["items_per_agent_min_max"]))
                                           for n in names])
    row("  most chats on one agent at once", [str(sim[n]["load"]["most_chats_on_one_agent"]) for n in names])
    row("  offers missed (agent set away)", [str(sim[n]["load"]["missed_offers"]) for n in names])


def render(report: dict) -> tuple[str, bool]:
    lines, verdicts = [], []
    lines.append(f"Customer Care Registry benchmark, {report['mode']} run, {report['started_at']} "
                 f"(load average before: {report['load_average_before']}, {report.get('elapsed_s', '?')} s)")

    if "bot" in report:
        bot = report["bot"]
        widths = [26, 12, 12, 8, 10, 8, 6]
        lines += ["", "1. Bot reply latency: customer socket send -> first bot message, through the whole stack",
                  "   reference: the same conversations posted to Rasa's REST webhook alone (actions still run)",
                  "   target: overhead at p50 = (ours - Rasa) / Rasa <= 15%", "",
                  _row(["", "ours", "Rasa alone", "ratio", "overhead", "target", ""], widths)]
        for concurrency in (k for k in bot if k.isdigit()):
            entry = bot[concurrency]
            ours, rasa = entry["ours"], entry["rasa"]
            for stat in ("p50", "p99"):
                o, r = ours[f"{stat}_ms"], rasa[f"{stat}_ms"]
                ratio = _ratio(o, r)
                overhead = f"{(ratio - 1) * 100:+.0f}%" if ratio is not None else "-"
                if stat == "p50":
                    ok = None if ratio is None else (ratio - 1) <= BOT_OVERHEAD_TARGET and not ours["failures"]
                    verdicts.append(ok)
                    target, result = "<=15%", _verdict(ok)
                else:
                    target, result = "", ""
                lines.append(_row([f"c={concurrency:<3} {stat}  (n={ours['n']}/{rasa['n']})", _ms(o), _ms(r),
                                   "-" if ratio is None else f"{ratio:.2f}x", overhead, target, result], widths))
            if "ack" in ours:
                lines.append(_row([f"c={concurrency:<3} ours: ack p50", f"{ours['ack']['p50_ms']:.1f} ms",
                                   "", "", "", "", ""], widths) + f"   (stored, before the bot is asked; "
                             f"p99 {ours['ack']['p99_ms']:.1f} ms)")
            paired = entry.get("paired") or {}
            if paired.get("median_diff_ms") is not None and rasa["p50_ms"]:
                lines.append(_row([f"c={concurrency:<3} ours - Rasa, same turn", f"{paired['median_diff_ms']:+.1f} ms",
                                   "", "", f"{paired['median_diff_ms'] / rasa['p50_ms'] * 100:+.0f}%", "", ""],
                                  widths) + f"   (median over {paired['n']} turns both sides answered; information)")
            lines.append(_row([f"c={concurrency:<3} replies/s", ours["throughput_per_s"], rasa["throughput_per_s"],
                               "", "", "", ""], widths))
            if ours["failures"] or rasa["failures"]:
                lines.append(f"   failures: ours {ours['failures']} {ours['failure_examples']}, "
                             f"Rasa {rasa['failures']} {rasa['failure_examples']}")

    if "relay" in report:
        _relay(lines, verdicts, "2", report["relay"], report["settings"])
    if "relay_big" in report:
        _relay(lines, verdicts, "2b", report["relay_big"], report["settings_big"])
    if "capacity" in report:
        _capacity(lines, verdicts, report["capacity"])

    if "routing" in report:
        _routing(lines, verdicts, report["routing"])

    rss = report.get("rss_mb_end") or {}
    bot_rss = report.get("rss_mb_after_bot") or {}
    if rss or bot_rss:
        lines += ["", "3. Memory (resident, MB; process and its children)"]
        for name, title in (("web", "handoff service"), ("rasa", "Rasa server"), ("actions", "action server")):
            after_bot = bot_rss.get(name)
            end = rss.get(name)
            if after_bot is None and end is None:
                continue
            parts = []
            if after_bot is not None:
                parts.append(f"after bot part {after_bot:,.0f}")
            if end is not None:
                parts.append(f"at the end {end:,.0f}")
            lines.append(f"   {title:<16} " + ", ".join(parts))

    known = [v for v in verdicts if v is not None]
    passed = bool(known) and all(known) and len(known) == len(verdicts)
    lines += ["", f"Overall: {'PASS' if passed else 'MISS'} ({sum(known)} of {len(verdicts)} targets met)"]
    return "\n".join(lines), passed

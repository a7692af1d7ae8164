"""The bench's outputs: the printed table, bench/results.md and docs/cost.md (all from the results dict)."""

from typing import Any

PATH_TITLES = {
    "answered": "accepted -> charge point answers -> result delivered",
    "timeout": "accepted -> no answer -> TIMEOUT delivered",
    "delivery_retry": "accepted -> answered -> eMSP 503, retried -> delivered",
    "dispatch_failure": "accepted -> dispatch fails (retried) -> FAILED delivered",
}
SERVICES = {
    "api_gateway": "API Gateway (REST)",
    "lambda_requests": "Lambda requests",
    "lambda_duration": "Lambda duration (GB-s)",
    "dynamodb": "DynamoDB on-demand",
    "step_functions": "Step Functions (Standard)",
    "eventbridge": "EventBridge custom events",
    "cloudwatch_logs": "CloudWatch Logs ingestion",
}
FUNCTION_ORDER = ("api", "starter", "dispatch", "charge_point_events", "resolve", "simulator")


def _f(value: float, digits: int = 1) -> str:
    return f"{value:,.{digits}f}"


def table(rows: list[list[str]], header: list[str]) -> str:
    """A Markdown table (also readable as plain text)."""
    widths = [max(len(str(c)) for c in col) for col in zip(header, *rows, strict=True)]
    lines = ["| " + " | ".join(str(h).ljust(w) for h, w in zip(header, widths, strict=True)) + " |"]
    lines.append("|" + "|".join("-" * (w + 2) for w in widths) + "|")
    for row in rows:
        lines.append("| " + " | ".join(str(c).ljust(w) for c, w in zip(row, widths, strict=True)) + " |")
    return "\n".join(lines)


def _price(value: float) -> str:
    return f"${value:.10f}".rstrip("0").rstrip(".") if value < 0.01 else f"${value:.3f}".rstrip("0").rstrip(".")


def _calls(calls: dict[str, int]) -> str:
    return ", ".join(f"{k.split(':', 1)[1]} {v}" for k, v in calls.items()) or "none"


def sections(results: dict[str, Any]) -> list[tuple[str, str]]:
    """(title, Markdown body) of every part of the report."""
    out: list[tuple[str, str]] = []
    cold = results["cold_start"]
    targets = cold["targets"]
    names = {
        "floor": "FLOOR (boto3, pydantic, REST resolver)",
        "floor_tracer": "floor + Tracer() (tracing on, as in Lambda)",
        "floor_tracer_disabled": "floor + Tracer() (POWERTOOLS_TRACE_DISABLED)",
    }
    rows = []
    for key, entry in targets.items():
        first = entry.get("first_invoke_ms", {}).get("median")
        rows.append(
            [
                names.get(key, key),
                _f(entry["import_ms"]["median"]),
                f"{_f(entry['import_ms']['min'])}-{_f(entry['import_ms']['max'])}",
                f"{entry['ratio_to_floor']:.2f}x",
                f"{_f(entry['import_cpu_ms']['median'])} ({entry['cpu_ratio_to_floor']:.2f}x)",
                _f(first) if first is not None else "-",
                _f(entry["import_ms"]["median"] + first) if first is not None else "-",
                _f(entry["peak_rss_mb"]),
            ]
        )
    xray = cold["xray_sdk_import_ms"]
    out.append(
        (
            f"Cold start: import + init, median of {cold['runs_per_target']} fresh processes (ms)",
            table(
                rows,
                [
                    "process",
                    "import+init",
                    "min-max",
                    "vs floor",
                    "CPU ms (vs floor)",
                    "1st invocation",
                    "import+1st",
                    "peak RSS MB",
                ],
            )
            + "\n\nimport+init: wall time (time.perf_counter) around the import in the child; CPU ms:"
            " time.process_time over the same import (less sensitive to other load on the machine). 1st"
            " invocation: the first handler call in that process, AWS answered in-process (for the API, "
            f"{_f(targets['api']['first_invoke_client_creation_ms']['median'])} ms of it create the DynamoDB"
            " client)."
            + f"\n\nX-Ray SDK import (floor + Tracer() minus floor): {_f(xray['tracing_enabled'])} ms with tracing"
            f" on (Lambda with Active tracing), {_f(xray['tracing_disabled'])} ms with tracing disabled.",
        )
    )
    attribution = cold["attribution"]
    rows = [[p, _f(ms)] for p, ms in attribution["beyond_floor_by_package_ms"].items()]
    top = [[m["module"], _f(m["self_ms"]), _f(m["cumulative_ms"])] for m in attribution["beyond_floor_top_modules"]]
    direct = [[m["module"], _f(m["cumulative_ms"])] for m in attribution["api_direct_imports"]]
    out.append(
        (
            "API cold start attribution (python -X importtime, beyond the floor)",
            f"{attribution['modules_beyond_floor']} modules beyond the floor's, "
            f"{_f(attribution['beyond_floor_self_ms'])} ms of self time under -X importtime "
            f"(API {_f(attribution['api_total_self_ms'])} ms, floor {_f(attribution['floor_total_self_ms'])} ms"
            " in total, importtime's overhead included).\n\n"
            + table(rows, ["package (beyond the floor)", "self ms"])
            + "\n\n"
            + table(top, ["module (beyond the floor)", "self ms", "cumulative ms"])
            + "\n\nThe API module's direct imports, cumulative (in import order: a module the floor also loads"
            " is counted under the first import that pulls it in, e.g. boto3 under dal.repository):\n\n"
            + table(direct, ["direct import of handlers.api", "cumulative ms"]),
        )
    )
    warm = results["warm"]
    rows = []
    for kind, title in (
        ("api", "API handler (accepted START_SESSION)"),
        ("floor", "FLOOR handler (parse + validate)"),
        ("floor_sdk", "floor + the same 2 DynamoDB calls (info)"),
    ):
        entry = warm[kind]
        rows.append(
            [
                title,
                _f(entry["p50_us"]),
                _f(entry["p90_us"]),
                _f(entry["p99_us"]),
                _f(entry["invocations_per_second"], 0),
                _f(entry["peak_rss_mb"]),
                _f(entry["log_bytes_per_invocation"], 0),
            ]
        )
    rows.append(
        [
            "ratio API / floor",
            f"{warm['ratio_p50']:.1f}x",
            "",
            f"{warm['ratio_p99']:.1f}x",
            f"{warm['ratio_throughput']:.1f}x",
            f"{warm['api']['peak_rss_mb'] / warm['floor']['peak_rss_mb']:.2f}x",
            "",
        ]
    )
    rows.append(
        ["ratio API / floor + SDK calls", f"{warm['ratio_p50_vs_floor_sdk']:.2f}x", "", "", "", "", ""],
    )
    phases_timed = warm["api"]["timed_phases"]
    profile = warm["api"]["profile"]
    shares = [[k, _f(v)] for k, v in profile["share_percent"].items()]
    modules = [[k, _f(v)] for k, v in profile["module_share_percent"].items()]
    phases = [[k, _f(v)] for k, v in profile["phases_percent_of_handler"].items()]
    out.append(
        (
            f"Warm invocation: {warm['invocations']} invocations after {warm['warmup']} warm-up (µs)",
            table(rows, ["handler", "p50", "p90", "p99", "invocations/s", "peak RSS MB", "log bytes/inv"])
            + f"\n\nWhere the API handler's warm time goes, timed with wrappers over {phases_timed['invocations']}"
            f" invocations (mean {_f(phases_timed['handler_us'])} µs): inside the AWS SDK (botocore"
            f" BaseClient._make_api_call, 2 calls) {_f(phases_timed['aws_sdk_us'])} µs"
            f" ({_f(phases_timed['aws_sdk_percent'])} %), inside logging (JSON lines)"
            f" {_f(phases_timed['logging_us'])} µs ({_f(phases_timed['logging_percent'])} %), the rest"
            f" (routing, validation, decision, models, EMF, response) {_f(phases_timed['rest_us'])} µs."
            + f"\n\nThe same under cProfile (self time over {profile['invocations']}"
            " invocations, % of the total; cProfile inflates Python-level calls):\n\n"
            + table(shares, ["owner", "% of self time"])
            + "\n\n"
            + table(modules, ["module", "% of self time"])
            + "\n\nCumulative time of some calls, as a share of the handler's (they overlap):\n\n"
            + table(phases, ["inside", "% of handler time"]),
        )
    )
    if results.get("peer"):
        out.append(peer_section(results))
    if results.get("local_runtime"):
        out.append(local_runtime_section(results["local_runtime"]))
    memory = results["memory"]
    rows = [
        [
            title,
            _f(results["warm"][kind]["peak_rss_mb"]),
            _f(results["warm"][kind]["peak_rss_vmhwm_mb"]) if results["warm"][kind]["peak_rss_vmhwm_mb"] else "-",
        ]
        for kind, title in (("api", "API function, warm"), ("floor", "FLOOR process, warm"))
    ]
    out.append(
        (
            "Memory: peak RSS after the warm benchmark (MB)",
            table(rows, ["process", "ru_maxrss", "VmHWM (check)"]) + f"\n\nRatio API / floor: {memory['ratio']:.2f}x.",
        )
    )
    rt = results["round_trips"]
    rows = [
        [
            c["case"],
            str(c["warm"]["round_trips"]),
            str(c["first"]["round_trips"]),
            _calls(c["warm"]["calls"]),
            f"{c['answer']['http']} {c['answer']['status_code']} {c['answer']['result'] or ''}".strip(),
        ]
        for c in rt["cases"]
    ]
    miss = rt["credentials_cache_miss"]
    out.append(
        (
            "AWS round trips per API invocation (moto, credentials cached)",
            table(rows, ["case", "warm", "first", "calls (warm)", "answer"])
            + f"\n\nA credentials cache miss (first request of a process, then every 30 s per token) adds "
            f"{_calls(miss['calls'])}. 'first' is the first request of each case in a process whose credentials"
            " are cached; a bad token's negative cache entry lasts 5 s.",
        )
    )
    lifecycle = results["lifecycle"]
    cost = results["cost"]
    rows = []
    for path in ("answered", "timeout", "delivery_retry", "dispatch_failure"):
        p = lifecycle[path]
        ddb = p["dynamodb"]
        rows.append(
            [
                path,
                str(p["transitions"]),
                ", ".join(f"{k} {v}" for k, v in p["lambda_invocations"].items()),
                _calls({k: v for k, v in p["aws_calls"].items() if k.startswith("dynamodb")}),
                f"{ddb['wru']}+{ddb['gsi_wru']}",
                _f(ddb["rru"]),
                str(p["eventbridge_entries"]),
                str(p["outbound_posts"]),
                _f(p["log_bytes"], 0),
                _f(cost["paths"][path]["total_per_million"], 2),
            ]
        )
    out.append(
        (
            "Lifecycle per accepted command (LocalAws: real ASL on moto, handlers in-process)",
            table(
                rows,
                [
                    "path",
                    "transitions",
                    "Lambda invocations",
                    "DynamoDB calls",
                    "WRU (+gsi)",
                    "RRU",
                    "EB entries",
                    "POSTs",
                    "log bytes",
                    "$ / 1M",
                ],
            )
            + "\n\nStates entered: "
            + "; ".join(f"{k}: {' > '.join(lifecycle[k]['states_entered'])}" for k in PATH_TITLES)
            + ". Task retries: "
            + ", ".join(f"{k} {lifecycle[k]['task_retries']}" for k in PATH_TITLES)
            + ".",
        )
    )
    rows = []
    for path in ("answered", "timeout", "delivery_retry", "dispatch_failure"):
        ms = lifecycle[path]["lambda_ms_median"]
        rows.append([path] + [_f(ms[f]) if f in ms else "-" for f in FUNCTION_ORDER[:5]])
    out.append(
        (
            "Local warm durations per invocation, median (ms; moto answers AWS in-process)",
            table(rows, ["path", *FUNCTION_ORDER[:5]]),
        )
    )
    out.append(("Cost per 1M accepted commands (US$)", cost_table(cost)))
    rows = [[t["target"], t["measured"], t["limit"], "PASS" if t["pass"] else "MISS"] for t in results["targets"]]
    out.append(("Targets", table(rows, ["target", "measured", "limit", "verdict"])))
    if "live_data" in results:
        out.append(live_data_section(results["live_data"]))
    return out


def peer_section(results: dict[str, Any]) -> tuple[str, str]:
    """Us, the floor and the peer, side by side, with our ratio to each."""
    peer, cold, warm = results["peer"], results["cold_start"]["targets"], results["warm"]
    ratios, pc, shipped, response = (
        peer["ratios"],
        peer["cold_start"],
        peer["warm"]["as_shipped"],
        peer["warm"]["response_only"],
    )
    ours_cold, floor_cold = cold["api"], cold["floor"]

    def x(value: float) -> str:
        return f"{value:.2f}x"

    rows = [
        [
            "cold start: import + init (ms, median)",
            _f(ours_cold["import_ms"]["median"]),
            _f(floor_cold["import_ms"]["median"]),
            x(ratios["cold_start_import_init"]["to_floor"]),
            _f(pc["import_ms"]["median"]),
            "",
            x(ratios["cold_start_import_init"]["to_peer"]),
        ],
        [
            "cold request: + first invocation (ms)",
            _f(ours_cold["import_ms"]["median"] + ours_cold["first_invoke_ms"]["median"]),
            "",
            "",
            _f(pc["import_ms"]["median"] + pc["first_invoke_ms"]["median"]),
            "",
            x(ratios["cold_request"]["to_peer"]),
        ],
        [
            "warm accepted START_SESSION p50 (µs)",
            _f(warm["api"]["p50_us"]),
            _f(warm["floor"]["p50_us"]),
            x(ratios["warm_p50"]["to_floor"]),
            _f(shipped["p50_us"]),
            _f(response["p50_us"]),
            f"{x(ratios['warm_p50']['to_peer_as_shipped'])} / {x(ratios['warm_p50']['to_peer_response_only'])}",
        ],
        [
            "warm p99 (µs)",
            _f(warm["api"]["p99_us"]),
            _f(warm["floor"]["p99_us"]),
            x(ratios["warm_p99"]["to_floor"]),
            _f(shipped["p99_us"]),
            _f(response["p99_us"]),
            f"{x(ratios['warm_p99']['to_peer_as_shipped'])} / {x(ratios['warm_p99']['to_peer_response_only'])}",
        ],
        [
            "invocations/s (one process)",
            _f(warm["api"]["invocations_per_second"], 0),
            _f(warm["floor"]["invocations_per_second"], 0),
            x(ratios["invocations_per_second"]["to_floor"]),
            _f(shipped["invocations_per_second"], 0),
            _f(response["invocations_per_second"], 0),
            f"{x(ratios['invocations_per_second']['to_peer_as_shipped'])} / "
            f"{x(ratios['invocations_per_second']['to_peer_response_only'])}",
        ],
        [
            "peak RSS after the warm run (MB)",
            _f(warm["api"]["peak_rss_mb"]),
            _f(warm["floor"]["peak_rss_mb"]),
            x(ratios["peak_rss"]["to_floor"]),
            _f(shipped["peak_rss_mb"]),
            _f(response["peak_rss_mb"]),
            x(ratios["peak_rss"]["to_peer"]),
        ],
    ]
    body = (
        table(
            rows,
            [
                "accepted START_SESSION",
                "ours (API function)",
                "floor",
                "ours / floor",
                "peer, as shipped",
                "peer, CommandResponse only",
                "ours / peer (as shipped / response only)",
            ],
        )
        + f"\n\nThe peer: {peer['name']} ({peer['stack']}; Python {peer['python']}, ours"
        f" {results['run']['machine'].rsplit('Python ', 1)[-1]}), its CPO commands app"
        " (py_ocpi.get_application, CPO role, OCPI 2.2.1, the Commands module) with an in-memory Crud and"
        " Authenticator, wrapped with mangum.Mangum as a Lambda handler and invoked with the same API"
        " Gateway (REST) events, each a distinct command, in fresh processes of its own virtualenv. Under"
        " Mangum an invocation ends with the whole ASGI cycle, background tasks included, and the peer posts"
        " the CommandResult from a background task that polls its Crud (every 2 s while there is no result):"
        " the bench's Crud has the result at once and the POST to response_url is answered in-process (an"
        ' httpx mock transport), so "as shipped" includes building and posting the CommandResult (a new'
        ' httpx client per result, most of its time), which our product does asynchronously, and "CommandResponse'
        ' only" replaces that background task, like for like with our API function. The peer stores nothing'
        " durable (its Crud is a dict); ours records the command in DynamoDB (two calls, answered in-process)."
    )
    return ("Beside a peer: extrawest-ocpi's CPO commands app under Mangum", body)


def local_runtime_section(load: dict[str, Any]) -> tuple[str, str]:
    rows = [
        ["rate asked / sustained (START_SESSION/s)", f"{load['rate_target_per_s']} / {load['rate_achieved_per_s']}"],
        ["commands, in flight at most", f"{load['commands']}, {load.get('concurrency')}"],
        ["API p99 (s)", str(load["api_p99_s"])],
        ["charger answering in 1 s: delivered p99 after the request (s)", str(load["answered_delivery_p99_s"])],
        ["make run CPU per command (ms, all its processes)", str(load["cpu_ms_per_command"])],
        [
            "load average before / after (1 min)",
            f"{load['load_average']['before'][0]} / {load['load_average']['after'][0]}",
        ],
        ["verdict", f"{load['verdict']}" + (f": {'; '.join(load['failures'])}" if load.get("failures") else "")],
    ]
    return (
        f"Local runtime: make run under make load ({load.get('generated_at')})",
        table(rows, ["", "measured"]) + "\n\nFrom bench/load.json, written by the last `make load`; it measures"
        " the local emulation on this machine (moto), not AWS, which scales beyond it.",
    )


LIVE_PHASES = {
    "first_refresh": "full refresh, every Location new",
    "refresh_10pct_changed": "full refresh again, 1 EVSE in 10 changed",
    "status_changes": "EVSE Status Changed",
}


def live_data_section(live: dict[str, Any]) -> tuple[str, str]:
    setup, check, meta = live["setup"], live["check"], live.get("run", {})
    rows = []
    for key, title in LIVE_PHASES.items():
        phase = live[key]
        calls = ", ".join(f"{k.split(':')[1]} {v / phase['events']:.2f}" for k, v in phase["dynamodb_calls"].items())
        rows.append(
            [
                title,
                str(phase["events"]),
                _f(phase["seconds"]),
                _f(phase["events_per_second"]),
                _f(phase["wcu_per_event"], 2),
                _f(phase["rcu_per_event"], 2),
                calls,
                str(phase["batch_item_failures"]),
                str(phase["dead_letters"] + phase["handler_errors"]),
            ]
        )
    body = table(
        rows,
        [
            "phase",
            "events",
            "s",
            "events/s",
            "WCU / event",
            "RCU / event",
            "DynamoDB calls / event",
            "batch item failures",
            "dead letters + errors",
        ],
    )
    load = meta.get("load_average_1min", {})
    notes = (
        f"\n\n{setup['locations']} Locations, {setup['evses']} EVSEs (5 per Location, OCPI 2.2.1 shape, "
        f"{live['first_refresh']['item_bytes_written_median']} bytes per stored Location item). Path: {setup['path']}; "
        f"{setup['queue_workers']} queue workers (FeedConcurrency 5, at most 4 locally). events/s: from the first "
        "PutEvents until the queue is drained, publishing and applying overlapping, every call answered by moto "
        "in-process (DynamoDB one request at a time): the emulation's speed on this machine, not Lambda's. WCU and "
        "RCU: computed from the items' sizes (1 WCU per KB written, 1 RCU per 4 KB strongly consistent read), "
        "including the feed's heartbeat (one UpdateItem per batch). After the run every stored EVSE was the last "
        f"one published: {check['evses_stored']} of {check['evses_expected']}, {check['lost_updates']} lost. "
        f"Functions' log output: {live['log_bytes_per_event']:.0f} bytes per event."
    )
    if "status_latency" in live:
        latency = live["status_latency"]
        notes += (
            f" One EVSE Status Changed at a time, from PutEvents until applied (what the next decision reads): "
            f"median {latency['median_ms']:.0f} ms, max {latency['max_ms']:.0f} ms over {latency['samples']}."
        )
    if meta:
        notes += (
            f" Run {meta.get('generated_at')}, {meta.get('duration_seconds', 0):.0f} s, code at {meta.get('commit')}; "
            f"load average (1 min) {load.get('start', 0):.2f} at the start, {load.get('end', 0):.2f} at the end."
        )
    return f"Live data: a full refresh of {setup['locations']:,} Location events (bench/refresh.py)", body + notes


def cost_table(cost: dict[str, Any]) -> str:
    paths = ("answered", "timeout", "delivery_retry", "dispatch_failure")
    rows = []
    for service, title in SERVICES.items():
        rows.append(
            [title]
            + [_f(cost["paths"][p]["per_million_commands"][service], 2) for p in paths]
            + [_f(cost["mix"]["per_million_commands"][service], 2)]
        )
    rows.append(["total", *[_f(cost["paths"][p]["total_per_million"], 2) for p in paths]])
    rows[-1].append(_f(cost["mix"]["total_per_million"], 2))
    rows.append(
        [
            "total, pessimistic Lambda durations",
            *[_f(cost["paths"][p]["pessimistic_total_per_million"], 2) for p in paths],
            _f(cost["mix"]["pessimistic_total_per_million"], 2),
        ]
    )
    mix = " / ".join(f"{int(w * 100)} % {p}" for p, w in cost["mix"]["weights"].items())
    return table(rows, ["service", *paths, f"mix ({mix})"])


def with_live_data(markdown: str, live: dict[str, Any]) -> str:
    """``results.md`` with its live data section replaced (or added at the end); the rest as it was."""
    title, body = live_data_section(live)
    start = markdown.find("\n## Live data:")
    if start >= 0:
        following = markdown.find("\n## ", start + 1)
        markdown = markdown[:start] + (markdown[following:] if following >= 0 else "\n")
    return markdown.rstrip("\n") + f"\n\n## {title}\n\n{body}\n"


def text(results: dict[str, Any]) -> str:
    parts = []
    chosen = [live_data_section(results["live_data"])] if results.get("only") == "live_data" else sections(results)
    for title, body in chosen:
        parts.append(f"{title}\n\n{body}\n")
    return "\n".join(parts)


def markdown(results: dict[str, Any]) -> str:
    meta = results["run"]
    head = [
        "# Benchmark results",
        "",
        "Generated by `make bench` (bench/run.py) with bench/results.json; do not edit by hand.",
        "",
        f"* run: {meta['generated_at']}, {meta['duration_seconds']:.0f} s, code at {meta['commit']}"
        f"{' (src/ modified)' if meta['src_modified'] else ''}{' (--quick)' if meta['quick'] else ''}",
        f"* settings: {meta['settings']}",
        f"* machine: {meta['machine']}; load average (1 min) {meta['load_average_1min']['start']:.2f} at the"
        f" start, {meta['load_average_1min']['end']:.2f} at the end",
        "",
    ]
    parts = [f"## {title}\n\n{body}\n" for title, body in sections(results)]
    return "\n".join(head) + "\n" + "\n".join(parts)


def cost_doc(results: dict[str, Any]) -> str:
    """docs/cost.md: per path, the transitions, calls and cost (figures from bench/results.json)."""
    lifecycle, cost, rt = results["lifecycle"], results["cost"], results["round_trips"]
    prices = cost["prices"]
    accepted = next(c for c in rt["cases"] if c["case"] == "START_SESSION accepted")
    lines = [
        "# Cost model",
        "",
        "What one accepted OCPI command costs to run on AWS, per path through its lifecycle. Every figure"
        " below is generated by `make bench` from [bench/results.json](../bench/results.json) (see"
        " [bench/README.md](../bench/README.md) for how each is measured); do not edit them by hand.",
        "",
        f"Run: {results['run']['generated_at']}, code at {results['run']['commit']}.",
        "",
        "## Per path",
        "",
    ]
    for path, title in PATH_TITLES.items():
        p = lifecycle[path]
        c = cost["paths"][path]
        q = c["quantities_per_command"]
        lines += [
            f"### {path}: {title}",
            "",
            f"* State transitions: **{p['transitions']}** ({' > '.join(p['states_entered'])}"
            f"{', ' + str(p['task_retries']) + ' task retries' if p['task_retries'] else ''})",
            "* Lambda invocations: " + ", ".join(f"{k} {v}" for k, v in p["lambda_invocations"].items()),
            "* AWS calls: " + "; ".join(f"{f}: {_calls(v)}" for f, v in p["aws_calls_by_function"].items()),
            f"* DynamoDB: {p['dynamodb']['wru']} WRU on the table + {p['dynamodb']['gsi_wru']} on gsi1,"
            f" {_f(p['dynamodb']['rru'])} RRU",
            f"* EventBridge entries: {p['eventbridge_entries']}; POSTs to the eMSP: {p['outbound_posts']}"
            f" (HTTP {', '.join(str(s) for s in p['post_statuses'])})",
            f"* Logs: {_f(q['log_bytes'], 0)} bytes ingested (functions' output, platform lines, access log)",
            f"* **${_f(c['total_per_million'], 2)} per million commands** taking this path"
            f" (pessimistic Lambda durations: ${_f(c['pessimistic_total_per_million'], 2)})",
            "",
        ]
    lines += [
        "## Per million accepted commands",
        "",
        cost_table(cost),
        "",
        f"The synchronous path makes {accepted['warm']['round_trips']} AWS round trips for an accepted"
        f" START_SESSION once the credentials are cached ({_calls(accepted['warm']['calls'])}).",
        "",
        "Where the money goes (mix): "
        + ", ".join(
            f"{SERVICES[k]} {100 * v / cost['mix']['total_per_million']:.0f} %"
            for k, v in sorted(cost["mix"]["per_million_commands"].items(), key=lambda kv: -kv[1])
        )
        + ". Step Functions bills every state transition, so the state machine takes one when the charge point"
        " answers (the dispatch task waits for its token) and two on a timeout; DynamoDB bills the accepting"
        " transaction's writes twice.",
        "",
        "## Prices and assumptions",
        "",
        f"{prices['region']} list prices, {prices['as_of']}.",
        "",
        table(
            [
                ["API Gateway REST", f"{_price(prices['api_gateway_rest_per_million_requests'])} per million requests"],
                [
                    "Lambda",
                    f"{_price(prices['lambda_per_gb_second']['arm64'])} per GB-s (arm64),"
                    f" {_price(prices['lambda_per_million_requests'])} per million requests",
                ],
                [
                    "DynamoDB on-demand",
                    f"{_price(prices['dynamodb_per_million_write_request_units'])} per million WRU,"
                    f" {_price(prices['dynamodb_per_million_read_request_units'])} per million RRU",
                ],
                [
                    "Step Functions Standard",
                    f"{_price(prices['step_functions_standard_per_thousand_transitions'])} per 1,000 transitions",
                ],
                ["EventBridge", f"{_price(prices['eventbridge_per_million_custom_events'])} per million custom events"],
                ["CloudWatch Logs", f"{_price(prices['cloudwatch_logs_ingestion_per_gb'])} per GB ingested"],
            ],
            ["service", "price"],
        ),
        "",
    ]
    lines += [f"* {k.replace('_', ' ')}: {v}" for k, v in cost["assumptions"].items()]
    lines += ["", "Sources: " + ", ".join(prices["sources"]), ""]
    return "\n".join(lines)

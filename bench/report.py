"""The run's outcome: the figures that could not run yet, and the JSON and Markdown written."""

from __future__ import annotations

from datetime import UTC, datetime

import stack
from driver import Bench
from results_table import markdown
from workload import BENCH, POLL, QUICK, SIZES, SLOTS


def write(bench: Bench, seconds: float, versions: dict[str, str]) -> None:
    r = bench.results
    r.finish()
    for key, parts in r.details.items():
        if key.startswith(("s1_breakdown", "s2_breakdown")):
            shown = ", ".join(f"{k} {v:.0f} ms" for k, v in parts.items())
            r.notes.append(f"{key} (median per run): {shown}")
    r.notes.append(
        f"S1/S2: the client polls GET /api/executions/{{id}}/ every {POLL * 1000:.0f} ms; "
        "S3/S4: 4 client threads submit over HTTP, a run's end is its completed_at "
        f"(baseline b: the result's date_done); every worker has {SLOTS} slots."
    )
    r.notes.append(f"warm start: {bench.warm_why}")
    r.details["client_poll_seconds"] = POLL
    when = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    m = stack.machine()
    header = [
        f"# scriptdeck benchmark — {when} ({'QUICK' if QUICK else 'full'} run, "
        f"{seconds / 60:.1f} min)",
        "",
        f"Machine: {m['cpu']}, {m['cpus']} CPUs, {m['memory_gb']} GB, {m['platform']}.",
        "Versions: " + ", ".join(f"{k} {v}" for k, v in versions.items()) + ".",
        "Sizes: " + ", ".join(f"{k}={v}" for k, v in SIZES.items()) + ".",
        "",
        "Each figure is the median of its runs (count in brackets); the ratio is that "
        "median over the baseline's, measured in this same run.",
    ]
    table = markdown(r, header)
    document = {
        "benchmark": "scriptdeck",
        "date": when,
        "quick": QUICK,
        "duration_seconds": round(seconds, 1),
        "sizes": SIZES,
        "machine": m,
        "versions": versions,
        "warm_start": {"available": bench.warm, "why": bench.warm_why},
        "figures": list(r.figures.values()),
        "details": r.details,
        "notes": r.notes,
    }
    out = BENCH / "results"
    out.mkdir(exist_ok=True)
    (out / "latest.json").write_text(stack.dumps(document), encoding="utf-8")
    (out / "latest.md").write_text(table, encoding="utf-8")
    print(table)


def warm_not_available(bench: Bench) -> None:
    """The warm figures, each with its target, saying why they were not measured: a warm
    run before the warm-start executor reads its setting would be a cold run renamed."""
    why = f"not available yet: {bench.warm_why}"
    for key, scenario, label, unit in (
        ("s1.total.warm", "S1", "40 × fibo(10) total, scriptdeck warm (d)", "s"),
        ("s2.task.warm", "S2", "per task, scriptdeck warm", "s"),
        ("s3.fraction.warm", "S3", "share of 200/s, scriptdeck warm", ""),
        ("s4.rate.warm", "S4", "trivial tasks/s, scriptdeck warm", "/s"),
    ):
        target = {
            "S1": ("value", "<=", 0.4),
            "S4": ("ratio", ">=", 3.0),
            "S2": ("ratio", "<=", 1.03),
            "S3": ("value", ">=", 0.95),
        }[scenario]
        bench.results.add(key, scenario, label, unit, None, not_measured=why)
        bench.results.figures[key]["target"] = dict(zip(("on", "op", "limit"), target, strict=True))

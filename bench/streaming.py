"""S7: 200 SSE clients on one running execution: delivery lag and the web server's CPU."""

from __future__ import annotations

import asyncio
import json
import math
import statistics
import time
from typing import Any

import httpx
import probes
import psutil
import stack
from driver import Bench
from workload import SIZES


def s7(bench: Bench, server: Any, http: httpx.Client) -> None:
    s, r = SIZES, bench.results
    web = probes.process_roles(server)["web"]
    baseline_window, ramp = 5.0, 8.0
    length = baseline_window + ramp + s["s7_seconds"] + 15
    pk = stack.submit(http, "bench_ticker", {"seconds": length})
    deadline = time.monotonic() + 30
    while server.api.execution(pk)["status"] != "STARTED":
        if time.monotonic() > deadline:
            raise TimeoutError("the ticker never started")
        time.sleep(0.1)
    url = f"{server.api.base_url}/api/executions/{pk}/events/"
    headers = {"Authorization": f"Token {server.api.token}", "Accept": "text/event-stream"}
    try:
        one = asyncio.run(_watch(url, headers, 1, 0.5, baseline_window, web))
        many = asyncio.run(_watch(url, headers, s["s7_clients"], ramp, s["s7_seconds"], web))
    finally:
        http.post(f"/api/executions/{pk}/cancel/")
    for key, got in (("one", one), ("many", many)):
        r.details[f"s7_{key}"] = {k: v for k, v in got.items() if k != "lags"}
    n = s["s7_clients"]
    r.add("s7.lag.one", "S7", "delivery lag p95, 1 SSE client", "s", [one["p95"]])
    r.add(
        "s7.lag.many",
        "S7",
        f"delivery lag p95, {n} SSE clients",
        "s",
        [many["p95"]] if many["received"] else None,
        baseline="s7.lag.one",
        target=("value", "<", 1.0),
        note=f"max {many['max']:.2f} s; {many['received']}/{many['expected']} lines; "
        f"{many['connected']}/{n} streams answered 200 (HTTP statuses {many['http_statuses']})",
    )
    r.add("s7.cpu.one", "S7", "web server CPU, 1 SSE client", "%", [one["web_cpu_percent"]])
    r.add(
        "s7.cpu.many",
        "S7",
        f"web server CPU, {n} SSE clients (% of one core)",
        "%",
        [many["web_cpu_percent"]],
        baseline="s7.cpu.one",
        note=f"the bench's own client used {many['client_cpu_percent']:.0f} % of a core",
    )


async def _watch(
    url: str, headers: dict[str, str], clients: int, ramp: float, window: float, web: Any
) -> dict[str, Any]:
    """``clients`` SSE streams of one running execution; lag = receipt − the line's own time."""
    lags: list[float] = []
    connected = 0
    statuses: dict[int, int] = {}
    start = time.time() + ramp
    stop = start + window

    async def one(http: httpx.AsyncClient) -> None:
        nonlocal connected
        event = ""
        async with http.stream("GET", url, headers=headers) as response:
            statuses[response.status_code] = statuses.get(response.status_code, 0) + 1
            if response.status_code != 200:
                return
            connected += 1
            async for line in response.aiter_lines():
                if line.startswith("event:"):
                    event = line[6:].strip()
                elif line.startswith("data:") and event == "output":
                    now = time.time()
                    if now > stop:
                        return
                    text = json.loads(line[5:]).get("text", "")
                    for printed in text.splitlines():
                        try:
                            sent = float(json.loads(printed)["t"])
                        except (ValueError, KeyError, TypeError):
                            continue
                        if start <= sent <= stop:
                            lags.append(now - sent)
                elif not line:
                    event = ""
                if time.time() > stop + 3:
                    return

    limits = httpx.Limits(max_connections=clients + 10, max_keepalive_connections=clients + 10)
    me = psutil.Process()
    async with httpx.AsyncClient(limits=limits, timeout=httpx.Timeout(30.0, read=60.0)) as http:
        tasks = [asyncio.create_task(one(http)) for _ in range(clients)]
        await asyncio.sleep(max(0.0, start - time.time()))
        web_before, me_before, t0 = web.cpu_times(), me.cpu_times(), time.monotonic()
        await asyncio.sleep(max(0.0, stop - time.time()))
        web_after, me_after, t1 = web.cpu_times(), me.cpu_times(), time.monotonic()
        done, pending = await asyncio.wait(tasks, timeout=8)
        for task in pending:
            task.cancel()
        await asyncio.gather(*pending, return_exceptions=True)
        errors = [t.exception() for t in done if not t.cancelled() and t.exception()]
    lags.sort()
    expected = int(window / 0.1) * clients

    def cpu(before: Any, after: Any) -> float:
        used = (after.user - before.user) + (after.system - before.system)
        return used / (t1 - t0) * 100

    return {
        "clients": clients,
        "connected": connected,
        "http_statuses": statuses,
        "errors": [repr(e)[:200] for e in errors[:3]],
        "received": len(lags),
        "expected": expected,
        "p50": statistics.median(lags) if lags else float("nan"),
        "p95": lags[max(0, math.ceil(len(lags) * 0.95) - 1)] if lags else float("nan"),
        "max": lags[-1] if lags else float("nan"),
        "web_cpu_percent": cpu(web_before, web_after),
        "client_cpu_percent": cpu(me_before, me_after),
        "lags": lags,
    }

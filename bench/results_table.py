"""Figures, their baselines and targets; the JSON and the Markdown table written from them.

Every figure is the median of its runs; a ratio is that median over its baseline's
median, both measured in the same ``make bench`` run. A figure that could not be
measured says why instead of carrying a number.
"""

from __future__ import annotations

import operator
import statistics
from typing import Any

OPS = {"<": operator.lt, "<=": operator.le, ">": operator.gt, ">=": operator.ge}
SHOWN = {"<": "<", "<=": "≤", ">": ">", ">=": "≥"}


class Results:
    def __init__(self) -> None:
        self.figures: dict[str, dict[str, Any]] = {}
        self.notes: list[str] = []
        self.details: dict[str, Any] = {}

    def add(
        self,
        key: str,
        scenario: str,
        label: str,
        unit: str,
        runs: list[float] | None = None,
        *,
        not_measured: str | None = None,
        baseline: str | None = None,
        target: tuple[str, str, float] | None = None,
        note: str = "",
    ) -> None:
        """``target`` is (``value`` or ``ratio``, operator, limit)."""
        figure: dict[str, Any] = {
            "key": key,
            "scenario": scenario,
            "label": label,
            "unit": unit,
            "runs": [round(r, 6) for r in runs] if runs else [],
            "n": len(runs or []),
            "median": round(statistics.median(runs), 6) if runs else None,
            "not_measured": not_measured if not runs else None,
            "baseline": baseline,
            "ratio": None,
            "target": None,
            "met": None,
            "note": note,
        }
        if not runs and not not_measured:
            figure["not_measured"] = "not measured: no runs completed"
        if target is not None:
            on, op, limit = target
            figure["target"] = {"on": on, "op": op, "limit": limit}
        self.figures[key] = figure

    def missing(self, key: str, scenario: str, label: str, unit: str, why: str, **kw: Any) -> None:
        self.add(key, scenario, label, unit, None, not_measured=f"not measured: {why}", **kw)

    def finish(self) -> None:
        for figure in self.figures.values():
            base = self.figures.get(figure["baseline"] or "")
            if figure["median"] is not None and base and base["median"]:
                figure["ratio"] = round(figure["median"] / base["median"], 4)
            target = figure["target"]
            if target:
                value = figure["median"] if target["on"] == "value" else figure["ratio"]
                if value is not None:
                    figure["met"] = bool(OPS[target["op"]](value, target["limit"]))

    def missed(self) -> list[dict[str, Any]]:
        return [f for f in self.figures.values() if f["target"] and f["met"] is not True]


def _number(value: float | None, unit: str) -> str:
    if value is None:
        return "—"
    if unit == "%":
        return f"{value:.1f} %"
    magnitude = abs(value)
    text = f"{value:.0f}" if magnitude >= 100 else f"{value:.3g}"
    return f"{text} {unit}".strip()


def _target(figure: dict[str, Any]) -> str:
    target = figure["target"]
    if not target:
        return ""
    limit = target["limit"]
    if target["on"] == "ratio":
        return f"ratio {SHOWN[target['op']]} {limit:g}"
    return f"{SHOWN[target['op']]} {_number(limit, figure['unit'])}"


def markdown(results: Results, header: list[str]) -> str:
    lines = [*header, ""]
    lines.append(
        "| scenario | figure | median (runs) | baseline (same run) | ratio | target | result |"
    )
    lines.append("|---|---|---|---|---|---|---|")
    for figure in results.figures.values():
        base = results.figures.get(figure["baseline"] or "")
        if figure["median"] is None:
            value = figure["not_measured"] or "not measured"
        else:
            value = f"{_number(figure['median'], figure['unit'])} ({figure['n']})"
        baseline = ""
        if base:
            shown = _number(base["median"], base["unit"]) if base["median"] is not None else "—"
            baseline = f"{base['label']}: {shown}"
        ratio = f"{figure['ratio']:.2f}×" if figure["ratio"] is not None else ""
        verdict = {True: "met", False: "**missed**", None: ""}[figure["met"]]
        if figure["target"] and figure["met"] is None:
            verdict = "not measured"
        label = figure["label"] + (f" — {figure['note']}" if figure["note"] else "")
        lines.append(
            f"| {figure['scenario']} | {label} | {value} | {baseline} | {ratio} "
            f"| {_target(figure)} | {verdict} |"
        )
    if results.notes:
        lines += ["", "Notes:", ""] + [f"- {note}" for note in results.notes]
    missed = results.missed()
    if missed:
        lines += ["", "Targets missed or not measured:", ""]
        for figure in missed:
            shown = (
                _number(figure["median"], figure["unit"])
                if figure["median"] is not None
                else figure["not_measured"]
            )
            if figure["target"]["on"] == "ratio" and figure["ratio"] is not None:
                shown = f"{figure['ratio']:.2f}×"
            lines.append(
                f"- {figure['scenario']} {figure['label']}: {shown} (target {_target(figure)})"
            )
    return "\n".join(lines) + "\n"

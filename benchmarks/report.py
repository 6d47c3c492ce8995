"""The results table: each figure with its target and PASS/FAIL, then the details."""

from __future__ import annotations

import math
import os
import platform
import sqlite3
import time
from dataclasses import dataclass, field
from importlib.metadata import version


@dataclass
class Figure:
    name: str
    measured: str
    target: str
    result: str  # PASS, FAIL, info, ERROR


@dataclass
class Report:
    settings: list[str] = field(default_factory=list)
    figures: list[Figure] = field(default_factory=list)
    runs: list[list[str]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    started: float = field(default_factory=time.time)

    def add(self, name: str, measured: str, target: str, passed: bool | None) -> None:
        result = "info" if passed is None else ("PASS" if passed else "FAIL")
        self.figures.append(Figure(name, measured, target, result))

    def error(self, name: str, target: str, reason: str) -> None:
        self.figures.append(Figure(name, "not measured", target, f"ERROR: {reason}"))

    def render(self, quick: bool) -> str:
        elapsed = time.time() - self.started
        lines = [
            "# Benchmark results"
            + (" (--quick smoke run: figures are indicative)" if quick else ""),
            "",
            *[f"- {line}" for line in machine_lines()],
            *[f"- {line}" for line in self.settings],
            f"- whole run: {elapsed:.0f} s",
            "",
            "| figure | measured | target | result |",
            "| --- | --- | --- | --- |",
        ]
        lines += [f"| {f.name} | {f.measured} | {f.target} | {f.result} |" for f in self.figures]
        if self.runs:
            lines += [
                "",
                "Runs, in the order they ran (CPU: share of one core over the measured window):",
                "",
                "| benchmark | rep | side | req/s | p50 ms | p99 ms | bad answers "
                "| client CPU | server CPU |",
                "| --- | --- | --- | --- | --- | --- | --- | --- | --- |",
            ]
            lines += ["| " + " | ".join(run) + " |" for run in self.runs]
        if self.notes:
            lines += ["", "Notes:", "", *[f"- {note}" for note in self.notes]]
        return "\n".join(lines) + "\n"


def machine_lines() -> list[str]:
    model = ""
    try:
        with open("/proc/cpuinfo") as handle:
            for line in handle:
                if line.startswith("model name"):
                    model = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    cores = os.cpu_count() or 0
    usable = len(os.sched_getaffinity(0))
    load = " / ".join(f"{value:.2f}" for value in os.getloadavg())
    return [
        f"date: {time.strftime('%Y-%m-%d %H:%M %Z')}",
        f"machine: {model or platform.machine()}, {cores} cores ({usable} usable), "
        f"{_memory_gib():.1f} GiB RAM, {platform.system()} {platform.release()}",
        f"load average at the end (1/5/15 min): {load}",
        f"Python {platform.python_version()}, gunicorn {version('gunicorn')}, "
        f"Flask {version('flask')}, SQLAlchemy {version('sqlalchemy')}, "
        f"SQLite {sqlite3.sqlite_version}",
    ]


def _memory_gib() -> float:
    try:
        with open("/proc/meminfo") as handle:
            for line in handle:
                if line.startswith("MemTotal:"):
                    return int(line.split()[1]) / 1024 / 1024
    except OSError:
        pass
    return math.nan


def ms(seconds: float) -> str:
    return "n/a" if math.isnan(seconds) else f"{seconds * 1000:.1f}"


def ratio(value: float) -> str:
    return "n/a" if math.isnan(value) else f"{value:.2f}x"

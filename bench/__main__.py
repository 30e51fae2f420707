"""Run every benchmark, each in its own process, and write docs/benchmarks.md.

Each benchmark module prints one JSON object. Throughput figures are also given as a ratio to
the raw-insert floor measured in this same run (a plain bulk insert of invoice rows: what the
database alone can do), and compared with the previous recorded run (docs/benchmarks.json).
A CPU reference (bench/machine.py) is measured first and recorded with the machine, so that a
comparison with a run on a faster or slower machine says so.
"""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench.machine import cpu_reference_ms, describe

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs"
CLIENTS = os.environ.get("BENCH_CLIENTS", "10000")

# (name, module, arguments, the figures to report: key -> (label, unit, is_throughput))
BENCHMARKS: list[tuple[str, str, list[str], dict[str, tuple[str, str, bool]]]] = [
    (
        "billing_run_sqlite",
        "bench.billing_run",
        ["--db", "sqlite", "--clients", CLIENTS],
        {
            "invoices_per_second": ("month-end run, invoices per second", "invoices/s", True),
            "run_seconds": ("month-end run, duration", "s", False),
            "cpu_ms_per_invoice": ("month-end run, CPU of the process per invoice", "ms", False),
            "statements_per_invoice": ("SQL statements per invoice", "", False),
            "transactions": ("transactions committed", "", False),
            "created": ("invoices created", "", False),
            "rerun_seconds": ("re-run (creates nothing), duration", "s", False),
            "rerun_created": ("invoices created by the re-run", "", False),
            "peak_rss_mb": ("peak memory (RSS)", "MB", False),
            "floor_invoices_per_second": ("raw-insert floor", "invoices/s", False),
        },
    ),
    (
        "billing_run_sqlite_advances",
        "bench.billing_run",
        ["--db", "sqlite", "--clients", CLIENTS, "--advance-every", "10"],
        {
            "invoices_per_second": ("month-end run, invoices per second", "invoices/s", True),
            "run_seconds": ("month-end run, duration", "s", False),
            "cpu_ms_per_invoice": ("month-end run, CPU of the process per invoice", "ms", False),
            "statements_per_invoice": ("SQL statements per invoice", "", False),
            "transactions": ("transactions committed", "", False),
            "created": (
                "invoices created (every 10th client's work draws on an advance)",
                "",
                False,
            ),
        },
    ),
    (
        "billing_run_postgres",
        "bench.billing_run",
        ["--db", "postgres", "--clients", CLIENTS],
        {
            "invoices_per_second": ("month-end run, invoices per second", "invoices/s", True),
            "run_seconds": ("month-end run, duration", "s", False),
            "cpu_ms_per_invoice": ("month-end run, CPU of the process per invoice", "ms", False),
            "statements_per_invoice": ("SQL statements per invoice", "", False),
            "transactions": ("transactions committed", "", False),
            "created": ("invoices created", "", False),
            "rerun_seconds": ("re-run (creates nothing), duration", "s", False),
            "rerun_created": ("invoices created by the re-run", "", False),
            "peak_rss_mb": ("peak memory (RSS)", "MB", False),
            "floor_invoices_per_second": ("raw-insert floor", "invoices/s", False),
        },
    ),
    ("pdf", "bench.pdf", [], {}),
    ("http_flows", "bench.http_flows", [], {}),
    # The same flows against two server processes (`serve --workers 2`), one per core.
    ("http_flows_2_workers", "bench.http_flows", ["--server-workers", "2"], {}),
]


def run_one(module: str, args: list[str]) -> dict[str, Any]:
    started = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-m", module, *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=3600,
        check=False,
    )
    if done.returncode != 0:
        return {"error": (done.stderr or done.stdout).strip().splitlines()[-1:]}
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    result["wall_seconds"] = round(time.perf_counter() - started, 1)
    return result


# The targets the issues set, checked against each run: (benchmark, figure, at least / at most).
TARGETS: list[tuple[str, str, str, float]] = [
    ("billing_run_sqlite", "invoices_per_second", ">=", 2000),
    ("billing_run_postgres", "invoices_per_second", ">=", 500),
    ("billing_run_sqlite", "peak_rss_mb", "<=", 500),
    ("billing_run_postgres", "peak_rss_mb", "<=", 500),
    ("billing_run_sqlite", "rerun_seconds", "<=", 5),
    ("billing_run_postgres", "rerun_seconds", "<=", 5),
    ("billing_run_sqlite", "rerun_created", "<=", 0),
    ("billing_run_postgres", "rerun_created", "<=", 0),
    ("pdf", "one_page_pdfs_per_second_2_workers", ">=", 30),  # "on 2 cores"
    ("http_flows", "flows_per_second", ">=", 150),
    ("http_flows", "create_p99_ms", "<=", 50),
    ("http_flows_2_workers", "flows_per_second", ">=", 150),
    ("http_flows_2_workers", "create_p99_ms", "<=", 50),
]


def main() -> None:
    """Run the benchmarks and write the page; ``--render-only`` rewrites the page from the
    recorded run alone. ``BENCH_NOTE`` adds a line on the conditions of the run."""
    previous: dict[str, Any] = {}
    record = DOCS / "benchmarks.json"
    if record.exists():
        previous = json.loads(record.read_text())
    if "--render-only" in sys.argv:  # rewrite the page from the recorded run
        (DOCS / "benchmarks.md").write_text(_page(previous))
        return
    machine: dict[str, Any] = {**describe(), "cpu_reference_ms": cpu_reference_ms()}
    print(f"bench: CPU reference {machine['cpu_reference_ms']} ms", flush=True)
    results: dict[str, Any] = {}
    for name, module, args, _ in BENCHMARKS:
        if importlib.util.find_spec(module) is None:
            continue
        print(f"bench: {name} ...", flush=True)
        results[name] = run_one(module, args)
        print(f"bench: {name}: {json.dumps(results[name])}", flush=True)
    run = {
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": machine,
        "results": results,
        # What the page compares with, kept so that --render-only gives the same page.
        "previous": previous.get("results", {}),
        "previous_machine": previous.get("machine", {}),
        "note": os.environ.get("BENCH_NOTE", ""),
    }
    DOCS.mkdir(exist_ok=True)
    # Not sorted: the page lists each benchmark's figures in the order it reports them.
    record.write_text(json.dumps(run, indent=2) + "\n")
    (DOCS / "benchmarks.md").write_text(_page(run))
    print(f"bench: wrote {DOCS / 'benchmarks.md'}")


def _page(run: dict[str, Any]) -> str:
    results = run["results"]
    floor = next(
        (
            r.get("floor_invoices_per_second")
            for r in results.values()
            if isinstance(r, dict) and r.get("floor_invoices_per_second")
        ),
        None,
    )
    return render(
        datetime.fromisoformat(run["date"]),
        results,
        run.get("previous", {}),
        floor,
        machine=run.get("machine") or describe(),
        previous_reference=run.get("previous_machine", {}).get("cpu_reference_ms"),
        note=run.get("note", ""),
    )


def _fmt(value: Any) -> str:
    return f"{value:,}" if isinstance(value, (int, float)) else str(value)


def _floor(results: dict[str, Any], name: str) -> float | None:
    """A benchmark's own raw-insert floor, else the SQLite one measured in the same run."""
    own = results.get(name, {}).get("floor_invoices_per_second")
    if own:
        return float(own)
    sqlite = results.get("billing_run_sqlite", {}).get("floor_invoices_per_second")
    return float(sqlite) if sqlite else None


def _reference_line(reference: float | None, previous: float | None) -> str:
    """How fast this machine ran the CPU reference, against the previous run's machine."""
    if reference is None:
        return "- CPU reference: not recorded"
    if previous is None:
        return f"- CPU reference: {reference:.0f} ms (previous run: not recorded)"
    ratio = reference / previous
    if abs(ratio - 1) < 0.05:
        return f"- CPU reference: {reference:.0f} ms (previous run: {previous:.0f} ms, as fast)"
    speed = f"{ratio:.1f}x slower" if ratio > 1 else f"{1 / ratio:.1f}x faster"
    return (
        f"- CPU reference: {reference:.0f} ms (previous run: {previous:.0f} ms, this machine "
        f"{speed}; compare throughputs with that in mind)"
    )


def render(
    now: datetime,
    results: dict[str, Any],
    previous: dict[str, Any],
    floor: float | None,
    *,
    machine: dict[str, Any],
    previous_reference: float | None = None,
    note: str = "",
) -> str:
    lines = [
        "# Benchmarks",
        "",
        "Written by `make bench` (see bench/README.md). Figures are from one run on the "
        "machine below; ratios compare a throughput with the raw-insert floor measured in the "
        "same run (the SQLite bulk insert of the same invoice and line rows), and the last "
        "column compares with the previous recorded run. The CPU reference is the best of 5 "
        "timings of a fixed pure-Python workload (`bench/machine.py`): lower is a faster machine.",
        "",
        f"- date: {now.date().isoformat()}",
        f"- machine: {machine['cpu']}, {machine['cores']} cores, {machine['memory']}, "
        f"{machine['system']}, Python {machine['python']}",
        _reference_line(machine.get("cpu_reference_ms"), previous_reference),
        *([f"- conditions: {note}"] if note else []),
        "",
        "| benchmark | figure | value | ratio to floor | previous | change |",
        "|---|---|---|---|---|---|",
    ]
    for name, _module, _args, figures in BENCHMARKS:
        result = results.get(name)
        if result is None:
            continue
        if "error" in result:
            lines.append(f"| {name} | failed | {' '.join(result['error'])} | | | |")
            continue
        keys = figures or {
            k: (k.replace("_", " "), "", k.endswith("per_second"))
            for k in result
            if isinstance(result[k], (int, float))
        }
        base = floor or _floor(results, name)
        for key, (label, unit, throughput) in keys.items():
            if key not in result:
                continue
            value = result[key]
            ratio = f"{value / base:.4f}" if throughput and base else ""
            before = previous.get(name, {}).get(key)
            change = ""
            if isinstance(before, (int, float)) and before:
                change = f"{(value - before) / before:+.0%}"
            lines.append(
                f"| {name} | {label} | {_fmt(value)} {unit} | {ratio} | "
                f"{_fmt(before) if before is not None else ''} | {change} |"
            )
    lines += [
        "",
        "## Targets",
        "",
        "| benchmark | figure | target | measured | met |",
        "|---|---|---|---|---|",
    ]
    for name, key, sense, target in TARGETS:
        value = results.get(name, {}).get(key)
        if value is None:
            continue
        met = value >= target if sense == ">=" else value <= target
        lines.append(
            f"| {name} | {key.replace('_', ' ')} | {sense} {_fmt(target)} | "
            f"{_fmt(value)} | {'yes' if met else 'no'} |"
        )
    lines.append("")
    return "\n".join(lines)


if __name__ == "__main__":
    main()

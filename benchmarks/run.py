"""kvant benchmark runner: runs every case, side by side with the peers that are installed, and
writes a Markdown table to benchmarks/results/results.md (plus a JSON file of the raw numbers).

    python benchmarks/run.py [--repeat N] [--case NAME ...]

Each case reports what it measured with the peer's value on the same row and, where a peer ran,
the ratio kvant / peer (below 1 means kvant is faster). Times are medians over repeats.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from cases import CASES
from timing import machine

RESULTS = Path(__file__).resolve().parent / "results"


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--case", action="append", help="run only these cases")
    args = parser.parse_args(argv)
    # Compile times must include compilation: start from an empty program cache.
    os.environ["KVANT_CACHE_DIR"] = tempfile.mkdtemp(prefix="kvant-bench-cache-")

    ran, new_rows = set(), []
    for case in CASES:
        if args.case and case.name not in args.case:
            continue
        print(f"[bench] {case.name} ...", flush=True)
        ran.add(case.name)
        for row in case.run(repeat=args.repeat):
            new_rows.append({**row, "source": case.name, "date": time.strftime("%Y-%m-%d %H:%M")})
    # A partial run (--case) replaces only its cases' rows; the others keep their last numbers.
    rows = [r for r in _previous_rows() if r.get("source", r["case"]) not in ran] + new_rows
    order = {c.name: i for i, c in enumerate(CASES)}
    rows.sort(key=lambda r: order.get(r.get("source", r["case"]), len(order)))  # stable

    RESULTS.mkdir(exist_ok=True)
    lines = [
        "# kvant benchmarks",
        "",
        f"Machine: {machine()}. Command: `python benchmarks/run.py [--case NAME]`; each row "
        "gives the date of the run that measured it.",
        "",
        "| case | measure | kvant | peer | peer value | kvant / peer | measured |",
        "|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        ratio = f"{r['kvant'] / r['peer_value']:.2f}" if r.get("peer_value") else "–"
        peer_value = _fmt(r["peer_value"], r["unit"]) if r.get("peer_value") else "–"
        lines.append(
            f"| {r['case']} | {r['measure']} | {_fmt(r['kvant'], r['unit'])} | "
            f"{r.get('peer') or '–'} | {peer_value} | {ratio} | {r.get('date', '–')} |"
        )
    table = "\n".join(lines) + "\n"
    (RESULTS / "results.md").write_text(table)
    (RESULTS / "results.json").write_text(json.dumps(rows, indent=2))
    print(table)
    return 0


def _previous_rows() -> list[dict]:
    try:
        return json.loads((RESULTS / "results.json").read_text())
    except (OSError, ValueError):
        return []


def _fmt(value: float, unit: str) -> str:
    if unit == "s":
        if value < 1e-3:
            return f"{value * 1e6:.1f} µs"
        if value < 1:
            return f"{value * 1e3:.2f} ms"
        return f"{value:.2f} s"
    return f"{value:.4g} {unit}"


if __name__ == "__main__":
    sys.exit(main())

"""``python -m tests.fuzz --mode forward --seeds 0:2000 [--jobs N] [--features ...]``

Generates the programs of the given seeds, evaluates each in a worker process (with a timeout),
prints a summary table (counts per class, failures and refusals grouped by message), shrinks
failures (one per distinct message unless ``--shrink-all``) and prints each shrunk program as a
pytest function. Exit status 1 when there is a mismatch, crash or timeout.
"""

from __future__ import annotations

import argparse
import sys
import time

from tests.fuzz.generate import FEATURES, KNOWN_BROKEN


def parse_seeds(text):
    seeds = []
    for part in text.split(","):
        if ":" in part:
            lo, hi = part.split(":")
            seeds += range(int(lo), int(hi))
        else:
            seeds.append(int(part))
    return seeds


def parse_features(text):
    """``all``, ``stable`` (all but KNOWN_BROKEN), a comma list, and ``-name`` to remove."""
    chosen = set()
    for part in text.split(","):
        part = part.strip()
        if part == "all":
            chosen |= set(FEATURES)
        elif part == "stable":
            chosen |= set(FEATURES) - set(KNOWN_BROKEN)
        elif part.startswith("-"):
            chosen.discard(part[1:])
        elif part:
            if part not in FEATURES:
                raise SystemExit(f"unknown feature {part!r}; known: {', '.join(sorted(FEATURES))}")
            chosen.add(part)
    return chosen


def main(argv=None):
    parser = argparse.ArgumentParser(
        prog="python -m tests.fuzz",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--mode", choices=["forward", "derivatives", "both"], default="both")
    parser.add_argument("--seeds", default="0:100", help="e.g. 0:2000 or 3,17,40:50")
    parser.add_argument(
        "--features",
        default="all",
        help="all | stable | comma list; -name removes one. Known: " + ", ".join(sorted(FEATURES)),
    )
    parser.add_argument("--jobs", type=int, default=1, help="worker processes")
    parser.add_argument("--timeout", type=float, default=120.0, help="seconds per program")
    parser.add_argument("--no-shrink", action="store_true")
    parser.add_argument(
        "--shrink-all", action="store_true", help="shrink every failure, not one per message"
    )
    parser.add_argument("--shrink-budget", type=int, default=120, help="evaluations per shrink")
    parser.add_argument(
        "--show", action="store_true", help="print the programs of the seeds and exit"
    )
    parser.add_argument("--verbose", "-v", action="store_true", help="one line per program")
    args = parser.parse_args(argv)

    from tests.fuzz.campaign import Pool, run_campaign, summarize
    from tests.fuzz.generate import generate
    from tests.fuzz.shrink import TEST_PRELUDE, shrink, size, to_pytest

    features = parse_features(args.features)
    seeds = parse_seeds(args.seeds)
    modes = ["forward", "derivatives"] if args.mode == "both" else [args.mode]
    if args.show:
        for mode in modes:
            for s in seeds:
                print(f"# seed {s}, {mode}\n{generate(s, mode, features).render()}")
        return 0

    def progress(p, o):
        if args.verbose or o.failed():
            print(f"  seed {p.seed:5d} {p.mode:11s} {o.cls:9s} {o.detail[:200]}", flush=True)

    failed = False
    summaries = []
    for mode in modes:
        programs, outcomes, elapsed = run_campaign(
            mode, seeds, features, args.jobs, args.timeout, progress
        )
        summary = summarize(mode, programs, outcomes, elapsed)
        print(summary, flush=True)
        summaries.append(summary)
        failures = [(p, o) for p, o in zip(programs, outcomes) if o.failed()]
        failed |= bool(failures)
        if args.no_shrink or not failures:
            continue
        seen = set()
        pool = Pool(1, args.timeout)
        print("\n# the shrunk failures below need, at the top of their test file:\n" + TEST_PRELUDE)
        try:
            for p, o in failures:
                key = (o.cls, o.signature)
                if key in seen and not args.shrink_all:
                    continue
                seen.add(key)
                print(
                    f"\n-- shrinking seed {p.seed} ({mode}, {o.cls}: {o.detail[:160]})", flush=True
                )
                start = time.time()
                small, small_outcome, spent = shrink(
                    p, o, pool.evaluate, args.shrink_budget, log=print if args.verbose else None
                )
                print(
                    f"   size {size(p)} -> {size(small)} in {spent} evaluations, {time.time() - start:.0f} s;"
                    f" {small_outcome.cls}: {small_outcome.detail[:200]}\n"
                )
                print(to_pytest(small, small_outcome), flush=True)
        finally:
            pool.close()
    if len(summaries) > 1:
        print("\n".join(summaries))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())

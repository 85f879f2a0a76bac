"""Would rejecting a size candidate on its instruction count, before code generation,
ever change the winner? (Issue 17: "reject a candidate on a cheap measure before paying
for code generation, where that never changes the winner".)

Replays, per program, a list of pipelines in order, as search would meet them, with
sizes and instruction counts already measured: a candidate whose instruction count is
more than ``1 + t`` times the current best's would be rejected without code generation.
Prints, for each threshold ``t``, the share of code generations saved, the programs
whose winner changes and the mean loss in percent of size.

The measurements come from a results cache (size objective) filled by
``LLMC_CACHE=DB llmc ranker collect $(cat programs) --lists POOL.json --objective size``
on the tuning side; the order is that of POOL.json.

Usage: python benchmarks/cheap_reject.py DB POOL.json [--thresholds 0.1,0.2,0.3,0.5,1]
"""

from __future__ import annotations

import argparse
import json
import sqlite3
import sys
from collections import defaultdict


def measurements(db: str) -> dict[str, dict[str, tuple[int, int]]]:
    """(size, instcount) by pipeline, by module hash, of every size result in ``db``."""
    with sqlite3.connect(f"file:{db}?mode=ro", uri=True) as conn:
        rows = conn.execute(
            "SELECT module_hash, pipeline, size, instcount FROM results"
            " WHERE status = 'ok' AND objective LIKE 'size/%'"
        ).fetchall()
    out: dict[str, dict[str, tuple[int, int]]] = defaultdict(dict)
    for digest, pipeline, size, instcount in rows:
        out[digest][pipeline] = (size, instcount)
    return out


def replay(values: dict[str, tuple[int, int]], order: list[str], t: float):
    """(winner's size with the rule, true winner's size, candidates met, rejected)."""
    best = best_count = None
    met = rejected = 0
    for pipeline in order:
        if pipeline not in values:
            continue
        size, count = values[pipeline]
        met += 1
        if best is not None and count > best_count * (1 + t):
            rejected += 1
            continue
        if best is None or size < best:
            best, best_count = size, count
    return best, min(s for s, _ in values.values()), met, rejected


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("db", help="results cache (SQLite) holding size results")
    parser.add_argument("pool", help="the lists, in the order search meets them (JSON)")
    parser.add_argument("--thresholds", default="0.1,0.2,0.3,0.5,1")
    args = parser.parse_args(argv)
    try:
        data = measurements(args.db)
        with open(args.pool) as f:
            order = [entry["pipeline"] for entry in json.load(f)["lists"]]
    except (OSError, sqlite3.Error, ValueError, KeyError) as err:
        print(f"cheap_reject: {err}", file=sys.stderr)
        return 1
    data = {d: v for d, v in data.items() if any(p in v for p in order)}
    print(f"{len(data)} programs, {len(order)} lists")
    print("threshold  codegen saved  winner changed  mean loss")
    for t in (float(x) for x in args.thresholds.split(",")):
        met = rejected = changed = 0
        loss = 0.0
        for values in data.values():
            found, true, m, r = replay(values, order, t)
            met, rejected = met + m, rejected + r
            if found != true:
                changed += 1
                loss += (found - true) / true * 100
        print(
            f"{t:9.2f}  {100 * rejected / max(met, 1):12.1f}%  {changed:14d}"
            f"  {loss / max(len(data), 1):8.4f}%"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())

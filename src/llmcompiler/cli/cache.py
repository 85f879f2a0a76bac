"""``llmc cache``: what the results cache holds (``info``) and emptying it (``clear``)."""

from __future__ import annotations

import argparse
import json
import os

from llmcompiler.cli import args as common
from llmcompiler.cli.report import status
from llmcompiler.engine.cache import (
    MAX_MB_VARIABLE,
    ResultCache,
    disk_bytes,
    max_mb_from_environment,
)
from llmcompiler.errors import LLMCError, UsageError


def add_commands(subparsers: argparse._SubParsersAction) -> None:
    """Add ``cache``."""
    p = subparsers.add_parser("cache", help="show or clear the results cache")
    p.add_argument("action", choices=("info", "clear"))
    p.add_argument(
        "--cache",
        default=common.default_cache(),
        metavar="PATH",
        help="the cache (default: $LLMC_CACHE or ~/.cache/llmcompiler/results.sqlite)",
    )
    common.add_json(p, "print info as JSON")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    """Print the cache's path, rows, size on disk, limit, hits and misses; or delete every
    row. Returns 0.

    Raises:
        UsageError: no cache path ($LLMC_CACHE is empty and no --cache).
        LLMCError: clear on a file that is not a usable cache, or that cannot be written.
    """
    if not args.cache:
        raise UsageError("no cache: $LLMC_CACHE is empty; name one with --cache")
    path = args.cache
    if args.action == "clear":
        return _clear(path)
    info = {
        "path": path,
        "rows": 0,
        "bytes": disk_bytes(path),
        "limit_mb": max_mb_from_environment(),
        "hits": 0,
        "misses": 0,
        "state": "no file yet" if not os.path.exists(path) else "ok",
    }
    if os.path.exists(path):
        with ResultCache(path) as cache:
            if cache.usable:
                info.update(cache.totals())
            if cache.problem:
                info["state"] = cache.problem.removeprefix(f"{path}: ")
    if args.json:
        print(json.dumps(info, indent=2))
        return 0
    limit = "" if MAX_MB_VARIABLE in os.environ else f" (set {MAX_MB_VARIABLE} to change)"
    lookups = info["hits"] + info["misses"]
    rate = f" ({info['hits'] / lookups:.0%} of {lookups} lookups)" if lookups else ""
    for name, value in (
        ("path", path),
        ("state", info["state"]),
        ("rows", info["rows"]),
        ("on disk", _megabytes(info["bytes"])),
        ("limit", f"{info['limit_mb']:g} MB{limit}"),
        ("hits", f"{info['hits']}{rate}"),
        ("misses", info["misses"]),
    ):
        print(f"{name:8} {value}")
    return 0


def _clear(path: str) -> int:
    if not os.path.exists(path):
        status(f"no cache at {path}")
        return 0
    with ResultCache(path) as cache:
        if not cache.usable:
            raise LLMCError(f"{path}: not cleared: not a usable results cache")
        before = disk_bytes(path)
        count = cache.clear()
    after = disk_bytes(path)
    status(f"removed {count} results from {path} ({_megabytes(before)} -> {_megabytes(after)})")
    return 0


def _megabytes(count: int) -> str:
    return f"{count / 2**20:.1f} MB"

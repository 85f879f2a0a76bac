"""Inject faults into real ``llmc`` processes and check that nothing breaks that should not.

Scenarios, each a real ``llmc optimize`` or ``llmc autotune`` process:

- kill-workers: SIGKILL random evaluation workers during ``optimize``; it must finish
  and report every file (a killed worker is a failed evaluation, never a dead tuner);
- SIGINT, Ctrl-C (SIGINT to the process group) and SIGTERM at a random moment of
  ``optimize`` and of ``autotune``; exit 130/143 with one error line within 2 s, and a
  second run resumes (``autotune``: from its database) and finishes;
- kill a tuning process of ``autotune``: one clear error, then a run that resumes;
- a full disk for the cache (a 160 KB tmpfs; without mount rights, an immutable
  directory): ``optimize`` runs on with one warning;
- a read-only autotuning database (``chattr +i``): one clear error, the database as it
  was.

Counted over all runs: tracebacks in stderr, processes left behind (every descendant
seen while a run lasted, alive 1 s after it ended), lost results (a file ``optimize``
did not report, a row ``autotune`` printed but did not store, a database that lost a
row). Each must be 0; the exit status is 1 when any invariant fails.

Usage: python benchmarks/faults.py [--seed 0] [--kills 6]
"""

from __future__ import annotations

import argparse
import contextlib
import os
import random
import signal
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import psutil

HERE = Path(__file__).parent
FIXTURES = HERE.parent / "tests" / "fixtures" / "programs"
PROGRAMS = [str(FIXTURES / n) for n in ("loops.c", "switch.c", "recursion.c", "globals.c")]
WORKER = "llmcompiler.engine.worker"
EXIT = {signal.SIGINT: 130, signal.SIGTERM: 143}


@dataclass
class Tally:
    runs: int = 0
    faults: int = 0
    tracebacks: int = 0
    leaked: int = 0
    lost: int = 0
    failures: list[str] = field(default_factory=list)

    def check(self, ok: bool, what: str) -> None:
        if not ok:
            self.failures.append(what)
            print(f"  FAILED: {what}", flush=True)


@dataclass
class Run:
    code: int
    out: str
    err: str
    seconds: float  # from the fault (or the start) to the exit


class Watched:
    """A running ``llmc``: output to files, every descendant remembered while it runs."""

    def __init__(self, argv: list[str], workdir: Path, env: dict, group: bool = False) -> None:
        self.out, self.err = workdir / "stdout", workdir / "stderr"
        with open(self.out, "wb") as o, open(self.err, "wb") as e:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "llmcompiler", *argv],
                stdout=o,
                stderr=e,
                stdin=subprocess.DEVNULL,
                env=env,
                start_new_session=group,
            )
        self.seen: dict[int, psutil.Process] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._watch, daemon=True)
        self._thread.start()

    def _watch(self) -> None:
        while not self._stop.is_set() and self.proc.poll() is None:
            self.descendants()
            time.sleep(0.05)

    def descendants(self) -> list[psutil.Process]:
        try:
            kids = psutil.Process(self.proc.pid).children(recursive=True)
        except psutil.Error:
            return []
        for k in kids:
            self.seen.setdefault(k.pid, k)
        return kids

    def workers(self) -> list[psutil.Process]:
        return [k for k in self.descendants() if WORKER in _cmdline(k)]

    def wait_for_workers(self, timeout: float = 90) -> bool:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and self.proc.poll() is None:
            if self.workers():
                return True
            time.sleep(0.05)
        return False

    def finish(self, since: float, timeout: float = 300) -> Run:
        try:
            code = self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            code = self.proc.wait()
        seconds = time.monotonic() - since
        self._stop.set()
        self._thread.join()
        return Run(code, self.out.read_text(), self.err.read_text(), seconds)

    def leftovers(self) -> list[psutil.Process]:
        """Descendants still alive (1 s after the exit); killed on the way out."""
        time.sleep(1.0)
        left = [p for p in self.seen.values() if _alive(p)]
        for p in left:
            with contextlib.suppress(psutil.Error):
                p.kill()
        return left


def _cmdline(p: psutil.Process) -> str:
    try:
        return " ".join(p.cmdline())
    except psutil.Error:
        return ""


def _alive(p: psutil.Process) -> bool:
    try:
        return p.is_running() and p.status() != psutil.STATUS_ZOMBIE
    except psutil.Error:
        return False


def _account(tally: Tally, name: str, run: Run, left: list[psutil.Process]) -> None:
    tally.runs += 1
    tracebacks = run.err.count("Traceback (most recent call last)")
    tally.tracebacks += tracebacks
    tally.leaked += len(left)
    tally.check(tracebacks == 0, f"{name}: traceback in stderr:\n{run.err[-1500:]}")
    tally.check(not left, f"{name}: left behind: {[_cmdline(p)[:80] for p in left]}")


def _plain(tally: Tally, name: str, argv, workdir: Path, env: dict) -> Run:
    """Run ``llmc`` to its end with no fault; count it."""
    w = Watched(argv, workdir, env)
    run = w.finish(time.monotonic())
    _account(tally, name, run, w.leftovers())
    return run


def _reported(out: str) -> int:
    """Files with a result in ``optimize``'s table."""
    return sum(1 for line in out.splitlines() if line.startswith("  passes:"))


def kill_workers(tally: Tally, rng: random.Random, workdir: Path, env: dict, kills: int) -> None:
    name = "optimize, workers killed"
    argv = ["optimize", *PROGRAMS, "--evaluations", "80", "--budget", "300", "--jobs", "2"]
    w = Watched([*argv, "--seed", str(rng.randrange(1000))], workdir, env)
    w.wait_for_workers()
    done = 0
    start = time.monotonic()
    while done < kills and w.proc.poll() is None:
        time.sleep(rng.uniform(0.3, 1.2))
        workers = w.workers()
        if workers:
            with contextlib.suppress(psutil.Error):
                rng.choice(workers).kill()
                done += 1
    tally.faults += done
    run = w.finish(start)
    _account(tally, name, run, w.leftovers())
    lost = len(PROGRAMS) - _reported(run.out)
    tally.lost += lost
    tally.check(run.code == 0, f"{name}: exit {run.code}:\n{run.err[-1500:]}")
    tally.check(lost == 0, f"{name}: {lost} files not reported")
    print(f"  {name}: {done} workers killed, {_reported(run.out)} files reported", flush=True)


def interrupt(
    tally: Tally,
    rng: random.Random,
    workdir: Path,
    env: dict,
    command: str,
    sig: int,
    group: bool,
) -> None:
    how = "Ctrl-C" if group else signal.Signals(sig).name
    name = f"{command}, {how}"
    db = workdir / "tune.sqlite"
    if command == "optimize":
        argv = ["optimize", *PROGRAMS, "--budget", "60", "--jobs", "2", "--validate"]
        resume = ["optimize", *PROGRAMS, "--evaluations", "10", "--jobs", "2"]
    else:
        # 2.5 s a program, two at a time: the signal may come while rows are stored
        argv = ["autotune", *PROGRAMS, "--budget-per-program", "2.5", "--db", str(db), "-j", "2"]
        resume = ["autotune", *PROGRAMS, "--evaluations-per-program", "10", "--db", str(db)]
        resume += ["--jobs", "2"]
    w = Watched(argv, workdir, env, group=group)
    w.wait_for_workers()
    time.sleep(rng.uniform(0.2, 3.0) if command == "optimize" else rng.uniform(0.5, 4.5))
    start = time.monotonic()
    if w.proc.poll() is not None:
        print(f"  {name}: finished before the signal; not counted", flush=True)
        w.finish(start)
        return
    if group:
        os.killpg(w.proc.pid, sig)
    else:
        w.proc.send_signal(sig)
    tally.faults += 1
    run = w.finish(start)
    _account(tally, name, run, w.leftovers())
    errors = [ln for ln in run.err.splitlines() if ln.startswith("llmc: error")]
    tally.check(run.code == EXIT[sig], f"{name}: exit {run.code}, not {EXIT[sig]}")
    tally.check(errors == ["llmc: error: interrupted"], f"{name}: error lines {errors}")
    tally.check(run.seconds < 2.0, f"{name}: {run.seconds:.2f} s to exit")
    stored = set()
    if command == "autotune":
        stored = _consistent(tally, name, db)
        printed = len(run.out.splitlines())
        tally.lost += max(0, printed - len(stored))
        tally.check(printed <= len(stored), f"{name}: {printed} rows printed, {len(stored)} stored")
    again = _plain(tally, f"{name}, resumed", resume, workdir, env)
    tally.check(again.code == 0, f"{name}, resumed: exit {again.code}:\n{again.err[-800:]}")
    if command == "autotune":
        if stored:
            said = f"resuming: {len(stored)} of {len(PROGRAMS)} programs already in"
            tally.check(said in again.err, f"{name}, resumed: no '{said}'")
        final = _consistent(tally, f"{name}, resumed", db)
        tally.lost += len(stored - final)
        tally.check(len(final) == len(PROGRAMS), f"{name}, resumed: {len(final)} programs")
    else:
        lost = len(PROGRAMS) - _reported(again.out)
        tally.lost += lost
        tally.check(lost == 0, f"{name}, resumed: {lost} files not reported")
    print(
        f"  {name}: exit {run.code} in {run.seconds:.2f} s, "
        f"{len(stored) if command == 'autotune' else '-'} stored; resumed: exit {again.code}",
        flush=True,
    )


def _consistent(tally: Tally, name: str, path: Path) -> set[str]:
    """Hashes in an autotuning database after checking it is intact."""
    if not path.exists():
        return set()
    db = sqlite3.connect(path)
    try:
        ok = db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        orphans = db.execute(
            "SELECT COUNT(*) FROM lists WHERE hash NOT IN (SELECT hash FROM programs)"
        ).fetchone()[0]
        hashes = {h for (h,) in db.execute("SELECT hash FROM programs")}
    finally:
        db.close()
    tally.check(ok and orphans == 0, f"{name}: database not consistent ({orphans} orphan lists)")
    return hashes


def kill_tuning_process(tally: Tally, rng: random.Random, workdir: Path, env: dict) -> None:
    name = "autotune, tuning process killed"
    db = workdir / "tune.sqlite"
    argv = ["autotune", *PROGRAMS, "--budget-per-program", "60", "--db", str(db), "-j", "2"]
    w = Watched(argv, workdir, env)
    w.wait_for_workers()
    time.sleep(rng.uniform(0.2, 2.0))
    start = time.monotonic()
    children = [k for k in w.descendants() if "spawn_main" in _cmdline(k)]
    if children:
        with contextlib.suppress(psutil.Error):
            rng.choice(children).kill()
            tally.faults += 1
    run = w.finish(start)
    _account(tally, name, run, w.leftovers())
    last = run.err.strip().splitlines()[-1:] or [""]
    expected = "llmc: error: a tuning process died (killed, or out of memory); rerun to resume"
    tally.check(run.code == 1 and last == [expected], f"{name}: exit {run.code}, {last}")
    stored = _consistent(tally, name, db)
    tally.lost += max(0, len(run.out.splitlines()) - len(stored))
    resume = ["autotune", *PROGRAMS, "--evaluations-per-program", "10", "--db", str(db)]
    again = _plain(tally, f"{name}, resumed", [*resume, "-j", "2"], workdir, env)
    final = _consistent(tally, f"{name}, resumed", db)
    tally.lost += len(stored - final)
    tally.check(again.code == 0 and len(final) == len(PROGRAMS), f"{name}, resumed: {again.err}")
    print(f"  {name}: exit {run.code}, {len(stored)} stored; resumed: exit {again.code}")


@contextlib.contextmanager
def full_disk(workdir: Path):
    """A directory whose writes fail: a 160 KB tmpfs with 96 KB left (the cache is made,
    then fills it); else an immutable directory (the cache cannot be made)."""
    mount = workdir / "disk"
    mount.mkdir()
    proc = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=160k", "tmpfs", str(mount)], capture_output=True
    )
    if proc.returncode == 0:
        try:
            filler = mount / "filler"
            with contextlib.suppress(OSError), open(filler, "wb") as f:
                while True:
                    f.write(b"\0" * 4096)
                    f.flush()
            os.truncate(filler, max(0, filler.stat().st_size - 96 * 1024))
            yield mount, "a 160 KB tmpfs that fills up"
        finally:
            subprocess.run(["umount", "-l", str(mount)], check=False)
        return
    if subprocess.run(["chattr", "+i", str(mount)], capture_output=True).returncode:
        yield None, "neither mount nor chattr allowed"
        return
    try:
        yield mount, "an immutable directory (no mount rights)"
    finally:
        subprocess.run(["chattr", "-i", str(mount)], check=False)


def cache_on_full_disk(tally: Tally, workdir: Path, env: dict) -> None:
    name = "optimize, cache on a full disk"
    with full_disk(workdir) as (disk, how):
        if disk is None:
            print(f"  {name}: skipped ({how})")
            return
        argv = ["optimize", *PROGRAMS, "--evaluations", "10", "--jobs", "2"]
        run = _plain(tally, name, [*argv, "--cache", str(disk / "cache.sqlite")], workdir, env)
        tally.faults += 1
    warnings = [ln for ln in run.err.splitlines() if ln.startswith("llmc: warning:")]
    lost = len(PROGRAMS) - _reported(run.out)
    tally.lost += lost
    tally.check(run.code == 0 and lost == 0, f"{name}: exit {run.code}, {lost} not reported")
    tally.check(len(warnings) == 1, f"{name}: {len(warnings)} warning lines: {warnings}")
    print(f"  {name} ({how}): exit {run.code}, {warnings[0] if warnings else 'no warning'}")


def read_only_database(tally: Tally, workdir: Path, env: dict) -> None:
    name = "autotune, read-only database"
    db = workdir / "ro.sqlite"
    quick = ["--evaluations-per-program", "10", "--db", str(db)]
    _plain(tally, f"{name} (made)", ["autotune", PROGRAMS[0], *quick], workdir, env)
    before = _consistent(tally, name, db)
    if subprocess.run(["chattr", "+i", str(db)], capture_output=True).returncode:
        print(f"  {name}: skipped (chattr +i not allowed)")
        return
    try:
        tally.faults += 1
        run = _plain(tally, name, ["autotune", *PROGRAMS, *quick, "-j", "2"], workdir, env)
        after = _consistent(tally, name, db)
    finally:
        subprocess.run(["chattr", "-i", str(db)], check=False)
    errors = [ln for ln in run.err.splitlines() if ln.startswith("llmc: error")]
    tally.lost += len(before - after)
    tally.check(run.code == 1 and len(errors) == 1, f"{name}: exit {run.code}, {errors}")
    tally.check(before == after, f"{name}: the database changed")
    print(f"  {name}: exit {run.code}, {errors[0] if errors else ''}")
    print(f"    the database keeps its {len(after)} program(s)")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--kills", type=int, default=6, help="workers killed in optimize")
    args = parser.parse_args()
    rng = random.Random(args.seed)
    tally = Tally()
    start = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="llmc-faults-") as tmp:
        root = Path(tmp)
        env = dict(os.environ, LLMC_CACHE=str(root / "cache.sqlite"))  # never the user's

        def step(name: str) -> Path:
            folder = root / name
            folder.mkdir()
            return folder

        print("faults injected into real llmc processes:", flush=True)
        kill_workers(tally, rng, step("kill"), env, args.kills)
        for command in ("optimize", "autotune"):
            for sig, group in ((signal.SIGINT, False), (signal.SIGINT, True), (signal.SIGTERM, 0)):
                folder = step(f"{command}-{signal.Signals(sig).name}-{int(group)}")
                interrupt(tally, rng, folder, env, command, sig, bool(group))
        kill_tuning_process(tally, rng, step("tuning-killed"), env)
        cache_on_full_disk(tally, step("full"), env)
        read_only_database(tally, step("ro"), env)
    print(
        f"\nruns {tally.runs}, faults injected {tally.faults}, tracebacks {tally.tracebacks}, "
        f"leaked processes {tally.leaked}, lost results {tally.lost}, "
        f"invariants failed {len(tally.failures)} ({time.monotonic() - start:.0f} s)"
    )
    return 1 if tally.failures else 0


if __name__ == "__main__":
    sys.exit(main())

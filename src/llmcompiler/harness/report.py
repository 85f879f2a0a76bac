"""The files an evaluation writes: ``results.json`` and a self-contained ``report.html``.

``results.json`` holds the run's configuration, one row per item and the summary, with
the paper's figures beside ours. ``report.html`` needs nothing but a browser: the
tables, and plots drawn with matplotlib's Agg renderer embedded as base64 PNG. Without
matplotlib the page is written without plots and says so.
"""

from __future__ import annotations

import base64
import html
import io
import json
from collections.abc import Callable
from pathlib import Path

from llmcompiler import __version__
from llmcompiler.harness.config import EvalRun
from llmcompiler.llvm import version

SCHEMA_VERSION = 1
RESULTS = "results.json"
REPORT = "report.html"
MAX_ROWS = 2000  # rows shown in the HTML table (results.json has all)
CAVEAT = (
    "The paper's figures (Cummins et al., 2024, arXiv 2407.02524) are for Meta's LLM "
    "Compiler FTD models with LLVM 17; flag tuning on MiBench. Ours are for the model, "
    "method and data named above with LLVM 19: a point of reference, not a like-for-like "
    "comparison."
)

#: (metric, the paper's figure, where our number is in the summary, unit)
PAPER: dict[str, list[tuple[str, str, tuple[str, ...], str]]] = {
    "flag-tuning": [
        (
            "mean improvement over -Oz, without fallback",
            "FTD-7B 4.77 %, FTD-13B 4.88 %",
            ("without_fallback", "mean_pct"),
            "%",
        ),
        (
            "mean improvement over -Oz, with -Oz fallback",
            "FTD-7B 5.24 %, FTD-13B 5.26 %",
            ("with_fallback", "mean_pct"),
            "%",
        ),
    ],
    "disassembly": [
        ("round trip", "FTD-13B 45 %", ("round_trip_pct",), "%"),
        ("BLEU of round-tripped assembly", "FTD-13B 0.96", ("bleu_round_trip_mean",), ""),
        ("exact match (round trip)", "FTD-13B 13.8 %", ("exact_match_pct",), "%"),
    ],
    "emulation": [("exact match", "20 %", ("exact_match_pct",), "%")],
}


def paper_table(run: EvalRun) -> list[dict]:
    """The paper's figures for the run's task beside ours (None where we have none)."""
    out = []
    for metric, paper, path, unit in PAPER.get(run.task, []):
        value = run.summary
        for key in path:
            value = value.get(key) if isinstance(value, dict) else None
        row = {"metric": metric, "paper": paper, "ours": value, "unit": unit}
        if value is None and path[0] == "without_fallback":
            row["note"] = "only for --method model (search includes -Oz: nothing to fall back from)"
        out.append(row)
    return out


def results_json(run: EvalRun) -> dict:
    """Everything ``results.json`` holds."""
    return {
        "schema_version": SCHEMA_VERSION,
        "kind": "llmcompiler-eval",
        "llmcompiler_version": __version__,
        "llvm_version": ".".join(map(str, version())),
        **run.to_json(),
        "paper": paper_table(run),
    }


def write_report(run: EvalRun, out_dir: str | Path) -> tuple[Path, Path]:
    """Write ``results.json`` and ``report.html`` into ``out_dir`` (created if needed).

    Returns their paths.

    Raises:
        OSError: the directory or files cannot be written.
    """
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    data = results_json(run)
    results = out / RESULTS
    results.write_text(json.dumps(data, indent=2, default=str) + "\n")
    report = out / REPORT
    report.write_text(render_html(run, data), encoding="utf-8")
    return results, report


# -- HTML ------------------------------------------------------------------------------

_STYLE = """
body{font-family:system-ui,sans-serif;margin:2em;max-width:1200px;color:#222}
table{border-collapse:collapse;margin:1em 0;font-size:13px}
td,th{border:1px solid #ccc;padding:3px 8px;text-align:right}
th{background:#f3f3f3}td.l,th.l{text-align:left}
.note{color:#555;font-size:13px}img{max-width:100%;border:1px solid #eee;margin:.5em 0}
code{font-size:12px}
"""


def _fmt(value, unit: str = "") -> str:
    """A cell: "–" for None, yes/no, 2 decimals with a unit, 4 without."""
    if value is None:
        return "–"
    if isinstance(value, bool):
        return "yes" if value else "no"
    text = (f"{value:.2f}" if unit else f"{value:.4f}") if isinstance(value, float) else str(value)
    return f"{text} {unit}" if unit else text


def _table(headers: list[str], rows: list[list[str]], left: int = 1) -> str:
    def cells(values: list[str], tag: str) -> str:
        return "".join(
            f"<{tag}{' class=l' if i < left else ''}>{html.escape(v)}</{tag}>"
            for i, v in enumerate(values)
        )

    body = "".join(f"<tr>{cells(r, 'td')}</tr>" for r in rows)
    return f"<table><tr>{cells(headers, 'th')}</tr>{body}</table>"


def _unit(key: str) -> str:
    """The unit of a summary value, from its key."""
    if key.endswith(("_pct", "mape")):
        return "%"
    return "s" if key.endswith("seconds") else ""


def _flat(summary: dict, prefix: str = "") -> list[tuple[str, object]]:
    out = []
    for key, value in summary.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict):
            out += _flat(value, name + ".")
        else:
            out.append((name, value))
    return out


Column = tuple[str, Callable[[dict], object], str]


def _columns(task: str, rows: list[dict]) -> list[Column]:
    if task == "flag-tuning":
        cols: list[Column] = [
            ("program", lambda r: r["program"], ""),
            ("-Oz size", lambda r: r.get("oz_size"), ""),
            ("size", lambda r: r.get("size"), ""),
            ("improvement", lambda r: r.get("improvement_pct"), "%"),
        ]
        if any("no_fallback_size" in r for r in rows):
            cols += [
                ("no-fallback size", lambda r: r.get("no_fallback_size"), ""),
                ("no-fallback", lambda r: r.get("no_fallback_improvement_pct"), "%"),
                ("valid proposals", lambda r: r.get("valid_proposals"), ""),
            ]
        return cols + [
            ("evaluations", lambda r: r.get("evaluations"), ""),
            ("seconds", lambda r: r.get("seconds"), "s"),
            ("pipeline or error", lambda r: r.get("error") or _cut(r.get("pipeline"), 120), ""),
        ]
    if task == "emulation":
        return [
            ("item", lambda r: r["id"], ""),
            ("instrs predicted", lambda r: r.get("predicted", {}).get("instcount"), ""),
            ("instrs real", lambda r: r.get("real", {}).get("instcount"), ""),
            ("size predicted", lambda r: r.get("predicted", {}).get("size"), ""),
            ("size real", lambda r: r.get("real", {}).get("size"), ""),
            ("size error", lambda r: r.get("size_error_pct"), "%"),
            ("exact", lambda r: r.get("exact_match"), ""),
            ("BLEU", lambda r: r.get("bleu"), ""),
            ("compiles", lambda r: r.get("compiles"), ""),
            ("reason", lambda r: _cut(r.get("error") or r.get("reason"), 160), ""),
        ]
    return [
        ("item", lambda r: r["id"], ""),
        ("round trip", lambda r: r.get("round_trip"), ""),
        ("BLEU", lambda r: r.get("bleu"), ""),
        ("exact", lambda r: r.get("exact_match"), ""),
        ("IR exact", lambda r: r.get("ir_exact_match"), ""),
        (
            "round trips",
            lambda r: f"{r['round_trips']}/{r['candidates']}" if "best" in r else None,
            "",
        ),
        ("reason", lambda r: _cut(r.get("error") or r.get("reason"), 160), ""),
    ]


def _round_trips(row: dict) -> str | None:
    return f"{row['round_trips']}/{row['candidates']}" if "candidates" in row else None


def _cut(text: str | None, limit: int) -> str | None:
    if text is None:
        return None
    return text if len(text) <= limit else text[: limit - 3] + "..."


def render_html(run: EvalRun, data: dict | None = None) -> str:
    """The self-contained HTML page for ``run``."""
    data = data or results_json(run)
    parts = [
        f"<!doctype html><html><head><meta charset=utf-8><title>llmc eval {run.task}</title>",
        f"<style>{_STYLE}</style></head><body><h1>llmc eval {html.escape(run.task)}</h1>",
        f"<p class=note>llmcompiler {html.escape(data['llmcompiler_version'])}, LLVM "
        f"{html.escape(data['llvm_version'])}; model: {html.escape(str(run.model or '–'))}; "
        f"{len(run.rows)} items, {run.errors} not evaluated.</p>",
        "<h2>Compared with the paper</h2>",
        _table(
            ["metric", "paper", "ours"],
            [
                [p["metric"], p["paper"], p.get("note") or _fmt(p["ours"], p["unit"])]
                for p in data["paper"]
            ],
        ),
        f"<p class=note>{html.escape(CAVEAT)}</p>",
        "<h2>Summary</h2>",
        _table(["metric", "value"], [[k, _fmt(v, _unit(k))] for k, v in _flat(run.summary)]),
        "<h2>Plots</h2>",
    ]
    plots, note = _plots(run)
    if note:
        parts.append(f"<p class=note>{html.escape(note)}</p>")
    for title, png in plots:
        parts.append(f'<h3>{html.escape(title)}</h3><img alt="{html.escape(title)}" ')
        parts.append(f'src="data:image/png;base64,{png}">')
    rows = list(run.rows)
    columns = _columns(run.task, rows)
    parts.append(f"<h2>Items</h2><p class=note>{len(rows)} rows")
    if len(rows) > MAX_ROWS:
        parts.append(f"; the first {MAX_ROWS} shown, all are in {RESULTS}")
    parts.append(".</p>")
    table_rows = [[_fmt(get(r), unit) for _, get, unit in columns] for r in rows[:MAX_ROWS]]
    parts.append(_table([name for name, _, _ in columns], table_rows))
    parts.append("<h2>Configuration</h2>")
    parts.append(_table(["setting", "value"], [[k, _fmt(v)] for k, v in _flat(run.config)]))
    parts.append("</body></html>\n")
    return "".join(parts)


# -- plots --------------------------------------------------------------------------


def _plots(run: EvalRun) -> tuple[list[tuple[str, str]], str | None]:
    """(title, base64 PNG) per plot, and a note when plots are missing."""
    try:
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure
        from matplotlib.ticker import MaxNLocator
    except ImportError:
        return [], "Plots are missing: matplotlib is not installed (pip install matplotlib)."
    done = [r for r in run.rows if "error" not in r]
    if not done:
        return [], "No plots: no item was evaluated."

    def png(draw: Callable) -> str:
        figure = Figure(figsize=(9, 3.6), dpi=100)
        FigureCanvasAgg(figure)
        axes = figure.add_subplot()
        draw(axes)
        figure.tight_layout()
        buffer = io.BytesIO()
        figure.savefig(buffer, format="png")
        return base64.b64encode(buffer.getvalue()).decode()

    def histogram(values: list[float], label: str):
        def draw(ax):
            ax.hist(values, bins=min(30, max(5, len(values))), color="#4c78a8")
            ax.set_xlabel(label)
            ax.set_ylabel("items")
            ax.yaxis.set_major_locator(MaxNLocator(integer=True))

        return draw

    out = []
    if run.task == "flag-tuning":
        gains = [r["improvement_pct"] for r in done]
        no_fallback = [r.get("no_fallback_improvement_pct") for r in done]
        names = [Path(r["program"]).name for r in done]

        def bars(ax):
            x = range(len(done))
            if all(v is not None for v in no_fallback):
                ax.bar([i - 0.2 for i in x], gains, 0.4, label="with -Oz fallback")
                ax.bar([i + 0.2 for i in x], no_fallback, 0.4, label="without fallback")
                ax.legend()
            else:
                ax.bar(list(x), gains, color="#4c78a8")
            ax.axhline(0, color="black", linewidth=0.8)
            ax.set_ylabel("improvement over -Oz (%)")
            if len(done) <= 40:
                ax.set_xticks(list(x), names, rotation=60, ha="right", fontsize=7)
            else:
                ax.set_xlabel("programs")

        out.append(("Improvement over -Oz per program", png(bars)))
        out.append(
            ("Distribution of improvement", png(histogram(gains, "improvement over -Oz (%)")))
        )
    elif run.task == "emulation":
        errors = [r["size_error_pct"] for r in done if r.get("size_error_pct") is not None]
        if errors:
            out.append(("Size error of the claims", png(histogram(errors, "size error (%)"))))
        bleu = [r["bleu"] for r in done]
        out.append(("BLEU of the predicted code", png(histogram(bleu, "BLEU"))))
    else:
        bleu = [r["bleu"] for r in done if r["round_trip"]]
        if bleu:
            out.append(("BLEU of the round-tripped assembly", png(histogram(bleu, "BLEU"))))
    return out, None if out else "No plots: nothing to plot."

"""The report's figures: matplotlib (Agg) rendered to SVG text, with text kept as text (small, searchable,
selectable) and fixed ids, so the same lake gives the same bytes. Each function returns None when there
is nothing to draw (the page then says so)."""

from __future__ import annotations

import io
from collections import defaultdict
from collections.abc import Iterable, Sequence
from typing import Any

import matplotlib

matplotlib.use("Agg")  # no display, no GUI toolkit: a batch job or a SLURM node renders the same

import matplotlib.pyplot as plt
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from matplotlib.colors import to_hex
from matplotlib.typing import RcKeyType

from silake.report.data import FTO_BIN_S, FTO_LIMIT_S, column
from silake.schemas.qa import Severity

STYLE: dict[RcKeyType, Any] = {
    "svg.fonttype": "none",  # text as <text>, in the page's font
    "svg.hashsalt": "silake",  # deterministic element ids
    "font.size": 9,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.titlesize": 10,
    "axes.titleweight": "bold",
    "axes.grid": True,
    "grid.alpha": 0.3,
    "figure.dpi": 96,
}
SEVERITY_ORDER = {str(s): i for i, s in enumerate(Severity)}  # worst first
PALETTE: list[str] = [to_hex(c) for c in plt.get_cmap("tab10")(np.arange(10))]


def _svg(fig: Any) -> str:
    buf = io.StringIO()
    with plt.rc_context(STYLE):  # the svg.* settings apply when the file is written
        fig.savefig(buf, format="svg", bbox_inches="tight", metadata={"Date": None, "Creator": "silake"})
    plt.close(fig)
    text = buf.getvalue()
    return text[text.index("<svg"):]  # inline: no XML prolog or DOCTYPE


def _figure(*args: Any, **kwargs: Any) -> tuple[Any, Any]:
    with plt.rc_context(STYLE):
        return plt.subplots(*args, **kwargs)


def _finite(values: Iterable[Any]) -> np.ndarray:
    arr = np.array([v for v in values if v is not None], dtype=float)
    return arr[np.isfinite(arr)]


def _groups(keys: Sequence[Any], values: Sequence[Any]) -> dict[str, np.ndarray]:
    """values grouped by key (None keys as 'unknown'), non-finite values dropped, keys sorted."""
    raw: dict[str, list[Any]] = defaultdict(list)
    for k, v in zip(keys, values, strict=True):
        raw["unknown" if k is None else str(k)].append(v)
    return {k: _finite(raw[k]) for k in sorted(raw)}


def qa_flags(table: pa.Table) -> str | None:
    """Share of files per QA flag (rows) by vendor and split (columns), with the pass rate on top."""
    if table.num_rows == 0:
        return None
    rows = table.to_pylist()
    groups = sorted({(r["vendor_id"], r["split"]) for r in rows})
    flags = sorted({(SEVERITY_ORDER.get(r["severity"], 3), r["flag"]) for r in rows if r["flag"] != "qa_pass"})
    share = np.full((len(flags), len(groups)), np.nan)
    passing = np.zeros(len(groups))
    for r in rows:
        g = groups.index((r["vendor_id"], r["split"]))
        if r["flag"] == "qa_pass":
            passing[g] = r["share"]
        else:
            share[flags.index((SEVERITY_ORDER.get(r["severity"], 3), r["flag"])), g] = r["share"]
    names = [f"vendor {v}\n{s}" for v, s in groups]
    height = 1.6 + 0.28 * max(len(flags), 1)
    fig, (top, grid) = _figure(2, 1, figsize=(max(6.0, 0.9 * len(groups) + 3.2), height + 1.2),
                               gridspec_kw={"height_ratios": [1.2, height]}, sharex=True)
    top.bar(range(len(groups)), passing, color="#2a9d8f")
    top.set_ylim(0, 1)
    top.set_ylabel("pass rate")
    top.set_title("QA: files passing (top) and files per flag (share of the vendor's split)")
    for g, p in enumerate(passing):
        top.text(g, min(p + 0.05, 0.92), f"{p:.0%}", ha="center", fontsize=8)
    if flags:
        img = grid.imshow(np.nan_to_num(share, nan=0.0), aspect="auto", cmap="Reds", vmin=0, vmax=1)
        for (i, g), v in np.ndenumerate(share):
            if not np.isnan(v):
                grid.text(g, i, f"{v:.0%}", ha="center", va="center", fontsize=7,
                          color="white" if v > 0.6 else "black")
        grid.set_yticks(range(len(flags)), [f"{name} ({'EWI?'[sev]})" for sev, name in flags])
        fig.colorbar(img, ax=[top, grid], shrink=0.6, label="share of files", pad=0.01)
    grid.set_xticks(range(len(groups)), names)
    grid.grid(False)
    return _svg(fig)


def durations_and_rates(files: pa.Table) -> str | None:
    """Distribution of file durations per label, and of measured frame rates per vendor."""
    if files.num_rows == 0:
        return None
    fig, (left, right) = _figure(1, 2, figsize=(10, 3.4))
    by_label = _groups(column(files, "label"), [d / 60 if d is not None else None for d in column(files, "duration_s")])
    every = np.concatenate(list(by_label.values())) if by_label else np.array([])
    bins = np.histogram_bin_edges(every, bins=30) if every.size else 10
    for i, (label, values) in enumerate(by_label.items()):
        left.hist(values, bins=bins, histtype="step", linewidth=1.6, color=PALETTE[i], label=f"{label} ({values.size})")
    left.set(title="Duration per file", xlabel="minutes", ylabel="files")
    left.legend(frameon=False)
    by_vendor = _groups(column(files, "vendor_id"), column(files, "fps"))
    rates = np.concatenate(list(by_vendor.values())) if by_vendor else np.array([])
    if rates.size:
        lo, hi = float(rates.min()), float(rates.max())
        edges = np.linspace(lo - 0.25, hi + 0.25, 31) if hi - lo < 1 else np.histogram_bin_edges(rates, bins=30)
        for i, (vendor, values) in enumerate(by_vendor.items()):
            if values.size:
                right.hist(values, bins=edges, histtype="step", linewidth=1.6, color=PALETTE[i],
                           label=f"vendor {vendor} ({values.size})")
        right.legend(frameon=False)
    nominal = _finite(column(files, "nominal_fps"))
    if nominal.size:
        right.axvline(float(np.median(nominal)), color="grey", linestyle="--", linewidth=1)
    right.set(title="Measured frame rate (frames / audio seconds); dashed: nominal", xlabel="frames per second",
              ylabel="files")
    return _svg(fig)


def _boxes(ax: Any, groups: dict[str, np.ndarray], prefix: str = "") -> None:
    names = [k for k, v in groups.items() if v.size]
    if not names:
        ax.text(0.5, 0.5, "no values", ha="center", va="center", transform=ax.transAxes)
        return
    ax.boxplot([groups[k] for k in names], widths=0.5, medianprops={"color": "black"},
               flierprops={"markersize": 3, "alpha": 0.5})
    ax.set_xticks(range(1, len(names) + 1), [f"{prefix}{k}\n({groups[k].size})" for k in names])


def speaking_ratio(files: pa.Table) -> str | None:
    """Share of each file's duration its participant speaks (VAD), per vendor and per label."""
    ratios = _finite(column(files, "speaking_ratio"))
    if ratios.size == 0:
        return None
    fig, (left, right) = _figure(1, 2, figsize=(10, 3.2), sharey=True)
    _boxes(left, _groups(column(files, "vendor_id"), column(files, "speaking_ratio")), "vendor ")
    left.set(title="Speaking ratio per vendor", ylabel="speaking time / duration")
    _boxes(right, _groups(column(files, "label"), column(files, "speaking_ratio")))
    right.set(title="Speaking ratio per label")
    return _svg(fig)


def turn_taking(summary: pa.Table, bins: pa.Table) -> str | None:
    """Floor-transfer offsets per relationship type (density), and gaps / overlaps / transfers per minute."""
    if summary.num_rows == 0:
        return None
    fig, (left, right) = _figure(1, 2, figsize=(10, 3.4))
    per_rel: dict[str, dict[float, int]] = defaultdict(dict)
    for r in bins.to_pylist():
        per_rel[r["relationship"]][round(r["bin_start_s"], 6)] = r["n"]
    edges = np.arange(-FTO_LIMIT_S, FTO_LIMIT_S + FTO_BIN_S / 2, FTO_BIN_S)
    for i, rel in enumerate(sorted(per_rel)):
        counts = np.array([per_rel[rel].get(round(float(e), 6), 0) for e in edges[:-1]], dtype=float)
        total = counts.sum()
        if total:
            left.stairs(counts / total / FTO_BIN_S, edges, color=PALETTE[i], linewidth=1.6,
                        label=f"{rel} ({int(total)})")
    left.axvline(0, color="grey", linewidth=1)
    left.set(title="Floor-transfer offsets (< 0 overlap, > 0 gap)", xlabel=f"seconds (clipped at ±{FTO_LIMIT_S:g})",
             ylabel="density")
    if per_rel:
        left.legend(frameon=False)
    rows = summary.to_pylist()
    names = [r["relationship"] for r in rows]
    x = np.arange(len(names))
    for j, (key, label) in enumerate((("transfers_per_min", "floor transfers"), ("gaps_per_min", "gaps"),
                                      ("overlaps_per_min", "overlaps"))):
        right.bar(x + (j - 1) * 0.27, [r[key] or 0 for r in rows], width=0.27, color=PALETTE[j], label=label)
    right.set_xticks(x, [f"{n}\n({r['dyads']} dyads)" for n, r in zip(names, rows, strict=True)])
    right.set(title="Per minute of conversation, by relationship", ylabel="per minute")
    right.legend(frameon=False)
    return _svg(fig)


def validity(files: pa.Table) -> str | None:
    """Per file: the share of frames with a valid body pose, a valid face box and valid movement features."""
    if files.num_rows == 0:
        return None
    fig, axes = _figure(1, 3, figsize=(11, 3.2), sharey=True)
    vendors = column(files, "vendor_id")
    for ax, (key, title) in zip(axes, (("pose_valid_share", "Body pose valid (smplh:is_valid)"),
                                       ("box_valid_share", "Face box valid (is_valid_box)"),
                                       ("movement_valid_share", "Movement valid (movement:is_valid)")),
                                strict=True):
        _boxes(ax, _groups(vendors, column(files, key)))
        ax.set(title=title, xlabel="vendor (files)")
        ax.set_ylim(-0.03, 1.03)
    axes[0].set_ylabel("share of the file's frames")
    return _svg(fig)


def emotion_over_time(frames: pa.Table | None, interaction: str | None) -> str | None:
    """Valence and arousal per frame of both participants of one interaction (invalid frames left out)."""
    if frames is None or frames.num_rows == 0 or interaction is None:
        return None
    fig, (val, aro) = _figure(2, 1, figsize=(10, 4.2), sharex=True)
    people = frames.column("participant_id")
    for i, person in enumerate(sorted(set(people.unique().to_pylist()))):
        rows = frames.filter(pc.equal(people, person))
        t = rows.column("t_s").to_numpy()
        for ax, key in ((val, "valence"), (aro, "arousal")):  # nulls (invalid frames) become NaN: gaps
            y = rows.column(key).cast(pa.float64()).fill_null(np.nan).to_numpy()
            ax.plot(t, y, color=PALETTE[i], linewidth=1.0, label=f"participant {person}")
    val.set(title=f"Emotion over time: {interaction}", ylabel="valence")
    aro.set(xlabel="seconds", ylabel="arousal")
    val.legend(frameon=False, loc="upper left", bbox_to_anchor=(1.0, 1.0))
    return _svg(fig)

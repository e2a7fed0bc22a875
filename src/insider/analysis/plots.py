"""Paper-style figures from the cell table (matplotlib, no pyplot state).

- `bar_chart`: one scenario's harmful rates, conditions along x, one bar per model,
  Wilson 95% whiskers (like the study's Figures 7-9 and 11).
- `heat_map`: one scenario's rate by goal value x urgency in its base conditions (no
  mitigation, scratchpad on, no notice), pooled over goal types, one panel per model.
Bars carry SVG ids `bar-...`, heat-map cells `cell-...`, so the report can find them.
"""

from __future__ import annotations

import io
import re
from dataclasses import dataclass

import matplotlib
import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from insider.analysis.stats import sort_cells, wilson
from insider.conditions import GOAL_VALUES, URGENCIES
from insider.kinds import kind_names
from insider.outputs import slug

matplotlib.rcParams.update({"svg.fonttype": "none", "font.size": 9})
_HEAT_COLOURS = matplotlib.colormaps["Reds"].with_extremes(bad="#eeeeee")
#: conditions per scenario above which bar labels are left out
_LABEL_LIMIT = 40


@dataclass
class Plot:
    """A rendered figure: its file name stem (a safe slug), title, PNG bytes and SVG text."""

    name: str
    title: str
    png: bytes
    svg_text: str

    def files(self) -> dict[str, bytes | str]:
        """Its files, by path relative to the report directory."""
        return {f"plots/{self.name}.png": self.png, f"plots/{self.name}.svg": self.svg_text}

    @property
    def inline_svg(self) -> str:
        """The SVG element alone (for inlining into HTML)."""
        return self.svg_text[self.svg_text.index("<svg") :]


def series_names(cell_table: pd.DataFrame) -> pd.Series:
    """One name per cell's series: the model, plus pack/mode when the table has several."""
    several = cell_table[["pack", "mode"]].drop_duplicates().shape[0] > 1
    if not several:
        return cell_table["model"].astype(str)
    return cell_table["model"].astype(str) + " · " + cell_table["pack"].astype(str) + "/" + cell_table["mode"].astype(str)


#: longest series name a chart shows in full (a longer one would squeeze the axes away)
SHOWN_CHARACTERS = 60


def shown(name: str) -> str:
    """A series name as a chart shows it: long names are cut, with an ellipsis."""
    return name if len(name) <= SHOWN_CHARACTERS else name[: SHOWN_CHARACTERS - 1] + "…"


def scenarios_in(cell_table: pd.DataFrame) -> list[str]:
    present = set(cell_table["scenario"].dropna())
    return [s for s in kind_names() if s in present] + sorted(present - set(kind_names()))


def bar_chart(cell_table: pd.DataFrame, scenario: str) -> Figure:
    """Harmful rate per condition of one scenario, one bar per series, Wilson whiskers."""
    table = cell_table[cell_table["scenario"] == scenario].assign(series=lambda d: series_names(d))
    conditions = list(dict.fromkeys(sort_cells(table, leading=())["condition_id"]))
    series = sorted(table["series"].unique())
    width = 0.8 / max(len(series), 1)
    columns = min(len(series), 3)
    # wide enough for the bars and for the legend's widest row (about 0.065 in per character at 7 pt)
    legend = columns * (0.4 + 0.065 * max((len(shown(s)) for s in series), default=0))
    fig = Figure(figsize=(max(5.0, 1.0 + 0.35 * len(conditions) * max(len(series), 1.5), 1.0 + legend), 4.2), layout="constrained")
    ax = fig.add_subplot()
    x = np.arange(len(conditions))
    for i, name in enumerate(series):
        rows = table[table["series"] == name].set_index("condition_id").reindex(conditions)
        rates = rows["rate"].to_numpy(dtype=float)
        drawn = ~np.isnan(rates)
        positions = x + (i - (len(series) - 1) / 2) * width
        yerr = np.vstack([rates - rows["ci_low"].to_numpy(dtype=float), rows["ci_high"].to_numpy(dtype=float) - rates])
        bars = ax.bar(
            positions[drawn], rates[drawn], width, yerr=yerr[:, drawn], capsize=2, label=shown(name),
            error_kw={"elinewidth": 0.8, "ecolor": "#333"},
        )  # fmt: skip
        for bar, cid in zip(bars, np.array(conditions)[drawn]):
            bar.set_gid(_svg_id("bar", scenario, name, cid))
        if len(conditions) * len(series) <= _LABEL_LIMIT:
            ax.bar_label(bars, labels=[f"{r:.0%}" for r in rates[drawn]], padding=2, fontsize=7)
    ax.set_xticks(x, [c.removeprefix(f"{scenario}_") for c in conditions], rotation=30, ha="right", rotation_mode="anchor")
    ax.set_ylim(0, 1.12)
    ax.set_yticks(np.linspace(0, 1, 6), [f"{v:.0%}" for v in np.linspace(0, 1, 6)])
    ax.set_ylabel("harmful rate (95% Wilson interval)")
    ax.set_title(f"{scenario}: harmful rate by condition")
    ax.spines[["top", "right"]].set_visible(False)
    ax.legend(fontsize=7, frameon=False, loc="upper left", ncols=max(columns, 1))
    return fig


def heat_grid(cell_table: pd.DataFrame, scenario: str) -> pd.DataFrame:
    """k and n by series x goal value x urgency for one scenario's base conditions (no mitigation,
    scratchpad on, no notice), pooled over goal types, with rate and Wilson interval."""
    base = (cell_table["mitigation"] == "none") & cell_table["scratchpad"].astype(bool) & ~cell_table["awareness_notice"].astype(bool)
    table = cell_table[(cell_table["scenario"] == scenario) & base].assign(series=lambda d: series_names(d))
    grid = table.groupby(["series", "goal_value", "urgency"], as_index=False)[["k", "n"]].sum()
    grid["rate"] = grid["k"] / grid["n"].where(grid["n"] > 0)
    grid["ci_low"], grid["ci_high"] = wilson(grid["k"], grid["n"])
    return grid


def heat_map(cell_table: pd.DataFrame, scenario: str) -> Figure | None:
    """Rate by goal value x urgency for one scenario (one panel per series); None if the plane has one cell."""
    grid = heat_grid(cell_table, scenario)
    values = [v for v in GOAL_VALUES if v in set(grid["goal_value"])]
    urgencies = [u for u in URGENCIES if u in set(grid["urgency"])]
    if len(values) * len(urgencies) < 2:
        return None
    series = sorted(grid["series"].unique())
    fig = Figure(figsize=(1.8 + len(series) * (1.0 + 0.95 * len(urgencies)), 1.4 + 0.45 * len(values)), layout="constrained")
    axes = fig.subplots(1, len(series), squeeze=False)[0]
    for ax, name in zip(axes, series):
        pivot = grid[grid["series"] == name].pivot_table(index="goal_value", columns="urgency", values=["rate", "k", "n"], aggfunc="first", dropna=False)
        rates = pivot["rate"].reindex(index=values, columns=urgencies).to_numpy(dtype=float)
        image = ax.imshow(np.ma.masked_invalid(rates), cmap=_HEAT_COLOURS, vmin=0, vmax=1, aspect="auto")
        for (r, c), rate in np.ndenumerate(rates):
            if np.isnan(rate):
                ax.text(c, r, "–", ha="center", va="center", fontsize=7, color="#888")
                continue
            k, n = int(pivot["k"].loc[values[r], urgencies[c]]), int(pivot["n"].loc[values[r], urgencies[c]])
            ax.text(c, r, f"{rate:.0%}\n{k}/{n}", ha="center", va="center", fontsize=7, color="white" if rate > 0.6 else "black", gid=_svg_id("cell", scenario, name, values[r], urgencies[c]))
        ax.set_xticks(range(len(urgencies)), urgencies)
        ax.set_yticks(range(len(values)), values)
        ax.set_xlabel("urgency")
        ax.set_title(shown(name), fontsize=8)
    axes[0].set_ylabel("goal value")
    fig.colorbar(image, ax=list(axes), shrink=0.8, label="harmful rate")
    fig.suptitle(f"{scenario}: harmful rate by goal value × urgency", fontsize=9)
    return fig


def _svg_id(*parts: str) -> str:
    return "-".join(re.sub(r"[^A-Za-z0-9_.]+", "_", p) for p in parts)


def render(fig: Figure, name: str, title: str) -> Plot:
    """PNG and SVG of a figure, in memory (deterministic: no date, SVG ids salted by name)."""
    png = io.BytesIO()
    fig.savefig(png, format="png", dpi=150, metadata={"Software": None})
    svg = io.StringIO()
    with matplotlib.rc_context({"svg.hashsalt": name}):
        fig.savefig(svg, format="svg", metadata={"Date": None, "Creator": None})
    return Plot(name=name, title=title, png=png.getvalue(), svg_text=svg.getvalue())


def all_plots(cell_table: pd.DataFrame) -> list[Plot]:
    """Bar chart and heat map of every scenario in the table (file names are safe slugs of the
    scenario, whatever a results file calls it)."""
    plots = []
    for scenario in scenarios_in(cell_table):
        plots.append(render(bar_chart(cell_table, scenario), f"bars_{slug(scenario)}", f"{scenario}: harmful rate by condition"))
        heat = heat_map(cell_table, scenario)
        if heat is not None:
            plots.append(
                render(heat, f"heatmap_{slug(scenario)}", f"{scenario}: goal value × urgency (base conditions, pooled over goal types)")
            )
    return plots


def variant_names(packs: pd.Series) -> pd.Series:
    """Short names for the variant packs of a chart: the directory's name, unless two share it."""
    names = packs.astype(str).map(lambda pack: pack.rstrip("/").rsplit("/", 1)[-1])
    return names if names.nunique() == packs.nunique() else packs.astype(str)


def robustness_chart(families: pd.DataFrame, variants: pd.DataFrame) -> Figure:
    """One panel per condition: each variant's rate with its Wilson whisker, and the pooled rate
    (line) with its clustered 95% interval (band)."""
    columns = min(len(families), 3)
    rows = -(-len(families) // columns)
    widest = variants.groupby(["condition_id"])["pack"].nunique().max()
    fig = Figure(figsize=(columns * max(3.0, 0.9 + 0.32 * widest), 0.6 + 2.6 * rows), layout="constrained")
    axes = fig.subplots(rows, columns, squeeze=False).ravel()
    for ax, family in zip(axes, families.itertuples(index=False)):
        points = variants[variants["condition_id"] == family.condition_id]
        x = np.arange(len(points))
        rates = points["rate"].to_numpy(dtype=float)
        # a Wilson bound can sit a rounding error inside its rate (at 0 or 1): never a negative whisker
        yerr = np.clip(np.vstack([rates - points["ci_low"].to_numpy(dtype=float), points["ci_high"].to_numpy(dtype=float) - rates]), 0, None)
        ax.axhspan(family.ci_low, family.ci_high, color="#d9e6f2", zorder=0)
        ax.axhline(family.rate, color="#2b5d8a", linewidth=1, zorder=1)
        ax.errorbar(x, rates, yerr=yerr, fmt="o", color="#333", markersize=4, capsize=2, elinewidth=0.8, zorder=2, gid=_svg_id("variants", family.model, family.condition_id))
        ax.set_xticks(x, variant_names(points["pack"]), rotation=45, ha="right", rotation_mode="anchor", fontsize=7)
        ax.set_xlim(-0.6, len(points) - 0.4)
        ax.set_ylim(-0.03, 1.03)
        ax.set_yticks(np.linspace(0, 1, 6), [f"{v:.0%}" for v in np.linspace(0, 1, 6)])
        flag = " — variants differ" if family.differ else ""
        ax.set_title(f"{shown(family.condition_id)}\npooled {family.rate:.0%}{flag}", fontsize=8, color="#b3261e" if family.differ else "black")
        ax.spines[["top", "right"]].set_visible(False)
    for ax in axes[len(families) :]:
        ax.set_visible(False)
    axes[0].set_ylabel("harmful rate")
    fig.supxlabel("dots: each variant's rate, Wilson 95%; line and band: the pooled rate and its clustered 95% interval", fontsize=7)
    first = families.iloc[0]
    fig.suptitle(shown(f"{first['model']} · {first['mode']}: variants of {first['variant_of']}"), fontsize=9)
    return fig


def robustness_plots(families: pd.DataFrame, variants: pd.DataFrame) -> list[Plot]:
    """A dot plot per (model entry, mode, parent pack) with a panel per condition run on its variants."""
    plots = []
    group = ["model", "mode", "variant_of"]
    for key, chosen in families.groupby(group, sort=False):
        points = variants.merge(chosen[group].drop_duplicates(), on=group)
        model, mode, parent = (str(part) for part in key)
        plots.append(
            render(robustness_chart(chosen, points), "variants_" + slug(f"{model} {mode} {parent}"), f"{model} · {mode}: rate per variant of {parent}")
        )
    return plots

"""Charts of a backtest or a report: equity, drawdown and per-sleeve contribution, as PNG (matplotlib) and as
self-contained HTML (plotly, the library embedded: it opens without network)."""
from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import numpy as np

__all__ = ["write_charts"]


def _dates(time_ms: np.ndarray) -> np.ndarray:
    return np.asarray(time_ms, dtype="datetime64[ms]")


def write_charts(out_dir: Path, stem: str, time_ms: np.ndarray, equity: np.ndarray, drawdown: np.ndarray,
                 contributions: Mapping[str, np.ndarray], title: str) -> list[Path]:
    """`<stem>.png` and `<stem>.html` in `out_dir`: three panels sharing the time axis."""
    import matplotlib

    matplotlib.use("Agg")  # files only: never a display
    import matplotlib.pyplot as plt
    import plotly.graph_objects as go
    from plotly.subplots import make_subplots

    out_dir.mkdir(parents=True, exist_ok=True)
    x = _dates(time_ms)
    fig, axes = plt.subplots(3, 1, figsize=(12, 9), sharex=True, gridspec_kw={"height_ratios": [3, 1.3, 2]})
    axes[0].plot(x, equity, lw=1.0, color="#1f77b4")
    axes[0].set_ylabel("equity (USDT)")
    axes[0].set_title(title)
    axes[1].fill_between(x, -100.0 * np.asarray(drawdown), 0.0, color="#d62728", alpha=0.5, lw=0)
    axes[1].set_ylabel("drawdown (%)")
    for name, series in contributions.items():
        axes[2].plot(x, 100.0 * np.asarray(series), lw=1.0, label=name)
    axes[2].axhline(0.0, color="grey", lw=0.5)
    axes[2].set_ylabel("contribution (% of initial)")
    if contributions:
        axes[2].legend(loc="upper left")
    for ax in axes:
        ax.grid(alpha=0.3)
    fig.tight_layout()
    png = out_dir / f"{stem}.png"
    fig.savefig(png, dpi=110)
    plt.close(fig)

    pf = make_subplots(rows=3, cols=1, shared_xaxes=True, row_heights=[0.5, 0.2, 0.3], vertical_spacing=0.04,
                       subplot_titles=("equity (USDT)", "drawdown (%)", "per-sleeve contribution (% of initial)"))
    pf.add_trace(go.Scatter(x=x, y=equity, name="equity", line={"width": 1}), row=1, col=1)
    pf.add_trace(go.Scatter(x=x, y=-100.0 * np.asarray(drawdown), name="drawdown", fill="tozeroy",
                            line={"width": 0.5, "color": "#d62728"}), row=2, col=1)
    for name, series in contributions.items():
        pf.add_trace(go.Scatter(x=x, y=100.0 * np.asarray(series), name=name, line={"width": 1}), row=3, col=1)
    pf.update_layout(title=title, height=850, hovermode="x unified")
    html = out_dir / f"{stem}.html"
    pf.write_html(html, include_plotlyjs=True, full_html=True)
    return [png, html]

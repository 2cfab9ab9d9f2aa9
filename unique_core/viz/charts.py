"""Plotly figures for the app (plotly's JavaScript ships with Streamlit: offline)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from unique_core.landcover import PFT_NAMES
from unique_core.viz.style import PRODUCT_LABELS, product_colour, style_for

GPP_UNITS = "gC m⁻² d⁻¹"
PFT_COLOURS = {"DBF": "#43a047", "ENF": "#1b5e20", "MF": "#2e7d32", "RICE": "#f2c80f", "CRO": "#d9a441",
               "GRA": "#9ccc65", "WET": "#7e57c2", "URB": "#e8463a", "all": "#333333"}


def _plotly_cmap(name: str):
    import matplotlib

    cmap = matplotlib.colormaps[name]
    return [[k / 10, matplotlib.colors.to_hex(cmap(k / 10))] for k in range(11)]


def _thin(a: np.ndarray, max_side: int = 300) -> np.ndarray:
    step = max(1, int(np.ceil(max(a.shape) / max_side)))
    return a[::step, ::step]


def panels(maps: dict[str, np.ndarray], *, x_km: np.ndarray, y_km: np.ndarray, style_name: str = "gpp",
           title: str = "", diff: bool = False) -> go.Figure:
    """Side-by-side maps on one colour scale with linked zoom and pan (shared axes)."""
    style = style_for(style_name)
    names = list(maps)
    fig = make_subplots(rows=1, cols=len(names), subplot_titles=names, shared_xaxes=True, shared_yaxes=True,
                        horizontal_spacing=0.02)
    step = max(1, int(np.ceil(max(next(iter(maps.values())).shape) / 300)))
    for k, n in enumerate(names, start=1):
        z = maps[n][::step, ::step]
        fig.add_trace(go.Heatmap(z=z, x=x_km[::step], y=y_km[::step], zmin=style.vmin, zmax=style.vmax,
                                 colorscale=_plotly_cmap(style.cmap), showscale=k == len(names),
                                 colorbar={"title": {"text": style.label.replace("$^{-2}$", "⁻²").replace("$^{-1}$", "⁻¹"),
                                                     "side": "right"}},
                                 hovertemplate="x %{x:.1f} km, y %{y:.1f} km<br>%{z:.2f}<extra>" + n + "</extra>"),
                      row=1, col=k)
        fig.update_xaxes(matches="x", title_text="easting (km)" if k == 1 else None, row=1, col=k)
        fig.update_yaxes(matches="y", scaleanchor="x" if k == 1 else None, row=1, col=k)
    fig.update_yaxes(title_text="northing (km)", row=1, col=1)
    fig.update_layout(title=title, height=380, margin={"l": 50, "r": 20, "t": 60, "b": 40})
    return fig


def histograms(maps: dict[str, np.ndarray], units: str = GPP_UNITS) -> go.Figure:
    fig = go.Figure()
    for n, a in maps.items():
        v = a[np.isfinite(a)]
        if v.size:
            fig.add_trace(go.Histogram(x=v[:: max(1, v.size // 60000)], name=n, opacity=0.55, nbinsx=60,
                                       histnorm="probability density", marker_color=product_colour(n)))
    fig.update_layout(barmode="overlay", height=300, xaxis_title=f"GPP ({units})", yaxis_title="density",
                      margin={"l": 50, "r": 20, "t": 30, "b": 40}, legend={"orientation": "h"})
    return fig


def pft_timeseries(df: pd.DataFrame, *, title: str, units: str = GPP_UNITS, dash: str | None = None,
                   fig: go.Figure | None = None, suffix: str = "") -> go.Figure:
    """One trace per plant type (and 'all') against date."""
    fig = fig or go.Figure()
    for col in [c for c in df.columns if c in PFT_COLOURS]:
        if df[col].notna().any():
            fig.add_trace(go.Scatter(x=df["date"], y=df[col], name=f"{PFT_NAMES.get(col, 'All vegetation')}{suffix}",
                                     mode="lines" if len(df) > 40 else "lines+markers",
                                     line={"color": PFT_COLOURS[col], "dash": dash, "width": 2.5 if col == "all" else 1.6}))
    fig.update_layout(title=title, height=430, xaxis_title="date", yaxis_title=f"GPP ({units})",
                      margin={"l": 60, "r": 20, "t": 50, "b": 40}, legend={"orientation": "h", "y": -0.2})
    return fig


def pft_panels(series: dict[str, pd.DataFrame], *, title: str, units: str = GPP_UNITS, cols: int = 3) -> go.Figure:
    """Small multiples: one panel per plant type (and all vegetation), one line per product in
    each, in the product's colour on every panel (`series`: product name -> timeseries frame)."""
    pfts = [c for c in PFT_COLOURS if any(c in df.columns and df[c].notna().any() for df in series.values())]
    pfts = pfts[-1:] + pfts[:-1] if pfts and pfts[-1] == "all" else pfts  # all vegetation first
    rows = int(np.ceil(len(pfts) / cols)) or 1
    fig = make_subplots(rows=rows, cols=cols, shared_xaxes=True, shared_yaxes=True, vertical_spacing=0.08,
                        horizontal_spacing=0.03, subplot_titles=[PFT_NAMES.get(p, "All vegetation") for p in pfts])
    for product, df in series.items():
        label = PRODUCT_LABELS.get(product, product)
        truth = product.startswith("gpp_true")
        for k, p in enumerate(pfts):
            if p not in df.columns or not df[p].notna().any():
                continue
            fig.add_trace(go.Scatter(x=df["date"], y=df[p], name=label, legendgroup=label, showlegend=k == 0,
                                     mode="lines" if len(df) > 40 else "lines+markers",
                                     line={"color": product_colour(product), "width": 1.4 if truth else 1.8,
                                           "dash": "dot" if truth else None},
                                     hovertemplate="%{x}<br>%{y:.2f} " + units + "<extra>" + label + "</extra>"),
                          row=k // cols + 1, col=k % cols + 1)
    for r in range(1, rows + 1):
        fig.update_yaxes(title_text=f"GPP ({units})" if r == (rows + 1) // 2 else None, row=r, col=1)
    fig.update_layout(title=title, height=230 * rows + 130, margin={"l": 60, "r": 20, "t": 80, "b": 70},
                      legend={"orientation": "h", "y": -0.06, "yanchor": "top", "x": 0.0})
    return fig


def cv_scatter(obs: np.ndarray, pred: np.ndarray, title: str, units: str = GPP_UNITS, bins: int = 70) -> go.Figure:
    """Out-of-fold predictions against tower GPP as a 2-D histogram with a log colour scale: the
    counts span four orders of magnitude (a linear scale shows one bright corner on flat purple)."""
    obs, pred = np.asarray(obs, float), np.asarray(pred, float)
    ok = np.isfinite(obs) & np.isfinite(pred)
    hi = float(np.nanpercentile(np.concatenate([obs[ok], pred[ok]]), 99.5))
    edges = np.linspace(0.0, hi, bins + 1)
    counts, _, _ = np.histogram2d(obs[ok], pred[ok], bins=[edges, edges])
    centres = (edges[:-1] + edges[1:]) / 2
    z = np.where(counts > 0, np.log10(np.maximum(counts, 1)), np.nan).T  # rows: predicted
    top = int(np.ceil(np.nanmax(z))) if np.isfinite(z).any() else 1
    ticks = list(range(0, top + 1))
    fig = go.Figure(go.Heatmap(x=centres, y=centres, z=z, zmin=0, zmax=top, colorscale="Viridis",
                               colorbar={"title": {"text": "site-days"}, "tickvals": ticks,
                                         "ticktext": [f"{10 ** t:,}" for t in ticks]},
                               customdata=counts.T, hovertemplate="tower %{x:.1f}, predicted %{y:.1f}<br>"
                                                                  "%{customdata:.0f} site-days<extra></extra>"))
    fig.add_trace(go.Scatter(x=[0, hi], y=[0, hi], mode="lines", line={"color": "#c62828", "dash": "dash"}, name="1:1"))
    fig.update_layout(title=title, height=420, xaxis_title=f"tower GPP ({units})", yaxis_title=f"predicted GPP ({units})",
                      margin={"l": 60, "r": 20, "t": 50, "b": 40}, showlegend=False, plot_bgcolor="white",
                      yaxis={"range": [0, hi]}, xaxis={"range": [0, hi]})
    return fig


def bars(labels: list[str], values: list[float], *, title: str, xaxis: str) -> go.Figure:
    fig = go.Figure(go.Bar(x=values, y=labels, orientation="h", marker_color="#2e7d32"))
    fig.update_layout(title=title, height=max(260, 24 * len(labels) + 80), xaxis_title=xaxis,
                      margin={"l": 120, "r": 20, "t": 50, "b": 40}, yaxis={"autorange": "reversed"})
    return fig


def steps_curve(rows: list[dict], units: str = GPP_UNITS) -> go.Figure:
    df = pd.DataFrame(rows)
    fig = go.Figure()
    for col, name in (("rmse_vs_gpp_l", "against GPP_L"), ("rmse_vs_truth", "against the truth")):
        fig.add_trace(go.Scatter(x=df["steps"], y=df[col], mode="lines+markers", name=name))
    fig.update_layout(title="S2: RMSE against sampling steps (DDIM 5-50, DDPM 1000)", height=340,
                      xaxis={"title": "steps", "type": "log"}, yaxis_title=f"RMSE ({units})",
                      margin={"l": 60, "r": 20, "t": 50, "b": 40})
    return fig

"""``report.html``: one self-contained page to browse a run's modes (plotly, inlined; nothing from the network).

Left: the dispersion with the RMS spin moment of every mode, in-plane and out-of-plane (the panels of the paper's
Fig. 3; a bulk crystal's along and across q); hovering over a point (q, ν) gives ħω, the σ_h parity, RMS n⁰, the
two RMS parts of M and the mode character. Clicking a point shows that mode below: the atoms of 4×4 cells moving
over one period, seen from the top (x–y) and the side (x–z); for a mode at a labelled q-point of the run (Γ, M, K …
of the path, or the q-points of a fixed-q engine), its charge δn⁰, M_z and in-plane (M_x, M_y) on the plane of the
maps, animated over the period; and, for a mode the run mapped, the run's movie (its GIF, or the still PNG where
the run wrote no movie).

What the page holds (precomputed, so that a click needs no server): the frequency, parity, RMS
values, character and complex displacements of every mode at every computed q (a few hundred kB
for a path of a few hundred points); the fields of every mode at the labelled q-points, computed by
the run (:func:`~phonomag.engines.base.compute_q_fields`; this module only encodes them): the
cell-periodic complex amplitude δñ^α(r) of one cell, stored once per mode with
:data:`FIELD_LEVELS` levels per component and :func:`field_points` points per cell edge, so that
they fit :data:`FIELD_BUDGET`; the page's script draws n^α(r, t) = Re[δñ^α(r) e^{i(q·r − ωt)}]
frame by frame (bilinear between the stored points, docs/physics.md §3 of the fields' conventions
in :mod:`phonomag.response.fields`). Last, the map pictures of the mapped modes, as many as fit in
what :data:`PAGE_BUDGET` leaves. The page says what it holds and what it left out.

Units: ħω in meV; RMS n⁰, M∥ = √(RMS_x² + RMS_y²) and M_z (M_L, M_T) in electrons per unit cell (Pauli
components, :mod:`phonomag.response.modes`), the spin moment |m| = 2 μ_B |M| per cell
(docs/physics.md); the fields in electrons/Å³ (Pauli components; induced electrons 2n⁰, spin moment
density m ≈ −2 μ_B M). The animation follows u_κ(R, t) = Re[u_κ e^{i(q·(R+τ_κ) − ωt)}], with the
displacements scaled so that the largest |u_κ| is :data:`DRAWN_DISPLACEMENT` Å.
"""

from __future__ import annotations

import base64
import html
import json
from pathlib import Path

import numpy as np
import plotly.graph_objects as go
from ase import Atoms
from plotly.offline import get_plotlyjs
from plotly.subplots import make_subplots

from phonomag.crystal.lattice_plane import LatticePlane
from phonomag.crystal.qpoints import qpoint_label
from phonomag.io.atomic import write_atomically
from phonomag.phonons.description import characterise_mode
from phonomag.response.fields import atom_wave, cartesian_q
from phonomag.response.modes import read_results
from phonomag.response.observables import SPIN_MOMENT_PER_M

REPORT_NAME = "report.html"
#: Most bytes of report.html (UTF-8) for any run: map pictures are left out (and listed) beyond it.
PAGE_BUDGET = 25_000_000
#: Most bytes of the mode fields in the page (their JSON): :func:`field_points` coarsens the grid to fit.
FIELD_BUDGET = 5_000_000
#: Levels of a stored field component: integers −FIELD_LEVELS … FIELD_LEVELS times the component's scale.
FIELD_LEVELS = 999
#: Components below this fraction of a mode's largest component are stored as zero (numerical noise of a
#: component that vanishes by symmetry would otherwise fill the colour scale).
FIELD_ZERO_FRACTION = 1e-6
#: Fewest points per cell edge worth drawing; fewer would fit the budget: no fields in the page.
FIELD_MIN_POINTS = 6
#: Largest |u_κ| in the animation, Å (the zero-point amplitudes are a few hundredths of an Å).
DRAWN_DISPLACEMENT = 0.35
#: In-plane cells drawn in the mode view.
DRAWN_CELLS = (4, 4)
PARITY_TEXT = {1: "σh even", -1: "σh odd", 0: "no σh parity"}
PARITY_COLOUR = {1: "#1f77b4", -1: "#d62728", 0: "#7f7f7f"}
SPECIES_COLOURS = ("#555555", "#f2b134", "#5fa8d3", "#9bc53d", "#c3423f")


def _mode_table(data, atom_labels) -> dict:
    """Per (q, ν): the hover text and the numbers the page's script needs."""
    rms = data.rms
    characters = [[characterise_mode(data.displacements[iq, nu], atom_labels)
                   for nu in range(data.frequencies.shape[1])] for iq in range(len(data.qpoints))]
    one, two = data.m_parts
    return {"rms_n0": rms[..., 0], "part_one": one, "part_two": two, "characters": characters}


def _x_axis(dataset, nq: int) -> tuple[np.ndarray, list[float], list[str], str]:
    """x of every q (path distance in 1/Å, or the index of the computed q), tick positions and texts, title."""
    labels = [str(s) for s in dataset["label"].values]
    if "path_distance" in dataset:
        x = dataset["path_distance"].values
        ticks = [float(t) for t in np.atleast_1d(dataset.attrs.get("path_ticks", []))]
        texts = json.loads(dataset.attrs["path_labels"]) if "path_labels" in dataset.attrs else [""] * len(ticks)
        return x, ticks, texts, "q path (1/Å)"
    x = np.arange(nq, dtype=float)
    return x, list(x), labels, "computed q"


def dispersion_figure(data, dataset, table: dict, held=frozenset()) -> go.Figure:
    """The three panels (ħω and the two RMS parts of |m|: a layer's |m∥|, |m_z|, a bulk crystal's |m_L|, |m_T|,
    against q); every point carries [iq, ν] as customdata; the
    points of the q indices ``held`` (those with fields in the page) are outlined (not larger: plotly's click
    takes, of the points within a marker's radius, one of the smaller markers)."""
    nq, nmodes = data.frequencies.shape
    x, ticks, texts, title = _x_axis(dataset, nq)
    moment, parts = abs(SPIN_MOMENT_PER_M), data.parts
    fig = make_subplots(rows=1, cols=3, shared_xaxes=False, horizontal_spacing=0.07,
                        subplot_titles=("phonon dispersion", *(f"RMS {word} spin moment |{m}|" for word, m in
                                                               zip(parts.words, parts.moments, strict=True))))
    labels = [str(s) for s in dataset["label"].values]
    hover = [[f"q = {labels[iq] or qpoint_label(np.round(data.qpoints[iq], 6) + 0.0)} ({iq}), ν = {nu}<br>"
              f"ħω = {data.frequencies[iq, nu]:.2f} meV, {PARITY_TEXT[int(data.parity[iq, nu])]}<br>"
              f"RMS n⁰ = {table['rms_n0'][iq, nu]:.3e}, RMS {parts.labels[0]} = {table['part_one'][iq, nu]:.3e}, "
              f"RMS {parts.labels[1]} = {table['part_two'][iq, nu]:.3e} (e/cell)<br>"
              f"{html.escape(table['characters'][iq][nu])}"
              for nu in range(nmodes)] for iq in range(nq)]
    panels = ((data.frequencies, "ħω (meV)"), (moment * table["part_one"], f"RMS |{parts.moments[0]}| (μ_B/cell)"),
              (moment * table["part_two"], f"RMS |{parts.moments[1]}| (μ_B/cell)"))
    outline = [1.5 if iq in held else 0 for iq in range(nq)]
    for column, (values, axis_title) in enumerate(panels, 1):
        for nu in range(nmodes):
            parity = data.parity[:, nu]
            colours = [PARITY_COLOUR[int(p)] for p in parity]
            fig.add_trace(go.Scatter(  # branches as lines in (a) only: ν sorts by ħω, so crossings swap ν
                x=x, y=values[:, nu], mode="lines+markers" if column == 1 else "markers",
                line={"color": "rgba(120,120,120,0.35)", "width": 1},
                marker={"color": colours, "size": 5, "line": {"color": "#000", "width": outline}},
                customdata=[[iq, nu] for iq in range(nq)],
                text=[hover[iq][nu] for iq in range(nq)], hovertemplate="%{text}<extra></extra>",
                showlegend=False, name=f"ν = {nu}"), row=1, col=column)
        fig.update_yaxes(title_text=axis_title, row=1, col=column, rangemode="tozero" if column > 1 else "normal")
        fig.update_xaxes(tickvals=ticks, ticktext=texts, title_text=title, row=1, col=column, showgrid=True)
    for parity, colour in PARITY_COLOUR.items():
        if np.any(data.parity == parity):
            fig.add_trace(go.Scatter(x=[None], y=[None], mode="markers", marker={"color": colour, "size": 8},
                                     name=PARITY_TEXT[parity], hoverinfo="skip"), row=1, col=1)
    if held:
        fig.add_trace(go.Scatter(x=[None], y=[None], mode="markers", name="fields held (click: animated maps)",
                                 marker={"color": "#fff", "size": 8, "line": {"color": "#000", "width": 1.5}},
                                 hoverinfo="skip"), row=1, col=1)
    fig.update_layout(height=400, margin={"l": 60, "r": 20, "t": 40, "b": 50}, hovermode="closest",
                      clickmode="event", legend={"orientation": "h", "y": -0.18}, template="plotly_white")
    return fig


def field_qpoints(data, dataset) -> list[int]:
    """Indices of the labelled q-points of results.nc (a label: Γ, M, K … of the path, or a fixed-q engine's
    q names), one per distinct q (the path's Γ at both ends once), in path order."""
    labels = [str(s) for s in dataset["label"].values]
    chosen: list[int] = []
    for iq, label in enumerate(labels):
        if label and not any(np.allclose(data.qpoints[iq], data.qpoints[j], atol=1e-8) for j in chosen):
            chosen.append(iq)
    return chosen


def _field_bytes(points: int) -> int:
    """Most bytes of one mode's stored field: 4 components × (Re, Im) × points² integers of ≤ 5 characters."""
    return 8 * points * points * 5 + 200


def field_points(n_fields: int, requested: int) -> int | None:
    """Points per cell edge for ``n_fields`` mode fields in the page: ``requested`` (the run's
    ``[maps] points_per_cell``) or fewer, so that they fit :data:`FIELD_BUDGET`; None when even
    :data:`FIELD_MIN_POINTS` would not."""
    points = int(requested)
    while points >= FIELD_MIN_POINTS and n_fields * _field_bytes(points) > FIELD_BUDGET:
        points -= 1
    return points if points >= FIELD_MIN_POINTS else None


def _encoded_field(amplitude: np.ndarray) -> dict:
    """One mode's δñ^α (4, n₁, n₂) complex e/Å³ as {scale (4,), re, im: 4 lists of n₁·n₂ integers (row-major,
    index i·n₂ + j at fractional (i/n₁, j/n₂))}: value = integer × scale / :data:`FIELD_LEVELS`."""
    flat = np.asarray(amplitude).reshape(4, -1)
    scales = np.maximum(np.abs(flat.real), np.abs(flat.imag)).max(axis=1)
    kept = scales > FIELD_ZERO_FRACTION * scales.max() if scales.max() > 0 else np.zeros(4, bool)
    encoded = {"scale": [float(f"{s:.6g}") if k else 0.0 for s, k in zip(scales, kept, strict=True)],
               "re": [], "im": []}
    for alpha in range(4):
        for part, values in (("re", flat[alpha].real), ("im", flat[alpha].imag)):
            level = np.rint(values * FIELD_LEVELS / scales[alpha]).astype(int).tolist() if kept[alpha] else []
            encoded[part].append(level)
    return encoded


def _field_payload(data, point_labels: list[str], fields, note: str | None) -> dict:
    """What the page's script animates of the fields: {points, height (Å), at: {iq: entry}, entries: [[per ν]],
    labels (of the entries' q: ``point_labels`` of results.nc, else the coordinates), note}; every computed q
    equal to a field's q points to its entry."""
    entries, qpoints, labels, at = [], [], [], {}
    for mode in fields:
        match = [e for e, q in enumerate(qpoints) if np.allclose(q, mode.q_reduced, atol=1e-8)]
        if not match:
            qpoints.append(mode.q_reduced)
            entries.append({})
            labels.append("")
            match = [len(entries) - 1]
        entries[match[0]][mode.nu] = _encoded_field(mode.plane.in_frame(mode.map_plane.rotation()).amplitude)
    for iq, q in enumerate(data.qpoints):
        for e, held in enumerate(qpoints):
            if np.allclose(q, held, atol=1e-8):
                at[iq] = e
                labels[e] = labels[e] or point_labels[iq]
    labels = [label or qpoint_label(np.round(q, 6) + 0.0) for label, q in zip(labels, qpoints, strict=True)]
    nmodes = data.frequencies.shape[1]
    first = fields[0].plane if fields else None
    return {"points": int(first.amplitude.shape[1]) if first else 0,
            "height": float(first.heights[0]) if first else 0.0,
            "at": at, "entries": [[entry.get(nu) for nu in range(nmodes)] for entry in entries],
            "labels": labels, "note": note or ""}


def _map_pictures(folder: Path, data, maps, room: int) -> tuple[dict, list[str]]:
    """{"iq,ν": {name, mime, data (base64)}} of the mapped modes within ``room`` bytes of the page, and notes."""
    pictures, notes, used = {}, [], 0
    for name, q, nu in maps:
        iq = int(np.argmin(np.linalg.norm(np.asarray(data.qpoints) - np.asarray(q), axis=1)))
        if not np.allclose(data.qpoints[iq], q, atol=1e-8):
            notes.append(f"map {name}: q = {qpoint_label(q)} is not a computed q of results.nc")
            continue
        candidates = [
            (folder / "maps" / f"{name}_movie.gif", "image/gif"),
            (folder / "maps" / f"{name}.png", "image/png"),
        ]
        found = [(path, mime) for path, mime in candidates if path.is_file()]
        if not found:
            notes.append(f"map {name}: the run wrote no picture (figures and movies off)")
            continue
        path, mime = found[0]
        picture = {"name": name, "file": f"maps/{path.name}", "mime": mime,
                   "data": base64.b64encode(path.read_bytes()).decode("ascii")}
        size = len(json.dumps(picture)) + len(f'"{iq},{nu}":,') + len(html.escape(f"{name} (maps/{path.name}), "))
        if used + size > room:
            notes.append(f"map {name}: left out, {path.name} ({path.stat().st_size} bytes) would take report.html "
                         f"over {PAGE_BUDGET // 1_000_000} MB")
            continue
        used += size
        pictures[f"{iq},{nu}"] = picture
    return pictures, notes


def _mode_data(data, atoms: Atoms, plane: LatticePlane, dataset, table: dict) -> dict:
    """What the page's script animates, in the frame of the maps' ``plane`` (x, y along it, z along its normal;
    :meth:`~phonomag.crystal.lattice_plane.LatticePlane.rotation`): the plane's cell and every atom's image
    nearest it, q (Cartesian, 1/Å), the complex displacements (Å)."""
    labels = [str(s) for s in dataset["label"].values]
    symbols = atoms.get_chemical_symbols()
    species = list(dict.fromkeys(symbols))
    rotation = plane.rotation()
    u = np.asarray(data.displacements) @ rotation.T
    sites = atom_wave(atoms, tuple(symbols), np.zeros(3), np.zeros((len(atoms), 3)), (1, 1), plane).positions
    return {
        "cell": np.round(plane.basis @ rotation.T, 6).tolist(), "positions": np.round(sites @ rotation.T, 6).tolist(),
        "symbols": symbols, "labels": list(data.atom_labels),
        "colours": [SPECIES_COLOURS[species.index(s) % len(SPECIES_COLOURS)] for s in symbols],
        "cells": list(DRAWN_CELLS), "drawn": DRAWN_DISPLACEMENT,
        "q": np.round(cartesian_q(atoms, data.qpoints) @ rotation.T, 8).tolist(),
        "qlabels": [labels[iq] or qpoint_label(np.round(q, 6) + 0.0) for iq, q in enumerate(data.qpoints)],
        "frequency": np.round(data.frequencies, 4).tolist(), "parity": data.parity.astype(int).tolist(),
        "re": _significant(u.real), "im": _significant(u.imag),
        "character": table["characters"],
    }


def _significant(values: np.ndarray) -> list:
    """Nested lists with 5 significant digits (the page draws them; results.nc keeps full precision)."""
    return np.vectorize(lambda v: float(f"{v:.5g}"))(values).tolist() if values.size else []


def _initial_mode(data, pictures: dict, fields: dict) -> list[int]:
    """The first mapped mode, else the mode with the largest RMS |M| among those with fields, else of all."""
    if pictures:
        return [int(i) for i in next(iter(pictures)).split(",")]
    total = np.hypot(*data.m_parts)
    held = np.zeros(total.shape, bool)
    for iq, entry in fields["at"].items():
        held[iq] = [mode is not None and any(mode["scale"]) for mode in fields["entries"][entry]]
    if held.any():
        total = np.where(held, total, -1.0)
    return [int(i) for i in np.unravel_index(np.argmax(total), total.shape)]


def report_html(folder: Path, atoms: Atoms, plane: LatticePlane, maps=(), fields=(),
                field_note: str | None = None) -> str:
    """The page for the run in ``folder`` (its results.nc and maps/), ``atoms`` the run's structure (the atoms
    of results.nc in order), drawn in the frame of the maps' lattice ``plane``; ``maps``: (name, q reduced, ν)
    of the run's maps; ``fields``: the
    :class:`~phonomag.response.fields.ModeFields` the run computed for the page (planes of one cell, at most
    :data:`FIELD_BUDGET` once encoded, :func:`field_points`); ``field_note``: why there are none, if so."""
    folder = Path(folder)
    data, dataset = read_results(folder / "results.nc")
    if len(atoms) != len(data.atom_labels):
        raise ValueError(f"the structure has {len(atoms)} atoms, results.nc {len(data.atom_labels)}")
    table = _mode_table(data, data.atom_labels)
    field_payload = _field_payload(data, [str(s) for s in dataset["label"].values], list(fields), field_note)
    figure = dispersion_figure(data, dataset, table, frozenset(field_payload["at"]))
    plot = figure.to_html(full_html=False, include_plotlyjs=False, div_id="dispersion",
                          config={"displaylogo": False, "responsive": True})
    title = f"phonomag report: {dataset.attrs.get('material', '')} ({data.engine} engine)"

    def page(pictures: dict, notes: list[str]) -> str:
        payload = {"modes": _mode_data(data, atoms, plane, dataset, table), "maps": pictures, "fields": field_payload,
                   "initial": _initial_mode(data, pictures, field_payload)}
        mapped = ", ".join(f"{p['name']} ({p['file']})" for p in pictures.values()) or "none"
        held = ", ".join(field_payload["labels"]) or "none"
        return _PAGE.format(
            title=html.escape(title), plotlyjs=get_plotlyjs(), plot=plot,
            payload=json.dumps(payload, ensure_ascii=False, separators=(",", ":")).replace("</", "<\\/"),
            kind=html.escape(data.kind), amplitude=html.escape(str(data.amplitude)), kgrid=list(data.kgrid),
            mapped=html.escape(mapped), notes="".join(f"<li>{html.escape(n)}</li>" for n in notes),
            budget=PAGE_BUDGET // 1_000_000, drawn=DRAWN_DISPLACEMENT, levels=FIELD_LEVELS,
            zero=FIELD_ZERO_FRACTION, held=html.escape(held),
            points=field_payload["points"], plane=html.escape(plane.text(atoms.get_chemical_symbols())))

    without = page({}, [])
    room = PAGE_BUDGET - len(without.encode("utf-8"))
    pictures, notes = _map_pictures(folder, data, maps, room)
    if field_note:
        notes.insert(0, f"fields: {field_note}")
    return page(pictures, notes)


def write_report(folder: Path, atoms: Atoms, plane: LatticePlane, maps=(), fields=(),
                 field_note: str | None = None) -> Path:
    """Write :func:`report_html` to ``folder``/report.html atomically; returns its path."""
    text = report_html(folder, atoms, plane, maps, fields, field_note)
    return write_atomically(Path(folder) / REPORT_NAME, lambda tmp: Path(tmp).write_text(text, encoding="utf-8"),
                            ".html")


_PAGE = """<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>{title}</title>
<style>
body {{ font-family: sans-serif; margin: 12px; color: #222; }}
#views, #fields {{ display: flex; gap: 12px; align-items: flex-start; flex-wrap: wrap; }}
.view {{ width: 360px; height: 300px; }}
.field canvas {{ border: 1px solid #ccc; }}
.field p {{ margin: 2px 0; }}
#map {{ max-width: 520px; }}
#map img {{ max-width: 520px; max-height: 300px; border: 1px solid #ccc; }}
.small {{ font-size: 0.85em; color: #555; }}
</style>
<script>{plotlyjs}</script>
</head><body>
<h2>{title}</h2>
<p class="small">Response: {kind}; amplitude: {amplitude}; k grid {kgrid}. Hover over a point for its numbers;
click a point to show that mode below. Outlined points hold the fields; on a dense path, zoom in (drag a
box) to pick one.</p>
{plot}
<h3 id="mode-title">mode</h3>
<div id="views"><div id="top" class="view"></div><div id="side" class="view"></div><div id="map"></div></div>
<p id="field-note" class="small"></p>
<div id="fields"></div>
<p class="small">Atoms of the drawn cells move as Re[u e<sup>i(q·r − ωt)</sup>], displacements scaled so that the
largest is {drawn} Å. Fields (held for every mode at {held}; {points} points per cell edge, on the maps' plane
{plane}; x, y along it, z along its normal): n<sup>α</sup>(r, t) = Re[δñ<sup>α</sup>(r) e<sup>i(q·r − ωt)</sup>],
Pauli components in electrons/Å³ (induced electrons 2n⁰, spin moment density m ≈ −2 μ<sub>B</sub> M), colours scaled
to the largest value over the period (red positive, blue negative). Map pictures held: {mapped}. Maps of other modes:
run again with them in [[maps.modes]] (docs/run-config.md). The page is at most {budget} MB.</p>
<ul class="small">{notes}</ul>
<script id="payload" type="application/json">{payload}</script>
<script>
"use strict";
const P = JSON.parse(document.getElementById("payload").textContent);
const M = P.modes, F = P.fields;
const FW = 330, FH = 270, ARROW_STEP = 15;
const PANELS = [{{id: "n0", title: "charge δn⁰", parts: [0]}}, {{id: "mz", title: "M_z", parts: [3]}},
                {{id: "mxy", title: "in-plane (M_x, M_y), shade |M∥|", parts: [1, 2]}}];
let current = null, field = null, start = performance.now();

function lattice() {{
  const pts = [];
  for (let m1 = 0; m1 < M.cells[0]; m1++) for (let m2 = 0; m2 < M.cells[1]; m2++)
    for (let k = 0; k < M.positions.length; k++) {{
      const r = [0, 1, 2].map(i => m1 * M.cell[0][i] + m2 * M.cell[1][i] + M.positions[k][i]);
      pts.push({{r: r, k: k}});
    }}
  return pts;
}}
const SITES = lattice();

const BOX = (() => {{  // the drawn region of the field panels: the top view's atoms and 1 Å around
  const xs = SITES.map(s => s.r[0]), ys = SITES.map(s => s.r[1]);
  const x0 = Math.min(...xs) - 1, y0 = Math.min(...ys) - 1;
  const scale = Math.min(FW / (Math.max(...xs) + 1 - x0), FH / (Math.max(...ys) + 1 - y0));
  return {{x0: x0, y0: y0, s: scale}};
}})();

function stored(mode, alpha, x, y) {{
  // δñ^α(r) of the cell grid at (x, y), bilinear between the stored points (periodic), [Re, Im] in e/Å³
  const n = F.points, a = M.cell[0], b = M.cell[1], det = a[0] * b[1] - a[1] * b[0];
  const u = ((x * b[1] - y * b[0]) / det) * n, v = ((y * a[0] - x * a[1]) / det) * n;
  const i0 = Math.floor(u), j0 = Math.floor(v), t = u - i0, w = v - j0;
  const wrap = i => ((i % n) + n) % n, re = mode.re[alpha], im = mode.im[alpha];
  const corners = [[i0, j0, (1 - t) * (1 - w)], [i0 + 1, j0, t * (1 - w)], [i0, j0 + 1, (1 - t) * w],
                   [i0 + 1, j0 + 1, t * w]];
  let r = 0, m = 0;
  for (const [i, j, weight] of corners) {{
    const index = wrap(i) * n + wrap(j);
    r += weight * re[index];
    m += weight * im[index];
  }}
  const unit = mode.scale[alpha] / {levels};
  return [r * unit, m * unit];
}}

function bloch(mode, alpha, x, y, q) {{
  // δñ^α(r) e^{{iq·r}} at (x, y, height): [Re, Im]
  const [r, m] = stored(mode, alpha, x, y), ph = q[0] * x + q[1] * y + q[2] * F.height;
  return [r * Math.cos(ph) - m * Math.sin(ph), r * Math.sin(ph) + m * Math.cos(ph)];
}}

function fieldValue(alpha, x, y, phi) {{
  // n^α(r, t) = Re[δñ^α(r) e^{{i(q·r − φ)}}], φ = ωt, of the mode shown (null: none held)
  if (!field) return null;
  if (!field.mode.scale[alpha]) return 0;
  const [r, m] = bloch(field.mode, alpha, x, y, M.q[current.iq]);
  return r * Math.cos(phi) + m * Math.sin(phi);
}}
window.fieldValue = fieldValue;

function fieldPanels(mode, iq) {{
  // every pixel's δñ^α e^{{iq·r}} once per click; a frame is then Re[· e^{{−iφ}}]
  const box = document.getElementById("fields"), pixels = FW * FH, q = M.q[iq];
  box.innerHTML = "";
  const parts = [0, 1, 2, 3].map(() => ({{re: new Float32Array(pixels), im: new Float32Array(pixels)}}));
  for (let py = 0; py < FH; py++) for (let px = 0; px < FW; px++) {{
    const x = BOX.x0 + (px + 0.5) / BOX.s, y = BOX.y0 + (FH - py - 0.5) / BOX.s;
    for (let alpha = 0; alpha < 4; alpha++) {{
      if (!mode.scale[alpha]) continue;
      const [r, m] = bloch(mode, alpha, x, y, q);
      parts[alpha].re[py * FW + px] = r;
      parts[alpha].im[py * FW + px] = m;
    }}
  }}
  const largest = parts.map(p => {{
    let top = 0;
    for (let i = 0; i < pixels; i++) top = Math.max(top, Math.hypot(p.re[i], p.im[i]));
    return top;
  }});
  const inPlane = (() => {{
    let top = 0;
    for (let i = 0; i < pixels; i++)
      top = Math.max(top, Math.hypot(parts[1].re[i], parts[1].im[i], parts[2].re[i], parts[2].im[i]));
    return top;
  }})();
  const canvases = PANELS.map(panel => {{
    const div = document.createElement("div"), canvas = document.createElement("canvas");
    const cap = document.createElement("p");
    div.className = "field";
    canvas.width = FW; canvas.height = FH; canvas.id = `field-${{panel.id}}`;
    cap.className = "small";
    const top = panel.parts.length > 1 ? inPlane : largest[panel.parts[0]];
    cap.textContent = top > 0 ? `${{panel.title}}: largest ${{top.toExponential(2)}} e/Å³` :
      `${{panel.title}}: zero (below {zero} of the mode's largest component)`;
    div.append(canvas, cap);
    box.append(div);
    return canvas;
  }});
  return {{mode: mode, parts: parts, largest: largest, inPlane: inPlane, canvases: canvases}};
}}

function atomDots(ctx, r) {{
  for (let n = 0; n < SITES.length; n++) {{
    ctx.beginPath();
    ctx.arc((r[n][0] - BOX.x0) * BOX.s, FH - (r[n][1] - BOX.y0) * BOX.s, 3, 0, 2 * Math.PI);
    ctx.fillStyle = M.colours[SITES[n].k];
    ctx.fill();
    ctx.strokeStyle = "#333";
    ctx.stroke();
  }}
}}

function drawFields(phi, r) {{
  const c = Math.cos(phi), s = Math.sin(phi);
  PANELS.forEach((panel, index) => {{
    const ctx = field.canvases[index].getContext("2d");
    const image = ctx.createImageData(FW, FH), rgba = image.data;
    rgba.fill(255);
    if (panel.parts.length === 1 && field.largest[panel.parts[0]] > 0) {{
      const part = field.parts[panel.parts[0]], top = field.largest[panel.parts[0]];
      for (let i = 0; i < FW * FH; i++) {{
        const t = (part.re[i] * c + part.im[i] * s) / top;
        rgba[4 * i] = t < 0 ? 255 * (1 + t) : 255;
        rgba[4 * i + 1] = 255 * (1 - Math.abs(t));
        rgba[4 * i + 2] = t > 0 ? 255 * (1 - t) : 255;
      }}
    }}
    if (panel.parts.length > 1 && field.inPlane > 0) {{  // |M∥| as shade, (M_x, M_y) as arrows
      const [px, py] = [field.parts[1], field.parts[2]];
      for (let i = 0; i < FW * FH; i++) {{
        const t = Math.hypot(px.re[i] * c + px.im[i] * s, py.re[i] * c + py.im[i] * s) / field.inPlane;
        rgba[4 * i] = 255 * (1 - 0.8 * t);
        rgba[4 * i + 1] = 255 * (1 - 0.35 * t);
        rgba[4 * i + 2] = 255 * (1 - 0.7 * t);
      }}
      ctx.putImageData(image, 0, 0);
      ctx.strokeStyle = "#222";
      ctx.beginPath();
      for (let y = ARROW_STEP / 2; y < FH; y += ARROW_STEP) for (let x = ARROW_STEP / 2; x < FW; x += ARROW_STEP) {{
        const i = Math.floor(y) * FW + Math.floor(x);
        const mx = (px.re[i] * c + px.im[i] * s) / field.inPlane, my = (py.re[i] * c + py.im[i] * s) / field.inPlane;
        if (Math.hypot(mx, my) < 0.02) continue;
        const ex = x + 0.9 * ARROW_STEP * mx, ey = y - 0.9 * ARROW_STEP * my;
        ctx.moveTo(x, y); ctx.lineTo(ex, ey);
        const angle = Math.atan2(ey - y, ex - x), head = 2 + 3 * Math.hypot(mx, my);
        ctx.lineTo(ex - head * Math.cos(angle - 0.5), ey - head * Math.sin(angle - 0.5));
        ctx.moveTo(ex, ey);
        ctx.lineTo(ex - head * Math.cos(angle + 0.5), ey - head * Math.sin(angle + 0.5));
      }}
      ctx.stroke();
    }} else {{
      ctx.putImageData(image, 0, 0);
    }}
    atomDots(ctx, r);
  }});
}}

function select(iq, nu) {{
  const q = M.q[iq];
  const re = M.re[iq][nu], im = M.im[iq][nu];
  let largest = 0;
  for (let k = 0; k < re.length; k++)
    largest = Math.max(largest, Math.hypot(...re[k], ...im[k]));
  const scale = largest > 0 ? M.drawn / largest : 0;
  current = {{iq: iq, nu: nu, waves: SITES.map(s => {{
    const ph = q[0] * s.r[0] + q[1] * s.r[1] + q[2] * s.r[2], c = Math.cos(ph), sn = Math.sin(ph);
    return [0, 1, 2].map(i => [scale * (re[s.k][i] * c - im[s.k][i] * sn), scale * (re[s.k][i] * sn + im[s.k][i] * c)]);
  }})}};
  const parity = {{"1": "σh even", "-1": "σh odd", "0": "no σh parity"}}[String(M.parity[iq][nu])];
  document.getElementById("mode-title").textContent =
    `q = ${{M.qlabels[iq]}} (point ${{iq}}), ν = ${{nu}}: ħω = ${{M.frequency[iq][nu].toFixed(2)}} meV, ` +
    `${{parity}}, ${{M.character[iq][nu]}}`;
  const entry = F.at[String(iq)], mode = entry === undefined ? null : F.entries[entry][nu];
  const note = document.getElementById("field-note");
  field = null;
  document.getElementById("fields").innerHTML = "";
  if (mode && mode.scale.some(v => v > 0)) {{
    field = fieldPanels(mode, iq);
    note.textContent =
      `Fields of this mode on the maps' plane (z = ${{F.height}} Å along its normal), animated over the period:`;
  }} else if (mode) {{
    note.textContent = "This mode is at rest (no displacement, no fields).";
  }} else {{
    note.textContent = "Atoms only: the page holds the fields of every mode at " +
      (F.labels.length ? F.labels.join(", ") : "no q-point") + (F.note ? ` (${{F.note}})` : "") +
      "; this q-point is not one of them.";
  }}
  const map = P.maps[`${{iq}},${{nu}}`], box = document.getElementById("map");
  box.innerHTML = "";
  if (map) {{
    const img = document.createElement("img");
    img.src = `data:${{map.mime}};base64,${{map.data}}`;
    img.alt = `map ${{map.name}}`;
    const cap = document.createElement("p");
    cap.className = "small";
    cap.textContent = `the run's map of this mode: ${{map.name}} (${{map.file}})`;
    box.append(cap, img);
  }}
}}

function positions(phi) {{
  const c = Math.cos(phi), s = Math.sin(phi);
  return SITES.map((site, n) => [0, 1, 2].map(
    i => site.r[i] + current.waves[n][i][0] * c + current.waves[n][i][1] * s));
}}

function draw(id, a, b, names) {{
  const r = positions(0);
  const traces = [{{x: r.map(p => p[a]), y: r.map(p => p[b]), mode: "markers", type: "scatter", hoverinfo: "skip",
    marker: {{size: 11, color: SITES.map(s => M.colours[s.k]), line: {{width: 1, color: "#333"}}}}}}];
  Plotly.newPlot(id, traces, {{title: {{text: names[2], font: {{size: 13}}}}, showlegend: false,
    margin: {{l: 45, r: 10, t: 30, b: 40}}, xaxis: {{title: {{text: names[0]}}}},
    yaxis: {{title: {{text: names[1]}}, scaleanchor: "x"}}}}, {{staticPlot: true}});
}}

function animate(now) {{
  if (current) {{
    const phi = 2 * Math.PI * ((now - start) / 1500 % 1);
    const r = positions(phi);
    Plotly.restyle("top", {{x: [r.map(p => p[0])], y: [r.map(p => p[1])]}});
    Plotly.restyle("side", {{x: [r.map(p => p[0])], y: [r.map(p => p[2])]}});
    if (field) drawFields(phi, r);
  }}
  requestAnimationFrame(animate);
}}

select(P.initial[0], P.initial[1]);
draw("top", 0, 1, ["x (Å)", "y (Å)", "top view"]);
draw("side", 0, 2, ["x (Å)", "z (Å)", "side view"]);
document.getElementById("dispersion").on("plotly_click", ev => {{
  const point = ev.points[0];
  if (point && point.customdata) select(point.customdata[0], point.customdata[1]);
}});
requestAnimationFrame(animate);
</script>
</body></html>
"""

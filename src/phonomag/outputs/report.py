"""``report.html``: one self-contained page to browse a run's modes (plotly, inlined; nothing from the network).

Left: the dispersion with the RMS spin moment of every mode, in-plane and out-of-plane (the panels of
the paper's Fig. 3); hovering over a point (q, ν) gives ħω, the σ_h parity, RMS n⁰, RMS M∥ and M_z
and the mode character. Clicking a point shows that mode on the right: the atoms of 4×4 cells moving
over one period, seen from the top (x–y) and the side (x–z), and, for a mode the run mapped, the
run's movie of its magnetization and charge (its GIF, or the still PNG where the run wrote no movie).

What the page holds (precomputed, so that a click needs no server): the frequency, parity, RMS
values, character and complex displacements of every mode at every computed q (a few hundred kB
for a path of a few hundred points), and the map pictures of the mapped modes up to
:data:`MAP_BUDGET` bytes in all (maps of modes the run did not map would need the engine; the
report only reads the run's files). The page says which maps it holds.

Units: ħω in meV; RMS n⁰, M∥ = √(RMS_x² + RMS_y²) and M_z in electrons per unit cell (Pauli
components, :mod:`phonomag.response.modes`), the spin moment |m| = 2 μ_B |M| per cell
(docs/physics.md). The animation follows u_κ(R, t) = Re[u_κ e^{i(q·(R+τ_κ) − ωt)}], with the
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

from phonomag.crystal.qpoints import qpoint_label
from phonomag.io.atomic import write_atomically
from phonomag.phonons.description import characterise_mode
from phonomag.response.fields import cartesian_q
from phonomag.response.modes import read_results
from phonomag.response.observables import SPIN_MOMENT_PER_M

REPORT_NAME = "report.html"
#: Most bytes of map pictures (GIF/PNG, before base64) the page embeds; maps beyond are listed, not shown.
MAP_BUDGET = 20_000_000
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
    return {"rms_n0": rms[..., 0], "in_plane": data.in_plane, "out_of_plane": data.out_of_plane,
            "characters": characters}


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


def dispersion_figure(data, dataset, table: dict) -> go.Figure:
    """The three panels (ħω, RMS |m∥|, RMS |m_z| against q); every point carries [iq, ν] as customdata."""
    nq, nmodes = data.frequencies.shape
    x, ticks, texts, title = _x_axis(dataset, nq)
    moment = abs(SPIN_MOMENT_PER_M)
    fig = make_subplots(rows=1, cols=3, shared_xaxes=False, horizontal_spacing=0.07,
                        subplot_titles=("phonon dispersion", "RMS in-plane spin moment |m∥|",
                                        "RMS out-of-plane spin moment |m_z|"))
    labels = [str(s) for s in dataset["label"].values]
    hover = [[f"q = {labels[iq] or qpoint_label(np.round(data.qpoints[iq], 6) + 0.0)} ({iq}), ν = {nu}<br>"
              f"ħω = {data.frequencies[iq, nu]:.2f} meV, {PARITY_TEXT[int(data.parity[iq, nu])]}<br>"
              f"RMS n⁰ = {table['rms_n0'][iq, nu]:.3e}, RMS M∥ = {table['in_plane'][iq, nu]:.3e}, "
              f"RMS M_z = {table['out_of_plane'][iq, nu]:.3e} (e/cell)<br>{html.escape(table['characters'][iq][nu])}"
              for nu in range(nmodes)] for iq in range(nq)]
    panels = ((data.frequencies, "ħω (meV)"), (moment * table["in_plane"], "RMS |m∥| (μ_B/cell)"),
              (moment * table["out_of_plane"], "RMS |m_z| (μ_B/cell)"))
    for column, (values, axis_title) in enumerate(panels, 1):
        for nu in range(nmodes):
            parity = data.parity[:, nu]
            colours = [PARITY_COLOUR[int(p)] for p in parity]
            fig.add_trace(go.Scatter(  # branches as lines in (a) only: ν sorts by ħω, so crossings swap ν
                x=x, y=values[:, nu], mode="lines+markers" if column == 1 else "markers",
                line={"color": "rgba(120,120,120,0.35)", "width": 1},
                marker={"color": colours, "size": 5}, customdata=[[iq, nu] for iq in range(nq)],
                text=[hover[iq][nu] for iq in range(nq)], hovertemplate="%{text}<extra></extra>",
                showlegend=False, name=f"ν = {nu}"), row=1, col=column)
        fig.update_yaxes(title_text=axis_title, row=1, col=column, rangemode="tozero" if column > 1 else "normal")
        fig.update_xaxes(tickvals=ticks, ticktext=texts, title_text=title, row=1, col=column, showgrid=True)
    for parity, colour in PARITY_COLOUR.items():
        if np.any(data.parity == parity):
            fig.add_trace(go.Scatter(x=[None], y=[None], mode="markers", marker={"color": colour, "size": 8},
                                     name=PARITY_TEXT[parity], hoverinfo="skip"), row=1, col=1)
    fig.update_layout(height=400, margin={"l": 60, "r": 20, "t": 40, "b": 50}, hovermode="closest",
                      clickmode="event", legend={"orientation": "h", "y": -0.18}, template="plotly_white")
    return fig


def _map_pictures(folder: Path, data, maps) -> tuple[dict, list[str]]:
    """{"iq,ν": {name, mime, data (base64)}} of the mapped modes within :data:`MAP_BUDGET`, and notes."""
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
        size = path.stat().st_size
        if used + size > MAP_BUDGET:
            notes.append(f"map {name}: left out, {path.name} ({size} bytes) would exceed the budget")
            continue
        used += size
        pictures[f"{iq},{nu}"] = {"name": name, "file": f"maps/{path.name}", "mime": mime,
                                  "data": base64.b64encode(path.read_bytes()).decode("ascii")}
    return pictures, notes


def _mode_data(data, atoms: Atoms, dataset, table: dict) -> dict:
    """What the page's script animates: the structure, q (Cartesian, 1/Å), the complex displacements (Å)."""
    labels = [str(s) for s in dataset["label"].values]
    symbols = atoms.get_chemical_symbols()
    species = list(dict.fromkeys(symbols))
    u = np.asarray(data.displacements)
    return {
        "cell": np.round(atoms.cell.array, 6).tolist(), "positions": np.round(atoms.positions, 6).tolist(),
        "symbols": symbols, "labels": list(data.atom_labels),
        "colours": [SPECIES_COLOURS[species.index(s) % len(SPECIES_COLOURS)] for s in symbols],
        "cells": list(DRAWN_CELLS), "drawn": DRAWN_DISPLACEMENT,
        "q": np.round(cartesian_q(atoms, data.qpoints), 8).tolist(),
        "qlabels": [labels[iq] or qpoint_label(np.round(q, 6) + 0.0) for iq, q in enumerate(data.qpoints)],
        "frequency": np.round(data.frequencies, 4).tolist(), "parity": data.parity.astype(int).tolist(),
        "re": _significant(u.real), "im": _significant(u.imag),
        "character": table["characters"],
    }


def _significant(values: np.ndarray) -> list:
    """Nested lists with 5 significant digits (the page draws them; results.nc keeps full precision)."""
    return np.vectorize(lambda v: float(f"{v:.5g}"))(values).tolist() if values.size else []


def _initial_mode(data, pictures: dict) -> list[int]:
    """The first mapped mode, else the mode with the largest RMS |M|."""
    if pictures:
        return [int(i) for i in next(iter(pictures)).split(",")]
    total = np.hypot(data.in_plane, data.out_of_plane)
    return [int(i) for i in np.unravel_index(np.argmax(total), total.shape)]


def report_html(folder: Path, atoms: Atoms, maps=()) -> str:
    """The page for the run in ``folder`` (its results.nc and maps/), ``atoms`` the run's structure (the atoms
    of results.nc in order); ``maps``: (name, q reduced, ν) of the run's maps."""
    folder = Path(folder)
    data, dataset = read_results(folder / "results.nc")
    if len(atoms) != len(data.atom_labels):
        raise ValueError(f"the structure has {len(atoms)} atoms, results.nc {len(data.atom_labels)}")
    table = _mode_table(data, data.atom_labels)
    figure = dispersion_figure(data, dataset, table)
    pictures, notes = _map_pictures(folder, data, maps)
    payload = {"modes": _mode_data(data, atoms, dataset, table), "maps": pictures,
               "initial": _initial_mode(data, pictures)}
    mapped = ", ".join(f"{p['name']} ({p['file']})" for p in pictures.values()) or "none"
    title = f"phonomag report: {dataset.attrs.get('material', '')} ({data.engine} engine)"
    plot = figure.to_html(full_html=False, include_plotlyjs=False, div_id="dispersion",
                          config={"displaylogo": False, "responsive": True})
    return _PAGE.format(
        title=html.escape(title), plotlyjs=get_plotlyjs(), plot=plot,
        payload=json.dumps(payload, ensure_ascii=False, separators=(",", ":")).replace("</", "<\\/"),
        kind=html.escape(data.kind), amplitude=html.escape(str(data.amplitude)), kgrid=list(data.kgrid),
        mapped=html.escape(mapped), notes="".join(f"<li>{html.escape(n)}</li>" for n in notes),
        budget=MAP_BUDGET // 1_000_000, drawn=DRAWN_DISPLACEMENT)


def write_report(folder: Path, atoms: Atoms, maps=()) -> Path:
    """Write :func:`report_html` to ``folder``/report.html atomically; returns its path."""
    text = report_html(folder, atoms, maps)
    return write_atomically(Path(folder) / REPORT_NAME, lambda tmp: Path(tmp).write_text(text, encoding="utf-8"),
                            ".html")


_PAGE = """<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>{title}</title>
<style>
body {{ font-family: sans-serif; margin: 12px; color: #222; }}
#views {{ display: flex; gap: 12px; align-items: flex-start; flex-wrap: wrap; }}
.view {{ width: 360px; height: 300px; }}
#map {{ max-width: 520px; }}
#map img {{ max-width: 520px; max-height: 300px; border: 1px solid #ccc; }}
.small {{ font-size: 0.85em; color: #555; }}
</style>
<script>{plotlyjs}</script>
</head><body>
<h2>{title}</h2>
<p class="small">Response: {kind}; amplitude: {amplitude}; k grid {kgrid}. Hover over a point for its numbers;
click a point to show that mode below.</p>
{plot}
<h3 id="mode-title">mode</h3>
<div id="views"><div id="top" class="view"></div><div id="side" class="view"></div><div id="map"></div></div>
<p class="small">Atoms of the drawn cells move as Re[u e<sup>i(q·r − ωt)</sup>], displacements scaled so that the
largest is {drawn} Å. Map pictures held (up to {budget} MB): {mapped}. Maps of other modes: run again with them
in [[maps.modes]] (docs/run-config.md).</p>
<ul class="small">{notes}</ul>
<script id="payload" type="application/json">{payload}</script>
<script>
"use strict";
const P = JSON.parse(document.getElementById("payload").textContent);
const M = P.modes;
let current = null, start = performance.now(), base = null;

function lattice() {{
  const pts = [], phase = [];
  for (let m1 = 0; m1 < M.cells[0]; m1++) for (let m2 = 0; m2 < M.cells[1]; m2++)
    for (let k = 0; k < M.positions.length; k++) {{
      const r = [0, 1, 2].map(i => m1 * M.cell[0][i] + m2 * M.cell[1][i] + M.positions[k][i]);
      pts.push({{r: r, k: k}});
    }}
  return pts;
}}
const SITES = lattice();

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
  const map = P.maps[`${{iq}},${{nu}}`], box = document.getElementById("map");
  box.innerHTML = "";
  if (map) {{
    const img = document.createElement("img");
    img.src = `data:${{map.mime}};base64,${{map.data}}`;
    img.alt = `map ${{map.name}}`;
    const cap = document.createElement("p");
    cap.className = "small";
    cap.textContent = `magnetization and charge of this mode: map ${{map.name}} (${{map.file}})`;
    box.append(cap, img);
  }} else {{
    const p = document.createElement("p");
    p.className = "small";
    p.textContent = "This mode was not mapped by the run (no magnetization or charge map).";
    box.append(p);
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

"""Mode table, mode character and the Fig. 3 plot on a hand-made ModeResponse."""

import numpy as np
import pytest

from phonomag.outputs.plotting.dispersion import plot_magnetization_dispersion
from phonomag.outputs.tables import mode_table
from phonomag.phonons.description import characterise_mode
from phonomag.response.modes import ModeResponse

SITES = ("W", "Se_t", "Se_b")
POSITIONS = np.array([[0.0, 0.0, 0.0], [0.0, 1.877, 1.668], [0.0, 1.877, -1.668]])
NQ, NMODES = 7, 9
#: W along z, both Se rotating in plane (the paper's lowest mode at K).
W_OUT_SE_ROTATING = np.array([[0, 0, 0.05], [0.03, 0.03j, 0], [-0.03, -0.03j, 0]])


@pytest.fixture(scope="module")
def data():
    rng = np.random.default_rng(7)
    qpoints = np.linspace(0, 1, NQ)[:, None] * np.array([1 / 3, 1 / 3, 0.0])
    frequencies = np.sort(rng.uniform(5.0, 40.0, (NQ, NMODES)), axis=1)
    parity = np.where(rng.random((NQ, NMODES)) < 0.5, 1, -1)
    shape = (NQ, NMODES, 3)
    displacements = 0.02 * (rng.normal(size=(*shape, 3)) + 1j * rng.normal(size=(*shape, 3)))
    displacements[-1, 0] = W_OUT_SE_ROTATING
    moments = 1e-4 * (rng.normal(size=(*shape, 4)) + 1j * rng.normal(size=(*shape, 4)))
    return ModeResponse(qpoints, frequencies, parity, displacements, moments, SITES, SITES, "one-sided",
                        "zero-point", (6, 6, 1), "tight-binding")


def test_characterise_mode_names_w_out_of_plane_and_se_in_plane():
    assert characterise_mode(W_OUT_SE_ROTATING, SITES) == "W z, Se_t+Se_b xy rot"
    linear = np.array([[0.04, 0, 0.0], [0, 0.03, 0.001], [0, 0, 0.03]])
    assert characterise_mode(linear, SITES) == "W+Se_t xy, Se_b z"
    tilted_with_w_at_rest = np.array([[0.001, 0, 0], [0.03, 0, 0.03], [0.03, 0, -0.03]])
    assert characterise_mode(tilted_with_w_at_rest, SITES) == "W rest, Se_t+Se_b xyz"
    assert characterise_mode(np.zeros((3, 3)), SITES) == "no motion"
    with pytest.raises(ValueError, match="site labels"):
        characterise_mode(np.zeros((2, 3)), SITES)


def test_mode_table_rows_reproduce_the_data(data):
    q_labels = {NQ - 1: "K", 3: "mid"}
    lines = mode_table(data, q_labels)
    header = "\n".join(lines[:3])
    assert "zero-point" in header and "6×6×1" in header and "electrons per cell" in header
    rows = lines[-len(q_labels) * NMODES:]
    assert lines[-len(q_labels) * NMODES - 1].startswith("---")
    column = lines[-len(q_labels) * NMODES - 2].index("character")
    selected = [(iq, label, nu) for iq, label in q_labels.items() for nu in range(NMODES)]
    for row, (iq, label, nu) in zip(rows, selected, strict=True):
        fields = row.split()
        assert fields[0] == label and int(fields[1]) == nu
        assert float(fields[2]) == pytest.approx(data.frequencies[iq, nu], abs=5e-4)
        assert fields[3] == {1: "even", -1: "odd"}[data.parity[iq, nu]]
        printed = np.array([0.0 if f == "n/a" else float(f) for f in fields[4:8]])
        expected = [data.m_parts[0][iq, nu], data.m_parts[1][iq, nu], data.rms[iq, nu, 0],
                    data.magnetization_to_charge[iq, nu]]
        np.testing.assert_allclose(printed, expected, rtol=1e-3)
        assert row[column:] == characterise_mode(data.displacements[iq, nu], SITES)
    assert rows[0][column:] == "W z, Se_t+Se_b xy rot"


def test_mode_table_rejects_missing_q(data):
    with pytest.raises(ValueError, match="out of range"):
        mode_table(data, {NQ: "X"})


def test_figure_is_written_as_png_and_pdf(data, tmp_path):
    distances = np.linspace(0.0, 1.5, NQ)
    files = plot_magnetization_dispersion(data, distances, [0.0, 1.5], ["Γ", "K"], SITES, POSITIONS,
                                          tmp_path / "fig3", NQ - 1)
    assert sorted(f.suffix for f in files) == [".pdf", ".png"]
    assert all(f.exists() and f.stat().st_size > 0 for f in files)


def test_figure_rejects_mismatched_lengths(data, tmp_path):
    with pytest.raises(ValueError, match="distances has shape"):
        plot_magnetization_dispersion(data, np.arange(NQ - 1.0), [0.0], ["Γ"], SITES, POSITIONS, tmp_path / "x", 0)
    with pytest.raises(ValueError, match="site labels"):
        plot_magnetization_dispersion(data, np.arange(NQ * 1.0), [0.0], ["Γ"], SITES[:2], POSITIONS, tmp_path / "x", 0)
    assert not list(tmp_path.iterdir())

"""report.html in a real browser (headless Chromium + selenium), and the phonon-viewer files against results.nc.

The run is the tiny model run of test_run.py (13 path points, one in-plane map with a 2-frame movie; the
fields of every mode at Γ, M and K, 12 points per cell). The browser test is skipped, with the reason, where
Chromium or its driver is not installed (scripts/install_browser.sh installs them from Debian). Its
screenshot, taken after a click on a mode at M that the run did not map, stays in pytest's tmp folder
(``<basetemp>/test_report_in_a_browser0/report_after_click.png``; ``pytest --basetemp=DIR`` chooses DIR).
"""

import json
import shutil
import tempfile

import numpy as np
import pytest
import yaml
from scipy.constants import c, e, h
from test_run import CONFIG

from phonomag.cli.main import main
from phonomag.crystal.lattice_plane import LatticePlane
from phonomag.crystal.materials import load_material
from phonomag.engines.base import compute_mode_fields
from phonomag.engines.tightbinding.engine import TightBindingEngine
from phonomag.outputs import report
from phonomag.outputs.phonon_website import eigen_displacements
from phonomag.response.modes import read_results

#: meV → cm⁻¹ from scipy's CODATA constants (the writer uses ASE's): ν̃ = E / (h c).
CM_PER_MEV = 1e-3 * e / (h * c * 100)


@pytest.fixture(scope="module")
def finished_run(tmp_path_factory):
    folder = tmp_path_factory.mktemp("report_run")
    config = folder / "run.toml"
    config.write_text(CONFIG)
    main(["run", "-c", str(config), "-o", str(folder / "out")])
    return folder / "out"


def test_run_writes_a_self_contained_report(finished_run):
    text = (finished_run / "report.html").read_text(encoding="utf-8")
    assert "plotly" in text.lower() and 'id="dispersion"' in text
    for tag in ("<script src=", "<link ", "@import"):  # nothing loaded from elsewhere
        assert tag not in text
    assert "data:image/gif;base64," in text or '"mime":"image/gif"' in text  # the K_odd movie is held
    assert len(text.encode("utf-8")) <= report.PAGE_BUDGET


def _payload(folder):
    text = (folder / "report.html").read_text(encoding="utf-8")
    tag = '<script id="payload" type="application/json">'
    start = text.index(tag) + len(tag)
    return json.loads(text[start:text.index("</script>", start)].replace("<\\/", "</"))


def _independent_fields(folder, iq: int, nu: int):
    """The plane field of mode (iq, ν) of the run, computed again here by the engine the run used (the model,
    k grid of the run's configuration), from the frequencies and displacements of results.nc."""
    data, _ = read_results(folder / "results.nc")
    engine = TightBindingEngine.from_material(load_material("WSe2"), (9, 9, 1))
    return data, compute_mode_fields(engine, data.qpoints[iq], data.frequencies[iq, nu], data.displacements[iq, nu],
                                     nu, LatticePlane.through(engine.atoms), 12)


def test_report_holds_the_fields_of_every_mode_at_the_labelled_q(finished_run):
    data, dataset = read_results(finished_run / "results.nc")
    fields = _payload(finished_run)["fields"]
    labels = [str(s) for s in dataset["label"].values]
    assert fields["labels"] == ["Γ", "M", "K"] and fields["points"] == 12 and fields["height"] == 0.0
    at = {int(iq): entry for iq, entry in fields["at"].items()}
    assert sorted(at) == [iq for iq, label in enumerate(labels) if label]  # both Γ ends, M, K; nothing else
    assert at[0] == at[len(labels) - 1]  # the path's two Γ share one entry
    nmodes = data.frequencies.shape[1]
    assert all(len(entry) == nmodes and all(mode is not None for mode in entry) for entry in fields["entries"])
    # the stored amplitude decodes to the field computed again, to the stored precision
    iq, nu = labels.index("M"), int(np.argmax(data.frequencies[labels.index("M")]))
    _, direct = _independent_fields(finished_run, iq, nu)
    mode = fields["entries"][at[iq]][nu]
    expected = direct.plane.amplitude.reshape(4, -1)
    for alpha in range(4):
        scale = mode["scale"][alpha]
        if scale == 0:  # stored as zero: below the threshold of the mode's largest component
            assert np.abs(expected[alpha]).max() <= report.FIELD_ZERO_FRACTION * max(mode["scale"]) * 1.5
            continue
        decoded = (np.array(mode["re"][alpha]) + 1j * np.array(mode["im"][alpha])) * scale / report.FIELD_LEVELS
        step = scale / report.FIELD_LEVELS  # rounding to the nearest level: half a step in Re and in Im
        np.testing.assert_allclose(decoded.real, expected[alpha].real, rtol=0, atol=0.5 * step * (1 + 1e-9))
        np.testing.assert_allclose(decoded.imag, expected[alpha].imag, rtol=0, atol=0.5 * step * (1 + 1e-9))
    assert mode["scale"][0] > 0 and mode["scale"][3] > 0  # σh even at M: charge and M_z on the W plane
    # every stored mode within the per-mode bound that field_points budgets with
    for entry in fields["entries"]:
        for stored in entry:
            assert len(json.dumps(stored, separators=(",", ":"))) <= report._field_bytes(fields["points"])


@pytest.mark.slow
def test_default_run_report_within_the_budget(tmp_path):
    """The default run (WSe₂, kernel engine, 151 path points, six mapped modes; about a minute)."""
    main(["run", "-o", str(tmp_path / "out")])
    size = (tmp_path / "out" / "report.html").stat().st_size
    assert size <= report.PAGE_BUDGET
    fields = _payload(tmp_path / "out")["fields"]
    assert fields["labels"] == ["Γ", "M", "K"] and fields["points"] == 48  # [maps] points_per_cell: it fits
    assert sum(mode is not None for entry in fields["entries"] for mode in entry) == 27
    assert len(_payload(tmp_path / "out")["maps"]) == 4  # the maps at K and M (K′ is not on the path)


def test_field_points_fit_the_budget():
    for n_fields, requested in ((27, 48), (400, 48), (2000, 48), (10, 12)):
        points = report.field_points(n_fields, requested)
        assert points <= requested
        assert n_fields * report._field_bytes(points) <= report.FIELD_BUDGET
        if points < requested:  # the finest that fits
            assert n_fields * report._field_bytes(points + 1) > report.FIELD_BUDGET
    assert report.field_points(10**6, 48) is None  # not even FIELD_MIN_POINTS fit


def test_pictures_beyond_the_page_budget_are_left_out_and_listed(finished_run, monkeypatch):
    atoms = load_material("WSe2").atoms
    maps = [("K_odd", np.array([1 / 3, 1 / 3, 0.0]), 1)]
    full = report.report_html(finished_run, atoms, LatticePlane.through(atoms), maps)
    assert "maps/K_odd_movie.gif" in full and "left out" not in full  # control: within the budget it is held
    without = report.report_html(finished_run, atoms, LatticePlane.through(atoms), [])
    monkeypatch.setattr(report, "PAGE_BUDGET", len(without.encode("utf-8")) + 1000)
    small = report.report_html(finished_run, atoms, LatticePlane.through(atoms), maps)
    assert "data:image/gif" not in small and '"mime":"image/gif"' not in small
    assert "map K_odd: left out, K_odd_movie.gif" in small
    assert len(small.encode("utf-8")) <= report.PAGE_BUDGET


def test_phonon_website_json_has_the_frequencies_and_modes_of_results(finished_run):
    data, dataset = read_results(finished_run / "results.nc")
    site = json.loads((finished_run / "phonon_website.json").read_text())
    for key in ("name", "natoms", "lattice", "atom_types", "atom_numbers", "formula", "repetitions", "atom_pos_car",
                "atom_pos_red", "highsym_qpts", "qpoints", "distances", "eigenvalues", "vectors", "line_breaks"):
        assert key in site, key
    np.testing.assert_allclose(site["eigenvalues"], data.frequencies * CM_PER_MEV, rtol=1e-7)
    np.testing.assert_allclose(site["qpoints"], data.qpoints)
    np.testing.assert_allclose(site["distances"], dataset["path_distance"].values)
    assert site["atom_types"] == ["W", "Se", "Se"] and site["formula"] == "Se2W1"
    assert site["line_breaks"] == [[0, len(data.qpoints)]]
    labels = {label for _, label in site["highsym_qpts"]}
    assert labels == {"Γ", "M", "K"}
    assert all(dataset["label"].values[i] == label for i, label in site["highsym_qpts"])
    vectors = np.array(site["vectors"])
    assert vectors.shape == data.displacements.shape + (2,)
    complex_vectors = vectors[..., 0] + 1j * vectors[..., 1]
    masses = np.array([m["mass"] for m in yaml.safe_load((finished_run / "band.yaml").read_text())["points"]])
    moving = np.abs(data.displacements).sum(axis=(2, 3)) > 0
    norms = np.einsum("qnka,k->qn", np.abs(complex_vectors) ** 2, masses)
    np.testing.assert_allclose(norms[moving], 1.0, rtol=1e-9)  # e/√m with |e| = 1
    # the same direction and phase as the stored displacements: v ∥ u
    overlap = np.abs(np.einsum("qnka,qnka->qn", complex_vectors.conj(), data.displacements))
    np.testing.assert_allclose(overlap[moving], np.linalg.norm(complex_vectors, axis=(2, 3))[moving]
                               * np.linalg.norm(data.displacements, axis=(2, 3))[moving], rtol=1e-9)


def test_band_yaml_frequencies_and_eigenvectors(finished_run):
    data, _ = read_results(finished_run / "results.nc")
    band = yaml.safe_load((finished_run / "band.yaml").read_text())
    thz = np.array([[b["frequency"] for b in point["band"]] for point in band["phonon"]])
    np.testing.assert_allclose(thz, data.frequencies * 1e-3 * e / h / 1e12, rtol=1e-7)
    masses = np.array([p["mass"] for p in band["points"]])
    vectors = np.array([[b["eigenvector"] for b in point["band"]] for point in band["phonon"]])
    expected = eigen_displacements(data, masses) * np.sqrt(masses)[None, None, :, None]
    np.testing.assert_allclose(vectors[..., 0] + 1j * vectors[..., 1], expected, atol=1e-12)


def _browser():
    """A headless Chromium driven by selenium, or the reason why there is none."""
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    driver = shutil.which("chromedriver")
    if not (chromium and driver):
        return None, "Chromium and chromedriver not installed (sh scripts/install_browser.sh)"
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = chromium
    for flag in ("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync",
                 "--window-size=1400,1500", f"--user-data-dir={tempfile.mkdtemp(prefix='phonomag-chromium-')}"):
        options.add_argument(flag)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    return webdriver.Chrome(service=Service(driver), options=options), None


def _click_point(browser, iq: int, nu: int) -> None:
    """A real mouse click on point (iq, ν) of the dispersion panel (plotly's own axis → pixel mapping)."""
    from selenium.webdriver.common.action_chains import ActionChains
    from selenium.webdriver.common.by import By

    x, y = browser.execute_script("""
        const gd = document.getElementById('dispersion'), L = gd._fullLayout;
        const point = gd.calcdata[arguments[1]][arguments[0]];  // panel (a) holds the traces ν = 0, 1, … first
        return [L.xaxis.l2p(point.x) + L._size.l, L.yaxis.l2p(point.y) + L._size.t];""", iq, nu)
    element = browser.find_element(By.ID, "dispersion")
    size = element.size
    ActionChains(browser).move_to_element_with_offset(element, round(x - size["width"] / 2),
                                                      round(y - size["height"] / 2)).pause(0.3).click().perform()


def test_report_in_a_browser(finished_run, tmp_path):
    from PIL import Image

    browser, reason = _browser()
    if browser is None:
        pytest.skip(reason)
    data, dataset = read_results(finished_run / "results.nc")
    labels = [str(s) for s in dataset["label"].values]
    m_point = labels.index("M")
    target = (m_point, int(np.argmax(data.frequencies[m_point])))  # at M: not the run's one map (K, odd:0)
    _, direct = _independent_fields(finished_run, *target)
    wave = direct.plane.wave((2, 2))
    sample = wave.points.reshape(-1, 3)[::7]
    phase = 0.7
    try:
        browser.get((finished_run / "report.html").as_uri())
        browser.implicitly_wait(5)
        assert browser.execute_script("return typeof Plotly") == "object"
        before = browser.execute_script("return document.getElementById('mode-title').textContent")
        assert browser.execute_script("return document.querySelectorAll('#map img').length") == 1  # K_odd's movie
        initial = browser.execute_script("return P.initial")
        side_before = browser.execute_script("return document.getElementById('side').data[0].y.slice()")
        _click_point(browser, *target)
        after = browser.execute_script("return document.getElementById('mode-title').textContent")
        assert after != before and after.startswith(f"q = M (point {m_point}), ν = {target[1]}:"), (before, after)
        assert browser.execute_script("return document.getElementById('field-note').textContent").startswith(
            "Fields of this mode")
        assert browser.execute_script("return document.querySelectorAll('#map img').length") == 0  # not mapped
        side_after = browser.execute_script("return document.getElementById('side').data[0].y.slice()")
        assert not np.allclose(side_before, side_after)  # the atoms of the new mode are drawn (and move)
        frames = [browser.execute_script("return document.getElementById('field-n0').toDataURL()")]
        browser.execute_script("return new Promise(done => setTimeout(done, 400))")
        frames.append(browser.execute_script("return document.getElementById('field-n0').toDataURL()"))
        assert frames[0] != frames[1]  # the charge map animates over the period
        shown = np.array(browser.execute_script(
            "return arguments[0].map(r => [0, 1, 2, 3].map(a => [fieldValue(a, r[0], r[1], arguments[1]),"
            " fieldValue(a, r[0], r[1], -arguments[1])]))", sample[:, :2].tolist(), phase))
        shot = tmp_path / "report_after_click.png"
        browser.save_screenshot(str(shot))
        _click_point(browser, 1, target[1])  # between Γ and M: atoms only
        assert browser.execute_script("return document.getElementById('field-note').textContent").startswith(
            "Atoms only")
        assert browser.execute_script("return document.querySelectorAll('#fields canvas').length") == 0
        mapped = (labels.index("K"), initial[1])
        _click_point(browser, *mapped)  # back to the mapped mode: its movie again
        assert browser.execute_script("return document.getElementById('mode-title').textContent") == before
        assert browser.execute_script("return document.querySelectorAll('#map img').length") == 1
        errors = [entry for entry in browser.get_log("browser") if entry["level"] == "SEVERE"]
    finally:
        browser.quit()
    assert errors == []
    # the page draws n^α(r, t) = Re[δñ^α(r) e^{i(q·r − ωt)}], as the run's movies (FieldWave.at): at the stored
    # points to the stored precision; the opposite sense of time (control) differs
    expected = wave.at(phase).reshape(4, -1)[:, ::7].T
    scale = np.abs(direct.plane.amplitude).reshape(4, -1).max(axis=1)
    kept = scale > report.FIELD_ZERO_FRACTION * scale.max()
    tolerance = 1.5 * scale / report.FIELD_LEVELS
    np.testing.assert_allclose(shown[:, kept, 0], expected[:, kept], rtol=0, atol=tolerance[kept].max())
    assert np.abs(shown[:, kept, 1] - expected[:, kept]).max() > 100 * tolerance[kept].max()
    pixels = np.asarray(Image.open(shot).convert("L"), dtype=float)
    assert pixels.std() > 10, "blank screenshot"

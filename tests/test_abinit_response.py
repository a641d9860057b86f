"""Eq. 1 from ABINIT DFPT on tiny settings (ecut 8 Ha, 3×3 k grid, spinors).

Runs abinit (skipped, with the reason, where it is not installed: see
scripts/install_abinit.sh; .ci/run installs it). One ground state and, at q = K
and q = −K, the two perturbations of W along a (in plane) and along z.
Checks against ABINIT's own first-order density, the σ_h selection rule, time
reversal between q and −q, and independence of the wavefunction gauge (a second
ground state with another number of bands has other phases).
"""

from __future__ import annotations

import shutil
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest

from phonomag.crystal.materials import load_material
from phonomag.engines.abinit.density_response import cell_integrals, one_sided_response, pauli_components
from phonomag.io.abinit.densities import read_first_order_density
from phonomag.io.abinit.inputs import AbinitSettings, response_ground_state_input, response_perturbation_input
from phonomag.io.abinit.runner import run_abinit
from phonomag.io.abinit.wavefunctions import WavefunctionFileError, read_wavefunctions

pytestmark = pytest.mark.skipif(shutil.which("abinit") is None,
                                reason="abinit not installed (run scripts/install_abinit.sh)")

K = [1 / 3, 1 / 3, 0]
MINUS_K = [-1 / 3, -1 / 3, 0]
SETTINGS = AbinitSettings(ecut=8, kgrid=(3, 3, 1), spin_orbit=True, tolvrs_gs=1e-14, tolvrs_dfpt=1e-10)
W_X, W_Z = 1, 3  # ABINIT perturbation index idir + 3 (ipert − 1) for W (atom 1)


def _tiny_wse2():
    atoms = load_material("WSe2").atoms.copy()
    cell = atoms.cell.array.copy()
    cell[2] = [0.0, 0.0, 12.0]
    atoms.set_cell(cell, scale_atoms=False)
    return atoms


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    """Ground state, then W along a and z at K (folder q2) and at −K (folder q3), the two side by side."""
    workdir = tmp_path_factory.mktemp("abinit")
    atoms = _tiny_wse2()
    run_abinit(response_ground_state_input(atoms, SETTINGS), workdir / "gs", "gs", progress=False)
    wfk = next((workdir / "gs").glob("gso*_WFK.nc"))
    runs = [(response_perturbation_input(atoms, SETTINGS, q, [(1, (1, 0, 1))], wfk), workdir / folder)
            for folder, q in (("q2", K), ("q3", MINUS_K))]
    with ThreadPoolExecutor(len(runs)) as pool:
        for finished in [pool.submit(run_abinit, text, folder, "dfpt", progress=False) for text, folder in runs]:
            finished.result()
    return workdir


def _files(workdir, dataset, pert):
    ground = read_wavefunctions(next((workdir / "gs").glob("gso*_WFK.nc")))
    folder = workdir / f"q{dataset}"
    first = read_wavefunctions(next(folder.glob(f"dfpto*_1WF{pert}.nc")))
    density = read_first_order_density(next(folder.glob(f"dfpto*_DEN{pert}.nc")))
    return ground, first, density


def test_abinit_first_order_density_is_twice_the_trace(run):
    for dataset in (2, 3):
        for pert in (W_X, W_Z):
            ground, first, density = _files(run, dataset, pert)
            response = one_sided_response(ground, first, density.shape)
            trace = response[0, 0] + response[1, 1]
            assert np.abs(2 * trace - density).max() < 1e-8 * np.abs(density).max()


def test_sigma_h_selection_rule_at_k(run):
    # W along z is odd under σ_h: cell-integrated charge and M_z vanish, in-plane M does not.
    # W along a is even: in-plane M vanishes, charge and M_z do not.
    ground, first, density = _files(run, 2, W_Z)
    odd = cell_integrals(pauli_components(one_sided_response(ground, first, density.shape)), ground.volume)
    ground, first, density = _files(run, 2, W_X)
    even = cell_integrals(pauli_components(one_sided_response(ground, first, density.shape)), ground.volume)
    in_plane_odd = np.hypot(abs(odd[1]), abs(odd[2]))
    assert in_plane_odd > 1e-3
    assert abs(odd[0]) < 1e-5 * in_plane_odd and abs(odd[3]) < 1e-5 * in_plane_odd
    assert abs(even[0]) > 1e-3 and abs(even[3]) > 1e-5
    assert np.hypot(abs(even[1]), abs(even[2])) < 1e-5 * abs(even[3])


def test_time_reversal_between_k_and_minus_k(run):
    # W sits at the origin, so ABINIT's pattern e^{iq·R} is the τ-including one: docs/physics.md §10
    # gives n⁰_{−q}(r) = n⁰_q(r)* and M_{−q}(r) = −M_q(r)* for the cell-periodic parts.
    for pert in (W_X, W_Z):
        ground, first, density = _files(run, 2, pert)
        plus = pauli_components(one_sided_response(ground, first, density.shape))
        ground, first, density = _files(run, 3, pert)
        minus = pauli_components(one_sided_response(ground, first, density.shape))
        scale = np.abs(plus).max()
        assert np.abs(minus[0] - plus[0].conj()).max() < 1e-6 * scale
        assert np.abs(minus[1:] + plus[1:].conj()).max() < 1e-6 * scale


class _Regauged:
    """A wavefunction set seen through a band unitary U_k: ψ_v → Σ_w ψ_w U_k[w, v]."""

    def __init__(self, wavefunctions, unitaries):
        self.__dict__.update(wavefunctions.__dict__)
        self._inner, self._unitaries = wavefunctions, unitaries

    def periodic_parts(self, ik, nbands, fft_shape):
        parts = self._inner.periodic_parts(ik, nbands, fft_shape)
        return np.einsum("wv,ws...->vs...", self._unitaries[ik][:nbands, :nbands], parts)


def _kramers_unitaries(ground, nbands, rng):
    """Random phases and random U(2) mixing inside each degenerate pair of occupied bands, per k."""
    out = []
    for ik in range(len(ground.kpoints)):
        u = np.diag(np.exp(2j * np.pi * rng.random(nbands)))
        e = ground.eigenvalues[ik, :nbands]
        for v in range(0, nbands - 1):
            if abs(e[v + 1] - e[v]) < 1e-6:
                q, _ = np.linalg.qr(rng.normal(size=(2, 2)) + 1j * rng.normal(size=(2, 2)))
                u[v:v + 2, v:v + 2] = u[v:v + 2, v:v + 2] @ q
        out.append(u)
    return out


def test_response_is_independent_of_the_wavefunction_gauge(run):
    # A gauge change acts on ψ_{v,k} and on its first-order partner δψ_{v,k+q} alike (DFPT is
    # linear in each occupied state); N must not change at any r.
    ground, first, density = _files(run, 2, W_Z)
    reference = one_sided_response(ground, first, density.shape)
    nocc = 26
    unitaries = _kramers_unitaries(ground, nocc, np.random.default_rng(11))
    pairs = sum(int(np.count_nonzero(np.abs(u - np.diag(np.diag(u))) > 1e-3)) for u in unitaries)
    assert pairs > 0  # Kramers pairs were mixed, not only rephased
    regauged = one_sided_response(_Regauged(ground, unitaries), _Regauged(first, unitaries), density.shape)
    assert np.abs(regauged - reference).max() < 1e-10 * np.abs(reference).max()
    # a gauge change of the ground state alone is not a symmetry: the test can fail
    broken = one_sided_response(_Regauged(ground, unitaries), first, density.shape)
    assert np.abs(broken - reference).max() > 1e-3 * np.abs(reference).max()


def test_first_order_file_must_match_ground_state(run):
    ground, first, density = _files(run, 2, W_Z)
    other = read_wavefunctions(next((run / "q3").glob("dfpto*_1WF3.nc")))
    other.qpoint = np.array(K)  # claims K but holds −K + k points
    with pytest.raises(WavefunctionFileError, match="not those of"):
        one_sided_response(ground, other, density.shape)


def test_reduced_responses_round_trip_and_go_stale(run, tmp_path):
    """response.nc (kept instead of the 1WF files) returns the same N, and only for the same, newer inputs."""
    import os

    from phonomag.engines.abinit.response_store import inputs_digest, load_responses, save_responses

    ground, first, density = _files(run, 2, W_Z)
    responses = {(0, 2): one_sided_response(ground, first, density.shape)}
    path = save_responses(tmp_path / "response.nc", responses, ground.volume, 1e-15, inputs_digest(["gs", "dfpt"]))
    source = run / "q2" / "dfpt.abo"
    loaded, volume, check = load_responses(path, inputs_digest(["gs", "dfpt"]), [source])
    assert np.array_equal(loaded[(0, 2)], responses[(0, 2)]) and volume == ground.volume and check == 1e-15
    assert load_responses(path, inputs_digest(["gs", "dfpt other"]), [source]) is None
    os.utime(path, (source.stat().st_mtime - 10,) * 2)  # a ground state or DFPT run redone after the reduction
    assert load_responses(path, inputs_digest(["gs", "dfpt"]), [source]) is None


TINY_RUN = """
[run]
engine = "abinit"
[response]
kgrid = [6, 6, 1]
[outputs]
movies = false
[abinit]
ecut = 8
kgrid = [3, 3, 1]
vacuum = 12.0
q = ["K", "K'"]
nproc = 2
"""


@pytest.mark.slow
def test_run_engine_abinit_at_k_and_minus_k(tmp_path):
    """phonomag run --engine abinit, all nine perturbations at K and −K (about 4 minutes): σ_h rule
    per mode, time reversal per mode, results file, Fig. 1/2 maps at K and K′, M maps skipped."""
    import xarray as xr

    from phonomag.cli.run import run_main
    from phonomag.io.netcdf import complex_from
    from phonomag.response.modes import results_variables

    config = tmp_path / "tiny.toml"
    config.write_text(TINY_RUN)
    lines = run_main(config, tmp_path / "out")
    with xr.open_dataset(tmp_path / "out" / "results.nc") as data:
        assert data.attrs["engine"] == "abinit-dfpt" and list(data["site"].values) == ["cell"]
        assert set(data.data_vars) == results_variables("layer")  # the results.nc layout of every engine
        index = {str(label): i for i, label in enumerate(data["label"].values)}
        moments = {q: complex_from(data["cell_moment"].isel(q=index[q])) for q in ("K", "K'")}
        parity = {q: data["parity"].isel(q=index[q]).values for q in ("K", "K'")}
        frequencies = {q: data["frequency"].isel(q=index[q]).values for q in ("K", "K'")}
    for q in ("K", "K'"):
        m = moments[q]
        scale, charge = np.abs(m[:, 1:]).max(), np.abs(m[:, 0]).max()  # each forbidden part against its own kind
        in_plane = np.hypot(np.abs(m[:, 1]), np.abs(m[:, 2]))
        odd, even = parity[q] == -1, parity[q] == 1
        assert odd.sum() == 4 and even.sum() == 5  # odd: W z, Se z together, Se in plane opposite (2)
        assert np.abs(m[odd, 0]).max() < 1e-6 * charge and np.abs(m[odd, 3]).max() < 1e-6 * scale  # odd: M∥ only
        assert in_plane[even].max() < 1e-6 * scale  # even: M_z (and charge) only
        assert in_plane[odd].min() > 1e-3 * scale and np.abs(m[even, 3]).min() > 1e-4 * scale
    # time reversal: same frequencies, and |n⁰|, |M| of every mode equal at K and −K
    assert np.allclose(frequencies["K"], frequencies["K'"], atol=1e-6)
    plus, minus = np.abs(moments["K"]), np.abs(moments["K'"])  # (mode, component); modes 6, 7 are 0.03 meV apart
    assert (np.abs(plus - minus) < 1e-4 * plus.max(axis=0)).all()
    assert any(line.startswith("time reversal K ↔ K'") for line in lines)
    maps = tmp_path / "out" / "maps"
    for name in ("K_acoustic_W_out_of_plane", "K_highest_acoustic", "Kp_acoustic_W_out_of_plane",
                 "Kp_highest_acoustic"):
        assert (maps / f"{name}.png").is_file(), name
    assert sum("skipped, q = M" in line for line in lines) == 2
    assert (tmp_path / "out" / "model_vs_dfpt.txt").is_file()
    assert (maps / "K_highest_acoustic_mz.cube").stat().st_size > 0  # field files from the ABINIT fields
    work = tmp_path / "out" / "abinit-work"
    assert sorted(p.name for p in work.iterdir()) == ["gs", "q_-1_-1_0", "q_1_1_0"]
    assert not list(work.glob("q_*/dfpt*/*_1WF*")) and len(list(work.glob("q_*/response.nc"))) == 2
    again = run_main(config, tmp_path / "out")  # resumes from response.nc: no ABINIT run, same numbers
    assert [line for line in again if "time reversal" in line] == [line for line in lines if "time reversal" in line]


@pytest.mark.slow
def test_k_plus_q_run_gives_the_on_grid_response_and_any_q_works(tmp_path):
    """The path for q off the k grid (a non-self-consistent k + q run before DFPT), forced at K on the 3×3
    grid, gives the direct on-grid responses to the SCF tolerance; at (1/6, 0, 0), off the grid, eq. 1
    still reproduces ABINIT's first-order density (DEN1 = 2 Tr N)."""
    from phonomag.engines.abinit.engine import run_pattern_dfpt

    atoms = _tiny_wse2()
    direct = run_pattern_dfpt(atoms, SETTINGS, K, tmp_path, nproc=2, progress=False)
    shifted = run_pattern_dfpt(atoms, SETTINGS, K, tmp_path, nproc=2, progress=False, force_wfq=True)
    assert (tmp_path / "q_0.333333_0.333333_0.000000_wfq" / "wfq").is_dir()
    scale = max(np.abs(n).max() for n in direct.responses.values())
    assert max(np.abs(shifted.responses[key] - direct.responses[key]).max() for key in direct.responses) < 1e-5 * scale
    off = run_pattern_dfpt(atoms, SETTINGS, [1 / 6, 0, 0], tmp_path, nproc=2, progress=False)
    assert off.charge_check < 1e-10 and len(off.responses) == 9


@pytest.mark.slow
def test_symmetry_unfolding_of_dfpt_fields_matches_direct_runs_at_equivalent_q(tmp_path):
    """docs/physics.md §11 on first-principles data (about 10 minutes, one core): the reduced pattern fields
    (Fourier coefficients, format 2) at q = (1/3, 0) unfolded by a rotation (and by a mirror) to (0, −1/3) ≡
    (0, 2/3), and by time reversal to (−1/3, 0) ≡ (2/3, 0), both brought back by a shift by G, against direct
    DFPT runs there, to the SCF tolerance; a wrong rule (M rotated as a polar vector) misses."""
    from phonomag.crystal.qpoints import grid_classes
    from phonomag.engines.abinit.tasks import KernelJob, compute_kernel_files
    from phonomag.engines.kernel.engine import ReducedGrid
    from phonomag.engines.kernel.symmetry import rotate_q, space_group

    atoms = _tiny_wse2()
    steps = [(1, 0, 0), (0, 2, 0), (2, 0, 0)]
    assert len({grid_classes(atoms, (3, 3, 1))[s] for s in steps}) == 1  # one star
    job = KernelJob(atoms, SETTINGS, tuple(steps), tmp_path / "reduced", tmp_path / "work", nproc=1)
    grid = ReducedGrid.read(compute_kernel_files(job, progress=None))
    box = grid.representation
    q = np.array([1 / 3, 0.0, 0.0])
    source = grid.fields[(1, 0, 0)]
    scale = np.abs(source).max()
    onto = [op for op in space_group(grid.atoms) if np.allclose(rotate_q(op, q), [0, -1 / 3, 0])]
    proper = next(op for op in onto if np.linalg.det(op.cartesian) > 0)
    improper = next(op for op in onto if np.linalg.det(op.cartesian) < 0)
    deviations = {}
    for name, operation in (("rotation", proper), ("mirror", improper)):
        image = box.shift_by_g(box.apply(operation, source), [0, 1, 0])
        deviations[name] = np.abs(image - grid.fields[(0, 2, 0)]).max() / scale
    reversed_ = box.shift_by_g(box.time_reverse(source), [1, 0, 0])  # −q + (1, 0) = (2/3, 0)
    deviations["time reversal"] = np.abs(reversed_ - grid.fields[(2, 0, 0)]).max() / scale
    print("unfolded vs direct DFPT, max deviation / max coefficient:", deviations)
    assert max(deviations.values()) < 1e-5
    wrong = box.apply(improper, source)
    wrong[:, :, 1:] *= -1  # det S undone: M as a polar vector
    wrong = box.shift_by_g(wrong, [0, 1, 0])
    assert np.abs(wrong - grid.fields[(0, 2, 0)]).max() > 1e-2 * scale

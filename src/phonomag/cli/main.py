"""Command-line interface: ``phonomag <command>``.

Every user error is a :class:`~phonomag.errors.PhonomagError`; :func:`main`
prints its one-line message and exits with status 2, never a traceback.
"""

from __future__ import annotations

import os
import select
import signal
import sys
import threading
from contextlib import contextmanager
from pathlib import Path

import click
import numpy as np

from phonomag import __version__
from phonomag.cli.engines import Capability, engine_names
from phonomag.errors import PhonomagError, QPointError

MATERIAL_OPTION = click.option(
    "--material", "-m", default="WSe2", show_default=True,
    help="Built-in material name or path of a model file (TOML).",
)
OUTPUT_OPTION = click.option(
    "--output", "-o", type=click.Path(file_okay=False, path_type=Path),
    default=Path("phonomag-output"), show_default=True, help="Folder for figures and data.",
)


def _parse_repeats(text: str) -> tuple[int, int, int]:
    parts = text.lower().replace("x", " ").replace(",", " ").split()
    try:
        values = tuple(int(p) for p in parts)
    except ValueError:
        values = ()
    if len(values) == 2:
        values = (*values, 1)
    if len(values) != 3 or min(values) < 1:
        raise QPointError(f"malformed supercell {text!r}: expected e.g. '3x3x1' (positive integers)")
    if int(np.prod(values)) > MAX_VERTEX_CELLS:
        raise QPointError(f"supercell {text!r} has {int(np.prod(values))} cells; at most {MAX_VERTEX_CELLS} "
                          "(e.g. 12x12x1) fit the finite-difference check")
    return values


#: Bounds of the size options, checked before anything is allocated: path points (bands, phonons,
#: dynamics, sqw); the n×n k grid of dynamics and sqw (the bands of 120×120 k-points alone take ~0.6 GB for
#: WSe₂); line widths (meV: the energy grid has a step of FWHM/10 up to ~1.1 ħω_max); the cells of the
#: vertex-check supercell (its Hamiltonian has 22 spinor states per WSe₂ cell).
MAX_PATH_POINTS = 20_000
MAX_KGRID = 120
MIN_WIDTH = 0.01
MAX_VERTEX_CELLS = 144


def _check_counts(**options: tuple[int, int, int]) -> None:
    """Each option name=(value, smallest, largest allowed), a PhonomagError naming the option when outside."""
    from phonomag.cli.schema import Integer

    for name, (value, low, high) in options.items():
        if not low <= value <= high:
            raise PhonomagError(f"--{name.replace('_', '-')} must be {Integer(low, high).text}, got {value}")


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="phonomag")
def cli() -> None:
    """phonomag: spin and charge densities that accompany phonons in crystals with spin–orbit coupling."""


@cli.command("materials", short_help="List the built-in materials.")
def materials_command() -> None:
    """List the built-in materials: name, crystal (layer or bulk, space group), the engine of `run` (engine
    auto), and the description."""
    from phonomag.cli.systems import SHIPPED_KERNELS
    from phonomag.crystal.materials import builtin_materials, load_material

    for name in builtin_materials():
        spec = load_material(name)
        symbol, number = spec.crystal.space_group
        engine = "first-principles kernel" if name in SHIPPED_KERNELS else "tight-binding model"
        click.echo(f"{name:8s} {spec.crystal.kind} {symbol} ({number}); {engine}; {spec.description}")


@cli.command("bands", short_help="Spin-coloured bands and spin texture.")
@MATERIAL_OPTION
@OUTPUT_OPTION
@click.option("--npoints", default=240, show_default=True, help="k-points along the standard path (Γ–M–K–Γ).")
def bands_command(material: str, output: Path, npoints: int) -> None:
    """Band structure coloured by ⟨σ_z⟩ and the spin texture of the top valence band."""
    from phonomag.cli.overviews import electronic_overview

    _check_counts(npoints=(npoints, 2, MAX_PATH_POINTS))
    lines, files = electronic_overview(material, output, npoints)
    for line in lines + [f"wrote           {f}" for f in files]:
        click.echo(line)


@cli.command("phonons", short_help="Phonon dispersion, σ_h parities, phonopy file.")
@MATERIAL_OPTION
@OUTPUT_OPTION
@click.option("--npoints", default=150, show_default=True, help="q-points along the standard path (Γ–M–K–Γ).")
def phonons_command(material: str, output: Path, npoints: int) -> None:
    """Phonon dispersion with the σ_h parity of every branch; writes phonopy_params.yaml of the phonons used."""
    from phonomag.cli.overviews import phonon_overview

    _check_counts(npoints=(npoints, 2, MAX_PATH_POINTS))
    lines, files = phonon_overview(material, output, npoints)
    for line in lines + [f"wrote      {f}" for f in files]:
        click.echo(line)


@cli.command("dynamics", short_help="Phonon angular momentum, net magnetization.")
@MATERIAL_OPTION
@OUTPUT_OPTION
@click.option("--npoints", default=61, show_default=True, help="q-points along Γ–M–K–Γ.")
@click.option("--kgrid", default=18, show_default=True, help="n of the n×n×1 k grid.")
def dynamics_command(material: str, output: Path, npoints: int, kgrid: int) -> None:
    """Phonon angular momentum beside the magnetization, and the finite-frequency net magnetization."""
    from phonomag.cli.overviews import dynamics_overview

    _check_counts(npoints=(npoints, 2, MAX_PATH_POINTS), kgrid=(kgrid, 1, MAX_KGRID))
    for line in dynamics_overview(material, output, npoints, (kgrid, kgrid, 1)):
        click.echo(line)


@cli.command("sqw", short_help="Charge–spin dynamic structure factor S(Q, ω).")
@MATERIAL_OPTION
@OUTPUT_OPTION
@click.option("--npoints", default=121, show_default=True, help="Q-points along the path.")
@click.option("--g", "g_text", default="0,0,0", show_default=True,
              help="Reciprocal lattice vector G (reduced, integers) added to the path: Q = q + G.")
@click.option("--kgrid", default=18, show_default=True, help="n of the n×n×1 k grid.")
@click.option("--temperature", "-T", default=300.0, show_default=True, help="Temperature (K) of the Bose factors.")
@click.option("--width", default=0.5, show_default=True, help="Line width (FWHM, meV).")
@click.option("--resolution", default=0.0, show_default=True, help="Instrumental resolution (Gaussian FWHM, meV).")
@click.option("--shape", type=click.Choice(["gaussian", "lorentzian"]), default="gaussian", show_default=True)
@click.option("--plane-omega", type=float, default=None,
              help="Also map S on the Q plane h b1 + k b2 (−1 ≤ h, k ≤ 1) at this energy transfer (meV).")
@click.option("--engine", "engine_choice", type=click.Choice(engine_names(Capability.ANY_Q)), default="auto",
              show_default=True,
              help="auto: the shipped first-principles kernel where it applies (in-plane G), else the model.")
@click.option("--phonons", "phonon_choice", type=click.Choice(["material", "kernel"]), default="material",
              show_default=True, help="the material's phonons, or the shipped kernel's own DFPT phonons.")
def sqw_command(material: str, output: Path, npoints: int, g_text: str, kgrid: int, temperature: float,
                width: float, resolution: float, shape: str, plane_omega: float | None, engine_choice: str,
                phonon_choice: str) -> None:
    """Charge–spin dynamic structure factor S^{αβ}(Q, ω) along the crystal's standard path (+G)."""
    from phonomag.cli.config import finite_number
    from phonomag.cli.sqw import sqw_overview
    from phonomag.crystal.qpoints import parse_qpoint
    from phonomag.response.structure_factor import QPlane

    _check_counts(npoints=(npoints, 2, MAX_PATH_POINTS), kgrid=(kgrid, 1, MAX_KGRID))
    temperature = finite_number(temperature, "--temperature (K)", 0.0)
    width = finite_number(width, "--width (line FWHM, meV)", MIN_WIDTH)
    resolution = finite_number(resolution, "--resolution (Gaussian FWHM, meV)", 0.0)
    if plane_omega is not None:
        plane_omega = finite_number(plane_omega, "--plane-omega (meV)")
    g = parse_qpoint(g_text)
    if not np.allclose(g, np.round(g)):
        raise QPointError(f"G = {g_text!r} must be a reciprocal lattice vector: three integers such as '1,0,0'")
    lines = sqw_overview(material, output, npoints=npoints, g_shift=tuple(int(x) for x in np.round(g)),
                         kgrid=(kgrid, kgrid, 1), temperature=temperature, width=width, resolution=resolution,
                         shape=shape, plane=None if plane_omega is None else QPlane(plane_omega),
                         engine_choice=engine_choice, phonon_choice=phonon_choice)
    for line in lines:
        click.echo(line)


@cli.command("check-vertex", short_help="Check the e–ph vertex by finite differences.")
@MATERIAL_OPTION
@click.option("--q", "q_text", default="K", show_default=True, help="Wavevector: label (G, M, K, K') or '1/3,1/3,0'.")
@click.option(
    "--supercell",
    "supercell_text",
    default=None,
    help="Commensurate supercell, e.g. 3x3x1 (default: smallest diagonal one).",
)
@click.option("--k", "k_text", default="0.13,0.27,0", show_default=True, help="Electron wavevector (reduced).")
def check_vertex_command(material: str, q_text: str, supercell_text: str | None, k_text: str) -> None:
    """Compare the analytic vertex with finite differences of the supercell Hamiltonian."""
    from phonomag.cli.overviews import vertex_check_table
    from phonomag.crystal.materials import load_material
    from phonomag.crystal.qpoints import parse_qpoint

    crystal = load_material(material).crystal
    q = parse_qpoint(q_text, crystal)
    k = parse_qpoint(k_text, crystal)
    repeats = _parse_repeats(supercell_text) if supercell_text else None
    for line in vertex_check_table(material, q, k, repeats):
        click.echo(line)


@cli.command("run", short_help="The main job: everything for one material.")
@click.option("--config", "-c", "config_path", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Run configuration (TOML). Without it: the built-in default (WSe2).")
@OUTPUT_OPTION
@click.option("--engine", type=click.Choice(engine_names()), default=None,
              help="Override [run] engine: auto (the first-principles kernel where one is shipped or "
                   "given, else the model), the built-in model, ABINIT DFPT with SOC ([abinit]) or the "
                   "DFPT response kernel ([kernel]).")
@click.option("--material", "-m", default=None,
              help="Override [run] material: a built-in name (phonomag materials), a structure file any ASE reads "
                   "(CIF, POSCAR, …) or a model file (TOML).")
@click.option("--force", is_flag=True, help="Run even when the estimated time exceeds the limit (2 h).")
def run_command(config_path: Path | None, output: Path, engine: str | None, material: str | None,
                force: bool) -> None:
    """The main job: compute everything for a material into an output folder."""
    from phonomag.cli.run import run_main

    for line in run_main(config_path, output, engine, force, material):
        click.echo(line)


@cli.command("ab-initio", short_help="Eq. 1 from ABINIT DFPT beside the model.")
@MATERIAL_OPTION
@OUTPUT_OPTION
@click.option("--q", "q_texts", multiple=True, default=("K",), show_default=True,
              help="q-point (label G, M, K, K' or three reduced numbers a,b,c); repeatable.")
@click.option("--ecut", default=20.0, show_default=True, help="ABINIT plane-wave cutoff (Ha).")
@click.option("--kgrid", default=6, show_default=True, help="k grid n×n×1 of the DFPT run (multiple of 3 for K).")
@click.option("--vacuum-cell", default=18.0, show_default=True, help="Cell length along z for ABINIT (Å).")
@click.option("--model-kgrid", default=24, show_default=True, help="k grid n×n×1 of the model's sums.")
@click.option("--nproc", default=2, show_default=True, help="MPI processes for abinit.")
@click.option("--workdir", type=click.Path(file_okay=False, path_type=Path), default=Path("abinit-work"),
              show_default=True, help="Folder of the ABINIT runs (a finished run is reused).")
@click.option("--structure", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Layer for ABINIT from any ASE-readable file (CIF, POSCAR, QE input, …) instead of the material's.")
@click.option(
    "--launcher",
    default="auto",
    show_default=True,
    help="How MPI runs start: auto, mpirun, srun, none, or a template such as 'mpiexec -n {nproc} {command}'.",
)
def ab_initio_command(
    material: str,
    output: Path,
    q_texts: tuple[str, ...],
    ecut: float,
    kgrid: int,
    vacuum_cell: float,
    model_kgrid: int,
    nproc: int,
    workdir: Path,
    structure: Path | None,
    launcher: str,
) -> None:
    """Eq. 1 from ABINIT DFPT with SOC at chosen q, mode by mode, beside the built-in model."""
    import dataclasses

    from phonomag.cli.config import RunConfig, parse_abinit
    from phonomag.cli.run import run_main_config

    _check_counts(model_kgrid=(model_kgrid, 1, 10_000))
    options = {"ecut": ecut, "kgrid": [kgrid, kgrid, 1], "vacuum": vacuum_cell, "q": list(q_texts), "nproc": nproc,
               "workdir": str(workdir), "launcher": launcher, **({"structure": str(structure)} if structure else {})}
    spec = parse_abinit(options, "phonomag ab-initio options", Path.cwd())
    config = dataclasses.replace(RunConfig(), abinit=spec, source="phonomag ab-initio options").updated({
        "run.material": material, "run.engine": "abinit", "response.kgrid": (model_kgrid, model_kgrid, 1),
        "outputs.movies": False, "outputs.field_files": False})  # maps: the material's [[maps]] at these q
    for line in run_main_config(config, output):
        click.echo(line)


@cli.command("dfpt-kernel", short_help="DFPT kernel files at the irreducible q, as tasks.")
@click.option("--config", "-c", "config_path", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Run configuration (TOML): [run] material, [abinit] settings (kgrid is the q grid), [cluster].")
@click.option("--output", "-o", type=click.Path(file_okay=False, path_type=Path), default=Path("dfpt-kernel"),
              show_default=True, help="Folder of the reduced per-q files q_<n1>_<n2>_<n3>.nc.")
@click.option("--plan", "plan_only", is_flag=True,
              help="Print the irreducible q, perturbations and the estimated time, disk and memory; run nothing.")
def dfpt_kernel_command(config_path: Path | None, output: Path, plan_only: bool) -> None:
    """Ground state, DFPT and eq. 1 at every irreducible q of the [abinit] k grid, as tasks where [cluster] says.

    The plan (:mod:`phonomag.cli.kernel_plan`) comes first, and what would fail later fails there.
    Resumable: q-points whose file exists are skipped, finished ABINIT runs reused. The folder
    then holds what ``KernelEngine.from_reduced_files`` reads (docs/cluster.md).
    """
    import time

    from phonomag.cli.abinit_setup import kernel_job
    from phonomag.cli.config import load_run_config
    from phonomag.cli.kernel_plan import done_steps, plan_kernel
    from phonomag.crystal.materials import load_material
    from phonomag.engines.abinit.tasks import compute_kernel_files

    config = load_run_config(config_path)
    job = kernel_job(load_material(config.run.material), config.abinit, config.cluster, output)
    for line in plan_kernel(job).lines(done_steps(job)):
        click.echo(line, err=not plan_only)
    if plan_only:
        return
    files = compute_kernel_files(job, config.cluster,
                                 progress=lambda line: click.echo(f"{time.strftime('%H:%M:%S')} {line}", err=True))
    click.echo(f"{len(files)} reduced q-point files in {job.output}")


@contextmanager
def _interrupt_recorded():
    """Record Ctrl-C (SIGINT) while a command runs; yields a function saying whether it came.

    Libraries that call Python from C may replace the KeyboardInterrupt raised there by an error of
    their own (matplotlib's renderer: "ValueError: Invalid affine transformation matrix"); with the
    record, :func:`main` still reports such an error as the interrupt. Only where SIGINT has Python's
    default handler, in the main thread (elsewhere nothing changes).
    """
    seen = []

    def on_interrupt(signum, frame):
        seen.append(signum)
        raise KeyboardInterrupt

    previous = signal.getsignal(signal.SIGINT)
    install = previous is signal.default_int_handler and threading.current_thread() is threading.main_thread()
    if install:
        signal.signal(signal.SIGINT, on_interrupt)
    try:
        yield lambda: bool(seen)
    finally:
        if install:
            signal.signal(signal.SIGINT, previous)


def _reader_gone(stream) -> bool:
    """True when ``stream`` is a pipe whose reading end is closed (poll reports an error on it)."""
    try:
        poller = select.poll()
        poller.register(stream.fileno(), select.POLLOUT)
        return any(event & select.POLLERR for _, event in poller.poll(0))
    except (OSError, ValueError, AttributeError):  # not a file descriptor (captured output)
        return False


def main(argv: list[str] | None = None) -> None:
    """Entry point: run the CLI, turn phonomag errors into one message and exit code 2, an interrupt
    (Ctrl-C, whatever error a library made of it) into "phonomag: aborted" and exit code 130."""
    with _interrupt_recorded() as interrupted:
        try:
            _run(argv)
        except Exception:
            if not interrupted():
                raise
            click.echo("phonomag: aborted", err=True)
            sys.exit(130)


def _run(argv: list[str] | None) -> None:
    try:
        cli.main(args=argv, prog_name="phonomag", standalone_mode=False)
    except PhonomagError as exc:
        click.echo(f"phonomag: error: {exc}", err=True)
        sys.exit(2)
    except SystemExit as exc:
        # click ends with status 1 when writing to a pipe whose reader left (`phonomag run | head -1`): stop
        # quietly with the status of a command ended by SIGPIPE; the run's folder is left as after Ctrl-C
        if exc.code == 1 and _reader_gone(sys.stdout):
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())  # nothing more to flush into the pipe
            sys.exit(128 + signal.SIGPIPE)
        raise
    except OSError as exc:  # permissions, a full disk, a path under a file: name the file
        where = f"{exc.filename}: " if exc.filename else ""
        click.echo(f"phonomag: error: {where}{exc.strerror or exc}", err=True)
        sys.exit(2)
    except (click.exceptions.Abort, KeyboardInterrupt):
        click.echo("phonomag: aborted", err=True)
        sys.exit(130)
    except click.ClickException as exc:  # a malformed option: the same one line as every other input error
        click.echo(f"phonomag: error: {exc.format_message()}", err=True)
        sys.exit(exc.exit_code)


if __name__ == "__main__":  # pragma: no cover
    main()

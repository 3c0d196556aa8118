"""Developer tasks. ``nox -s tests`` is the README's test command and what CI runs."""

from __future__ import annotations

import shutil
import subprocess

import nox

nox.options.default_venv_backend = "venv"
nox.options.reuse_existing_virtualenvs = True
nox.options.sessions = ["tests", "lint", "typecheck"]

PYPROJECT = nox.project.load_toml("pyproject.toml")
TEST_DEPS = nox.project.dependency_groups(PYPROJECT, "test")
ALL_PYTHONS = ["3.10", "3.11", "3.12", "3.13"]


def _usable(version: str) -> bool:
    """True if ``pythonX.Y`` is on PATH and really runs (a pyenv shim may exist but not run)."""
    exe = shutil.which(f"python{version}")
    if exe is None:
        return False
    try:
        return subprocess.run([exe, "-c", "pass"], capture_output=True, timeout=30).returncode == 0
    except (OSError, subprocess.TimeoutExpired):
        return False


# Every supported interpreter this machine can run; with none of them, the one running nox.
PYTHONS = [v for v in ALL_PYTHONS if _usable(v)] or None


@nox.session(python=PYTHONS)
def tests(session: nox.Session) -> None:
    """The whole test suite (unit, client, exporter, loopback integration)."""
    session.install("-e", ".", *TEST_DEPS)
    session.run("pytest", *session.posargs)


@nox.session
def lint(session: nox.Session) -> None:
    """ruff check and ruff format --check."""
    session.install("ruff")
    session.run("ruff", "check", ".")
    session.run("ruff", "format", "--check", ".")


@nox.session
def typecheck(session: nox.Session) -> None:
    """mypy --strict on src and the tests/typing assert_type checks."""
    session.install("-e", ".", "mypy", *TEST_DEPS)
    session.run("mypy")


@nox.session
def docs(session: nox.Session) -> None:
    """Build the documentation site strictly (broken links and references fail)."""
    session.install("-e", ".", *nox.project.dependency_groups(PYPROJECT, "docs"))
    session.run("mkdocs", "build", "--strict", *session.posargs)


@nox.session
def bench(session: nox.Session) -> None:
    """Benchmarks (not part of the test run): tables to stdout, JSON lines to bench/results/."""
    session.install("-e", ".", *nox.project.dependency_groups(PYPROJECT, "bench"))
    session.run("python", "bench/run.py", *session.posargs)


@nox.session
def soak(session: nox.Session) -> None:
    """A long export with injected faults against the loopback fake (not part of CI)."""
    session.install("-e", ".", *TEST_DEPS)
    session.run("python", "tests/soak.py", *session.posargs)


@nox.session
def build(session: nox.Session) -> None:
    """Build the sdist and wheel."""
    session.install("build")
    session.run("python", "-m", "build")

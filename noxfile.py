"""Developer tasks. ``nox -s tests`` is the README's test command and what CI runs."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys

import nox

nox.options.default_venv_backend = "venv"
nox.options.reuse_existing_virtualenvs = True
nox.options.sessions = ["tests", "lint", "typecheck"]

PYPROJECT = nox.project.load_toml("pyproject.toml")
TEST_DEPS = nox.project.dependency_groups(PYPROJECT, "test")
ALL_PYTHONS = ["3.10", "3.11", "3.12", "3.13"]


def _expose_pyenv_interpreters() -> None:
    """Where pyenv manages Python, make every installed 3.10-3.13 runnable as ``pythonX.Y``.

    pyenv puts a shim for each installed version on PATH but runs only the active ones; this
    adds the others to PYENV_VERSION for nox's child processes. (A Python started through a
    pyenv shim already has PYENV_VERSION set to its own version, so it is extended, not
    replaced; nothing changes without pyenv.)
    """
    pyenv = shutil.which("pyenv")
    if pyenv is None:
        return
    try:
        active = (
            os.environ.get("PYENV_VERSION")
            or subprocess.run(
                [pyenv, "version-name"], capture_output=True, text=True, timeout=30
            ).stdout.strip()
        )
        installed = subprocess.run(
            [pyenv, "versions", "--bare"], capture_output=True, text=True, timeout=30
        ).stdout.split()
    except (OSError, subprocess.TimeoutExpired):
        return
    wanted = [v for v in installed if re.fullmatch(r"3\.1[0-3]\.\d+", v)]
    versions = [v for v in [*active.split(":"), *wanted] if v and v != "system"]
    if versions:
        os.environ["PYENV_VERSION"] = ":".join(dict.fromkeys(versions))


def _usable(version: str) -> bool:
    """True if ``pythonX.Y`` is on PATH and really runs (a pyenv shim may exist but not run)."""
    exe = shutil.which(f"python{version}")
    if exe is None:
        return False
    try:
        return subprocess.run([exe, "-c", "pass"], capture_output=True, timeout=30).returncode == 0
    except (OSError, subprocess.TimeoutExpired):
        return False


_expose_pyenv_interpreters()
# Every supported interpreter this machine can run; with none of them, the one running nox.
PYTHONS = [v for v in ALL_PYTHONS if _usable(v)] or None
if sys.argv and "tests" in " ".join(sys.argv):
    _missing = [v for v in ALL_PYTHONS if v not in (PYTHONS or [])]
    print(
        f"nox: tests on Python {', '.join(PYTHONS or ['(the one running nox)'])}"
        + (f"; not found here: {', '.join(_missing)}" if _missing else ""),
        file=sys.stderr,
    )


@nox.session(python=PYTHONS)
def tests(session: nox.Session) -> None:
    """The whole test suite (unit, client, exporter, loopback integration)."""
    session.install("-e", ".", *TEST_DEPS)
    session.run("pytest", *session.posargs)


@nox.session
def coverage(session: nox.Session) -> None:
    """Branch coverage of the whole suite on one Python; fails under the floor for src/acexport's
    _core and _exporter ([tool.coverage] in pyproject.toml). Extra arguments go to pytest."""
    session.install("-e", ".", "coverage[toml]>=7.4", *TEST_DEPS)
    session.run("coverage", "erase")
    session.run("coverage", "run", "-m", "pytest", *session.posargs)
    # Every module, for information; then the gated packages, which fail under the floor.
    session.run("coverage", "report", "--include=*/acexport/*", "--fail-under=0", "--skip-covered")
    session.run("coverage", "report")


@nox.session
def postgres(session: nox.Session) -> None:
    """Only the PostgreSQL state's tests, against a throwaway server on 127.0.0.1.

    Needs the server programs (Debian: ``apt-get install postgresql``); as root, the server
    runs as the ``postgres`` system user. ``CI=1 nox -s postgres`` fails instead of skipping
    when they are missing.
    """
    session.install("-e", ".", *TEST_DEPS)
    session.run("pytest", "-m", "postgres", "tests/state", *session.posargs)


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

"""The wheel, installed in a clean virtualenv outside the checkout, runs sample -> ingest -> query.

The wheel is built the way a release is: `uv build` makes the sdist, then the wheel from the unpacked
sdist, so a stale build/ directory cannot leak files into it and the sdist is proven complete. The venv
gets the wheel and its runtime dependencies only (no dev extra), held to requirements.lock's versions;
every command then runs with the working directory outside the checkout, so nothing can be imported
from it.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import tarfile
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
# Source folder -> package folder in the wheel (pyproject.toml's package-dir).
PACKAGE_DIRS = {"silake": "silake", "pipelines": "silake/pipelines", "schemas": "silake/schemas",
                "sql": "silake/sql"}
DEV_ONLY = ("pytest", "moto", "ruff", "webdataset", "datasets")


def _uv() -> str:
    uv = shutil.which("uv") or str(Path(sys.executable).parent / "uv")
    if not Path(uv).exists():
        pytest.skip("uv is not installed (make setup installs it into .venv)")
    return uv


def _run(cmd: list[str], cwd: Path, env: dict[str, str] | None = None, timeout: int = 900
         ) -> subprocess.CompletedProcess:
    proc = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout, check=False)
    assert proc.returncode == 0, f"{cmd}\n{proc.stdout}\n{proc.stderr}"
    return proc


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    dist = tmp_path_factory.mktemp("dist")
    _run([_uv(), "build", "--quiet", "--out-dir", str(dist), str(ROOT)], cwd=dist)
    (whl,) = dist.glob("silake-*-py3-none-any.whl")
    return whl


def source_files() -> dict[str, Path]:
    """Wheel path -> source file, for every module and SQL file the package is made of."""
    out = {}
    for src, dest in PACKAGE_DIRS.items():
        pattern = "*.sql" if src == "sql" else "*.py"
        for path in (ROOT / src).rglob(pattern):
            if "__pycache__" not in path.parts:
                out[f"{dest}/{path.relative_to(ROOT / src).as_posix()}"] = path
    out["silake/py.typed"] = ROOT / "silake" / "py.typed"  # the PEP 561 marker: the API is typed
    return out


@pytest.mark.slow
def test_wheel_contents(wheel):
    with zipfile.ZipFile(wheel) as zf:
        names = set(zf.namelist())
        expected = source_files()
        missing = sorted(set(expected) - names)
        assert not missing, f"not in the wheel (a package missing from pyproject's list?): {missing}"
        # Byte for byte, and nothing the source tree does not have (a stale build/ would add some).
        for name, path in expected.items():
            assert zf.read(name) == path.read_bytes(), name
        shipped = {n for n in names if n.startswith("silake/") and not n.endswith("/")}
        extra = sorted(shipped - set(expected))
        assert not extra, f"in the wheel but not in the source tree: {extra}"
        sql = [n for n in names if n.endswith(".sql")]
        assert sql and all(n.startswith("silake/sql/") for n in sql)
        assert any(n.startswith("silake/schemas/") for n in names)
        entry_points = next(n for n in names if n.endswith(".dist-info/entry_points.txt"))
        assert re.search(r"^silake = silake\.cli:entry$", zf.read(entry_points).decode(), re.M)


@pytest.fixture(scope="module")
def clean_venv(wheel, tmp_path_factory) -> Path:
    """A new venv outside the checkout with the wheel and its runtime dependencies at the lock's versions."""
    uv, venv = _uv(), tmp_path_factory.mktemp("clean") / "venv"
    assert not venv.is_relative_to(ROOT)
    _run([uv, "venv", "--quiet", "--python", sys.executable, str(venv)], cwd=venv.parent)
    python = venv / "bin" / "python"
    _run([uv, "pip", "install", "--quiet", "--python", str(python), str(wheel),
          "--constraint", str(ROOT / "requirements.lock")], cwd=venv.parent)
    _run([uv, "pip", "check", "--python", str(python)], cwd=venv.parent)
    installed = _run([uv, "pip", "freeze", "--python", str(python)], cwd=venv.parent).stdout.lower()
    for name in DEV_ONLY:
        assert not re.search(rf"^{name}==", installed, re.M), f"dev dependency {name} in a runtime install"
    return venv


def _env(venv: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV", "PYTHONHOME")}
    env["PATH"] = f"{venv / 'bin'}{os.pathsep}{env.get('PATH', '')}"
    env["VIRTUAL_ENV"] = str(venv)
    return env


def count_samples(release: Path) -> int:
    """Samples in the release's shards, counted from the tar members (WebDataset: <key>.<ext>)."""
    keys = set()
    for shard in release.rglob("*.tar"):
        with tarfile.open(shard) as tf:
            for member in tf.getmembers():
                if member.isfile():
                    folder, _, base = member.name.rpartition("/")
                    keys.add((shard, folder, base.split(".", 1)[0]))
    return len(keys)


@pytest.mark.slow
def test_clean_install_runs_sample_ingest_query(clean_venv, tmp_path):
    work = tmp_path / "work"
    work.mkdir()
    assert not work.is_relative_to(ROOT)
    env = _env(clean_venv)
    silake = str(clean_venv / "bin" / "silake")

    where = _run([str(clean_venv / "bin" / "python"), "-c", "import silake; print(silake.__file__)"],
                 work, env).stdout.strip()
    assert Path(where).is_relative_to(clean_venv), where

    help_text = _run([silake, "--help"], work, env).stdout
    for command in ("sample", "ingest", "query", "sql", "qa", "export"):
        assert re.search(rf"^  {command} ", help_text, re.M), command  # the Commands list

    sample = _run([silake, "sample", "--out", "release", "--seed", "0"], work, env).stdout
    n_files = count_samples(work / "release")
    assert n_files > 0
    assert re.search(rf"\b{n_files} files\b", sample), sample

    ingest = _run([silake, "ingest", "release", "--lake", "lake", "--no-progress", "--workers", "2"],
                  work, env).stdout
    assert f"samples: {n_files} seen = {n_files} files + 0 quarantined (balanced)" in ingest, ingest

    query = _run([silake, "query", "--lake", "lake", "--format", "csv", "select count(*) as n from files"],
                 work, env)
    assert query.stdout == f"n\n{n_files}\n"

    # The SQL shipped in the wheel defines every view, the QA layer included.
    qa = _run([silake, "qa", "--lake", "lake", "--format", "csv"], work, env)
    assert qa.stdout.splitlines()[0]
    # ... and the report's queries (sql/report/) and its plotting dependency are in the runtime install.
    report = _run([silake, "report", "--lake", "lake", "--out", "report.html"], work, env)
    assert re.fullmatch(r"wrote report\.html \(\d+ KB, 6 figures, snapshot \d+\)\n", report.stdout), report.stdout

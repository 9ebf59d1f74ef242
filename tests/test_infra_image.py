"""The template image's recipe: Dockerfile, runtime requirements and build context agree with the lock.

No Docker engine runs here, so the image is not built; these checks hold the Dockerfile to the versions
CI tests with, and to the Flex Template contract (launcher binary, FLEX_TEMPLATE_PYTHON_PY_FILE, nothing
installed at launch, the Beam boot entrypoint for workers). tests/test_dataflow_graph.py runs the image's
Python environment (requirements.txt + the wheel) through a real Dataflow job construction.
"""

from __future__ import annotations

import os
import re
import subprocess
from importlib.metadata import requires
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
DATAFLOW = ROOT / "infra" / "dataflow"
DOCKERFILE = (DATAFLOW / "Dockerfile").read_text()
PIN = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)(?:\[[^\]]*\])?==([^\s;\\]+)", re.M)


def pins(path: Path) -> dict[str, str]:
    return {name.lower().replace("_", "-"): version for name, version in PIN.findall(path.read_text())}


def silake_requirements(*extras: str | None):
    """silake's declared requirements (installed metadata) for the given extras (None: the base ones)."""
    from packaging.requirements import Requirement

    out = []
    for text in requires("silake") or []:
        requirement = Requirement(text)
        marker = requirement.marker
        for extra in extras:
            env = {"extra": extra or ""}
            if (marker is None and extra is None) or (marker is not None and extra and marker.evaluate(env)):
                out.append(requirement)
                break
    return out


def arg(name: str) -> str:
    m = re.search(rf"^ARG {name}=(\S*)$", DOCKERFILE, re.M)
    assert m, f"Dockerfile has no ARG {name}=..."
    return m.group(1)


def instructions(keyword: str) -> list[str]:
    """The Dockerfile's `keyword` instructions, continuation lines joined."""
    text = re.sub(r"\\\n\s*", " ", re.sub(r"(?m)^\s*#.*\n", "", DOCKERFILE))
    return [line.split(None, 1)[1] for line in text.splitlines() if line.split(None, 1)[:1] == [keyword]]


def test_beam_and_python_versions_match_the_lock():
    lock = pins(ROOT / "requirements.lock")
    assert arg("BEAM_VERSION") == lock["apache-beam"]
    header = (ROOT / "requirements.lock").read_text().splitlines()[1]
    assert re.search(rf"-p {re.escape(arg('PYTHON_VERSION'))}\b", header), header
    assert pins(DATAFLOW / "requirements.txt")["apache-beam"] == arg("BEAM_VERSION")


def test_images_are_pinned_and_consistent():
    froms = instructions("FROM")
    assert froms == ["${LAUNCHER_IMAGE} AS launcher", "apache/beam_python${PYTHON_VERSION}_sdk:${BEAM_VERSION}"]
    launcher = arg("LAUNCHER_IMAGE")
    python = arg("PYTHON_VERSION").replace(".", "")
    assert launcher.startswith(f"gcr.io/dataflow-templates-base/python{python}-template-launcher-base")
    tag = launcher.rsplit("@", 1)[-1] if "@" in launcher else launcher.rsplit(":", 1)[-1]
    assert tag and tag != "latest" and "/" not in tag


def test_flex_template_contract():
    copies = instructions("COPY")
    launcher_binary = "/opt/google/dataflow/python_template_launcher"
    assert f"--from=launcher {launcher_binary} {launcher_binary}" in copies
    env = " ".join(instructions("ENV"))
    m = re.search(r"FLEX_TEMPLATE_PYTHON_PY_FILE=(\S+)", env)
    assert m and f"launcher.py {m.group(1)}" in copies  # the variable names the copied entry point
    # Installing at launch would make every run pip-install and stage packages for the workers.
    assert "FLEX_TEMPLATE_PYTHON_REQUIREMENTS_FILE" not in env
    assert "FLEX_TEMPLATE_PYTHON_SETUP_FILE" not in env
    assert "SILAKE_SDK_CONTAINER_IMAGE=${IMAGE_URI}" in env
    assert instructions("ENTRYPOINT") == ['["/opt/apache/beam/boot"]']


def test_dependencies_are_installed_hash_checked_and_the_package_as_a_wheel():
    runs = " ".join(instructions("RUN"))
    assert "pip install --compile --require-hashes -r /template/requirements.txt" in runs
    assert "pip install --compile --no-deps /tmp/dist/silake-*-py3-none-any.whl" in runs
    assert "pip check" in runs
    assert "setup.py" not in " ".join(instructions("RUN") + instructions("COPY"))  # no source install
    assert "requirements.txt /template/requirements.txt" in instructions("COPY")


def test_bytecode_is_compiled_at_build_time():
    """The image sets PYTHONDONTWRITEBYTECODE, so every pip install compiles (no process compiles Beam at start)."""
    installs = [r for r in instructions("RUN") if "pip install" in r]
    assert installs and all(r.count("pip install --compile") == r.count("pip install") for r in installs)
    assert "PYTHONDONTWRITEBYTECODE=1" in " ".join(instructions("ENV"))
    assert "python -m compileall -q /template/launcher.py" in instructions("RUN")


def test_the_setup_compiles_bytecode_too():
    """`make setup` (uv) compiles what it installs and silake's own sources (an editable install)."""
    makefile = (ROOT / "Makefile").read_text()
    installs = [line for line in makefile.splitlines() if "uv pip install" in line]
    assert installs and all("--compile-bytecode" in line for line in installs)
    assert "-m compileall -q -j 0 silake pipelines schemas" in makefile


def test_runtime_requirements():
    reqs_text = (DATAFLOW / "requirements.txt").read_text()
    reqs, lock = pins(DATAFLOW / "requirements.txt"), pins(ROOT / "requirements.lock")
    # Every requirement pinned exactly and hash-checked.
    blocks = re.split(r"\n(?=[A-Za-z0-9])", reqs_text.split("\n", 2)[2])
    for block in blocks:
        assert re.match(r"^[A-Za-z0-9][A-Za-z0-9._-]*(\[[^\]]*\])?==\S+", block), block[:80]
        assert "--hash=sha256:" in block, block[:80]
    # The runtime dependencies and the gcp extra, nothing from the dev extra.
    wanted = {r.name.lower().replace("_", "-") for r in silake_requirements(None, "gcp")}
    assert wanted <= set(reqs), wanted - set(reqs)
    for requirement in silake_requirements("dev"):
        name = requirement.name.lower().replace("_", "-")
        assert name not in reqs or name in wanted, name
    # The image runs what CI tests: shared packages at the lock's versions.
    disagree = {n: (reqs[n], lock[n]) for n in reqs.keys() & lock.keys() if reqs[n] != lock[n]}
    assert not disagree, (
        f"infra/dataflow/requirements.txt vs requirements.lock (image, lock): {disagree}. Regenerate both: "
        "the lock with --extra gcp, then infra/dataflow/compile-requirements.sh")


def test_requirements_satisfy_pyproject():
    """Each runtime requirement of pyproject.toml (gcp extra included) is met by its pin in requirements.txt.

    Completeness (every transitive dependency pinned with a hash) is proven by the hash-checked install in
    tests/test_dataflow_graph.py; freshness is compile-requirements.sh's job.
    """
    reqs = pins(DATAFLOW / "requirements.txt")
    for requirement in silake_requirements(None, "gcp"):
        name = requirement.name.lower().replace("_", "-")
        assert requirement.specifier.contains(reqs[name], prereleases=True), (str(requirement), reqs[name])


@pytest.mark.slow
def test_build_context_holds_only_what_the_dockerfile_copies(tmp_path):
    context = tmp_path / "context"
    env = {**os.environ, "ALLOW_DIRTY": "1"}
    subprocess.run([str(DATAFLOW / "build.sh"), "--context-only", str(context)], env=env, check=True,
                   capture_output=True, text=True, timeout=600)
    files = sorted(p.relative_to(context).as_posix() for p in context.rglob("*") if p.is_file())
    version = re.search(r'^version = "([^"]+)"$', (ROOT / "pyproject.toml").read_text(), re.M).group(1)
    assert files == ["Dockerfile", f"dist/silake-{version}-py3-none-any.whl", "launcher.py",
                     "requirements.txt"]
    for copy in instructions("COPY"):
        if copy.startswith("--from="):
            continue
        source = copy.split()[0]
        assert (context / source).exists(), source
    for name in ("Dockerfile", "launcher.py", "requirements.txt"):
        assert (context / name).read_bytes() == (DATAFLOW / name).read_bytes()

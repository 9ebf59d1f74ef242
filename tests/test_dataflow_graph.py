"""Offline: `silake ingest` builds its Dataflow job exactly as the Flex Template launcher runs it.

The Flex Template launcher runs `python launcher.py --name=value ...` with `--template_location`: Beam's
DataflowRunner then stages the pipeline proto and writes the job description to that location instead of
calling the Dataflow API, and the service creates the job from the file. These tests do the same with
local paths and `--dataflow_endpoint` on an unused loopback port (`--no_auth`): nothing leaves the
machine, and the job description the service would receive is checked: one SDK environment on the
template image, Beam's Python SDK base matching the Dockerfile, nothing staged for workers to install
(no requirements file, setup.py or SDK tarball), the worker settings, and the ingest steps.

Two environments: the checkout's venv (needs apache-beam[gcp], i.e. the gcp extra in requirements.lock;
skipped otherwise), and a venv built like the image, from infra/dataflow/requirements.txt and the wheel
build.sh puts in the build context (slow).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from importlib.util import find_spec
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
DATAFLOW = ROOT / "infra" / "dataflow"
IMAGE = "us-central1-docker.pkg.dev/silake-test/silake/silake-dataflow:0.1.0-test"
GCP_MISSING = find_spec("google.cloud") is None or find_spec("google.cloud.dataflow_v1beta3") is None
GCP_REASON = ("apache-beam[gcp] is not installed in this venv: requirements.lock needs the gcp extra "
              "(uv pip compile pyproject.toml --extra dev --extra gcp)")


def dockerfile_arg(name: str) -> str:
    m = re.search(rf"^ARG {name}=(\S+)$", (DATAFLOW / "Dockerfile").read_text(), re.M)
    assert m, name
    return m.group(1)


def launch(python: str, release: Path, lake: Path, work: Path, *extra: str) -> subprocess.CompletedProcess:
    """Run launcher.py the way the Flex Template launcher does; returns the finished process."""
    for d in ("staging", "tmp"):
        (work / d).mkdir(parents=True, exist_ok=True)
    argv = [
        python, str(DATAFLOW / "launcher.py"),
        f"--sources={release}", f"--lake={lake}", "--full_refresh=false",
        "--runner=DataflowRunner", "--project=silake-test", "--region=us-central1",
        "--job_name=silake-ingest",
        f"--temp_location={work / 'tmp'}", f"--staging_location={work / 'staging'}",
        f"--template_location={work / 'job_object'}",
        "--dataflow_endpoint=http://localhost:1", "--no_auth",
        "--max_num_workers=7", "--worker_machine_type=n2-standard-4", "--disk_size_gb=30",
        *extra,
    ]
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    env["SILAKE_SDK_CONTAINER_IMAGE"] = IMAGE
    return subprocess.run(argv, cwd=work, env=env, capture_output=True, text=True, timeout=600, check=False)


def check_job(work: Path, python: str) -> dict:
    """Assert what the Dataflow service would receive; returns the job description."""
    job = json.loads((work / "job_object").read_text())
    assert job["name"] == "silake-ingest"
    assert job["type"] == "JOB_TYPE_BATCH"
    env = job["environment"]
    assert "use_runner_v2" in env["experiments"]  # custom containers need Runner v2

    (pool,) = env["workerPools"]
    assert pool["workerHarnessContainerImage"] == IMAGE
    assert [c["containerImage"] for c in pool["sdkHarnessContainerImages"]] == [IMAGE]
    sdk_base = f"beam:version:sdk_base:apache/beam_python{dockerfile_arg('PYTHON_VERSION')}_sdk:" \
               f"{dockerfile_arg('BEAM_VERSION')}"
    assert sdk_base in pool["sdkHarnessContainerImages"][0]["capabilities"]
    assert (pool["machineType"], pool["diskSizeGb"], pool["autoscalingSettings"]["maxNumWorkers"]) == (
        "n2-standard-4", 30, 7)

    options = env["sdkPipelineOptions"]["options"]
    assert options["sdk_container_image"] == IMAGE
    for absent in ("requirements_file", "setup_file", "extra_packages", "requirements_cache"):
        assert not options.get(absent), absent
    assert options["sdk_location"] in ("default", "container")

    # Nothing for the workers to install: only the pipeline proto (and pip's informational freeze).
    staged = {p.name for p in (work / "staging").iterdir()}
    assert "pipeline.pb" in staged
    assert staged <= {"pipeline.pb", "submission_environment_dependencies.txt"}, staged

    script = """
import json, sys
from apache_beam.portability.api import beam_runner_api_pb2 as pb
p = pb.Pipeline.FromString(open(sys.argv[1], "rb").read())
envs = {k: (e.urn, pb.DockerPayload.FromString(e.payload).container_image,
            sorted(pb.ArtifactStagingToRolePayload.FromString(d.role_payload).staged_name
                   for d in e.dependencies)) for k, e in p.components.environments.items()}
print(json.dumps({"transforms": sorted(t.unique_name for t in p.components.transforms.values()),
                  "envs": envs}))
"""
    out = subprocess.run([python, "-c", script, str(work / "staging" / "pipeline.pb")], capture_output=True,
                         text=True, check=True)
    graph = json.loads(out.stdout)
    (urn, image, artifacts), = graph["envs"].values()
    assert (urn, image) == ("beam:env:docker:v1", IMAGE)
    assert set(artifacts) <= {"submission_environment_dependencies.txt"}, artifacts
    # The steps infra/README.md tells operators to watch in the console.
    top = {t for t in graph["transforms"] if "/" not in t}
    assert {"IngestShard", "FinalizeRun"} <= top, top
    return job


def assert_launched(proc: subprocess.CompletedProcess, work: Path, lake: Path) -> None:
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert (work / "job_object").is_file(), proc.stderr
    # The launcher took the lake's lease; the job's FinalizeRun step releases it.
    lease = json.loads((lake / "_lease.json").read_text())
    assert lease["run_id"] in proc.stdout + proc.stderr


@pytest.mark.skipif(GCP_MISSING, reason=GCP_REASON)
def test_dataflow_job_from_the_checkout_venv(sample_release, tmp_path):
    release, _ = sample_release
    lake = tmp_path / "lake"
    proc = launch(sys.executable, release, lake, tmp_path / "launch")
    assert_launched(proc, tmp_path / "launch", lake)
    check_job(tmp_path / "launch", sys.executable)


@pytest.mark.skipif(GCP_MISSING, reason=GCP_REASON)
def test_dataflow_noop_run_still_submits_a_job(ingested_lake, tmp_path, sample_release):
    release, _ = sample_release
    lake = tmp_path / "lake"
    shutil.copytree(ingested_lake[0], lake)
    proc = launch(sys.executable, release, lake, tmp_path / "launch")
    assert proc.returncode == 0, proc.stderr
    assert (tmp_path / "launch" / "job_object").is_file()


# --- the image's environment ---------------------------------------------------------------------------


def _uv() -> str:
    uv = shutil.which("uv") or str(Path(sys.executable).parent / "uv")
    if not Path(uv).exists():
        pytest.skip("uv is not installed (make setup installs it into .venv)")
    return uv


@pytest.fixture(scope="module")
def image_venv(tmp_path_factory) -> str:
    """A venv made like the image: requirements.txt (hash-checked), then the wheel from build.sh's context."""
    uv, base = _uv(), tmp_path_factory.mktemp("image")
    context = base / "context"
    env = {**os.environ, "ALLOW_DIRTY": "1", "UV": uv}
    subprocess.run([str(DATAFLOW / "build.sh"), "--context-only", str(context)], env=env, check=True,
                   capture_output=True, text=True)
    (wheel,) = (context / "dist").glob("silake-*-py3-none-any.whl")
    venv = base / "venv"
    py = dockerfile_arg("PYTHON_VERSION")
    subprocess.run([uv, "venv", "--quiet", "--python", py, str(venv)], check=True)
    python = str(venv / "bin" / "python")
    run = [uv, "pip", "install", "--quiet", "--python", python]
    subprocess.run([*run, "--require-hashes", "-r", str(context / "requirements.txt")], check=True)
    subprocess.run([*run, "--no-deps", str(wheel)], check=True)
    check = subprocess.run([uv, "pip", "check", "--python", python], capture_output=True, text=True)
    assert check.returncode == 0, check.stdout + check.stderr
    return python


@pytest.mark.slow
def test_dataflow_job_from_the_image_requirements(image_venv, sample_release, tmp_path):
    release, _ = sample_release
    lake = tmp_path / "lake"
    proc = launch(image_venv, release, lake, tmp_path / "launch")
    assert_launched(proc, tmp_path / "launch", lake)
    check_job(tmp_path / "launch", image_venv)
    # silake came from the wheel, not from the checkout.
    where = subprocess.run([image_venv, "-c", "import silake; print(silake.__file__)"], cwd=tmp_path,
                           capture_output=True, text=True, check=True).stdout
    assert "site-packages" in where and not where.startswith(str(ROOT))

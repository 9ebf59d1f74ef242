"""build.sh and run.sh issue the right gcloud / docker commands (run against recording stubs, offline)."""

from __future__ import annotations

import json
import os
import re
import stat
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
DATAFLOW = ROOT / "infra" / "dataflow"
METADATA = DATAFLOW / "metadata.json"

STUB = """#!{python}
import json, os, sys
from pathlib import Path
args = sys.argv[1:]
record = {{"tool": Path(sys.argv[0]).name, "args": args}}
if args[:2] == ["builds", "submit"] or args[:1] == ["build"]:
    context = Path(args[2] if args[0] == "builds" else args[-1])
    record["context"] = sorted(p.relative_to(context).as_posix() for p in context.rglob("*") if p.is_file())
    if (context / "cloudbuild.yaml").exists():
        record["cloudbuild"] = (context / "cloudbuild.yaml").read_text()
with open(os.environ["STUB_LOG"], "a") as f:
    f.write(json.dumps(record) + "\\n")
"""


@pytest.fixture
def stubs(tmp_path) -> tuple[dict[str, str], Path]:
    """PATH with recording `gcloud` and `docker`; returns (env, log file)."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for tool in ("gcloud", "docker"):
        path = bin_dir / tool
        path.write_text(STUB.format(python=sys.executable))
        path.chmod(path.stat().st_mode | stat.S_IEXEC)
    log = tmp_path / "calls.jsonl"
    uv = Path(sys.executable).parent / "uv"
    env = {**os.environ, "PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}", "STUB_LOG": str(log),
           "PROJECT": "silake-test", "REGION": "us-central1"}
    if uv.exists():
        env["UV"] = str(uv)
    return env, log


def calls(log: Path) -> list[dict]:
    return [json.loads(line) for line in log.read_text().splitlines()] if log.exists() else []


def version() -> str:
    return re.search(r'^version = "([^"]+)"$', (ROOT / "pyproject.toml").read_text(), re.M).group(1)


IMAGE = "us-central1-docker.pkg.dev/silake-test/silake/silake-dataflow:0.1.0-test"
SPEC = "gs://silake-test-silake-dataflow/templates/silake-ingest-0.1.0-test.json"


@pytest.mark.slow
@pytest.mark.parametrize("builder", ["cloudbuild", "docker"])
def test_build_sh(stubs, builder):
    env, log = stubs
    env.update(TAG="0.1.0-test", BUILDER=builder, BUILD_SERVICE_ACCOUNT="builder@silake-test.iam.gserviceaccount.com")
    proc = subprocess.run([str(DATAFLOW / "build.sh")], env=env, capture_output=True, text=True, timeout=600,
                          check=False)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    recorded = calls(log)
    context = ["Dockerfile", f"dist/silake-{version()}-py3-none-any.whl", "launcher.py", "requirements.txt"]
    if builder == "cloudbuild":
        build, template = recorded
        assert build["tool"] == "gcloud"
        ctx = build["args"][2]
        assert build["args"] == ["builds", "submit", ctx, "--project", "silake-test", "--region", "us-central1",
                                 "--config", f"{ctx}/cloudbuild.yaml", "--service-account",
                                 "projects/silake-test/serviceAccounts/builder@silake-test.iam.gserviceaccount.com"]
        assert build["context"] == sorted([*context, "cloudbuild.yaml"])
        assert f'"--build-arg", "IMAGE_URI={IMAGE}", "--tag", "{IMAGE}"' in build["cloudbuild"]
        assert f'images: ["{IMAGE}"]' in build["cloudbuild"]
    else:
        build, push, template = recorded
        ctx = build["args"][-1]
        assert build == {"tool": "docker", "args": ["build", "--build-arg", f"IMAGE_URI={IMAGE}", "--tag", IMAGE,
                                                    ctx], "context": context}
        assert push == {"tool": "docker", "args": ["push", IMAGE]}
    assert not Path(ctx).exists()  # the temporary context is cleaned up
    assert template == {"tool": "gcloud", "args": [
        "dataflow", "flex-template", "build", SPEC, "--project", "silake-test", "--image", IMAGE,
        "--sdk-language", "PYTHON", "--metadata-file", str(METADATA)]}
    assert f'template_image         = "{IMAGE}"' in proc.stdout
    assert f'template_spec_gcs_path = "{SPEC}"' in proc.stdout


def gcloud_dict_flag(value: str) -> dict[str, str]:
    """Split a gcloud dict flag value, honouring the ^DELIM^ alternative-delimiter syntax."""
    delimiter = ","
    if m := re.match(r"\^(.+?)\^", value):
        delimiter, value = m.group(1), value[m.end():]
    return dict(item.split("=", 1) for item in value.split(delimiter))


def run_sh(env, *args) -> subprocess.CompletedProcess:
    env = {**env, "TEMPLATE": SPEC, "IMAGE": IMAGE,
           "SERVICE_ACCOUNT": "silake-dataflow-worker@silake-test.iam.gserviceaccount.com"}
    return subprocess.run([str(DATAFLOW / "run.sh"), *args], env=env, capture_output=True, text=True,
                          timeout=60, check=False)


def test_run_sh(stubs):
    env, log = stubs
    proc = run_sh(env, "--lake", "gs://silake-lake/lake", "--metadata", "hf://datasets/facebook/seamless-interaction",
                  "--full-refresh", "--max-workers", "5", "--machine-type", "n2-standard-8", "--disk-size-gb",
                  "40", "--job-name", "silake-backfill", "gs://mirror/improvised", "hf://datasets/x/naturalistic")
    assert proc.returncode == 0, proc.stderr
    (call,) = calls(log)
    args = call["args"]
    assert args[:4] == ["dataflow", "flex-template", "run", "silake-backfill"]
    flags = dict(zip(args[4::2], args[5::2], strict=True))
    assert flags == {
        "--project": "silake-test", "--region": "us-central1", "--template-file-gcs-location": SPEC,
        "--service-account-email": "silake-dataflow-worker@silake-test.iam.gserviceaccount.com",
        "--temp-location": "gs://silake-test-silake-dataflow/tmp",
        "--staging-location": "gs://silake-test-silake-dataflow/staging",
        "--parameters": flags["--parameters"], "--max-workers": "5", "--worker-machine-type": "n2-standard-8",
    }
    params = gcloud_dict_flag(flags["--parameters"])
    assert params == {"sources": "gs://mirror/improvised,hf://datasets/x/naturalistic",
                      "lake": "gs://silake-lake/lake", "full_refresh": "true", "sdk_container_image": IMAGE,
                      "metadata": "hf://datasets/facebook/seamless-interaction", "disk_size_gb": "40"}
    declared = {p["name"]: p for p in json.loads(METADATA.read_text())["parameters"]}
    for name, value in params.items():
        if name == "sdk_container_image":  # a Dataflow pipeline option, accepted without declaration
            continue
        assert all(re.fullmatch(rx, value) for rx in declared[name].get("regexes", [])), (name, value)
    # Worker count and machine type go through the launch environment only (never both places).
    assert not {"max_num_workers", "worker_machine_type", "num_workers"} & set(params)


def test_run_sh_defaults(stubs):
    env, log = stubs
    assert run_sh(env, "--lake", "gs://l/lake", "gs://a/r").returncode == 0
    args = calls(log)[0]["args"]
    assert re.fullmatch(r"silake-ingest-\d{8}-\d{6}", args[3])
    params = gcloud_dict_flag(args[args.index("--parameters") + 1])
    assert params == {"sources": "gs://a/r", "lake": "gs://l/lake", "full_refresh": "false",
                      "sdk_container_image": IMAGE}
    assert "--max-workers" not in args and "--worker-machine-type" not in args


@pytest.mark.parametrize("args, message", [
    (["gs://a/r"], "--lake"),
    (["--lake", "gs://l/lake"], "SOURCE"),
    (["--lake", "gs://l/lake", "gs://a/r,gs://b/r"], "comma"),
    (["--lake", "gs://l/lake", "--bogus", "gs://a/r"], "unknown option"),
])
def test_run_sh_rejects(stubs, args, message):
    env, log = stubs
    proc = run_sh(env, *args)
    assert proc.returncode == 2 and message in proc.stderr
    assert not calls(log)


CATALOG = ("postgresql://silake@10.20.0.3:5432/silake"
           "?password_secret=projects/123/secrets/silake-catalog-password/versions/1")


def test_run_sh_with_the_catalog(stubs):
    """--catalog becomes the template's catalog parameter (intact: it holds = and /), and the job runs in the
    catalog's network (the instance has a private IP only)."""
    env, log = stubs
    proc = run_sh(env, "--lake", "gs://l/lake", "--catalog", CATALOG, "--network", "silake-vpc",
                  "--subnetwork", "regions/us-central1/subnetworks/silake", "gs://a/r")
    assert proc.returncode == 0, proc.stderr
    args = calls(log)[0]["args"]
    flags = dict(zip(args[4::2], args[5::2], strict=True))
    assert (flags["--network"], flags["--subnetwork"]) == ("silake-vpc", "regions/us-central1/subnetworks/silake")
    params = gcloud_dict_flag(flags["--parameters"])
    assert params == {"sources": "gs://a/r", "lake": "gs://l/lake", "full_refresh": "false",
                      "sdk_container_image": IMAGE, "catalog": CATALOG}
    declared = {p["name"]: p for p in json.loads(METADATA.read_text())["parameters"]}
    assert all(re.fullmatch(rx, CATALOG) for rx in declared["catalog"]["regexes"])
    # Without --network / --subnetwork, gcloud's defaults (the project's default network) apply.
    log.unlink()
    assert run_sh(env, "--lake", "gs://l/lake", "--catalog", CATALOG, "gs://a/r").returncode == 0
    args = calls(log)[0]["args"]
    assert "--network" not in args and "--subnetwork" not in args
    # ~ is the parameter separator: a value holding one is refused before gcloud runs.
    log.unlink()
    proc = run_sh(env, "--lake", "gs://l/lake", "--catalog", "postgresql://a@h/db~x", "gs://a/r")
    assert proc.returncode == 2 and "cannot contain ~" in proc.stderr
    assert not calls(log)

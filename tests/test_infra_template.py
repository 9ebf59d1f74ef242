"""The Flex Template's parameters (infra/dataflow/metadata.json) and `silake ingest`'s options agree.

Both sides are derived, never copied: the CLI side from `silake.cli.cli` (the Click `ingest` command's
parameters), the template side from metadata.json. The mapping between them is explicit data in
the template's entry point (infra/dataflow/launcher.py): MIRRORED (template parameter -> CLI option),
CLI_ONLY (CLI options a template run does not expose, with the reason) and BEAM_WORKER_OPTIONS (template
parameters that are Beam worker options, passed through). `compare` reports every disagreement, so adding,
removing or renaming an option on one side alone fails `test_template_and_cli_agree`; the mutation tests
prove that it does.
"""

from __future__ import annotations

import copy
import importlib.util
import json
import os
import re
import shutil
import subprocess
from dataclasses import dataclass, replace
from pathlib import Path
from types import ModuleType, SimpleNamespace

import click
import pytest

from silake.cli import cli
from silake.cli import main as silake_main

ROOT = Path(__file__).resolve().parents[1]
DATAFLOW = ROOT / "infra" / "dataflow"
METADATA = DATAFLOW / "metadata.json"


def load_launcher() -> ModuleType:
    spec = importlib.util.spec_from_file_location("silake_flex_launcher", DATAFLOW / "launcher.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


launcher = load_launcher()


# --- the two sides ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class CliOption:
    dest: str
    flags: tuple[str, ...]  # () for a positional
    kind: str  # "flag" (store_true), "list" (nargs + or *), "value"
    required: bool


def ingest_command(extra: list[click.Parameter] | None = None) -> click.Command:
    """`silake ingest` as Click defines it (a copy with `extra` parameters added, for the mutation tests)."""
    command = cli.commands["ingest"]
    if not extra:
        return command
    mutated = copy.copy(command)
    mutated.params = [*command.params, *extra]
    return mutated


def cli_options(command: click.Command | None = None) -> dict[str, CliOption]:
    """`silake ingest`'s options, from the real command."""
    out = {}
    for param in (command or ingest_command()).params:
        if isinstance(param, click.Option) and param.is_flag:
            kind = "flag"
        elif param.nargs == -1 or getattr(param, "multiple", False):
            kind = "list"
        else:
            kind = "value"
        flags = tuple(param.opts) if isinstance(param, click.Option) else ()
        assert param.name is not None
        out[param.name] = CliOption(param.name, flags, kind, bool(param.required))
    return out


def parse_ingest(argv: list[str]) -> tuple[SimpleNamespace, list[str]]:
    """`silake ingest ...` as the real command line hands it over: (the options, the Beam arguments)."""
    import silake.ingest

    seen: list[tuple[SimpleNamespace, list[str]]] = []
    original = silake.ingest.run_ingest
    silake.ingest.run_ingest = lambda args, beam_args: seen.append((args, list(beam_args))) or 0  # type: ignore
    try:
        assert silake_main(list(argv)) == 0
    finally:
        silake.ingest.run_ingest = original
    args, beam_args = seen[0]
    return SimpleNamespace(command=argv[0], **vars(args)), beam_args


def template_parameters(path: Path = METADATA) -> dict[str, dict]:
    """The template's parameters, from metadata.json."""
    return {p["name"]: p for p in json.loads(path.read_text())["parameters"]}


# --- the comparison -----------------------------------------------------------------------------------


def compare(cli: dict[str, CliOption], template: dict[str, dict], mirrored: dict[str, str],
            cli_only: dict[str, str], worker_options: tuple[str, ...]) -> list[str]:
    """Every way the two sides and the mapping disagree (empty when they agree)."""
    problems = []
    exposed = set(mirrored.values())
    for dest in sorted(cli):
        if dest not in exposed and dest not in cli_only:
            problems.append(f"CLI option {dest!r} is neither a template parameter nor listed as CLI-only")
        if dest in exposed and dest in cli_only:
            problems.append(f"CLI option {dest!r} is both mirrored and CLI-only")
    for dest in sorted(exposed | set(cli_only)):
        if dest not in cli:
            problems.append(f"the mapping names CLI option {dest!r}, which `silake ingest` does not have")
    for name in sorted(template):
        if name not in mirrored and name not in worker_options:
            problems.append(f"template parameter {name!r} maps to no CLI option and is no Beam worker option")
    for name in sorted(set(mirrored) | set(worker_options)):
        if name not in template:
            problems.append(f"metadata.json lacks the parameter {name!r}")
    for name, dest in sorted(mirrored.items()):
        if name not in template or dest not in cli:
            continue
        param, option = template[name], cli[dest]
        optional = bool(param.get("isOptional", False))
        if optional == option.required:
            problems.append(f"{name!r}: template isOptional={optional}, CLI required={option.required}")
        is_boolean = param.get("paramType") == "BOOLEAN"
        if is_boolean != (option.kind == "flag"):
            problems.append(f"{name!r}: template type {param.get('paramType')}, CLI kind {option.kind}")
        if option.kind == "list" and not _accepts(param, "gs://a/x.tar,gs://b/y.tar"):
            problems.append(f"{name!r}: the CLI takes a list but the template rejects a comma-separated one")
    for name in worker_options:
        if name in template and not template[name].get("isOptional", False):
            problems.append(f"worker option {name!r} must be optional in the template")
    return problems


def _accepts(param: dict, value: str) -> bool:
    return all(re.fullmatch(rx, value) for rx in param.get("regexes", []))


def _compare(cli=None, template=None, mirrored=None, cli_only=None, worker_options=None) -> list[str]:
    return compare(
        cli_options() if cli is None else cli,
        template_parameters() if template is None else template,
        launcher.MIRRORED if mirrored is None else mirrored,
        launcher.CLI_ONLY if cli_only is None else cli_only,
        launcher.BEAM_WORKER_OPTIONS if worker_options is None else worker_options,
    )


def test_template_and_cli_agree():
    assert _compare() == []


def test_every_cli_option_is_accounted_for():
    # The sets the comparison works on, spelled out: a change here is a deliberate interface change.
    assert set(cli_options()) == {"sources", "lake", "catalog", "metadata", "runner", "workers", "full_refresh",
                                  "wait", "no_progress", "dask_scheduler"}
    assert set(template_parameters()) == {"sources", "lake", "catalog", "metadata", "full_refresh",
                                          "max_num_workers", "num_workers", "worker_machine_type", "disk_size_gb"}


# --- the comparison fails when one side changes alone -------------------------------------------------


def _with_ingest_option(*args, **kwargs) -> dict[str, CliOption]:
    if kwargs.pop("action", None) == "store_true":
        kwargs["is_flag"] = True
    return cli_options(ingest_command([click.Option(list(args), **kwargs)]))


def _cli_without(dest: str) -> dict[str, CliOption]:
    return {k: v for k, v in cli_options().items() if k != dest}


def _cli_renamed(old: str, new: str) -> dict[str, CliOption]:
    out = _cli_without(old)
    out[new] = replace(cli_options()[old], dest=new, flags=tuple(f.replace(old, new) for f in
                                                                  cli_options()[old].flags))
    return out


def _template_mutated(tmp_path: Path, mutate) -> dict[str, dict]:
    doc = json.loads(METADATA.read_text())
    mutate(doc["parameters"])
    path = tmp_path / "metadata.json"
    path.write_text(json.dumps(doc))
    return template_parameters(path)


def _drop(name):
    return lambda params: params.remove(next(p for p in params if p["name"] == name))


def _rename(old, new):
    def mutate(params):
        next(p for p in params if p["name"] == old)["name"] = new
    return mutate


def _set(name, **fields):
    def mutate(params):
        next(p for p in params if p["name"] == name).update(fields)
    return mutate


CLI_CHANGES = {
    "CLI adds --dry-run": (lambda: _with_ingest_option("--dry-run", action="store_true"), "dry_run"),
    "CLI adds --shard-timeout": (lambda: _with_ingest_option("--shard-timeout", type=int), "shard_timeout"),
    "CLI removes --metadata": (lambda: _cli_without("metadata"), "metadata"),
    "CLI removes --full-refresh": (lambda: _cli_without("full_refresh"), "full_refresh"),
    "CLI removes --workers": (lambda: _cli_without("workers"), "workers"),
    "CLI renames --lake": (lambda: _cli_renamed("lake", "lake_root"), "lake"),
    "CLI makes --full-refresh take a value": (
        lambda: {**cli_options(), "full_refresh": replace(cli_options()["full_refresh"], kind="value")},
        "full_refresh"),
    "CLI makes --metadata required": (
        lambda: {**cli_options(), "metadata": replace(cli_options()["metadata"], required=True)}, "metadata"),
}


@pytest.mark.parametrize("change", sorted(CLI_CHANGES))
def test_comparison_fails_when_the_cli_changes_alone(change):
    make, mentioned = CLI_CHANGES[change]
    problems = _compare(cli=make())
    assert problems, f"{change} went unnoticed"
    assert any(repr(mentioned) in p for p in problems), problems


TEMPLATE_CHANGES = {
    "template adds parallelism": (lambda ps: ps.append({"name": "parallelism", "label": "x", "helpText": "x",
                                                         "isOptional": True}), "parallelism"),
    "template removes full_refresh": (_drop("full_refresh"), "full_refresh"),
    "template removes lake": (_drop("lake"), "lake"),
    "template removes max_num_workers": (_drop("max_num_workers"), "max_num_workers"),
    "template renames lake": (_rename("lake", "lake_root"), "lake_root"),
    "template renames sources": (_rename("sources", "source"), "source"),
    "template makes lake optional": (_set("lake", isOptional=True), "lake"),
    "template makes full_refresh text": (_set("full_refresh", paramType="TEXT"), "full_refresh"),
    "template rejects a source list": (_set("sources", regexes=["^[^,]+$"]), "sources"),
}


@pytest.mark.parametrize("change", sorted(TEMPLATE_CHANGES))
def test_comparison_fails_when_the_template_changes_alone(change, tmp_path):
    mutate, mentioned = TEMPLATE_CHANGES[change]
    problems = _compare(template=_template_mutated(tmp_path, mutate))
    assert problems, f"{change} went unnoticed"
    assert any(repr(mentioned) in p for p in problems), problems


def test_comparison_fails_when_the_mapping_is_stale():
    assert _compare(mirrored={**launcher.MIRRORED, "lake": "lake_root"})
    assert _compare(cli_only={k: v for k, v in launcher.CLI_ONLY.items() if k != "workers"})


# --- the launcher turns template parameters into exactly the CLI argv ---------------------------------

IMAGE = "us-central1-docker.pkg.dev/p/silake/silake-dataflow:0.1.0-abc"
# The shape of Terraform's catalog_uri output (infra/terraform/catalog.tf).
CATALOG = "postgresql://silake@10.20.0.3:5432/silake?password_secret=projects/123/secrets/silake-catalog-password/versions/1"

# What the Flex Template launcher passes: the user's parameters and Dataflow's own options, --name=value.
DATAFLOW_ARGS = [
    "--project=silake-test", "--region=us-central1", "--job_name=silake-ingest",
    "--temp_location=gs://silake-test-silake-dataflow/tmp",
    "--staging_location=gs://silake-test-silake-dataflow/staging",
    "--template_location=gs://silake-test-silake-dataflow/staging/template_launches/1/job_object",
    "--service_account_email=silake-dataflow-worker@silake-test.iam.gserviceaccount.com",
]


def test_launcher_argv_is_exactly_the_cli_argv():
    argv = [
        "--sources=hf://datasets/facebook/seamless-interaction/improvised/dev,gs://mirror/naturalistic/*/*.tar",
        "--lake=gs://silake-lake/lake",
        f"--catalog={CATALOG}",
        "--metadata=hf://datasets/facebook/seamless-interaction",
        "--full_refresh=true",
        "--max_num_workers=40",
        "--worker_machine_type=n2-standard-4",
        "--runner=DataflowRunner",
        *DATAFLOW_ARGS,
    ]
    cli = launcher.to_cli_argv(argv, environ={launcher.IMAGE_ENV: IMAGE})
    assert cli == [
        "ingest",
        "hf://datasets/facebook/seamless-interaction/improvised/dev",
        "gs://mirror/naturalistic/*/*.tar",
        "--lake", "gs://silake-lake/lake",
        "--catalog", CATALOG,
        "--metadata", "hf://datasets/facebook/seamless-interaction",
        "--full-refresh",
        "--runner", "DataflowRunner",
        "--no-progress",
        f"--sdk_container_image={IMAGE}",
        "--max_num_workers=40",
        "--worker_machine_type=n2-standard-4",
        *DATAFLOW_ARGS,
    ]
    args, beam_args = parse_ingest(cli)
    assert args.command == "ingest"
    assert args.sources == ["hf://datasets/facebook/seamless-interaction/improvised/dev",
                            "gs://mirror/naturalistic/*/*.tar"]
    assert (args.lake, args.catalog, args.metadata, args.full_refresh) == (
        "gs://silake-lake/lake", CATALOG, "hf://datasets/facebook/seamless-interaction", True)
    assert (args.runner, args.no_progress, args.workers) == ("DataflowRunner", True, None)
    assert beam_args == [f"--sdk_container_image={IMAGE}", "--max_num_workers=40",
                         "--worker_machine_type=n2-standard-4", *DATAFLOW_ARGS]


def test_launcher_minimal_parameters():
    cli = launcher.to_cli_argv(["--sources=gs://a/r", "--lake=gs://l/lake", *DATAFLOW_ARGS], environ={})
    assert cli == ["ingest", "gs://a/r", "--lake", "gs://l/lake", "--runner", "DataflowRunner",
                   "--no-progress", *DATAFLOW_ARGS]
    args, _ = parse_ingest(cli)
    assert (args.catalog, args.metadata, args.full_refresh) == (None, None, False)


def test_launcher_space_separated_values_and_false_boolean():
    cli = launcher.to_cli_argv(["--sources", "gs://a/r", "--lake", "gs://l/lake", "--full_refresh", "False",
                                "--metadata", ""], environ={})
    assert cli == ["ingest", "gs://a/r", "--lake", "gs://l/lake", "--runner", "DataflowRunner",
                   "--no-progress"]


def test_launcher_keeps_an_explicit_sdk_container_image():
    other = "us-central1-docker.pkg.dev/p/silake/silake-dataflow:other"
    cli = launcher.to_cli_argv(["--sources=gs://a/r", "--lake=gs://l/lake", f"--sdk_container_image={other}"],
                               environ={launcher.IMAGE_ENV: IMAGE})
    assert [a for a in cli if "sdk_container_image" in a] == [f"--sdk_container_image={other}"]


def test_every_template_parameter_reaches_the_pipeline():
    """Each parameter, given alone on top of the required ones, lands in the CLI namespace or in Beam."""
    from apache_beam.options.pipeline_options import PipelineOptions, WorkerOptions

    values = {"catalog": CATALOG, "metadata": "gs://m/meta", "full_refresh": "true", "max_num_workers": "7",
              "num_workers": "2",
              "worker_machine_type": "n2-highmem-8", "disk_size_gb": "50"}
    for name, param in template_parameters().items():
        value = values.get(name)
        if value is None:
            continue
        assert _accepts(param, value), (name, value)
        argv = ["--sources=gs://a/r", "--lake=gs://l/lake", f"--{name}={value}"]
        cli = launcher.to_cli_argv(argv, environ={})
        args, beam_args = parse_ingest(cli)
        if name in launcher.MIRRORED:
            got = getattr(args, launcher.MIRRORED[name])
            assert got == (True if value == "true" else value), name
            assert not beam_args
        else:
            assert beam_args == [f"--{name}={value}"]
            worker = PipelineOptions(beam_args).view_as(WorkerOptions).get_all_options()
            dest = {"worker_machine_type": "machine_type"}.get(name, name)
            assert str(worker[dest]) == value, (name, worker[dest])


@pytest.mark.parametrize("argv, message", [
    (["--lake=gs://l/lake"], "sources is required"),
    (["--sources=,", "--lake=gs://l/lake"], "sources is required"),
    (["--sources=gs://a/r"], "lake is required"),
    (["--sources=gs://a/r", "--lake=gs://l/lake", "--full_refresh=yes"], "true or false"),
    (["--sources=gs://a/r", "--sources=gs://b/r", "--lake=gs://l/lake"], "given twice"),
    (["--sources=gs://a/r", "--lake"], "lake has no value"),
])
def test_launcher_rejects_bad_parameters(argv, message, capsys):
    with pytest.raises(launcher.TemplateArgumentError, match=message):
        launcher.to_cli_argv(argv, environ={})
    assert launcher.main(argv) == 2
    assert message in capsys.readouterr().err


def test_launcher_runs_the_cli(monkeypatch):
    """launcher.main hands exactly to_cli_argv's output to silake.cli.main."""
    import silake.cli

    seen = []
    monkeypatch.setattr(silake.cli, "main", lambda argv: seen.append(argv) or 0)
    monkeypatch.setenv(launcher.IMAGE_ENV, IMAGE)
    argv = ["--sources=gs://a/r", "--lake=gs://l/lake", *DATAFLOW_ARGS]
    assert launcher.main(argv) == 0
    assert seen == [launcher.to_cli_argv(argv, environ={launcher.IMAGE_ENV: IMAGE})]


# --- metadata.json is a valid template metadata file ----------------------------------------------------

# Fields and enum values of TemplateMetadata / ParameterMetadata in the Dataflow v1b3 API (as in the
# Google Cloud SDK 528's generated client, dataflow_v1b3_messages.py).
TEMPLATE_FIELDS = {"name", "description", "parameters", "streaming", "supportsAtLeastOnce",
                   "supportsExactlyOnce", "defaultStreamingMode", "yamlDefinition"}
PARAMETER_FIELDS = {"name", "label", "helpText", "isOptional", "regexes", "paramType", "defaultValue",
                    "enumOptions", "groupName", "parentName", "parentTriggerValues", "hiddenUi",
                    "customMetadata"}
PARAM_TYPES = {"DEFAULT", "TEXT", "GCS_READ_BUCKET", "GCS_WRITE_BUCKET", "GCS_READ_FILE", "GCS_WRITE_FILE",
               "GCS_READ_FOLDER", "GCS_WRITE_FOLDER", "PUBSUB_TOPIC", "PUBSUB_SUBSCRIPTION", "BIGQUERY_TABLE",
               "JAVASCRIPT_UDF_FILE", "SERVICE_ACCOUNT", "MACHINE_TYPE", "KMS_KEY_NAME", "WORKER_REGION",
               "WORKER_ZONE", "BOOLEAN", "ENUM", "NUMBER", "KAFKA_TOPIC", "KAFKA_READ_TOPIC",
               "KAFKA_WRITE_TOPIC"}


def test_metadata_is_well_formed():
    doc = json.loads(METADATA.read_text())
    assert set(doc) <= TEMPLATE_FIELDS and doc["name"] and doc["description"]
    names = [p["name"] for p in doc["parameters"]]
    assert len(names) == len(set(names))
    for p in doc["parameters"]:
        assert set(p) <= PARAMETER_FIELDS, p["name"]
        assert p["name"] and p["label"] and p["helpText"], p["name"]  # what gcloud requires
        assert re.fullmatch(r"[a-z][a-z0-9_]*", p["name"]), p["name"]
        assert p.get("paramType", "DEFAULT") in PARAM_TYPES, p["name"]
        for rx in p.get("regexes", []):
            re.compile(rx)
        if "defaultValue" in p:
            assert _accepts(p, p["defaultValue"]), p["name"]


@pytest.mark.parametrize("name, good, bad", [
    ("sources", ["gs://a/r", "hf://datasets/facebook/seamless-interaction/improvised/dev,gs://m/x/*.tar"],
     ["", "gs://a/r, gs://b/r", "gs://a/r,", "a b"]),
    ("lake", ["gs://silake-lake/lake", "gs://b_1.x/a/b"], ["/local/lake", "s3://b/lake", "gs://", "gs://B/x"]),
    ("full_refresh", ["true", "false"], ["True", "yes", ""]),
    ("catalog", [CATALOG, "postgres://silake@10.0.0.3/silake", "gs://silake-lake/lake/ducklake.sqlite"],
     ["", "postgresql://silake@10.0.0.3:5432/silake password", "mysql://u@h/db", "gs://b/lake/catalog.db",
      "/local/ducklake.sqlite"]),
    ("max_num_workers", ["1", "200"], ["0", "-1", "ten"]),
])
def test_metadata_regexes(name, good, bad):
    param = template_parameters()[name]
    assert all(_accepts(param, v) for v in good)
    assert not any(_accepts(param, v) for v in bad)


@pytest.mark.skipif(shutil.which("gcloud") is None, reason="gcloud (Google Cloud SDK) is not installed")
def test_gcloud_accepts_the_metadata(tmp_path):
    """`gcloud dataflow flex-template build --print-only` parses metadata.json (offline, nothing written)."""
    env = {**os.environ, "CLOUDSDK_CONFIG": str(tmp_path / "gcloud"), "CLOUDSDK_CORE_DISABLE_PROMPTS": "1"}
    proc = subprocess.run(
        ["gcloud", "dataflow", "flex-template", "build", "gs://silake-templates/silake-ingest.json",
         "--image", IMAGE, "--sdk-language", "PYTHON", "--metadata-file", str(METADATA), "--print-only",
         "--format=json"],
        capture_output=True, text=True, env=env, timeout=120, check=False,
    )
    assert proc.returncode == 0, proc.stderr
    spec = json.loads(json.loads(proc.stdout))  # printed as a JSON string holding the spec
    assert spec["image"] == IMAGE and spec["sdkInfo"] == {"language": "PYTHON"}
    doc = json.loads(METADATA.read_text())
    assert spec["metadata"]["parameters"] == copy.deepcopy(doc["parameters"])

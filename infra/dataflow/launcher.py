"""Flex Template entry point: turn the template's parameters into a `silake ingest` command line.

The Dataflow Flex Template launcher runs `python $FLEX_TEMPLATE_PYTHON_PY_FILE --name=value ...` inside the
template image: one `--name=value` per template parameter the user set, plus the Dataflow options it
manages itself (`--project`, `--region`, `--job_name`, `--temp_location`, `--staging_location`,
`--template_location`, `--service_account_email`, ...). This file maps the silake parameters declared in
`metadata.json` onto the `silake ingest` options, passes every other argument through to Beam unchanged,
and calls `silake.cli.main`, so a template run is exactly a CLI run with `--runner DataflowRunner`.

It runs the pipeline *construction* only: with `--runner DataflowRunner` the CLI submits the job and
returns without waiting (a Flex Template launcher must exit once the job is handed over).

The mapping below is data, not code, so `tests/test_infra_template.py` can check it against both the CLI
parser and metadata.json: changing either side alone fails that test.

Stdlib only; `silake` is imported when the command runs, so the tests can load this file without Beam.
"""

from __future__ import annotations

import logging
import os
import sys
from collections.abc import Sequence

# Template parameter -> `silake ingest` option (the argparse `dest`). A list parameter is one comma-separated
# string: Dataflow template parameters are strings, and a shard URL never contains a comma.
MIRRORED = {
    "sources": "sources",  # positional SOURCE... (nargs="+")
    "lake": "lake",
    "catalog": "catalog",
    "metadata": "metadata",
    "full_refresh": "full_refresh",  # store_true flag <- BOOLEAN parameter "true"/"false"
}

# `silake ingest` options a template run does not expose, and what it does instead.
CLI_ONLY = {
    "runner": "always DataflowRunner",
    "workers": "local worker processes only; on Dataflow see max_num_workers / worker_machine_type",
    "no_progress": "always set: the launcher has no terminal",
    "wait": "never: a Flex Template launcher must exit once the job is submitted",
    "dask_scheduler": "a Dask cluster is the other engine: a template run is on Dataflow",
}

# Template parameters that are Dataflow worker settings: Beam pipeline options (WorkerOptions), passed
# through unchanged as `--name=value`. Dataflow's own launch environment (gcloud --max-workers, the API's
# environment.maxWorkers) sets the same options; set each one in one place only.
BEAM_WORKER_OPTIONS = ("max_num_workers", "num_workers", "worker_machine_type", "disk_size_gb")

RUNNER = "DataflowRunner"

# The image this file runs in, baked in at build time (Dockerfile ARG IMAGE_URI). Workers need the same
# image (it holds silake and its pinned dependencies), so it is the default `--sdk_container_image`. Declared
# with every other SILAKE_* variable in silake.settings; read here from the environment the caller passes.
IMAGE_ENV = "SILAKE_SDK_CONTAINER_IMAGE"


class TemplateArgumentError(ValueError):
    """A template parameter has a value the CLI cannot take."""


def _split_option(token: str) -> tuple[str, str | None]:
    name, sep, value = token[2:].partition("=")
    return name, (value if sep else None)


def parse_template_args(argv: Sequence[str]) -> tuple[dict[str, str], list[str]]:
    """Split the launcher's argv into silake parameters (name -> raw value) and pass-through arguments."""
    params: dict[str, str] = {}
    passthrough: list[str] = []
    tokens = list(argv)
    i = 0
    while i < len(tokens):
        token = tokens[i]
        name, value = _split_option(token) if token.startswith("--") else ("", None)
        if name in MIRRORED:
            if value is None:  # `--name value` form
                if i + 1 >= len(tokens) or tokens[i + 1].startswith("--"):
                    raise TemplateArgumentError(f"template parameter {name} has no value")
                value = tokens[i + 1]
                i += 1
            if name in params:
                raise TemplateArgumentError(f"template parameter {name} given twice")
            params[name] = value
        elif name == "runner":  # a template always runs on Dataflow; drop a launcher-supplied runner
            if value is None and i + 1 < len(tokens) and not tokens[i + 1].startswith("--"):
                i += 1
        else:
            passthrough.append(token)
        i += 1
    return params, passthrough


def _boolean(name: str, raw: str) -> bool:
    value = raw.strip().lower()
    if value in ("true", "false"):
        return value == "true"
    raise TemplateArgumentError(f"template parameter {name} must be true or false, got {raw!r}")


def to_cli_argv(argv: Sequence[str], environ: dict[str, str] | None = None) -> list[str]:
    """The `silake` argv (without the program name) for the launcher's argv."""
    environ = os.environ if environ is None else environ
    params, passthrough = parse_template_args(argv)
    sources = [s.strip() for s in params.get("sources", "").split(",") if s.strip()]
    if not sources:
        raise TemplateArgumentError("template parameter sources is required (comma-separated URLs)")
    lake = params.get("lake", "").strip()
    if not lake:
        raise TemplateArgumentError("template parameter lake is required")

    cli = ["ingest", *sources, "--lake", lake]
    catalog = params.get("catalog", "").strip()
    if catalog:
        cli += ["--catalog", catalog]
    metadata = params.get("metadata", "").strip()
    if metadata:
        cli += ["--metadata", metadata]
    if _boolean("full_refresh", params.get("full_refresh", "false")):
        cli.append("--full-refresh")
    cli += ["--runner", RUNNER, "--no-progress"]

    image = environ.get(IMAGE_ENV, "").strip()
    given = {_split_option(t)[0] for t in passthrough if t.startswith("--")}
    if image and "sdk_container_image" not in given:
        cli.append(f"--sdk_container_image={image}")
    return cli + passthrough


def main(argv: Sequence[str] | None = None) -> int:
    # INFO so Beam's submission messages reach the launcher's log in Cloud Logging.
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    try:
        cli_argv = to_cli_argv(sys.argv[1:] if argv is None else argv)
    except TemplateArgumentError as exc:
        print(f"silake flex template: {exc}", file=sys.stderr)
        return 2
    logging.getLogger("silake.launcher").info("silake %s", " ".join(cli_argv))
    from silake.cli import main as silake_main

    return silake_main(cli_argv)


if __name__ == "__main__":
    sys.exit(main())

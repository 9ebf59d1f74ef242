"""Beam runner selection. Beam's local runs use the FnApiRunner directly, never the DirectRunner's Prism path.

(`--runner local`, the default, is silake's own local run without Beam: `silake.local_run`.) Beam >= 2.68's
DirectRunner first tries to download a Prism binary from GitHub; a name that means Beam's local runner
(FnApiRunner, DirectRunner, direct) is therefore mapped to the FnApiRunner in multi-processing mode over
the requested workers (in-process with one worker), built the way the DirectRunner builds it so worker
processes receive the pipeline options. Any other name (DataflowRunner, ...) goes to Beam as is.
"""

from __future__ import annotations

import os
from collections.abc import Sequence

from apache_beam.options.pipeline_options import PipelineOptions
from apache_beam.runners.runner import PipelineRunner

BEAM_LOCAL_RUNNER_NAMES = frozenset({"fnapirunner", "directrunner", "direct"})


def is_beam_local(runner: str) -> bool:
    return runner.lower() in BEAM_LOCAL_RUNNER_NAMES


def make_runner(runner: str, workers: int | None, beam_args: Sequence[str] = ()
                ) -> tuple[PipelineRunner | str, PipelineOptions]:
    """The runner object (or name) and the pipeline options for a run."""
    if not is_beam_local(runner):
        return runner, PipelineOptions(list(beam_args), runner=runner)
    from apache_beam.portability.api import beam_provision_api_pb2
    from apache_beam.runners.portability.fn_api_runner import fn_runner
    from apache_beam.runners.portability.portable_runner import JobServiceHandle

    n = workers or os.cpu_count() or 1
    options = PipelineOptions(
        list(beam_args),
        direct_running_mode="multi_processing" if n > 1 else "in_memory",
        direct_num_workers=n,
        # Worker processes otherwise log every gRPC channel they open and close, and Beam-internal notices.
        default_sdk_harness_log_level="WARNING",
        sdk_harness_log_level_overrides={"apache_beam": "ERROR", "__main__": "ERROR"},
    )
    encoded = JobServiceHandle.encode_pipeline_options(options.get_all_options())
    provision = fn_runner.ExtendedProvisionInfo(beam_provision_api_pb2.ProvisionInfo(pipeline_options=encoded))
    return fn_runner.FnApiRunner(provision_info=provision), options

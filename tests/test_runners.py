"""Runner names: Beam's local names never reach the DirectRunner/Prism path (which would try to download a
binary); silake's own local run picks its mode by shard count."""

from __future__ import annotations

import pytest
from apache_beam.options.pipeline_options import DirectOptions
from apache_beam.runners.portability.fn_api_runner import FnApiRunner

from silake.pipelines.runners import make_runner


@pytest.mark.parametrize("name", ["FnApiRunner", "DirectRunner", "direct"])
def test_local_names_build_the_fnapi_runner_in_multiprocessing_mode(name: str) -> None:
    runner, options = make_runner(name, 2)
    assert isinstance(runner, FnApiRunner)
    direct = options.view_as(DirectOptions)
    assert (direct.direct_running_mode, direct.direct_num_workers) == ("multi_processing", 2)


def test_one_worker_runs_in_process_and_remote_names_pass_through() -> None:
    runner, options = make_runner("FnApiRunner", 1)
    assert isinstance(runner, FnApiRunner)
    assert options.view_as(DirectOptions).direct_running_mode == "in_memory"
    runner, options = make_runner("DataflowRunner", None, ["--project", "p", "--region", "r"])
    assert runner == "DataflowRunner"
    assert options.get_all_options()["project"] == "p"


def test_a_local_run_never_imports_the_prism_runner(tmp_path, sample_release) -> None:
    import subprocess
    import sys

    release, _ = sample_release
    code = (
        "import sys\n"
        "from silake.ingest import run as run_pipeline\n"
        f"run_pipeline([{str(release / 'naturalistic/test/0000/0000.tar')!r}], {str(tmp_path / 'lake')!r},"
        " runner='DirectRunner', workers=1)\n"
        "assert 'apache_beam.runners.portability.prism_runner' not in sys.modules, 'Prism was loaded'\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, text=True)


def test_the_local_run_picks_its_mode_by_shard_count() -> None:
    from silake.local_run import IN_PROCESS, PROCESSES, THREADS, choose

    assert choose(1, 8) == (IN_PROCESS, 1)  # one shard: no worker is started for nothing
    assert choose(5, 1) == (IN_PROCESS, 1)
    assert choose(5, 2) == (PROCESSES, 2)
    assert choose(3, 8) == (PROCESSES, 3)  # never more workers than shards
    assert choose(4, 2, THREADS) == (THREADS, 2)


def test_worker_processes_take_the_environment_of_now(monkeypatch) -> None:
    """Worker processes fork from a server started once per launcher process; each still gets the launcher's
    environment as it is when its pool starts, as a spawned worker would (not the server's, from its start)."""
    import os

    from silake.local_run import PROCESSES, _executor

    monkeypatch.delenv("SILAKE_TEST_MARK", raising=False)
    first = _executor(PROCESSES, 1)
    try:
        assert first.submit(os.getenv, "SILAKE_TEST_MARK").result() is None  # the server runs from here on
    finally:
        first.shutdown()
    monkeypatch.setenv("SILAKE_TEST_MARK", "set after the fork server started")
    monkeypatch.setenv("SILAKE_FAILPOINTS", "commit.after=3:pause")  # silake read it at import, in the server
    second = _executor(PROCESSES, 2)
    try:
        seen = {second.submit(os.getenv, "SILAKE_TEST_MARK").result() for _ in range(4)}
        armed = second.submit(eval, "__import__('silake.failpoints', fromlist=['_'])._armed").result()
    finally:
        second.shutdown()
    assert seen == {"set after the fork server started"}
    assert armed == {"commit.after": (3, "pause")}


def test_workers_fork_from_the_server_and_let_it_go() -> None:
    """On Linux the workers come from the fork server, and none keeps its keep-alive pipe open (else the
    server, and with it the workers, would outlive a SIGKILLed launcher: test_signals kills one)."""
    import sys

    from silake.local_run import PROCESSES, _executor, _process_context

    if not sys.platform.startswith("linux"):
        pytest.skip("the fork server is used on Linux only")
    assert _process_context().get_start_method() == "forkserver"
    pool = _executor(PROCESSES, 2)
    probe = "__import__('multiprocessing.forkserver', fromlist=['_']).{}"
    try:
        kept = {pool.submit(eval, probe.format("_forkserver._forkserver_alive_fd")).result() for _ in range(4)}
        server = pool.submit(eval, probe.format("_forkserver._forkserver_pid")).result()
        parents = {pool.submit(eval, "__import__('os').getppid()").result() for _ in range(4)}
        frozen = min(pool.submit(eval, "__import__('gc').get_freeze_count()").result() for _ in range(4))
    finally:
        pool.shutdown()
    assert frozen > 10_000  # what the server imported (silake, pyarrow, pandas...) is out of the GC's way
    assert kept == {None}
    assert server is None  # a worker never started a server of its own
    assert len(parents) == 1 and parents != {__import__("os").getpid()}  # the server is their parent, not us


START_THEN_CTRL_C = """
import os, signal, sys, time
from multiprocessing import forkserver
from silake.local_run import PROCESSES, _executor, start_fork_server
assert not start_fork_server(1, 8)  # one shard runs in this process: no server for nothing
assert forkserver._forkserver._forkserver_pid is None
assert start_fork_server(3, 2)
server = forkserver._forkserver._forkserver_pid
os.kill(server, signal.SIGINT)  # a Ctrl-C at the terminal reaches it while it imports
time.sleep(1.5)
assert os.waitpid(server, os.WNOHANG) == (0, 0), "the fork server died of the Ctrl-C"
pool = _executor(PROCESSES, 2)
parents = {pool.submit(os.getppid).result() for _ in range(4)}
pool.shutdown()
assert parents == {server}, (parents, server)  # the pool uses the server started beforehand
print("ok")
"""


def test_the_fork_server_starts_ahead_of_the_pool_and_ignores_a_ctrl_c_while_it_imports() -> None:
    import subprocess
    import sys

    if not sys.platform.startswith("linux"):
        pytest.skip("the fork server is used on Linux only")
    out = subprocess.run([sys.executable, "-c", START_THEN_CTRL_C], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0 and out.stdout.strip() == "ok", out.stderr
    assert "Traceback" not in out.stderr and "KeyboardInterrupt" not in out.stderr, out.stderr


SERVER_BEFORE_CATALOG = """
import sys
from multiprocessing import forkserver
from silake.ingest import run
from silake.lake.session import CatalogWriter

seen = []
enter = CatalogWriter.__enter__
def observed(self):
    seen.append(forkserver._forkserver._forkserver_pid)
    return enter(self)
CatalogWriter.__enter__ = observed
summary, _ = run(sys.argv[1:-1], sys.argv[-1], workers=2)
assert summary.shards_processed == 2 and summary.mode == "processes (2)", summary
print(seen[0] is not None)
"""


def test_an_ingest_with_work_for_worker_processes_starts_their_server_before_it_opens_the_catalog(
        tmp_path, sample_release) -> None:
    import subprocess
    import sys

    if not sys.platform.startswith("linux"):
        pytest.skip("the fork server is used on Linux only")
    release, _ = sample_release
    shards = sorted(str(p) for p in release.rglob("*.tar"))[:2]
    out = subprocess.run([sys.executable, "-c", SERVER_BEFORE_CATALOG, *shards, str(tmp_path / "lake")],
                         capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip().splitlines()[-1] == "True"


INTERRUPTED_RUN = """
import sys
from silake.ingest import IngestInterrupted, run

try:
    run(sys.argv[1:-1], sys.argv[-1], workers=2, progress=False)
except IngestInterrupted as exc:
    print(exc.summary.mode, exc.summary.shards_processed)
"""


def test_an_interrupted_run_says_how_its_shards_ran(tmp_path, sample_release) -> None:
    import os
    import signal
    import subprocess
    import sys

    release, _ = sample_release
    shards = sorted(str(p) for p in release.rglob("*.tar"))[:3]
    proc = subprocess.Popen([sys.executable, "-c", INTERRUPTED_RUN, *shards, str(tmp_path / "lake")],
                            env={**os.environ, "SILAKE_FAILPOINTS": "shard.staged=1:pause"}, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, start_new_session=True)
    assert proc.stderr is not None
    paused = 0
    while paused < 2:  # both worker processes hold their first shard, staged but not committed
        line = proc.stderr.readline()
        assert line, proc.communicate(timeout=60)
        paused += line.startswith("failpoint shard.staged: paused")
    os.killpg(proc.pid, signal.SIGINT)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 0 and out.split() == ["processes", "(2)", "0"], (out, err)


NOTHING_TO_DO = """
import os, sys
from multiprocessing import forkserver
import silake.local_run as local_run
from silake.ingest import run

started = []
start = local_run.start_fork_server
def observed(*args):
    ok = start(*args)
    started.append(forkserver._forkserver._forkserver_pid if ok else None)
    return ok
local_run.start_fork_server = observed
summary, _ = run(sys.argv[1:-1], sys.argv[-1], workers=2)
pid = started[0]
assert pid is not None, "no fork server was started ahead"
assert forkserver._forkserver._forkserver_pid is None, "the fork server was left running"
try:
    os.kill(pid, 0)
    print("alive")
except ProcessLookupError:
    print(summary.shards_skipped, summary.shards_processed)
"""


def test_a_run_with_nothing_for_worker_processes_stops_the_fork_server_it_started_ahead(tmp_path,
                                                                                     sample_release) -> None:
    import subprocess
    import sys

    if not sys.platform.startswith("linux"):
        pytest.skip("the fork server is used on Linux only")
    release, _ = sample_release
    shards = sorted(str(p) for p in release.rglob("*.tar"))[:3]
    lake = str(tmp_path / "lake")
    first = subprocess.run([sys.executable, "-c", NOTHING_TO_DO, *shards[:2], lake], capture_output=True,
                           text=True, timeout=300)
    assert first.returncode != 0 and "the fork server was left running" in first.stderr  # 2 shards: it works
    for todo, expected in ((shards[:2], "2 0"), (shards, "2 1")):  # nothing left; one shard, run in-process
        out = subprocess.run([sys.executable, "-c", NOTHING_TO_DO, *todo, lake], capture_output=True, text=True,
                             timeout=300)
        assert out.returncode == 0, out.stderr
        assert out.stdout.strip().splitlines()[-1] == expected


SAY_MANY = """
import os, sys
from silake import failpoints
for _ in range(300):
    failpoints.hit("shard.staged")
"""


def test_failpoint_lines_of_processes_sharing_stderr_never_interleave() -> None:
    import os
    import re
    import subprocess
    import sys

    # unbuffered, as on these machines (PYTHONUNBUFFERED): `print` writes a line's text and newline apart
    env = {**os.environ, "PYTHONUNBUFFERED": "1", "SILAKE_FAILPOINTS": "shard.staged=1:sleep0"}
    read, write = os.pipe()
    procs = [subprocess.Popen([sys.executable, "-c", SAY_MANY], env=env, stderr=write) for _ in range(3)]
    os.close(write)
    with os.fdopen(read) as fh:
        lines = fh.read().splitlines()
    assert all(p.wait(timeout=120) == 0 for p in procs)
    assert len(lines) == 900
    assert all(re.fullmatch(r"failpoint shard\.staged: sleeping 0 s \(pid \d+\)", line) for line in lines), \
        [line for line in lines if "failpoint" not in line or line.count("failpoint") > 1][:3]

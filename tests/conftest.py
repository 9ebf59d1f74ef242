"""Shared fixtures: the generated sample release, one ingested lake, and real servers on loopback."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from pathlib import Path

import pytest
from servers import FakeHubServer, MotoS3Server, RangeHTTPServer, patched_env


@pytest.fixture(scope="session")
def sample_release(tmp_path_factory: pytest.TempPathFactory):
    """The demo release (seed 0) and the generator's ground truth."""
    from silake.sample import write_release

    out = tmp_path_factory.mktemp("release") / "release"
    truth = write_release(out, seed=0)
    return out, truth


@pytest.fixture(scope="session")
def ingested_lake(sample_release, tmp_path_factory: pytest.TempPathFactory):
    """The demo release ingested once with the local runner (shared, read-only for tests)."""
    from silake.ingest import run as run_pipeline

    release, _ = sample_release
    lake = tmp_path_factory.mktemp("lake") / "lake"
    summary, totals = run_pipeline([str(release)], str(lake), workers=1)
    return lake, summary, totals


@pytest.fixture
def http_server(sample_release) -> Iterator[RangeHTTPServer]:
    """A range-capable HTTP server over the sample release that counts the bytes it serves."""
    with RangeHTTPServer(Path(sample_release[0])) as server:
        yield server


@pytest.fixture
def moto_s3() -> Iterator[MotoS3Server]:
    """A real moto S3 server on loopback, with the AWS_* environment pointing at it."""
    with MotoS3Server() as s3, patched_env(s3.env):
        yield s3


@pytest.fixture
def hf_hub(sample_release) -> Iterator[FakeHubServer]:
    """A local Hugging Face Hub endpoint serving the sample release as facebook/seamless-interaction."""
    with FakeHubServer(Path(sample_release[0])) as hub, patched_env(hub.env):
        yield hub


@pytest.fixture
def offline_hf(tmp_path, monkeypatch):
    """Hugging Face offline, with its own cache, and any connection off loopback refused.

    huggingface_hub and datasets read their offline switches at import, so they are imported first and
    their module constants patched for this test only (an import under HF_HUB_OFFLINE=1 would leave the
    rest of the session offline).
    """
    import datasets
    import huggingface_hub.constants

    for k in ("HF_DATASETS_OFFLINE", "HF_HUB_OFFLINE"):
        monkeypatch.setenv(k, "1")
        monkeypatch.setattr(datasets.config, k, True, raising=False)
    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_OFFLINE", True)
    monkeypatch.setattr(datasets.config, "HF_DATASETS_CACHE", tmp_path / "hf-datasets", raising=False)
    monkeypatch.setattr(datasets.config, "HF_MODULES_CACHE", tmp_path / "hf-modules", raising=False)
    real_connect = socket.socket.connect

    def guarded(self, address):
        host = address[0] if isinstance(address, tuple) else address
        if isinstance(host, str) and host not in ("127.0.0.1", "::1", "localhost") and "/" not in host:
            raise OSError(f"test must not touch the network (tried {address})")
        return real_connect(self, address)

    monkeypatch.setattr(socket.socket, "connect", guarded)
    return datasets

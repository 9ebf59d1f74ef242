#!/usr/bin/env bash
# Regenerate infra/dataflow/requirements.txt: the image's runtime dependencies, pinned with hashes.
#
# Runtime only (no dev extra), plus the gcp extra (apache-beam[gcp] for the DataflowRunner and GCS IO,
# gcsfs for gs:// lakes), for the image's Python. Every version shared with requirements.lock is held to
# the lock's (-c), so the image runs what CI tested; tests/test_infra_image.py checks that they agree.
# Run it after any change to pyproject.toml's dependencies or to requirements.lock.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
uv="${UV:-$(command -v uv || true)}"
[[ -n "$uv" ]] || uv="$root/.venv/bin/uv"

# The image's Python: apache/beam_python<PYTHON_VERSION>_sdk in the Dockerfile.
python_version="$(sed -n 's/^ARG PYTHON_VERSION=\(.*\)$/\1/p' "$here/Dockerfile")"

cd "$root"
"$uv" pip compile pyproject.toml \
    --extra gcp \
    --constraint requirements.lock \
    --python-version "$python_version" \
    --python-platform x86_64-manylinux_2_28 \
    --generate-hashes \
    --custom-compile-command "infra/dataflow/compile-requirements.sh" \
    --output-file infra/dataflow/requirements.txt \
    --quiet
echo "wrote infra/dataflow/requirements.txt"

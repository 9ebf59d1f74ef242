#!/usr/bin/env bash
# Build the silake Flex Template: the image (launcher + workers) and the template spec file.
#
#   PROJECT=my-project REGION=us-central1 infra/dataflow/build.sh
#   infra/dataflow/build.sh --context-only DIR      # only assemble the Docker build context (offline)
#
# Environment (defaults match infra/terraform's outputs):
#   PROJECT            GCP project (required unless --context-only)
#   REGION             region of the Artifact Registry repository (required unless --context-only)
#   IMAGE_REPOSITORY   default: $REGION-docker.pkg.dev/$PROJECT/silake   (terraform output image_repository)
#   IMAGE_NAME         default: silake-dataflow
#   TEMPLATES_PREFIX   default: gs://$PROJECT-silake-dataflow/templates  (terraform output templates_prefix)
#   TAG                default: <package version>-<git sha, 12 chars>; the repository's tags are immutable
#   BUILDER            cloudbuild (default: no local Docker needed) or docker (local build + push)
#   BUILD_SERVICE_ACCOUNT  optional: service account for the Cloud Build run (full resource name or email)
#   ALLOW_DIRTY=1      build from a work tree with uncommitted changes (the tag gets a -dirty-<time> suffix)
#   UV                 path to uv (default: uv on PATH, else the repo's .venv/bin/uv)
#
# The image gets silake as a wheel built from a fresh sdist (never from a stale build/ directory), the
# runtime dependencies pinned with hashes in requirements.txt, and launcher.py. Nothing else from the
# repository enters the build context.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"

context_only=""
if [[ "${1:-}" == "--context-only" ]]; then
    context_only="${2:?usage: build.sh --context-only DIR}"
elif [[ $# -gt 0 ]]; then
    echo "usage: build.sh [--context-only DIR]" >&2
    exit 2
fi

die() { echo "build.sh: $*" >&2; exit 1; }

# --- versions -------------------------------------------------------------------------------------
version="$(sed -n 's/^version = "\([^"]*\)"$/\1/p' "$root/pyproject.toml" | head -n 1)"
[[ -n "$version" ]] || die "cannot read the version from pyproject.toml"

# The image's Beam (Dockerfile BEAM_VERSION) must be the Beam the runtime requirements pin, or the
# launcher and the workers would disagree with what was tested.
beam_docker="$(sed -n 's/^ARG BEAM_VERSION=\(.*\)$/\1/p' "$here/Dockerfile")"
beam_reqs="$(sed -n 's/^apache-beam\(\[[^]]*\]\)\{0,1\}==\([^ \\]*\).*$/\2/p' "$here/requirements.txt")"
[[ -n "$beam_docker" && "$beam_docker" == "$beam_reqs" ]] \
    || die "Dockerfile BEAM_VERSION ($beam_docker) != apache-beam in requirements.txt ($beam_reqs)"

if [[ -z "${TAG:-}" ]]; then
    sha="$(git -C "$root" rev-parse --short=12 HEAD 2>/dev/null || echo nogit)"
    TAG="$version-$sha"
    if [[ -n "$(git -C "$root" status --porcelain 2>/dev/null)" ]]; then
        [[ "${ALLOW_DIRTY:-}" == "1" ]] || die "uncommitted changes: commit first, or set ALLOW_DIRTY=1"
        TAG="$TAG-dirty-$(date -u +%Y%m%d%H%M%S)"
    fi
fi

# --- build context --------------------------------------------------------------------------------
uv="${UV:-$(command -v uv || true)}"
[[ -n "$uv" ]] || uv="$root/.venv/bin/uv"
[[ -x "$uv" ]] || die "uv not found (set UV=/path/to/uv or run make setup)"

cleanup=()
trap 'rm -rf ${cleanup[@]+"${cleanup[@]}"}' EXIT
if [[ -n "$context_only" ]]; then
    ctx="$context_only"
    mkdir -p "$ctx"
    [[ -z "$(ls -A "$ctx")" ]] || die "$ctx is not empty"
else
    ctx="$(mktemp -d)"
    cleanup+=("$ctx")
fi
dist="$(mktemp -d)"
cleanup+=("$dist")

# `uv build` makes the sdist, then the wheel from the unpacked sdist: only what the sdist declares ships.
"$uv" build --quiet --out-dir "$dist" "$root"
wheel="$(find "$dist" -maxdepth 1 -name "silake-$version-py3-none-any.whl" -print -quit)"
[[ -n "$wheel" ]] || die "uv build produced no silake-$version wheel"

mkdir -p "$ctx/dist"
cp "$here/Dockerfile" "$here/launcher.py" "$here/requirements.txt" "$ctx/"
cp "$wheel" "$ctx/dist/"

if [[ -n "$context_only" ]]; then
    echo "context: $ctx (tag $TAG)"
    exit 0
fi

# --- image ----------------------------------------------------------------------------------------
: "${PROJECT:?set PROJECT}"
: "${REGION:?set REGION}"
IMAGE_REPOSITORY="${IMAGE_REPOSITORY:-$REGION-docker.pkg.dev/$PROJECT/silake}"
IMAGE_NAME="${IMAGE_NAME:-silake-dataflow}"
TEMPLATES_PREFIX="${TEMPLATES_PREFIX:-gs://$PROJECT-silake-dataflow/templates}"
image="$IMAGE_REPOSITORY/$IMAGE_NAME:$TAG"
spec="${TEMPLATES_PREFIX%/}/silake-ingest-$TAG.json"

case "${BUILDER:-cloudbuild}" in
cloudbuild)
    # `gcloud builds submit --tag` cannot pass build args, hence a one-step build config.
    cat > "$ctx/cloudbuild.yaml" <<EOF
steps:
  - name: gcr.io/cloud-builders/docker
    args: ["build", "--build-arg", "IMAGE_URI=$image", "--tag", "$image", "."]
images: ["$image"]
options:
  logging: CLOUD_LOGGING_ONLY
EOF
    sa_args=()
    if [[ -n "${BUILD_SERVICE_ACCOUNT:-}" ]]; then
        sa="$BUILD_SERVICE_ACCOUNT"
        [[ "$sa" == projects/* ]] || sa="projects/$PROJECT/serviceAccounts/$sa"
        sa_args=(--service-account "$sa")
    fi
    gcloud builds submit "$ctx" --project "$PROJECT" --region "$REGION" \
        --config "$ctx/cloudbuild.yaml" ${sa_args[@]+"${sa_args[@]}"}
    ;;
docker)
    # Needs `gcloud auth configure-docker $REGION-docker.pkg.dev` once.
    docker build --build-arg "IMAGE_URI=$image" --tag "$image" "$ctx"
    docker push "$image"
    ;;
*)
    die "BUILDER must be cloudbuild or docker, not ${BUILDER}"
    ;;
esac

# --- template spec --------------------------------------------------------------------------------
gcloud dataflow flex-template build "$spec" \
    --project "$PROJECT" \
    --image "$image" \
    --sdk-language PYTHON \
    --metadata-file "$here/metadata.json"

cat <<EOF

Built $image
Template spec $spec

Terraform (infra/terraform/terraform.tfvars), then \`terraform apply\`:
  template_image         = "$image"
  template_spec_gcs_path = "$spec"

Run once now:
  TEMPLATE=$spec IMAGE=$image infra/dataflow/run.sh SOURCE... --lake gs://BUCKET/lake
EOF

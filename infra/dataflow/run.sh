#!/usr/bin/env bash
# Launch the silake ingest Flex Template once (the scheduler does the same on its cron).
#
#   infra/dataflow/run.sh [--full-refresh] [--metadata URL] [--max-workers N] [--machine-type TYPE]
#                         [--disk-size-gb N] [--job-name NAME] [--catalog URI]
#                         [--network NAME] [--subnetwork SUBNETWORK] --lake gs://BUCKET/lake SOURCE...
#
# --catalog is the lake's catalog (terraform output catalog_uri: postgresql://USER@PRIVATE_IP:5432/DB
# ?password_secret=...). The instance has a private IP only: the job must run in its VPC network, so give
# --network NAME (terraform variable network) or --subnetwork regions/REGION/subnetworks/NAME of it when
# that is not the project's default network.
#
# Environment (terraform outputs in brackets):
#   PROJECT, REGION        required
#   TEMPLATE               gs:// template spec written by build.sh                  [template_spec_gcs_path]
#   IMAGE                  the template image, used by the workers too              [template_image]
#   SERVICE_ACCOUNT        worker service account email                             [worker_service_account]
#   TEMP_LOCATION          default: gs://$PROJECT-silake-dataflow/tmp               [temp_location]
#   STAGING_LOCATION       default: gs://$PROJECT-silake-dataflow/staging           [staging_location]
#
# A job name defaults to silake-ingest-<UTC time>. Dataflow refuses a second *active* job of the same
# name; whatever the name, the lake's lease refuses a second writer (see infra/README.md).
set -euo pipefail

usage() {
    sed -n '2,/^set -euo/p' "${BASH_SOURCE[0]}" | sed -e '$d' -e 's/^# \{0,1\}//' >&2
    exit 2
}

full_refresh=false
metadata=""
lake=""
max_workers=""
machine_type=""
disk_size_gb=""
job_name="silake-ingest-$(date -u +%Y%m%d-%H%M%S)"
catalog=""
network=""
subnetwork=""
sources=()
while [[ $# -gt 0 ]]; do
    case "$1" in
    --full-refresh) full_refresh=true ;;
    --metadata) metadata="${2:?--metadata needs a value}"; shift ;;
    --lake) lake="${2:?--lake needs a value}"; shift ;;
    --max-workers) max_workers="${2:?--max-workers needs a value}"; shift ;;
    --machine-type) machine_type="${2:?--machine-type needs a value}"; shift ;;
    --disk-size-gb) disk_size_gb="${2:?--disk-size-gb needs a value}"; shift ;;
    --job-name) job_name="${2:?--job-name needs a value}"; shift ;;
    --catalog) catalog="${2:?--catalog needs a value}"; shift ;;
    --network) network="${2:?--network needs a value}"; shift ;;
    --subnetwork) subnetwork="${2:?--subnetwork needs a value}"; shift ;;
    -h | --help) usage ;;
    -*) echo "run.sh: unknown option $1" >&2; usage ;;
    *) sources+=("$1") ;;
    esac
    shift
done

: "${PROJECT:?set PROJECT}"
: "${REGION:?set REGION}"
: "${TEMPLATE:?set TEMPLATE to the gs:// template spec build.sh printed}"
: "${IMAGE:?set IMAGE to the template image build.sh printed}"
: "${SERVICE_ACCOUNT:?set SERVICE_ACCOUNT to the worker service account (terraform output worker_service_account)}"
TEMP_LOCATION="${TEMP_LOCATION:-gs://$PROJECT-silake-dataflow/tmp}"
STAGING_LOCATION="${STAGING_LOCATION:-gs://$PROJECT-silake-dataflow/staging}"
[[ -n "$lake" ]] || { echo "run.sh: --lake gs://BUCKET/PREFIX is required" >&2; exit 2; }
[[ ${#sources[@]} -gt 0 ]] || { echo "run.sh: at least one SOURCE is required" >&2; exit 2; }
for s in "${sources[@]}"; do
    [[ "$s" != *,* ]] || { echo "run.sh: a SOURCE cannot contain a comma: $s" >&2; exit 2; }
done
# ~ separates the template parameters below.
for v in "${sources[@]}" "$lake" "$metadata" "$catalog"; do
    [[ "$v" != *"~"* ]] || { echo "run.sh: a parameter value cannot contain ~: $v" >&2; exit 2; }
done

# Template parameters (names from metadata.json). The values hold commas (the source list), so use
# gcloud's alternative delimiter syntax: "^~^k1=v1~k2=v2" splits on ~ instead of commas.
joined_sources="$(IFS=,; echo "${sources[*]}")"
params="^~^sources=$joined_sources~lake=$lake~full_refresh=$full_refresh~sdk_container_image=$IMAGE"
[[ -z "$metadata" ]] || params="$params~metadata=$metadata"
[[ -z "$catalog" ]] || params="$params~catalog=$catalog"
# The launch environment has no disk size flag in gcloud, so it goes as the template's parameter.
[[ -z "$disk_size_gb" ]] || params="$params~disk_size_gb=$disk_size_gb"

# Worker count and machine type go to Dataflow's launch environment (gcloud flags), never also as
# parameters: Dataflow rejects a launch that sets one in both places.
env_args=()
[[ -z "$max_workers" ]] || env_args+=(--max-workers "$max_workers")
[[ -z "$machine_type" ]] || env_args+=(--worker-machine-type "$machine_type")
# Where the launcher VM and the workers run: the catalog's private IP is reachable from its network only.
[[ -z "$network" ]] || env_args+=(--network "$network")
[[ -z "$subnetwork" ]] || env_args+=(--subnetwork "$subnetwork")

gcloud dataflow flex-template run "$job_name" \
    --project "$PROJECT" \
    --region "$REGION" \
    --template-file-gcs-location "$TEMPLATE" \
    --service-account-email "$SERVICE_ACCOUNT" \
    --temp-location "$TEMP_LOCATION" \
    --staging-location "$STAGING_LOCATION" \
    --parameters "$params" \
    ${env_args[@]+"${env_args[@]}"}

echo "Watch: gcloud dataflow jobs list --project $PROJECT --region $REGION --filter=name:$job_name"

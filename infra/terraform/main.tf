# silake on Dataflow: the GCP side of a scheduled `silake ingest`.
#
#   Cloud Scheduler --(OAuth as scheduler SA)--> flexTemplates:launch --> launcher VM (worker SA)
#     --> Dataflow job (worker SA, template image) --> gs://<lake bucket>/<lake prefix>
#   the lake's DuckLake catalog (catalog_enabled): Cloud SQL for PostgreSQL on a private IP in var.network,
#     its user's password in Secret Manager, readable by the worker SA only (catalog.tf)
#
# No service account key is created: both accounts are used through impersonation only. The one secret is
# the catalog user's password: generated here, so it is in Terraform state (see versions.tf, infra/README.md).

locals {
  temp_bucket_name = coalesce(var.temp_bucket_name, "${var.project_id}-silake-dataflow")
  lake_root        = "gs://${google_storage_bucket.lake.name}/${var.lake_prefix}"
  temp_location    = "gs://${google_storage_bucket.temp.name}/tmp"
  staging_location = "gs://${google_storage_bucket.temp.name}/staging"
  templates_prefix = "gs://${google_storage_bucket.temp.name}/templates"
  image_repository = "${var.region}-docker.pkg.dev/${var.project_id}/${google_artifact_registry_repository.images.repository_id}"

  services = toset(concat(
    [
      "artifactregistry.googleapis.com",
      "cloudbuild.googleapis.com", # build.sh builds the image with Cloud Build
      "cloudscheduler.googleapis.com",
      "compute.googleapis.com", # Dataflow workers are Compute Engine VMs
      "dataflow.googleapis.com",
      "iam.googleapis.com",
      "logging.googleapis.com",
      "storage.googleapis.com",
    ],
    # The catalog (catalog.tf): the Cloud SQL instance, its private services access peering, the password.
    var.catalog_enabled ? [
      "sqladmin.googleapis.com",
      "servicenetworking.googleapis.com",
      "secretmanager.googleapis.com",
    ] : [],
  ))
}

resource "google_project_service" "enabled" {
  for_each = local.services

  service = each.value
  # Other workloads in the project may use these APIs too: never switch them off on destroy.
  disable_on_destroy = false
}

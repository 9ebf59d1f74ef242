# Two service accounts, each with only what its side needs. Bucket, repository and secret roles are granted
# on the bucket / repository / secret, never project-wide. No keys are created for either account.

# --- Workers (and the Flex Template launcher VM, which runs as the same account) ---------------------

resource "google_service_account" "worker" {
  account_id   = "silake-dataflow-worker"
  display_name = "silake Dataflow workers"
  description  = "Runs the silake ingest launcher VM and Dataflow workers: reads sources, writes the lake."

  depends_on = [google_project_service.enabled]
}

# Project-level roles a Dataflow worker cannot do without: take work items and report progress
# (dataflow.worker) and write its logs (logging.logWriter).
resource "google_project_iam_member" "worker_project" {
  for_each = toset([
    "roles/dataflow.worker",
    "roles/logging.logWriter",
  ])

  project = var.project_id
  role    = each.value
  member  = google_service_account.worker.member
}

# Read and write objects in exactly the two buckets: the lake (Parquet, commit rows, the lease) and the
# temp bucket (Dataflow temp/staging files; the launcher writes the job description there).
resource "google_storage_bucket_iam_member" "worker_objects" {
  for_each = {
    lake = google_storage_bucket.lake.name
    temp = google_storage_bucket.temp.name
  }

  bucket = each.value
  role   = "roles/storage.objectAdmin"
  member = google_service_account.worker.member
}

# storage.objectAdmin has no storage.buckets.get, which Beam uses to inspect the temp/staging bucket
# (its soft-delete check). legacyBucketReader adds just that (plus objects.list) on these two buckets.
resource "google_storage_bucket_iam_member" "worker_bucket_metadata" {
  for_each = {
    lake = google_storage_bucket.lake.name
    temp = google_storage_bucket.temp.name
  }

  bucket = each.value
  role   = "roles/storage.legacyBucketReader"
  member = google_service_account.worker.member
}

# Read-only access to release mirrors in Cloud Storage, if the sources live there.
resource "google_storage_bucket_iam_member" "worker_sources" {
  for_each = toset(var.source_buckets)

  bucket = each.value
  role   = "roles/storage.objectViewer"
  member = google_service_account.worker.member
}

# Pull the template image (launcher VM and every worker), from this repository only.
resource "google_artifact_registry_repository_iam_member" "worker_pull" {
  location   = google_artifact_registry_repository.images.location
  repository = google_artifact_registry_repository.images.name
  role       = "roles/artifactregistry.reader"
  member     = google_service_account.worker.member
}

# Read the catalog user's password (catalog.tf), from that one secret only. The launcher VM opens the
# catalog to plan every run and the job's last step, on a worker, commits to it: both run as this account.
resource "google_secret_manager_secret_iam_member" "worker_catalog_password" {
  count = var.catalog_enabled ? 1 : 0

  project   = google_secret_manager_secret.catalog_password[0].project
  secret_id = google_secret_manager_secret.catalog_password[0].secret_id
  role      = "roles/secretmanager.secretAccessor"
  member    = google_service_account.worker.member
}

# --- Scheduler: launches the template, nothing else -------------------------------------------------

resource "google_service_account" "scheduler" {
  account_id   = "silake-scheduler"
  display_name = "silake ingest scheduler"
  description  = "Identity of the Cloud Scheduler job that launches the silake ingest Flex Template."

  depends_on = [google_project_service.enabled]
}

# Create Dataflow jobs (flexTemplates.launch). dataflow.developer is the narrowest predefined role with
# dataflow.jobs.create; it grants no data access.
resource "google_project_iam_member" "scheduler_dataflow" {
  #checkov:skip=CKV_GCP_49:dataflow.developer manages no service account; actAs is granted on the worker account only.
  project = var.project_id
  role    = "roles/dataflow.developer"
  member  = google_service_account.scheduler.member
}

# A job that runs as the worker account may only be created by a principal allowed to act as it.
resource "google_service_account_iam_member" "scheduler_act_as_worker" {
  service_account_id = google_service_account.worker.name
  role               = "roles/iam.serviceAccountUser"
  member             = google_service_account.scheduler.member
}

# The launch request names the template spec file: read access to templates/ in the temp bucket only.
resource "google_storage_bucket_iam_member" "scheduler_templates" {
  bucket = google_storage_bucket.temp.name
  role   = "roles/storage.objectViewer"
  member = google_service_account.scheduler.member

  condition {
    title       = "template-specs-only"
    description = "Only the Flex Template spec files under templates/."
    expression  = "resource.name.startsWith(\"projects/_/buckets/${google_storage_bucket.temp.name}/objects/templates/\")"
  }
}

# --- Readers of the lake (analysts running `silake query --lake gs://...`) ----------------------------

resource "google_storage_bucket_iam_member" "lake_readers" {
  for_each = toset(var.lake_readers)

  bucket = google_storage_bucket.lake.name
  role   = "roles/storage.objectViewer"
  member = each.value
}

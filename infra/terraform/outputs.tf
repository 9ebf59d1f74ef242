output "lake_root" {
  description = "The lake root: pass it as --lake to silake query / qa / export."
  value       = local.lake_root
}

output "temp_location" {
  description = "Dataflow temp location (run.sh: TEMP_LOCATION)."
  value       = local.temp_location
}

output "staging_location" {
  description = "Dataflow staging location (run.sh: STAGING_LOCATION)."
  value       = local.staging_location
}

output "templates_prefix" {
  description = "Where build.sh writes template specs (build.sh: TEMPLATES_PREFIX)."
  value       = local.templates_prefix
}

output "image_repository" {
  description = "Artifact Registry path for the template image (build.sh: IMAGE_REPOSITORY)."
  value       = local.image_repository
}

output "worker_service_account" {
  description = "Service account of the launcher VM and the workers (run.sh: SERVICE_ACCOUNT)."
  value       = google_service_account.worker.email
}

output "scheduler_service_account" {
  description = "Service account the scheduler job launches the template as."
  value       = google_service_account.scheduler.email
}

output "scheduler_job" {
  description = "The Cloud Scheduler job, or null until template_image and template_spec_gcs_path are set."
  value       = local.schedule_enabled ? google_cloud_scheduler_job.ingest[0].id : null
}

output "run_now" {
  description = "Trigger the scheduled launch once, now."
  value       = local.schedule_enabled ? "gcloud scheduler jobs run ${google_cloud_scheduler_job.ingest[0].name} --location=${var.region} --project=${var.project_id}" : null
}

output "catalog_uri" {
  description = "The lake's catalog: pass it as the template's `catalog` parameter (run.sh --catalog) or as --catalog to silake ingest / query. Holds no password: password_secret names the Secret Manager version to read it from. null without catalog_enabled."
  value       = local.catalog_uri
}

output "catalog_instance_connection_name" {
  description = "Cloud SQL connection name (PROJECT:REGION:INSTANCE) of the catalog, for the Cloud SQL Auth Proxy."
  value       = one(google_sql_database_instance.catalog[*].connection_name)
}

output "catalog_private_ip" {
  description = "The catalog instance's private IP in var.network (it has no public IP)."
  value       = one(google_sql_database_instance.catalog[*].private_ip_address)
}

output "catalog_password_secret" {
  description = "Resource name of the Secret Manager secret holding the catalog user's password (gcloud secrets versions access latest --secret=...)."
  value       = one(google_secret_manager_secret.catalog_password[*].name)
}

# Two buckets in the jobs' region: the lake (kept, versioned) and Dataflow's scratch space (expiring).

resource "google_storage_bucket" "lake" {
  #checkov:skip=CKV_GCP_62:Access logs are opt-in; Cloud Audit Logs (data access) are the recommended audit trail.
  name     = var.lake_bucket_name
  location = var.region

  uniform_bucket_level_access = true
  public_access_prevention    = "enforced"
  # The lake is the product: `terraform destroy` must not delete its objects.
  force_destroy = false

  # A run replaces Parquet files in place (deterministic names). Versioning keeps the replaced files for
  # lake_noncurrent_retention_days, so a bad run can be rolled back object by object.
  versioning {
    enabled = true
  }

  lifecycle_rule {
    condition {
      days_since_noncurrent_time = var.lake_noncurrent_retention_days
      with_state                 = "ARCHIVED"
    }
    action {
      type = "Delete"
    }
  }

  depends_on = [google_project_service.enabled]
}

resource "google_storage_bucket" "temp" {
  #checkov:skip=CKV_GCP_62:Scratch space for Dataflow; no access log needed.
  #checkov:skip=CKV_GCP_78:Scratch space: versions of temp files would only cost money.
  name     = local.temp_bucket_name
  location = var.region

  uniform_bucket_level_access = true
  public_access_prevention    = "enforced"
  force_destroy               = true # scratch space and template specs only

  # Beam warns about soft delete on temp/staging buckets: every temp file would be billed for 7 more days.
  soft_delete_policy {
    retention_duration_seconds = 0
  }

  # Temp and staging files of finished jobs; template specs under templates/ are kept.
  lifecycle_rule {
    condition {
      age            = var.temp_retention_days
      matches_prefix = ["tmp/", "staging/"]
    }
    action {
      type = "Delete"
    }
  }

  depends_on = [google_project_service.enabled]
}

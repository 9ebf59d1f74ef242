# Inputs. Only project_id, lake_bucket_name and sources have no default; template_image and
# template_spec_gcs_path come from infra/dataflow/build.sh once the image exists (see infra/README.md).
# The catalog's inputs (Cloud SQL, catalog.tf) are at the end.

variable "project_id" {
  description = "GCP project that runs the ingest."
  type        = string

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{4,28}[a-z0-9]$", var.project_id))
    error_message = "project_id must be a GCP project ID (6-30 lowercase letters, digits, hyphens)."
  }
}

variable "region" {
  description = "Region of the Dataflow jobs, the buckets, the Artifact Registry repository and the scheduler job. Keep them together: no cross-region traffic."
  type        = string
  default     = "us-central1"
}

variable "schedule" {
  description = "Cron schedule of the incremental runs (Cloud Scheduler unix-cron format). Leave more time between runs than a run takes: an overlapping run is refused by the lake's lease."
  type        = string
  default     = "0 3 * * *"

  validation {
    condition     = length(split(" ", trimspace(var.schedule))) == 5
    error_message = "schedule must be a five-field cron expression, e.g. \"0 3 * * *\"."
  }
}

variable "time_zone" {
  description = "Time zone the schedule is read in (tz database name)."
  type        = string
  default     = "Etc/UTC"
}

variable "lake_bucket_name" {
  description = "Name of the bucket that holds the lake (globally unique). Created here."
  type        = string

  validation {
    condition     = can(regex("^[a-z0-9][a-z0-9_.-]{1,61}[a-z0-9]$", var.lake_bucket_name))
    error_message = "lake_bucket_name must be a valid Cloud Storage bucket name."
  }
}

variable "lake_prefix" {
  description = "Folder of the lake inside the lake bucket: the lake root is gs://<lake_bucket_name>/<lake_prefix>."
  type        = string
  default     = "lake"

  validation {
    condition     = can(regex("^[A-Za-z0-9_.-]+(/[A-Za-z0-9_.-]+)*$", var.lake_prefix))
    error_message = "lake_prefix must be a relative path without leading or trailing slashes."
  }
}

variable "temp_bucket_name" {
  description = "Bucket for Dataflow temp and staging files and the template specs. Default: <project_id>-silake-dataflow."
  type        = string
  default     = null
}

variable "temp_retention_days" {
  description = "Objects under tmp/ and staging/ in the temp bucket are deleted after this many days."
  type        = number
  default     = 7
}

variable "lake_noncurrent_retention_days" {
  description = "The lake bucket keeps object versions; a replaced or deleted version is kept this many days (recovery from a bad run), then deleted."
  type        = number
  default     = 14
}

variable "sources" {
  description = "What every scheduled run ingests: release roots, globs or shard URLs (the SOURCE... of silake ingest)."
  type        = list(string)

  validation {
    condition     = length(var.sources) > 0 && alltrue([for s in var.sources : length(regexall("[\\s,]", s)) == 0 && s != ""])
    error_message = "sources must be a non-empty list of URLs without commas or whitespace (the template joins them with commas)."
  }
}

variable "metadata" {
  description = "Where the metadata CSVs are (--metadata). null: the release root of the sources."
  type        = string
  default     = null
}

variable "source_buckets" {
  description = "Cloud Storage buckets the sources live in, if any (a gs:// mirror of the release). The worker service account gets read access to exactly these."
  type        = list(string)
  default     = []
}

variable "lake_readers" {
  description = "IAM members allowed to read the lake (silake query --lake gs://...), e.g. [\"group:ml-research@example.com\"]."
  type        = list(string)
  default     = []
}

variable "artifact_repository_id" {
  description = "Artifact Registry repository (Docker) holding the template image."
  type        = string
  default     = "silake"
}

variable "template_image" {
  description = "Full URI of the template image as pushed by build.sh (immutable tag or @sha256 digest). Workers use it too (sdkContainerImage). null until the first build: then the scheduler job is not created."
  type        = string
  default     = null
}

variable "template_spec_gcs_path" {
  description = "gs:// path of the Flex Template spec written by build.sh (gcloud dataflow flex-template build). null until the first build."
  type        = string
  default     = null

  validation {
    condition     = var.template_spec_gcs_path == null || can(regex("^gs://.+\\.json$", var.template_spec_gcs_path))
    error_message = "template_spec_gcs_path must be a gs://.../*.json path."
  }
}

variable "job_name" {
  description = "Name of the scheduled Dataflow jobs. A fixed name also means Dataflow refuses a second active job of the same name."
  type        = string
  default     = "silake-ingest"

  validation {
    condition     = can(regex("^[a-z]([-a-z0-9]{0,62}[a-z0-9])?$", var.job_name))
    error_message = "job_name must start with a letter and hold only lowercase letters, digits and hyphens."
  }
}

variable "max_workers" {
  description = "Autoscaling upper bound of a run (Dataflow maxWorkers). Bounds the cost of a run."
  type        = number
  default     = 20
}

variable "machine_type" {
  description = "Worker machine type."
  type        = string
  default     = "n2-standard-4"
}

variable "disk_size_gb" {
  description = "Boot disk per worker. The ingest reads shards with range requests and keeps only Parquet being written on disk."
  type        = number
  default     = 30
}

variable "launcher_machine_type" {
  description = "Machine of the Flex Template launcher VM, which lists the shards and loads the metadata CSVs. null: Dataflow's default."
  type        = string
  default     = null
}

variable "flexrs_goal" {
  description = "null, FLEXRS_COST_OPTIMIZED or FLEXRS_SPEED_OPTIMIZED. Cost-optimized FlexRS runs batch jobs on discounted, preemptible capacity and may delay the start by up to 6 hours."
  type        = string
  default     = null

  validation {
    condition     = var.flexrs_goal == null || contains(["FLEXRS_COST_OPTIMIZED", "FLEXRS_SPEED_OPTIMIZED"], coalesce(var.flexrs_goal, "x"))
    error_message = "flexrs_goal must be null, FLEXRS_COST_OPTIMIZED or FLEXRS_SPEED_OPTIMIZED."
  }
}

variable "subnetwork" {
  description = "Worker subnetwork (regions/REGION/subnetworks/NAME or a full URL). null: the network named by `network` (auto-mode subnet of the region). With catalog_enabled it must be a subnetwork of `network`, or the workers cannot reach the catalog."
  type        = string
  default     = null
}

variable "use_public_ips" {
  description = "Give workers public IPs. Without them the subnetwork needs Private Google Access and Cloud NAT, because workers read shards from the internet (Hugging Face)."
  type        = bool
  default     = true
}

variable "labels" {
  description = "Labels on every resource created here and on the Dataflow jobs."
  type        = map(string)
  default = {
    app = "silake"
  }
}

# --- The catalog (catalog.tf) --------------------------------------------------------------------------

variable "catalog_enabled" {
  description = "Keep the lake's DuckLake catalog in a Cloud SQL for PostgreSQL instance (private IP, password in Secret Manager), passed to every scheduled run as the template's catalog parameter. false: the default SQLite catalog inside the lake root, and no Cloud SQL, peering or secret is created."
  type        = bool
  default     = true
}

variable "network" {
  description = "Name of the VPC network (in project_id) the catalog's private IP lives in. The Dataflow launcher and workers must run in it (subnetwork, when set, must be one of its subnetworks): only this network reaches the catalog."
  type        = string
  default     = "default"

  validation {
    condition     = can(regex("^[a-z]([-a-z0-9]{0,61}[a-z0-9])?$", var.network))
    error_message = "network must be a VPC network name (not a URL): lowercase letters, digits, hyphens."
  }
}

variable "private_services_connection_exists" {
  description = "true when `network` already has its private services access connection (servicenetworking.googleapis.com, e.g. made for other Cloud SQL instances): it is reused, and no range or connection is created here. A network holds one such connection; redefining it would drop the other services' ranges."
  type        = bool
  default     = false
}

variable "private_services_prefix_length" {
  description = "Size of the private services access range allocated in `network` for Google-managed services (Cloud SQL): a /N range that must not overlap the network's subnetworks. Unused when private_services_connection_exists."
  type        = number
  default     = 20

  validation {
    condition     = var.private_services_prefix_length >= 8 && var.private_services_prefix_length <= 24
    error_message = "private_services_prefix_length must be between 8 and 24 (Cloud SQL needs at least a /24)."
  }
}

variable "catalog_instance_name" {
  description = "Name of the Cloud SQL instance. A deleted instance's name cannot be reused for about a week."
  type        = string
  default     = "silake-catalog"

  validation {
    condition     = can(regex("^[a-z]([-a-z0-9]{0,61}[a-z0-9])?$", var.catalog_instance_name))
    error_message = "catalog_instance_name must start with a letter and hold only lowercase letters, digits and hyphens."
  }
}

variable "catalog_tier" {
  description = "Machine tier of the Cloud SQL instance. db-f1-micro (shared core, the smallest and cheapest) holds a catalog written by one run at a time; db-g1-small or db-custom-1-3840 if many readers query it at once."
  type        = string
  default     = "db-f1-micro"

  validation {
    condition     = can(regex("^db-[a-z0-9-]+$", var.catalog_tier))
    error_message = "catalog_tier must be a Cloud SQL tier such as db-f1-micro or db-custom-1-3840."
  }
}

variable "catalog_database" {
  description = "PostgreSQL database holding the catalog's tables."
  type        = string
  default     = "silake"

  validation {
    condition     = can(regex("^[a-z_][a-z0-9_]{0,62}$", var.catalog_database))
    error_message = "catalog_database must be a plain PostgreSQL identifier (lowercase letters, digits, underscores)."
  }
}

variable "catalog_user" {
  description = "PostgreSQL login the launcher and the workers use for the catalog (its password is generated and kept in Secret Manager)."
  type        = string
  default     = "silake"

  validation {
    condition     = can(regex("^[a-z_][a-z0-9_]{0,62}$", var.catalog_user)) && var.catalog_user != "postgres"
    error_message = "catalog_user must be a plain PostgreSQL identifier other than postgres."
  }
}

variable "catalog_secret_id" {
  description = "Secret Manager secret holding the catalog user's password. Only the worker service account (launcher VM and workers) may read it."
  type        = string
  default     = "silake-catalog-password"

  validation {
    condition     = can(regex("^[A-Za-z0-9_-]{1,255}$", var.catalog_secret_id))
    error_message = "catalog_secret_id must hold only letters, digits, hyphens and underscores."
  }
}

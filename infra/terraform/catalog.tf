# Where the lake's DuckLake catalog lives: Cloud SQL for PostgreSQL, on a private IP only.
#
# The catalog is the lake's table format (which Parquet files make up which table at which snapshot). The
# launcher opens it to plan every run (and commits when it waits); a Flex Template run does not wait for
# its job, so the job's last step, on a Dataflow worker, commits. Both run as the worker service account,
# which therefore needs (1) network reach to the instance's private IP: the launcher VM and the workers
# run in var.network (var.subnetwork, when set, must be one of its subnetworks), and (2) read access to the
# password's secret (iam.tf). `silake ingest --catalog postgresql://...?password_secret=<version>` reads
# the password from Secret Manager itself when PGPASSWORD is not set.
#
# catalog_enabled = false keeps the default catalog (a SQLite file inside the lake root) and creates none
# of this. See infra/README.md, "The catalog".

locals {
  # The VPC network the instance gets its private IP in (the Dataflow jobs' network).
  network_id = "projects/${var.project_id}/global/networks/${var.network}"

  # Cloud SQL's private IP needs private services access in the network: an allocated range peered with
  # Google's service producer network. A network holds one such connection, shared by every service that
  # uses it (other Cloud SQL instances, Memorystore, ...): when it exists already, it is reused, not
  # redefined (redefining it would drop the other services' ranges).
  create_private_services = var.catalog_enabled && !var.private_services_connection_exists

  # The template's `catalog` parameter (infra/dataflow/metadata.json) and the CLI's --catalog: the user and
  # host, no password; the password's Secret Manager version rides along as password_secret.
  catalog_uri = var.catalog_enabled ? "postgresql://${google_sql_user.catalog[0].name}@${google_sql_database_instance.catalog[0].private_ip_address}:5432/${google_sql_database.catalog[0].name}?password_secret=${google_secret_manager_secret_version.catalog_password[0].name}" : null
}

# --- Private services access: the peering that gives Cloud SQL an address in var.network ---------------

resource "google_compute_global_address" "private_services" {
  count = local.create_private_services ? 1 : 0

  name          = "silake-private-services"
  description   = "Private services access range of ${var.network} (Cloud SQL private IP of the silake catalog)."
  purpose       = "VPC_PEERING"
  address_type  = "INTERNAL"
  prefix_length = var.private_services_prefix_length
  network       = local.network_id

  depends_on = [google_project_service.enabled]
}

resource "google_service_networking_connection" "private_services" {
  count = local.create_private_services ? 1 : 0

  network                 = local.network_id
  service                 = "servicenetworking.googleapis.com"
  reserved_peering_ranges = [google_compute_global_address.private_services[0].name]

  # Removing the peering fails while a producer (the instance) still uses it, and would cut every other
  # private service of the network off: `terraform destroy` leaves it in place.
  deletion_policy = "ABANDON"

  depends_on = [google_project_service.enabled]
}

# --- The instance ----------------------------------------------------------------------------------------

resource "google_sql_database_instance" "catalog" {
  #checkov:skip=CKV_GCP_79:PostgreSQL 15 on purpose: the catalog user's one-time hardening (infra/README.md) uses its CREATEROLE rules.
  #checkov:skip=CKV_GCP_6:TLS is enforced (ssl_mode ENCRYPTED_ONLY); client certificates would be one more secret to hand out.
  #checkov:skip=CKV_GCP_110:No pgAudit: only the worker account holds the password, and connections are logged.
  #checkov:skip=CKV_GCP_108:No log_hostname: a reverse DNS lookup per connection, and only the VPC reaches the instance.
  #checkov:skip=CKV2_GCP_13:No log_duration: every DuckLake statement would be logged; DDL and slow lock waits are.
  count = var.catalog_enabled ? 1 : 0

  name             = var.catalog_instance_name
  database_version = "POSTGRES_15"
  region           = var.region

  # Terraform refuses to destroy or replace the instance while this is true: to delete the lake's catalog,
  # set both protections to false and apply first, deliberately.
  deletion_protection = true

  settings {
    # Shared-core tiers (db-f1-micro, db-g1-small) exist in the Enterprise edition only. The catalog is
    # small (rows per file and snapshot, no data) and sees one writer at a time.
    edition           = "ENTERPRISE"
    tier              = var.catalog_tier
    availability_type = "ZONAL"
    disk_type         = "PD_SSD"
    # disk_size stays unset: the disk starts at the API's default (10 GB, the minimum) and grows on demand; a
    # disk_size here would make every plan try to undo the growth.
    disk_autoresize = true

    # The Cloud SQL API refuses to delete the instance (console, gcloud) while this is true, and an
    # instance deleted all the same keeps its backups.
    deletion_protection_enabled = true
    retain_backups_on_delete    = true

    user_labels = var.labels

    ip_configuration {
      ipv4_enabled       = false # no public IP: reachable from var.network only
      private_network    = local.network_id
      allocated_ip_range = local.create_private_services ? google_compute_global_address.private_services[0].name : null
      ssl_mode           = "ENCRYPTED_ONLY" # libpq (DuckDB's postgres extension) tries TLS first by default
    }

    backup_configuration {
      enabled                        = true
      point_in_time_recovery_enabled = true
      transaction_log_retention_days = 7

      backup_retention_settings {
        retained_backups = 7
        retention_unit   = "COUNT"
      }
    }

    database_flags {
      name  = "log_connections"
      value = "on"
    }
    database_flags {
      name  = "log_disconnections"
      value = "on"
    }
    database_flags {
      name  = "log_checkpoints"
      value = "on"
    }
    database_flags {
      name  = "log_lock_waits"
      value = "on"
    }
    database_flags {
      name  = "log_temp_files"
      value = "0"
    }
    database_flags {
      name  = "log_min_error_statement"
      value = "error"
    }
    database_flags {
      name  = "log_statement"
      value = "ddl" # schema changes (DuckLake creating or evolving its tables), not every commit
    }
  }

  depends_on = [
    google_project_service.enabled,
    google_service_networking_connection.private_services,
  ]
}

# The database DuckLake keeps its tables in. `terraform destroy` leaves it (and the user) in place: the
# catalog is the lake's table format, like the lake bucket it must outlive a destroy.
resource "google_sql_database" "catalog" {
  count = var.catalog_enabled ? 1 : 0

  name            = var.catalog_database
  instance        = google_sql_database_instance.catalog[0].name
  deletion_policy = "ABANDON"
}

# --- The catalog user and its password --------------------------------------------------------------------

# Letters and digits only: safe in a libpq URI, a .pgpass line or a shell, and still ~238 bits.
resource "random_password" "catalog" {
  count = var.catalog_enabled ? 1 : 0

  length  = 40
  special = false
}

# A dedicated login for the catalog, used by the launcher and the workers only (the `postgres` user gets no
# password here, so nobody can log in as it). Cloud SQL makes every user it creates a member of
# cloudsqlsuperuser; infra/README.md ("The catalog", step 2) drops that membership once, with SQL, which
# the google provider cannot run.
resource "google_sql_user" "catalog" {
  count = var.catalog_enabled ? 1 : 0

  name            = var.catalog_user
  instance        = google_sql_database_instance.catalog[0].name
  type            = "BUILT_IN"
  password        = random_password.catalog[0].result
  deletion_policy = "ABANDON"
}

# The password, for the launcher and the workers (--catalog ...?password_secret=<this version>). Read
# access is granted in iam.tf, on this secret only.
resource "google_secret_manager_secret" "catalog_password" {
  count = var.catalog_enabled ? 1 : 0

  secret_id = var.catalog_secret_id

  replication {
    user_managed {
      replicas {
        location = var.region
      }
    }
  }

  depends_on = [google_project_service.enabled]
}

resource "google_secret_manager_secret_version" "catalog_password" {
  count = var.catalog_enabled ? 1 : 0

  secret      = google_secret_manager_secret.catalog_password[0].id
  secret_data = random_password.catalog[0].result
}

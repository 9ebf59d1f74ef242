# The schedule: a Cloud Scheduler job that POSTs a Flex Template launch request to the Dataflow API as
# the scheduler service account. Scheduled runs are incremental (full_refresh = "false"): each one
# ingests only new, changed or previously failed shards.
#
# The job exists only once build.sh has produced an image and a template spec (template_image and
# template_spec_gcs_path set): see infra/README.md, "Deploy". With catalog_enabled, every launch passes the
# Cloud SQL catalog (catalog.tf) as the template's `catalog` parameter, and the job runs in its network.

locals {
  schedule_enabled = var.template_image != null && var.template_spec_gcs_path != null

  # Template parameters, named as in infra/dataflow/metadata.json (tests/test_infra_terraform.py checks
  # the names). Values are strings, as the API requires.
  launch_parameters = merge(
    {
      sources      = join(",", var.sources)
      lake         = local.lake_root
      full_refresh = "false"
    },
    var.metadata == null ? {} : { metadata = var.metadata },
    # postgresql://USER@PRIVATE_IP:5432/DB?password_secret=<secret version>: no password in the request.
    var.catalog_enabled ? { catalog = local.catalog_uri } : {},
  )

  # Dataflow's runtime environment of the job (FlexTemplateRuntimeEnvironment). Worker sizing is set
  # here, not through the template's worker parameters: one place per setting.
  launch_environment = merge(
    {
      serviceAccountEmail  = google_service_account.worker.email
      tempLocation         = local.temp_location
      stagingLocation      = local.staging_location
      sdkContainerImage    = var.template_image
      maxWorkers           = var.max_workers
      machineType          = var.machine_type
      diskSizeGb           = var.disk_size_gb
      ipConfiguration      = var.use_public_ips ? "WORKER_IP_PUBLIC" : "WORKER_IP_PRIVATE"
      additionalUserLabels = var.labels
    },
    var.subnetwork == null ? {} : { subnetwork = var.subnetwork },
    # The catalog's private IP is reachable from var.network only: without a subnetwork, name the network
    # (a subnetwork, when set, decides the network itself and must belong to var.network).
    var.catalog_enabled && var.subnetwork == null ? { network = var.network } : {},
    var.launcher_machine_type == null ? {} : { launcherMachineType = var.launcher_machine_type },
    var.flexrs_goal == null ? {} : { flexrsGoal = var.flexrs_goal },
  )

  launch_request = {
    launchParameter = {
      jobName              = var.job_name
      containerSpecGcsPath = var.template_spec_gcs_path
      parameters           = local.launch_parameters
      environment          = local.launch_environment
    }
  }
}

resource "google_cloud_scheduler_job" "ingest" {
  count = local.schedule_enabled ? 1 : 0

  name        = "silake-ingest"
  description = "Incremental silake ingest of ${join(", ", var.sources)} into ${local.lake_root}"
  region      = var.region
  schedule    = var.schedule
  time_zone   = var.time_zone

  # The launch call returns once the launch is accepted; it does not wait for the job.
  attempt_deadline = "180s"

  # Retry transient API errors (429/5xx) a couple of times. A refused duplicate (an active job with the
  # same name) is retried too, harmlessly: it fails the same way.
  retry_config {
    retry_count          = 2
    min_backoff_duration = "60s"
    max_backoff_duration = "300s"
  }

  http_target {
    http_method = "POST"
    uri         = "https://dataflow.googleapis.com/v1b3/projects/${var.project_id}/locations/${var.region}/flexTemplates:launch"
    headers = {
      "Content-Type" = "application/json"
    }
    body = base64encode(jsonencode(local.launch_request))

    # A Google API target takes an OAuth access token (an OIDC token is for Cloud Run / functions).
    oauth_token {
      service_account_email = google_service_account.scheduler.email
      scope                 = "https://www.googleapis.com/auth/cloud-platform"
    }
  }

  depends_on = [
    google_project_service.enabled,
    google_project_iam_member.scheduler_dataflow,
    google_service_account_iam_member.scheduler_act_as_worker,
    google_storage_bucket_iam_member.scheduler_templates,
    google_secret_manager_secret_iam_member.worker_catalog_password,
  ]
}

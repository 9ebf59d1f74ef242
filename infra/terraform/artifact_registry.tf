# The Docker repository for the template image (launcher and workers run the same image).

resource "google_artifact_registry_repository" "images" {
  #checkov:skip=CKV_GCP_84:Google-managed encryption; the image holds open-source code only (no CMEK needed).
  repository_id = var.artifact_repository_id
  location      = var.region
  format        = "DOCKER"
  description   = "silake Dataflow Flex Template / SDK container images"

  # build.sh tags every image <version>-<git sha>: a tag always names the same bytes, so the scheduled
  # job's template_image cannot change under it.
  docker_config {
    immutable_tags = true
  }

  # Tagged images are kept (the scheduler may point at any of them); untagged layers left behind by
  # re-pushes are deleted after two weeks.
  cleanup_policy_dry_run = false
  cleanup_policies {
    id     = "delete-untagged"
    action = "DELETE"
    condition {
      tag_state  = "UNTAGGED"
      older_than = "1209600s"
    }
  }

  depends_on = [google_project_service.enabled]
}

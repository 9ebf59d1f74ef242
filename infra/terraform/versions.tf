terraform {
  required_version = ">= 1.5.0, < 2.0.0"

  required_providers {
    google = {
      source = "hashicorp/google"
      # Written against the 6.x schema (checked offline against 6.50.0's resource definitions). Commit the
      # .terraform.lock.hcl that `terraform init` writes so every apply uses the same provider build.
      version = "~> 6.14"
    }
  }

  # State holds no secrets here (no keys are created), but keep it in a versioned bucket for teams:
  #   terraform init -backend-config="bucket=<state-bucket>" -backend-config="prefix=silake"
  # after uncommenting:
  # backend "gcs" {}
}

provider "google" {
  project = var.project_id
  region  = var.region

  # Every resource this configuration creates carries these labels (buckets, repository, ...).
  default_labels = var.labels
}

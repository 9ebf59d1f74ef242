terraform {
  required_version = ">= 1.5.0, < 2.0.0"

  required_providers {
    google = {
      source = "hashicorp/google"
      # Written against the 6.x schema (checked offline against 6.50.0's resource definitions). Commit the
      # .terraform.lock.hcl that `terraform init` writes so every apply uses the same provider build.
      version = "~> 6.14"
    }
    random = {
      source = "hashicorp/random"
      # random_password: the catalog user's password (catalog.tf).
      version = "~> 3.6"
    }
  }

  # State holds a secret: the catalog user's password (random_password, google_sql_user and the Secret
  # Manager version all keep it in state, in clear). Keep state in a protected bucket, not on a laptop: a
  # dedicated, versioned bucket with uniform access and public access prevention, readable only by those
  # who run Terraform. After uncommenting:
  #   terraform init -backend-config="bucket=<state-bucket>" -backend-config="prefix=silake"
  # backend "gcs" {}
}

provider "google" {
  project = var.project_id
  region  = var.region

  # Every resource this configuration creates carries these labels (buckets, repository, ...).
  default_labels = var.labels
}

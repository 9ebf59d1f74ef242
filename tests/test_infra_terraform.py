"""Static checks of infra/terraform: least privilege, no secrets, variables, and the scheduler's request.

`terraform validate` needs the google provider, which cannot be downloaded here (no registry access), so
these tests read the HCL themselves: a small scanner splits it into blocks while skipping strings and
comments. `terraform fmt -check` runs when terraform is installed.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
TF = ROOT / "infra" / "terraform"
METADATA = ROOT / "infra" / "dataflow" / "metadata.json"


# --- a minimal HCL block scanner ----------------------------------------------------------------------

OPEN, CLOSE = "{[(", "}])"


def _code_mask(text: str, keep_strings: bool = False) -> str:
    """`text` with comments blanked and string contents replaced by spaces (quotes and layout kept), so
    brackets can be matched and attributes found by position. Interpolations `${...}` count as string.
    With keep_strings, only the comments are blanked."""
    out = list(text)
    i, n = 0, len(text)
    while i < n:
        c = text[i]
        if c == "#" or text.startswith("//", i):
            j = text.find("\n", i)
            j = n if j < 0 else j
            out[i:j] = " " * (j - i)
            i = j
        elif text.startswith("/*", i):
            j = text.index("*/", i) + 2
            out[i:j] = [ch if ch == "\n" else " " for ch in text[i:j]]
            i = j
        elif c == '"':
            j = _string_end(text, i)
            if not keep_strings:
                out[i + 1:j - 1] = " " * (j - i - 2)
            i = j
        else:
            i += 1
    return "".join(out)


def _string_end(text: str, start: int) -> int:
    """Index after the string literal opening at `start` (handles escapes and nested ${...} with strings)."""
    i, depth = start + 1, 0
    while True:
        c = text[i]
        if c == "\\":
            i += 2
            continue
        if depth == 0 and text.startswith("${", i):
            depth, i = 1, i + 2
            continue
        if depth:
            if c == '"':
                i = _string_end(text, i)
                continue
            depth += {"{": 1, "}": -1}.get(c, 0)
        elif c == '"':
            return i + 1
        i += 1


def _match(mask: str, open_at: int) -> int:
    """Index of the bracket closing the one at `open_at` (in the masked text)."""
    depth = 0
    for i in range(open_at, len(mask)):
        if mask[i] in OPEN:
            depth += 1
        elif mask[i] in CLOSE:
            depth -= 1
            if depth == 0:
                return i
    raise ValueError("unbalanced brackets")


@dataclass(frozen=True)
class Block:
    kind: str
    labels: tuple[str, ...]
    body: str  # original text between the braces

    def blocks(self, kind: str | None = None) -> list[Block]:
        return [b for b in blocks(self.body) if kind is None or b.kind == kind]

    def attr(self, name: str) -> str | None:
        """The raw expression of a top-level attribute `name = ...` of this block."""
        mask = _code_mask(self.body)
        for m in re.finditer(rf"(?m)^\s*{re.escape(name)}\s*=\s*", mask):
            if _depth(mask, m.start()) != 0:
                continue
            start, end = m.end(), m.end()
            while end < len(mask) and mask[end] != "\n":
                if mask[end] in OPEN:
                    end = _match(mask, end)
                end += 1
            code_end = start + len(mask[start:end].rstrip())  # drops a trailing comment
            return self.body[start:code_end].strip()
        return None


def _depth(mask: str, pos: int) -> int:
    depth = 0
    for ch in mask[:pos]:
        depth += 1 if ch in OPEN else -1 if ch in CLOSE else 0
    return depth


def blocks(text: str) -> list[Block]:
    """The top-level blocks `kind "label"... { body }` of `text`."""
    mask = _code_mask(text)
    out, i = [], 0
    header = re.compile(r'(?m)^\s*([A-Za-z_][\w-]*)((?:\s+"[^"\n]*")*)\s*\{')
    while True:
        m = header.search(mask, i)
        if m is None:
            return out
        if _depth(mask, m.start()) != 0:
            i = m.end()
            continue
        open_at = m.end() - 1
        close_at = _match(mask, open_at)
        labels = tuple(re.findall(r'"([^"]*)"', text[m.start(2):m.end(2)]))
        out.append(Block(m.group(1), labels, text[open_at + 1:close_at]))
        i = close_at + 1


@cache
def all_blocks() -> tuple[Block, ...]:
    return tuple(b for path in sorted(TF.glob("*.tf")) for b in blocks(path.read_text()))


def resources(kind: str) -> dict[str, Block]:
    return {b.labels[1]: b for b in all_blocks() if b.kind == "resource" and b.labels[0] == kind}


def local_expr(name: str) -> str:
    for b in all_blocks():
        if b.kind == "locals" and (expr := b.attr(name)) is not None:
            return expr
    raise KeyError(name)


def object_keys(expr: str) -> set[str]:
    """Keys of every object literal, at any depth, in e.g. merge({a = 1}, x ? {} : {b = 2})."""
    mask = _code_mask(expr)
    keys = set()
    for m in re.finditer(r"\{", mask):
        body = expr[m.start() + 1:_match(mask, m.start())]
        inner = _code_mask(body)
        keys |= {k.group(1) for k in re.finditer(r"(?m)(?:^|[{,])\s*(\w+)\s*=(?!=)", inner)
                 if _depth(inner, k.start(1)) == 0}
    return keys


def test_scanner_handles_strings_comments_and_interpolation():
    text = '''
    # a comment with a { brace
    resource "a" "b" {
      x = "${join(", ", var.y)} }"   // trailing } comment
      nested {
        y = {k = "v"}
      }
      /* block { comment */
    }
    variable "v" { default = "}" }
    '''
    found = blocks(text)
    assert [(b.kind, b.labels) for b in found] == [("resource", ("a", "b")), ("variable", ("v",))]
    assert found[0].attr("x") == '"${join(", ", var.y)} }"'
    assert [b.kind for b in found[0].blocks()] == ["nested"]
    assert found[0].blocks("nested")[0].attr("y") == '{k = "v"}'
    assert object_keys('merge({a = 1, b = "x"}, c ? {} : { d = {e = 2} })') == {"a", "b", "d", "e"}


# --- terraform's own formatter --------------------------------------------------------------------------


@pytest.mark.skipif(shutil.which("terraform") is None, reason="terraform is not installed")
def test_terraform_fmt():
    proc = subprocess.run(["terraform", "fmt", "-check", "-diff", "-recursive", str(TF)],
                          capture_output=True, text=True, check=False)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    example = TF / "terraform.tfvars.example"
    proc = subprocess.run(["terraform", "fmt", "-"], input=example.read_text(), capture_output=True,
                          text=True, check=False)
    assert proc.returncode == 0 and proc.stdout == example.read_text(), proc.stderr


# --- least privilege --------------------------------------------------------------------------------------

IAM_KINDS = ("google_project_iam_member", "google_storage_bucket_iam_member",
             "google_artifact_registry_repository_iam_member", "google_service_account_iam_member",
             "google_secret_manager_secret_iam_member")


def grants() -> set[tuple[str, str, str, str]]:
    """(member, resource kind, scope, role) for every IAM grant in the configuration."""
    out = set()
    for kind in IAM_KINDS:
        for name, block in resources(kind).items():
            member = block.attr("member") or ""
            m = re.fullmatch(r"google_service_account\.(\w+)\.member", member)
            who = m.group(1) if m else member
            roles = set(re.findall(r'"(roles/[\w.]+)"', block.body))
            scope = (block.attr("bucket") or block.attr("repository") or block.attr("service_account_id")
                     or block.attr("secret_id") or block.attr("project") or "")
            if block.blocks("condition"):
                scope += " [condition]"
            for role in roles:
                out.add((who, kind.removeprefix("google_").removesuffix("_iam_member"), scope, role))
            assert roles, f"{kind}.{name} grants no literal role"
    return out


def test_grants_are_exactly_the_least_privilege_set():
    lake, temp = "google_storage_bucket.lake.name", "google_storage_bucket.temp.name"
    assert grants() == {
        # workers (and the launcher VM)
        ("worker", "project", "var.project_id", "roles/dataflow.worker"),
        ("worker", "project", "var.project_id", "roles/logging.logWriter"),
        ("worker", "storage_bucket", "each.value", "roles/storage.objectAdmin"),  # lake + temp, below
        ("worker", "storage_bucket", "each.value", "roles/storage.legacyBucketReader"),
        ("worker", "storage_bucket", "each.value", "roles/storage.objectViewer"),  # var.source_buckets
        ("worker", "artifact_registry_repository", "google_artifact_registry_repository.images.name",
         "roles/artifactregistry.reader"),
        # the catalog's password: the worker account (launcher VM and workers) on that one secret
        ("worker", "secret_manager_secret", "google_secret_manager_secret.catalog_password[0].secret_id",
         "roles/secretmanager.secretAccessor"),
        # scheduler
        ("scheduler", "project", "var.project_id", "roles/dataflow.developer"),
        ("scheduler", "service_account", "google_service_account.worker.name",
         "roles/iam.serviceAccountUser"),
        ("scheduler", "storage_bucket", f"{temp} [condition]", "roles/storage.objectViewer"),
        # analysts
        ("each.value", "storage_bucket", lake, "roles/storage.objectViewer"),
    }
    # The worker's bucket-wide roles cover exactly the lake and the temp bucket.
    for name in ("worker_objects", "worker_bucket_metadata"):
        for_each = resources("google_storage_bucket_iam_member")[name].attr("for_each")
        assert sorted(re.findall(r"google_storage_bucket\.(\w+)\.name", for_each)) == ["lake", "temp"]
    sources = resources("google_storage_bucket_iam_member")["worker_sources"].attr("for_each")
    assert sources == "toset(var.source_buckets)"


def test_scheduler_reads_only_template_specs():
    block = resources("google_storage_bucket_iam_member")["scheduler_templates"]
    expression = block.blocks("condition")[0].attr("expression")
    assert "resource.name.startsWith" in expression and "/objects/templates/" in expression


def test_no_broad_or_authoritative_iam_and_no_keys():
    text = "\n".join(p.read_text() for p in TF.glob("*.tf"))
    for role in ("roles/owner", "roles/editor", "roles/viewer", "roles/storage.admin",
                 "roles/iam.serviceAccountTokenCreator", "roles/iam.serviceAccountKeyAdmin",
                 "roles/secretmanager.admin", "roles/cloudsql.admin", "roles/cloudsql.client"):
        assert f'"{role}"' not in text
    kinds = {b.labels[0] for b in all_blocks() if b.kind == "resource"}
    assert not {k for k in kinds if k.endswith(("_iam_binding", "_iam_policy"))}  # additive grants only
    assert "google_service_account_key" not in kinds
    # Storage and secret roles never at project level.
    for block in resources("google_project_iam_member").values():
        assert "roles/storage." not in block.body and "roles/secretmanager." not in block.body


def test_no_secrets_in_infra():
    patterns = [r"-----BEGIN [A-Z ]*PRIVATE KEY-----", r"\"private_key\"", r"AKIA[0-9A-Z]{16}",
                r"\bcredentials\s*=", r"client_secret", r"hf_[A-Za-z0-9]{30,}"]
    for path in (ROOT / "infra").rglob("*"):
        if path.is_file() and path.suffix in {".tf", ".example", ".sh", ".py", ".json", ".md", ""}:
            text = path.read_text(errors="replace")
            for pattern in patterns:
                assert not re.search(pattern, text), (path, pattern)


# --- buckets, APIs, repository ---------------------------------------------------------------------------


def test_buckets():
    buckets = resources("google_storage_bucket")
    assert set(buckets) == {"lake", "temp"}
    for block in buckets.values():
        assert block.attr("uniform_bucket_level_access") == "true"
        assert block.attr("public_access_prevention") == '"enforced"'
        assert block.attr("location") == "var.region"
    lake, temp = buckets["lake"], buckets["temp"]
    assert lake.attr("force_destroy") == "false"
    assert lake.blocks("versioning")[0].attr("enabled") == "true"
    assert temp.blocks("soft_delete_policy")[0].attr("retention_duration_seconds") == "0"
    rule = temp.blocks("lifecycle_rule")[0]
    assert rule.blocks("action")[0].attr("type") == '"Delete"'
    condition = rule.blocks("condition")[0]
    assert condition.attr("age") == "var.temp_retention_days"
    assert condition.attr("matches_prefix") == '["tmp/", "staging/"]'


def test_apis_enabled_and_kept_on_destroy():
    services = set(re.findall(r'"([\w.]+\.googleapis\.com)"', local_expr("services")))
    assert {"dataflow.googleapis.com", "compute.googleapis.com", "storage.googleapis.com",
            "artifactregistry.googleapis.com", "cloudscheduler.googleapis.com", "iam.googleapis.com",
            "logging.googleapis.com", "sqladmin.googleapis.com", "servicenetworking.googleapis.com",
            "secretmanager.googleapis.com"} <= services
    assert resources("google_project_service")["enabled"].attr("disable_on_destroy") == "false"


def test_artifact_registry_repository():
    repo = resources("google_artifact_registry_repository")["images"]
    assert repo.attr("format") == '"DOCKER"'
    assert repo.blocks("docker_config")[0].attr("immutable_tags") == "true"


# --- the catalog: Cloud SQL for PostgreSQL, private IP, password in Secret Manager ---------------------

CATALOG_RESOURCES = {
    "google_sql_database_instance": "catalog", "google_sql_database": "catalog", "google_sql_user": "catalog",
    "random_password": "catalog", "google_secret_manager_secret": "catalog_password",
    "google_secret_manager_secret_version": "catalog_password",
    "google_secret_manager_secret_iam_member": "worker_catalog_password",
}


def catalog_instance() -> Block:
    return resources("google_sql_database_instance")["catalog"]


def test_catalog_resources_exist_only_with_catalog_enabled():
    for kind, name in CATALOG_RESOURCES.items():
        assert set(resources(kind)) == {name}, kind
        assert resources(kind)[name].attr("count") == "var.catalog_enabled ? 1 : 0", kind
    for kind in ("google_compute_global_address", "google_service_networking_connection"):
        assert resources(kind)["private_services"].attr("count") == "local.create_private_services ? 1 : 0"
    assert local_expr("create_private_services") == (
        "var.catalog_enabled && !var.private_services_connection_exists")
    assert variables()["catalog_enabled"].attr("default") == "true"


def test_catalog_instance_is_postgres_15_on_a_private_ip_only():
    instance = catalog_instance()
    assert instance.attr("database_version") == '"POSTGRES_15"'
    assert instance.attr("region") == "var.region"
    assert instance.attr("root_password") is None  # the postgres user gets no password: nobody logs in as it
    settings = instance.blocks("settings")[0]
    assert settings.attr("tier") == "var.catalog_tier"
    assert variables()["catalog_tier"].attr("default") == '"db-f1-micro"'  # the smallest tier
    ip = settings.blocks("ip_configuration")
    assert len(ip) == 1
    assert ip[0].attr("ipv4_enabled") == "false"  # no public IP
    assert ip[0].attr("private_network") == "local.network_id"
    assert ip[0].attr("ssl_mode") == '"ENCRYPTED_ONLY"'
    assert not ip[0].blocks("authorized_networks") and not ip[0].blocks("psc_config")
    assert local_expr("network_id") == '"projects/${var.project_id}/global/networks/${var.network}"'
    # Created after the peering that gives it its address.
    assert "google_service_networking_connection.private_services" in instance.attr("depends_on")


def test_catalog_instance_is_protected_and_backed_up():
    instance = catalog_instance()
    assert instance.attr("deletion_protection") == "true"  # Terraform refuses to destroy it
    settings = instance.blocks("settings")[0]
    assert settings.attr("deletion_protection_enabled") == "true"  # and so does the Cloud SQL API
    assert settings.attr("retain_backups_on_delete") == "true"
    backup = settings.blocks("backup_configuration")[0]
    assert backup.attr("enabled") == "true"
    assert backup.attr("point_in_time_recovery_enabled") == "true"
    assert int(backup.blocks("backup_retention_settings")[0].attr("retained_backups")) >= 7
    # The catalog's database and user outlive a `terraform destroy`, like the lake bucket's objects.
    assert resources("google_sql_database")["catalog"].attr("deletion_policy") == '"ABANDON"'
    assert resources("google_sql_user")["catalog"].attr("deletion_policy") == '"ABANDON"'


def test_private_services_access():
    address = resources("google_compute_global_address")["private_services"]
    assert address.attr("purpose") == '"VPC_PEERING"' and address.attr("address_type") == '"INTERNAL"'
    assert address.attr("network") == "local.network_id"
    assert address.attr("prefix_length") == "var.private_services_prefix_length"
    connection = resources("google_service_networking_connection")["private_services"]
    assert connection.attr("network") == "local.network_id"
    assert connection.attr("service") == '"servicenetworking.googleapis.com"'
    assert connection.attr("reserved_peering_ranges") == (
        "[google_compute_global_address.private_services[0].name]")
    # Never redefine an existing connection's ranges (that would cut other services off).
    assert connection.attr("update_on_creation_fail") is None
    ip = catalog_instance().blocks("settings")[0].blocks("ip_configuration")[0]
    assert ip.attr("allocated_ip_range") == (
        "local.create_private_services ? google_compute_global_address.private_services[0].name : null")


def test_catalog_password_is_generated_and_kept_in_secret_manager_only():
    password = resources("random_password")["catalog"]
    assert int(password.attr("length")) >= 32
    assert password.attr("special") == "false"  # safe in a URI, a .pgpass line, a shell
    user = resources("google_sql_user")["catalog"]
    assert user.attr("name") == "var.catalog_user" and user.attr("type") == '"BUILT_IN"'
    assert user.attr("password") == "random_password.catalog[0].result"
    assert user.attr("host") is None  # MySQL only
    assert variables()["catalog_user"].attr("default") != '"postgres"'
    secret = resources("google_secret_manager_secret")["catalog_password"]
    assert secret.attr("secret_id") == "var.catalog_secret_id"
    replicas = secret.blocks("replication")[0].blocks("user_managed")[0].blocks("replicas")
    assert [r.attr("location") for r in replicas] == ["var.region"]
    version = resources("google_secret_manager_secret_version")["catalog_password"]
    assert version.attr("secret") == "google_secret_manager_secret.catalog_password[0].id"
    assert version.attr("secret_data") == "random_password.catalog[0].result"
    # The password is used exactly twice (the user, the secret version) and never printed.
    text = "\n".join(_code_mask(p.read_text(), keep_strings=True) for p in TF.glob("*.tf"))
    assert len(re.findall(r"random_password\.catalog\b", text)) == 2
    outputs = _code_mask((TF / "outputs.tf").read_text(), keep_strings=True)
    assert "random_password" not in outputs and "secret_data" not in outputs and "password =" not in outputs
    assert not re.search(r'(?m)^\s*(password|secret_data|root_password)\s*=\s*"', text)  # no literal


def test_only_the_worker_account_reads_the_password_secret():
    grant = resources("google_secret_manager_secret_iam_member")["worker_catalog_password"]
    assert grant.attr("member") == "google_service_account.worker.member"  # launcher VM and workers
    assert grant.attr("role") == '"roles/secretmanager.secretAccessor"'
    assert grant.attr("secret_id") == "google_secret_manager_secret.catalog_password[0].secret_id"
    assert grant.attr("project") == "google_secret_manager_secret.catalog_password[0].project"
    assert "secretmanager" not in "".join(b.body for b in resources("google_project_iam_member").values())


def test_random_provider_declared_and_state_note_is_honest():
    terraform = next(b for b in blocks((TF / "versions.tf").read_text()) if b.kind == "terraform")
    providers = terraform.blocks("required_providers")[0]
    assert 'source = "hashicorp/random"' in providers.attr("random")
    versions = (TF / "versions.tf").read_text()
    assert "State holds a secret" in versions and "password" in versions
    readme = (ROOT / "infra" / "README.md").read_text()
    assert "Terraform state holds no secrets" not in readme
    assert re.search(r"password[^.]*\bin (Terraform )?state", readme)


# A rendering of the catalog URI with plausible values for what Terraform learns at apply time.
CATALOG_INTERPOLATIONS = {
    "google_sql_user.catalog[0].name": "silake",
    "google_sql_database_instance.catalog[0].private_ip_address": "10.20.0.3",
    "google_sql_database.catalog[0].name": "silake",
    "google_secret_manager_secret_version.catalog_password[0].name":
        "projects/123456789012/secrets/silake-catalog-password/versions/1",
}


def rendered_catalog_uri() -> str:
    expr = local_expr("catalog_uri")
    m = re.fullmatch(r'var\.catalog_enabled \? "(.*)" : null', expr)
    assert m, expr
    template = m.group(1)
    assert set(re.findall(r"\$\{([^}]*)\}", template)) == set(CATALOG_INTERPOLATIONS)
    return re.sub(r"\$\{([^}]*)\}", lambda i: CATALOG_INTERPOLATIONS[i.group(1)], template)


def test_catalog_uri_is_what_the_cli_and_the_template_take():
    from silake.lake.catalog import CatalogLocation

    uri = rendered_catalog_uri()
    assert uri == ("postgresql://silake@10.20.0.3:5432/silake"
                   "?password_secret=projects/123456789012/secrets/silake-catalog-password/versions/1")
    location = CatalogLocation.parse(uri)
    assert location.kind == "postgres"
    assert location.target == "postgresql://silake@10.20.0.3:5432/silake"  # what libpq gets: no password
    assert location.password_secret == CATALOG_INTERPOLATIONS[
        "google_secret_manager_secret_version.catalog_password[0].name"]
    assert location.public() == uri
    catalog = {p["name"]: p for p in json.loads(METADATA.read_text())["parameters"]}["catalog"]
    assert all(re.fullmatch(rx, uri) for rx in catalog["regexes"])


def test_catalog_outputs():
    outputs = {b.labels[0]: b for b in all_blocks() if b.kind == "output"}
    assert outputs["catalog_uri"].attr("value") == "local.catalog_uri"
    assert outputs["catalog_instance_connection_name"].attr("value") == (
        "one(google_sql_database_instance.catalog[*].connection_name)")
    assert outputs["catalog_private_ip"].attr("value") == (
        "one(google_sql_database_instance.catalog[*].private_ip_address)")
    assert outputs["catalog_password_secret"].attr("value") == (
        "one(google_secret_manager_secret.catalog_password[*].name)")
    for block in outputs.values():
        assert block.attr("sensitive") is None  # nothing secret is output, so nothing needs hiding


# --- the scheduler's launch request ---------------------------------------------------------------------

# FlexTemplateRuntimeEnvironment fields of the Dataflow v1b3 API.
RUNTIME_ENVIRONMENT = {
    "additionalExperiments", "additionalPipelineOptions", "additionalUserLabels", "autoscalingAlgorithm",
    "diskSizeGb", "dumpHeapOnOom", "enableLauncherVmSerialPortLogging", "enableStreamingEngine", "flexrsGoal",
    "ipConfiguration", "kmsKeyName", "launcherMachineType", "machineType", "maxWorkers", "network",
    "numWorkers", "saveHeapDumpsToGcsPath", "sdkContainerImage", "serviceAccountEmail", "stagingLocation",
    "streamingMode", "subnetwork", "tempLocation", "workerRegion", "workerZone", "zone",
}


def test_scheduler_job_posts_a_flex_template_launch_as_the_scheduler_account():
    job = resources("google_cloud_scheduler_job")["ingest"]
    assert job.attr("schedule") == "var.schedule" and job.attr("region") == "var.region"
    target = job.blocks("http_target")[0]
    assert target.attr("http_method") == '"POST"'
    assert target.attr("uri") == ('"https://dataflow.googleapis.com/v1b3/projects/${var.project_id}/locations/'
                                  '${var.region}/flexTemplates:launch"')
    assert target.attr("body") == "base64encode(jsonencode(local.launch_request))"
    assert not target.blocks("oidc_token")
    token = target.blocks("oauth_token")[0]
    assert token.attr("service_account_email") == "google_service_account.scheduler.email"
    assert token.attr("scope") == '"https://www.googleapis.com/auth/cloud-platform"'


def test_launch_request_matches_the_template_and_the_api():
    params = {p["name"]: p for p in json.loads(METADATA.read_text())["parameters"]}
    keys = object_keys(local_expr("launch_parameters"))
    assert keys == {"sources", "lake", "full_refresh", "metadata", "catalog"}
    assert keys <= set(params)
    assert {n for n, p in params.items() if not p.get("isOptional")} <= keys
    assert object_keys(local_expr("launch_parameters")) & {"max_num_workers", "num_workers",
                                                           "worker_machine_type", "disk_size_gb"} == set()
    assert re.search(r'full_refresh\s*=\s*"false"', local_expr("launch_parameters"))  # incremental runs
    environment = object_keys(local_expr("launch_environment"))
    assert environment <= RUNTIME_ENVIRONMENT, environment - RUNTIME_ENVIRONMENT
    assert {"serviceAccountEmail", "tempLocation", "stagingLocation", "sdkContainerImage",
            "maxWorkers", "machineType"} <= environment
    request = local_expr("launch_request")
    assert object_keys(request) == {"launchParameter", "jobName", "containerSpecGcsPath", "parameters",
                                    "environment"}


def test_scheduled_launch_passes_the_catalog_and_runs_in_its_network():
    parameters = local_expr("launch_parameters")
    assert "var.catalog_enabled ? { catalog = local.catalog_uri } : {}" in parameters
    environment = local_expr("launch_environment")
    assert "var.catalog_enabled && var.subnetwork == null ? { network = var.network } : {}" in environment
    job = resources("google_cloud_scheduler_job")["ingest"]
    assert "google_secret_manager_secret_iam_member.worker_catalog_password" in job.attr("depends_on")


# --- variables --------------------------------------------------------------------------------------------


def variables() -> dict[str, Block]:
    return {b.labels[0]: b for b in all_blocks() if b.kind == "variable"}


def test_variables_are_declared_documented_and_used():
    declared = variables()
    for name, block in declared.items():
        assert block.attr("description"), name
        assert block.attr("type"), name
    texts = {p.name: _code_mask(p.read_text(), keep_strings=True) for p in TF.glob("*.tf")}
    used = {m for text in texts.values() for m in re.findall(r"\bvar\.(\w+)", text)}
    assert used <= set(declared), used - set(declared)
    # Used outside its own declaration (a validation block does not count).
    outside = {m for name, text in texts.items() if name != "variables.tf"
               for m in re.findall(r"\bvar\.(\w+)", text)}
    assert set(declared) <= outside, set(declared) - outside
    for required in ("project_id", "region", "schedule", "lake_bucket_name", "sources", "template_image"):
        assert required in declared


def test_nothing_project_specific_is_hard_coded():
    for path in TF.glob("*.tf"):
        text = path.read_text()
        assert "my-gcp-project" not in text
        if path.name != "variables.tf":  # defaults live there only
            assert not re.search(r'"(us|europe|asia)-[a-z]+\d"', text), path


def test_tfvars_example_sets_declared_variables():
    example = (TF / "terraform.tfvars.example").read_text()
    keys = set(re.findall(r"(?m)^(\w+)\s*=", example))
    commented = set(re.findall(r"(?m)^#\s*(\w+)\s*=", example))
    declared = variables()
    assert (keys | commented) <= set(declared), (keys | commented) - set(declared)
    without_default = {n for n, b in declared.items() if b.attr("default") is None}
    assert without_default <= keys, without_default - keys


def test_scripts_defaults_match_terraform_names():
    """build.sh / run.sh defaults name what Terraform creates by default."""
    assert local_expr("temp_bucket_name") == (
        'coalesce(var.temp_bucket_name, "${var.project_id}-silake-dataflow")')
    assert variables()["artifact_repository_id"].attr("default") == '"silake"'
    build = (ROOT / "infra" / "dataflow" / "build.sh").read_text()
    run = (ROOT / "infra" / "dataflow" / "run.sh").read_text()
    assert 'IMAGE_REPOSITORY="${IMAGE_REPOSITORY:-$REGION-docker.pkg.dev/$PROJECT/silake}"' in build
    assert 'TEMPLATES_PREFIX="${TEMPLATES_PREFIX:-gs://$PROJECT-silake-dataflow/templates}"' in build
    assert 'TEMP_LOCATION="${TEMP_LOCATION:-gs://$PROJECT-silake-dataflow/tmp}"' in run
    assert 'STAGING_LOCATION="${STAGING_LOCATION:-gs://$PROJECT-silake-dataflow/staging}"' in run
    for name, expected in (("temp_location", "tmp"), ("staging_location", "staging"),
                           ("templates_prefix", "templates")):
        assert local_expr(name) == f'"gs://${{google_storage_bucket.temp.name}}/{expected}"'

"""Backup for GKE under mocks: the backup plan and restore plan follow the stack's
backup settings, the agent addon follows `enabled`, and the rules on triggers and
retention name the key."""

from __future__ import annotations

from typing import Any

import pytest

from components.backup import GkeBackup
from components.config import BackupConfig, ConfigError, GkeAutopilotConfig, GkeStandardConfig, validate_stack_config
from components.gke import GkeCluster
from components.program import main
from tests.conftest import ProgramRunner, stack_file_config
from tests.graph import Graph

BACKUP_PLAN = "gcp:gkebackup/backupPlan:BackupPlan"
RESTORE_PLAN = "gcp:gkebackup/restorePlan:RestorePlan"
CLUSTER = "gcp:container/cluster:Cluster"
PROJECT_ID = "acme-platform-test"
BACKUP_KEY = "projects/acme-platform-test/locations/europe-west4/keyRings/backup/cryptoKeys/gke"
SECRETS_KEY = "projects/acme-platform-test/locations/europe-west1/keyRings/gke/cryptoKeys/secrets"


def cluster_section(backup: dict[str, Any] | None = None, **overrides: Any) -> dict[str, Any]:
    raw: dict[str, Any] = {"kind": "gke-autopilot", "project": PROJECT_ID, "location": "europe-west1"}
    if backup is not None:
        raw["backup"] = backup
    return raw | overrides


def run_cluster(run_program: ProgramRunner, raw: dict[str, Any], protect: bool = False) -> Graph:
    config = validate_stack_config({"cluster": raw}).cluster
    assert isinstance(config, GkeStandardConfig | GkeAutopilotConfig)
    return run_program(lambda: GkeCluster("gke", config, protect=protect))


def test_default_plan_backs_up_every_namespace_daily_with_secrets_and_volumes(run_program: ProgramRunner) -> None:
    graph = run_cluster(run_program, cluster_section())
    defaults = BackupConfig()
    cluster = graph.one(CLUSTER)
    plan = graph.one(BACKUP_PLAN)
    restore = graph.one(RESTORE_PLAN)

    assert cluster.inputs["addonsConfig"]["gkeBackupAgentConfig"] == {"enabled": True}
    # Mocked resources get the id "<resource name>-id".
    assert plan.inputs["cluster"] == f"{cluster.name}-id"
    assert cluster.urn in plan.depends_on
    assert plan.inputs["project"] == PROJECT_ID
    assert plan.inputs["location"] == "europe-west1"
    assert plan.inputs["backupConfig"] == {
        "allNamespaces": True,
        "includeSecrets": defaults.include_secrets,
        "includeVolumeData": defaults.include_volume_data,
    }
    assert plan.inputs["backupSchedule"] == {"cronSchedule": defaults.schedule}
    assert plan.inputs["retentionPolicy"] == {
        "backupRetainDays": defaults.retention_days,
        "backupDeleteLockDays": defaults.delete_lock_days,
    }

    # The restore plan restores this plan's backups into the same cluster.
    assert restore.inputs["backupPlan"] == f"{plan.name}-id"
    assert plan.urn in restore.depends_on
    assert restore.inputs["cluster"] == plan.inputs["cluster"]
    assert restore.inputs["location"] == plan.inputs["location"]
    config = restore.inputs["restoreConfig"]
    assert config["allNamespaces"] is True
    assert config["namespacedResourceRestoreMode"] == "FAIL_ON_CONFLICT"  # never overwrites live objects
    assert config["volumeDataRestorePolicy"] == "RESTORE_VOLUME_DATA_FROM_BACKUP"
    assert config["clusterResourceRestoreScope"] == {"allGroupKinds": True}
    assert config["clusterResourceConflictPolicy"] == "USE_EXISTING_VERSION"


def test_selected_namespaces_rpo_and_retention_follow_the_config(run_program: ProgramRunner) -> None:
    backup = {
        "schedule": None,
        "rpoMinutes": 240,
        "retentionDays": 14,
        "deleteLockDays": 3,
        "namespaces": ["prod", "jenkins"],
        "includeSecrets": False,
        "includeVolumeData": False,
        "encryptionKey": BACKUP_KEY,
        "restoreMode": "DELETE_AND_RESTORE",
        "location": "europe-west4",
    }
    graph = run_cluster(run_program, cluster_section(backup))
    plan = graph.one(BACKUP_PLAN).inputs
    restore = graph.one(RESTORE_PLAN).inputs

    assert plan["location"] == restore["location"] == backup["location"]
    assert plan["backupSchedule"] == {"rpoConfig": {"targetRpoMinutes": backup["rpoMinutes"]}}
    assert plan["retentionPolicy"] == {
        "backupRetainDays": backup["retentionDays"],
        "backupDeleteLockDays": backup["deleteLockDays"],
    }
    # Backups under the stack's own key, in another region than the cluster's.
    assert plan["backupConfig"] == {
        "selectedNamespaces": {"namespaces": backup["namespaces"]},
        "includeSecrets": False,
        "includeVolumeData": False,
        "encryptionKey": {"gcpKmsEncryptionKey": BACKUP_KEY},
    }
    assert restore["restoreConfig"]["selectedNamespaces"] == {"namespaces": backup["namespaces"]}
    assert "allNamespaces" not in restore["restoreConfig"]
    assert restore["restoreConfig"]["namespacedResourceRestoreMode"] == backup["restoreMode"]
    # Nothing to restore volumes from when they were never backed up.
    assert restore["restoreConfig"]["volumeDataRestorePolicy"] == "NO_VOLUME_DATA_RESTORATION"


def test_cluster_secrets_under_cmek_need_an_encrypted_backup(run_program: ProgramRunner) -> None:
    raw = cluster_section({"encryptionKey": SECRETS_KEY.replace("cryptoKeys/secrets", "cryptoKeys/backups")})
    graph = run_cluster(run_program, raw | {"databaseEncryptionKey": SECRETS_KEY})
    plan = graph.one(BACKUP_PLAN).inputs
    assert plan["backupConfig"]["includeSecrets"] is True
    assert plan["backupConfig"]["encryptionKey"] == {"gcpKmsEncryptionKey": raw["backup"]["encryptionKey"]}


def test_prod_backups_live_in_another_region_under_their_own_key(run_program: ProgramRunner) -> None:
    raw = stack_file_config("prod")
    graph = run_program(main, raw, secrets={"registryPassword": "x"}, stack="prod")
    cluster = graph.one(CLUSTER).inputs
    plan = graph.one(BACKUP_PLAN).inputs
    backup = raw["cluster"]["backup"]
    # The cluster's Secrets are under CMEK, and the backups include them: so are the backups.
    assert cluster["databaseEncryption"]["state"] == "ENCRYPTED"
    assert plan["backupConfig"]["includeSecrets"] is True
    assert plan["backupConfig"]["encryptionKey"] == {"gcpKmsEncryptionKey": backup["encryptionKey"]}
    assert plan["location"] == graph.one(RESTORE_PLAN).inputs["location"] == backup["location"]
    assert plan["location"] != cluster["location"]
    assert f"/locations/{plan['location']}/" in backup["encryptionKey"]


def test_retention_lock_is_only_sent_when_asked_for(run_program: ProgramRunner) -> None:
    locked = run_cluster(run_program, cluster_section({"lockRetention": True, "deleteLockDays": 7}))
    assert locked.one(BACKUP_PLAN).inputs["retentionPolicy"] == {
        "backupRetainDays": BackupConfig().retention_days,
        "backupDeleteLockDays": 7,
        "locked": True,
    }
    unlocked = run_cluster(run_program, cluster_section())
    assert "locked" not in unlocked.one(BACKUP_PLAN).inputs["retentionPolicy"]


def test_plans_of_a_zonal_cluster_live_in_its_region(run_program: ProgramRunner) -> None:
    raw = cluster_section(
        kind="gke-standard", location="europe-west1-c", nodePools=[{"name": "general", "minNodes": 3}]
    )
    graph = run_cluster(run_program, raw)
    assert graph.one(BACKUP_PLAN).inputs["location"] == "europe-west1"
    assert graph.one(RESTORE_PLAN).inputs["location"] == "europe-west1"


def test_disabled_backup_has_no_plans_and_no_agent(run_program: ProgramRunner) -> None:
    graph = run_cluster(run_program, cluster_section({"enabled": False}))
    assert graph.of_type(BACKUP_PLAN) == graph.of_type(RESTORE_PLAN) == []
    assert graph.of_type("delivery-platform:backup:GkeBackup") == []
    assert graph.one(CLUSTER).inputs["addonsConfig"]["gkeBackupAgentConfig"] == {"enabled": False}


@pytest.mark.parametrize("protect", [True, False])
def test_protect_guards_the_backup_plan_only(run_program: ProgramRunner, protect: bool) -> None:
    graph = run_cluster(run_program, cluster_section(), protect=protect)
    assert graph.one(BACKUP_PLAN).protect is protect
    # A restore plan holds no data: it can always be replaced.
    assert graph.one(RESTORE_PLAN).protect is False


def test_component_can_back_up_any_cluster_by_id(run_program: ProgramRunner) -> None:
    cluster_id = f"projects/{PROJECT_ID}/locations/europe-west1/clusters/shop"
    config = BackupConfig(namespaces=["shop"])
    graph = run_program(
        lambda: GkeBackup(
            "shop-backup",
            config,
            cluster_id=cluster_id,
            cluster_name="shop",
            project=PROJECT_ID,
            location="europe-west1",
        )
    )
    component = graph.one("delivery-platform:backup:GkeBackup")
    plan, restore = graph.one(BACKUP_PLAN), graph.one(RESTORE_PLAN)
    assert plan.parent == restore.parent == component.urn
    assert plan.name.startswith("shop-backup-")
    assert restore.name.startswith("shop-backup-")
    assert plan.inputs["cluster"] == restore.inputs["cluster"] == cluster_id
    # One plan of each per cluster, named after it.
    assert "shop" in plan.inputs["name"]
    assert "shop" in restore.inputs["name"]
    assert plan.inputs["name"] != restore.inputs["name"]


@pytest.mark.parametrize(
    ("backup", "expected"),
    [
        pytest.param(
            {"schedule": "0 3 * * *", "rpoMinutes": 120},
            "delivery-platform:cluster.backup.schedule: set exactly one of schedule (cron) or rpoMinutes",
            id="both-triggers",
        ),
        pytest.param(
            {"schedule": None},
            "delivery-platform:cluster.backup.schedule: set exactly one of schedule (cron) or rpoMinutes",
            id="no-trigger",
        ),
        pytest.param(
            {"schedule": "every night"},
            "delivery-platform:cluster.backup.schedule: 'every night' is not a five-field cron schedule",
            id="bad-cron",
        ),
        pytest.param(
            {"retentionDays": 7, "deleteLockDays": 14},
            "delivery-platform:cluster.backup.deleteLockDays: cannot exceed retentionDays",
            id="lock-beyond-retention",
        ),
        pytest.param(
            # Backup for GKE keeps at most 360 backups of an RPO plan: 60-minute RPO -> 15 days.
            {"schedule": None, "rpoMinutes": 60, "retentionDays": 16},
            "delivery-platform:cluster.backup.retentionDays: 16 days is more than 360 backups",
            id="rpo-retention",
        ),
        pytest.param(
            {"rpoMinutes": 30, "schedule": None},
            "delivery-platform:cluster.backup.rpoMinutes: must be >= 60",
            id="rpo-too-short",
        ),
        pytest.param(
            {"location": "europe-west1-b"},
            "delivery-platform:cluster.backup.location: 'europe-west1-b' is not a GCP region",
            id="zone-as-backup-location",
        ),
        pytest.param(
            {"restoreMode": "OVERWRITE"},
            "delivery-platform:cluster.backup.restoreMode: must be one of",
            id="restore-mode",
        ),
        pytest.param(
            {"namespaces": ["Prod"]},
            "delivery-platform:cluster.backup.namespaces[0]: 'Prod' is not a DNS label",
            id="namespace-name",
        ),
        pytest.param(
            {"schedule": "99 3 * * *"},
            "delivery-platform:cluster.backup.schedule: '99 3 * * *' is not a valid cron schedule",
            id="cron-minute-out-of-range",
        ),
        pytest.param(
            {"schedule": "*/5 * * * *", "retentionDays": 1},
            "delivery-platform:cluster.backup.schedule: '*/5 * * * *' runs backups 5 minute(s) apart; "
            "Backup for GKE needs at least 10 minutes",
            id="cron-more-often-than-10-minutes",
        ),
        pytest.param(
            # Two backups at 03:00 and 03:05 once a week: the gap, not the average, counts.
            {"schedule": "0,5 3 * * 1", "retentionDays": 1},
            "delivery-platform:cluster.backup.schedule: '0,5 3 * * 1' runs backups 5 minute(s) apart",
            id="cron-burst",
        ),
        pytest.param(
            # Hourly: 360 backups cover 15 days.
            {"schedule": "0 * * * *", "retentionDays": 16},
            "delivery-platform:cluster.backup.retentionDays: 16 days is more than 360 backups of schedule '0 * * * *'",
            id="cron-retention-hourly",
        ),
        pytest.param(
            # Daily: 360 backups cover 360 days.
            {"schedule": "30 1 * * *", "retentionDays": 361},
            "delivery-platform:cluster.backup.retentionDays: 361 days is more than 360 backups",
            id="cron-retention-daily",
        ),
        pytest.param(
            # Mondays and Tuesdays: the shortest gap is one day, not the week.
            {"schedule": "0 2 * * 1,2", "retentionDays": 365},
            "delivery-platform:cluster.backup.retentionDays: 365 days is more than 360 backups",
            id="cron-retention-consecutive-weekdays",
        ),
    ],
)
def test_backup_rules_name_the_key(backup: dict[str, Any], expected: str) -> None:
    with pytest.raises(ConfigError) as caught:
        validate_stack_config({"cluster": cluster_section(backup)})
    assert any(problem.startswith(expected) for problem in caught.value.problems), caught.value.problems


@pytest.mark.parametrize(
    ("schedule", "retention_days"),
    [
        pytest.param("0 * * * *", 15, id="hourly-15-days"),
        pytest.param("*/10 * * * *", 2, id="every-10-minutes-2-days"),
        pytest.param("0 3 * * 0", 365, id="weekly-a-year"),
        pytest.param("0 2 1 * *", 365, id="monthly-a-year"),
        pytest.param("0 2 * * 1,3,5", 365, id="every-other-day-a-year"),
    ],
)
def test_cron_schedules_within_backup_for_gke_limits_are_accepted(schedule: str, retention_days: int) -> None:
    cluster = validate_stack_config(
        {"cluster": cluster_section({"schedule": schedule, "retentionDays": retention_days})}
    ).cluster
    assert isinstance(cluster, GkeAutopilotConfig)
    assert (cluster.backup.schedule, cluster.backup.retention_days) == (schedule, retention_days)


@pytest.mark.parametrize(
    ("section", "expected"),
    [
        pytest.param(
            cluster_section(databaseEncryptionKey=SECRETS_KEY),
            "delivery-platform:cluster.backup.encryptionKey: is required: the cluster encrypts Secrets",
            id="secrets-under-cmek-backed-up-without-a-key",
        ),
        pytest.param(
            cluster_section({"encryptionKey": BACKUP_KEY}),
            "delivery-platform:cluster.backup.encryptionKey: is in europe-west4; it must be in the backup location "
            "europe-west1",
            id="key-outside-the-backup-location",
        ),
        pytest.param(
            cluster_section({"location": "europe-west4", "encryptionKey": SECRETS_KEY}),
            "delivery-platform:cluster.backup.encryptionKey: is in europe-west1; it must be in the backup location "
            "europe-west4",
            id="key-left-behind-in-the-cluster-region",
        ),
    ],
)
def test_backup_keys_are_checked_against_the_cluster(section: dict[str, Any], expected: str) -> None:
    with pytest.raises(ConfigError) as caught:
        validate_stack_config({"cluster": section})
    assert any(problem.startswith(expected) for problem in caught.value.problems), caught.value.problems


def test_secrets_left_out_of_backups_need_no_backup_key() -> None:
    cluster = validate_stack_config(
        {"cluster": cluster_section({"includeSecrets": False}, databaseEncryptionKey=SECRETS_KEY)}
    ).cluster
    assert isinstance(cluster, GkeAutopilotConfig)
    assert cluster.backup.encryption_key is None


def test_retention_of_exactly_360_rpo_intervals_is_accepted() -> None:
    cluster = validate_stack_config(
        {"cluster": cluster_section({"schedule": None, "rpoMinutes": 60, "retentionDays": 15})}
    ).cluster
    assert isinstance(cluster, GkeAutopilotConfig)
    assert (cluster.backup.rpo_minutes, cluster.backup.retention_days) == (60, 15)

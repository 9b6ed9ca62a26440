"""Backup for GKE: a BackupPlan that backs the cluster up on a schedule, and the
RestorePlan that restores those backups into it. The backup agent itself is a
cluster addon, switched on by the cluster component."""

from __future__ import annotations

from typing import Any

import pulumi
import pulumi_gcp as gcp

from .config import BackupConfig


class GkeBackup(pulumi.ComponentResource):
    """`protect` sets Pulumi protect on the backup plan: deleting it would delete
    every backup made under it."""

    backup_plan: gcp.gkebackup.BackupPlan
    restore_plan: gcp.gkebackup.RestorePlan

    def __init__(
        self,
        name: str,
        config: BackupConfig,
        *,
        cluster_id: pulumi.Input[str],
        cluster_name: str,
        project: str,
        location: str,
        protect: bool = False,
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        super().__init__("delivery-platform:backup:GkeBackup", name, None, opts)
        scope = _namespace_scope(config)
        # The config holds exactly one of the two triggers.
        schedule = (
            gcp.gkebackup.BackupPlanBackupScheduleArgs(
                rpo_config=gcp.gkebackup.BackupPlanBackupScheduleRpoConfigArgs(target_rpo_minutes=config.rpo_minutes)
            )
            if config.rpo_minutes is not None
            else gcp.gkebackup.BackupPlanBackupScheduleArgs(cron_schedule=config.schedule)
        )
        self.backup_plan = gcp.gkebackup.BackupPlan(
            f"{name}-plan",
            name=f"{cluster_name}-backup",
            project=project,
            location=location,
            cluster=cluster_id,
            backup_config=gcp.gkebackup.BackupPlanBackupConfigArgs(
                **scope,
                include_secrets=config.include_secrets,
                include_volume_data=config.include_volume_data,
                encryption_key=(
                    gcp.gkebackup.BackupPlanBackupConfigEncryptionKeyArgs(gcp_kms_encryption_key=config.encryption_key)
                    if config.encryption_key
                    else None
                ),
            ),
            backup_schedule=schedule,
            retention_policy=gcp.gkebackup.BackupPlanRetentionPolicyArgs(
                backup_retain_days=config.retention_days,
                backup_delete_lock_days=config.delete_lock_days,
                # Irreversible: only sent when asked for.
                locked=True if config.lock_retention else None,
            ),
            opts=pulumi.ResourceOptions(parent=self, protect=protect),
        )
        self.restore_plan = gcp.gkebackup.RestorePlan(
            f"{name}-restore",
            name=f"{cluster_name}-restore",
            project=project,
            location=location,
            backup_plan=self.backup_plan.id,
            cluster=cluster_id,
            restore_config=gcp.gkebackup.RestorePlanRestoreConfigArgs(
                **scope,
                namespaced_resource_restore_mode=config.restore_mode,
                volume_data_restore_policy=(
                    "RESTORE_VOLUME_DATA_FROM_BACKUP" if config.include_volume_data else "NO_VOLUME_DATA_RESTORATION"
                ),
                # Cluster-scoped objects the namespaces rely on (CRDs, ClusterRoles,
                # StorageClasses) come back when missing, but never replace live ones.
                cluster_resource_restore_scope=gcp.gkebackup.RestorePlanRestoreConfigClusterResourceRestoreScopeArgs(
                    all_group_kinds=True
                ),
                cluster_resource_conflict_policy="USE_EXISTING_VERSION",
            ),
            opts=pulumi.ResourceOptions(parent=self),
        )
        self.register_outputs({"backupPlan": self.backup_plan.id, "restorePlan": self.restore_plan.id})


def _namespace_scope(config: BackupConfig) -> dict[str, Any]:
    """The same namespaces are backed up and restored."""
    if config.namespaces:
        return {"selected_namespaces": {"namespaces": list(config.namespaces)}}
    return {"all_namespaces": True}

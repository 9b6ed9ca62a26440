"""Backup for GKE: what is backed up, when, for how long, and under which key."""

from __future__ import annotations

from datetime import datetime, timedelta
from itertools import pairwise, takewhile
from typing import Annotated, Literal

from cronsim import CronSim, CronSimError
from pydantic import AfterValidator, Field, model_validator

from .base import ConfigModel, DnsLabel, FieldProblem, check
from .gcp import KmsKey, Region

# Backup for GKE's limits: backups at least this far apart, and at most this many
# backups' worth of retention (retentionDays <= 360 x the schedule's interval).
MIN_BACKUP_INTERVAL_MINUTES = 10
MAX_RETAINED_INTERVALS = 360
MINUTES_PER_DAY = 1440
# Day patterns (day of month, month, weekday) are searched this far ahead: four years
# hold every leap-day and weekday-of-month combination that decides the shortest gap
# between two backup days.
_DAY_HORIZON = timedelta(days=4 * 366)
_WEEKDAY_HORIZON = timedelta(days=15)
# A fixed start (a Monday after a leap day) keeps validation deterministic.
_EPOCH = datetime(2024, 3, 4)


def _cron(value: str) -> str:
    if len(value.split()) != 5:
        raise ValueError(f"{value!r} is not a five-field cron schedule like '0 3 * * *'")
    try:
        CronSim(value, _EPOCH)
    except CronSimError as error:
        raise ValueError(f"{value!r} is not a valid cron schedule ({error})") from None
    return value


Cron = Annotated[str, AfterValidator(_cron)]


def _fire_times(expression: str, until: datetime) -> list[datetime]:
    return list(takewhile(lambda when: when < until, CronSim(expression, _EPOCH - timedelta(minutes=1))))


def shortest_interval_minutes(schedule: str) -> int | None:
    """The shortest time between two backups of a five-field cron schedule (UTC), or
    None when it fires less than twice in the horizon. The times of day and the days
    are independent fields, so the gaps are those within a day and those from the last
    backup of one backup day to the first of the next."""
    minute, hour, day_of_month, month, weekday = schedule.split()
    times = [when.hour * 60 + when.minute for when in _fire_times(f"{minute} {hour} * * *", _EPOCH + timedelta(days=1))]
    if (day_of_month, month, weekday) == ("*", "*", "*"):
        day_gaps = [1]  # every day: no need to walk the calendar
    else:
        # Weekdays alone repeat every week; dates need the whole horizon.
        horizon = _WEEKDAY_HORIZON if (day_of_month, month) == ("*", "*") else _DAY_HORIZON
        days = _fire_times(f"0 0 {day_of_month} {month} {weekday}", _EPOCH + horizon)
        day_gaps = [(later - earlier).days for earlier, later in pairwise(days)]
    gaps = [later - earlier for earlier, later in pairwise(times)]
    if day_gaps:
        gaps.append(min(day_gaps) * MINUTES_PER_DAY - times[-1] + times[0])
    return min(gaps) if gaps else None


class BackupConfig(ConfigModel):
    """Backup for GKE: one BackupPlan and a RestorePlan for the selected namespaces."""

    enabled: bool = True
    # Where the backups are stored and restored from (default: the cluster's region);
    # another region keeps them through a regional outage.
    location: Region | None = None
    # Exactly one of schedule (cron, UTC) or rpoMinutes drives the backups.
    schedule: Cron | None = "0 3 * * *"
    rpo_minutes: int | None = Field(default=None, ge=60, le=86400)
    retention_days: int = Field(default=30, ge=1, le=365)
    delete_lock_days: int = Field(default=0, ge=0, le=90)
    # Locks the retention policy for good: nobody can shorten retention or the delete
    # lock afterwards (nor unlock it); only set it when compliance asks for it.
    lock_retention: bool = False
    namespaces: list[DnsLabel] = Field(default_factory=list)  # empty: every namespace
    include_secrets: bool = True
    include_volume_data: bool = True
    # Cloud KMS key for the backed-up Kubernetes objects and volumes, in the backup
    # location; required when the cluster encrypts Secrets with its own key and backups
    # include them (else backups would hold them under Google-managed encryption only).
    encryption_key: KmsKey | None = None
    # What a restore does with namespaced objects that already exist in the cluster;
    # the default never overwrites live objects (DELETE_AND_RESTORE rolls a namespace back).
    restore_mode: Literal[
        "FAIL_ON_CONFLICT",
        "DELETE_AND_RESTORE",
        "MERGE_SKIP_ON_CONFLICT",
        "MERGE_REPLACE_VOLUME_ON_CONFLICT",
        "MERGE_REPLACE_ON_CONFLICT",
    ] = "FAIL_ON_CONFLICT"

    @model_validator(mode="after")
    def _schedule_and_retention(self) -> BackupConfig:
        problems = []
        if (self.schedule is None) == (self.rpo_minutes is None):
            problems.append(FieldProblem("schedule", "set exactly one of schedule (cron) or rpoMinutes"))
        if self.delete_lock_days > self.retention_days:
            problems.append(FieldProblem("deleteLockDays", "cannot exceed retentionDays"))
        interval = self.rpo_minutes
        trigger = f"rpoMinutes {self.rpo_minutes}"
        if self.schedule is not None and self.rpo_minutes is None:
            interval = shortest_interval_minutes(self.schedule)
            trigger = f"schedule {self.schedule!r} (backups as close as {interval} minutes)"
            if interval is not None and interval < MIN_BACKUP_INTERVAL_MINUTES:
                problems.append(
                    FieldProblem(
                        "schedule",
                        f"{self.schedule!r} runs backups {interval} minute(s) apart; Backup for GKE needs at least "
                        f"{MIN_BACKUP_INTERVAL_MINUTES} minutes between backups",
                    )
                )
        if interval is not None and self.retention_days * MINUTES_PER_DAY > MAX_RETAINED_INTERVALS * interval:
            problems.append(
                FieldProblem(
                    "retentionDays",
                    f"{self.retention_days} days is more than {MAX_RETAINED_INTERVALS} backups of {trigger}; "
                    "Backup for GKE keeps at most that many",
                )
            )
        check(problems)
        return self

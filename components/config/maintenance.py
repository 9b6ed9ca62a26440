"""When GKE may upgrade and repair a cluster, when it must not, and where it says so."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Literal

from pydantic import AwareDatetime, Field, model_validator

from .base import ConfigModel, FieldProblem, check, repeated

Weekday = Literal["MO", "TU", "WE", "TH", "FR", "SA", "SU"]
WEEKDAYS: tuple[Weekday, ...] = ("MO", "TU", "WE", "TH", "FR", "SA", "SU")
WEEKEND: tuple[Weekday, ...] = ("SA", "SU")
# GKE accepts a window only if it leaves at least 48 hours of maintenance in any 32
# days, counting only stretches of 4 hours or more; a weekday occurs at least 4 times in
# any 32 days.
MIN_WINDOW_HOURS = 4
MIN_HOURS_PER_32_DAYS = 48
MIN_WEEKDAY_OCCURRENCES_PER_32_DAYS = 4
# A NO_UPGRADES exclusion may last at most this long; GKE refuses longer ones.
MAX_NO_UPGRADES_DAYS = 30
# The window's first occurrence; any past date works, a fixed one keeps diffs stable.
WINDOW_ANCHOR = datetime(2025, 1, 4, tzinfo=UTC)


def rfc3339(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


class MaintenanceWindow(ConfigModel):
    """A recurring window, in UTC, in which GKE may upgrade the control plane and nodes
    (repairs and security fixes may still happen outside it)."""

    days: list[Weekday] = Field(default_factory=lambda: list(WEEKEND), min_length=1)
    start: str = Field(default="01:00", pattern=r"^([01][0-9]|2[0-3]):[0-5][0-9]$")
    hours: int = Field(default=8, ge=MIN_WINDOW_HOURS, le=24)

    @model_validator(mode="after")
    def _enough_time(self) -> MaintenanceWindow:
        problems = []
        repeated = sorted({day for day in self.days if self.days.count(day) > 1})
        if repeated:
            problems.append(FieldProblem("days", f"{', '.join(repeated)} listed more than once"))
        available = MIN_WEEKDAY_OCCURRENCES_PER_32_DAYS * len(set(self.days)) * self.hours
        if available < MIN_HOURS_PER_32_DAYS:
            problems.append(
                FieldProblem(
                    "hours",
                    f"{len(set(self.days))} day(s) a week x {self.hours} hours leaves {available} hours of maintenance "
                    f"in some 32 days; GKE needs at least {MIN_HOURS_PER_32_DAYS}",
                )
            )
        check(problems)
        return self

    @property
    def recurrence(self) -> str:
        """The RFC 5545 rule GKE takes."""
        if set(self.days) == set(WEEKDAYS):
            return "FREQ=DAILY"
        return "FREQ=WEEKLY;BYDAY=" + ",".join(day for day in WEEKDAYS if day in self.days)

    @property
    def first(self) -> tuple[str, str]:
        """Start and end of the first window (GKE repeats it by `recurrence`)."""
        hour, minute = (int(part) for part in self.start.split(":"))
        start = WINDOW_ANCHOR.replace(hour=hour, minute=minute)
        return rfc3339(start), rfc3339(start + timedelta(hours=self.hours))


class MaintenanceExclusion(ConfigModel):
    """A period without automatic upgrades (a release freeze, peak season)."""

    name: str = Field(min_length=1, max_length=63)
    start: AwareDatetime
    end: AwareDatetime
    # NO_UPGRADES: nothing (at most 30 days); NO_MINOR_UPGRADES: patches only;
    # NO_MINOR_OR_NODE_UPGRADES: control-plane patches only.
    scope: Literal["NO_UPGRADES", "NO_MINOR_UPGRADES", "NO_MINOR_OR_NODE_UPGRADES"] = "NO_UPGRADES"

    @model_validator(mode="after")
    def _period(self) -> MaintenanceExclusion:
        problems = []
        if self.end <= self.start:
            problems.append(FieldProblem("end", "must be after start"))
        elif self.scope == "NO_UPGRADES" and self.end - self.start > timedelta(days=MAX_NO_UPGRADES_DAYS):
            problems.append(
                FieldProblem(
                    "end",
                    f"a NO_UPGRADES exclusion lasts at most {MAX_NO_UPGRADES_DAYS} days; use scope NO_MINOR_UPGRADES "
                    "for longer freezes",
                )
            )
        check(problems)
        return self


EventType = Literal["UPGRADE_AVAILABLE_EVENT", "UPGRADE_EVENT", "SECURITY_BULLETIN_EVENT", "UPGRADE_INFO_EVENT"]


class UpgradeNotifications(ConfigModel):
    """GKE's cluster notifications (upgrades available, started, security bulletins)
    published to Pub/Sub, for alerting and chat integrations."""

    enabled: bool = True
    # projects/<project>/topics/<name> in the cluster's project (GKE's requirement);
    # default: a topic the stack creates, named after the cluster.
    topic: str | None = Field(
        default=None,
        max_length=300,
        pattern=r"^projects/[a-z][-a-z0-9]{4,28}[a-z0-9]/topics/[A-Za-z][A-Za-z0-9_.~+%-]+$",
    )
    # Empty: every event type.
    event_types: list[EventType] = Field(default_factory=list)


class MaintenanceConfig(ConfigModel):
    """Maintenance windows and exclusions, and upgrade notifications."""

    window: MaintenanceWindow | None = Field(default_factory=MaintenanceWindow)
    exclusions: list[MaintenanceExclusion] = Field(default_factory=list, max_length=20)
    notifications: UpgradeNotifications = Field(default_factory=UpgradeNotifications)

    @model_validator(mode="after")
    def _unique_exclusions(self) -> MaintenanceConfig:
        names = [exclusion.name for exclusion in self.exclusions]
        check(repeated("exclusions[{}].name", names, lambda name: f"duplicate exclusion name {name!r}"))
        return self

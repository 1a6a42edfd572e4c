"""What the service does after Agora callbacks: the ``[rules]`` table of recshelf.toml, and the events that queue jobs.

Rules (``[rules]`` in recshelf.toml, all optional):

```toml
[rules]
store = "prod"                  # profile or store URL where Agora writes the recordings
prefix = "recordings/{cname}/"  # folder inside it; {sid} and {cname} come from the callback
backoff_initial_s = 60          # after `backuped`: check again after 1 min, 2, 4 … up to backoff_max_s
backoff_max_s = 3600
deadline_s = 259200             # 72 h, then the recording is `overdue`
exit_grace_s = 60               # session_exit without an upload event: verify after this wait
webhook = "https://example.com/hook"   # POSTed when a recording becomes complete, incomplete or overdue
retention_every = "1d"          # how often `recshelf serve` applies [[rules.retention]] ("off" = never);
                                # default 1d when there are retention rules
[[rules.export]]
format = "mp4"                  # storage.export formats: mp4, ts, zip, hls, copy
dest = "archive"                # folder, store URL or profile
```
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, fields, replace
from typing import Any

from storage.agora.events import EVENT_BACKUPED, EVENT_SESSION_EXIT, EVENT_UPLOADED
from storage.errors import ConfigError
from storage.stores.base import InvalidConfig

__all__ = ["EVENT_BACKUPED", "EVENT_SESSION_EXIT", "EVENT_UPLOADED", "JOB_EVENTS", "ExportRule", "Rules"]

DEFAULT_RETENTION_EVERY_S = 86400.0
JOB_EVENTS = frozenset({EVENT_SESSION_EXIT, EVENT_UPLOADED, EVENT_BACKUPED})


@dataclass(frozen=True)
class ExportRule:
    format: str
    dest: str
    allow_incomplete: bool = False


@dataclass(frozen=True)
class Rules:
    store: str | None = None
    prefix: str = ""
    exit_grace_s: float = 60.0
    backoff_initial_s: float = 60.0
    backoff_max_s: float = 3600.0
    backoff_factor: float = 2.0
    deadline_s: float = 72 * 3600.0
    retry_initial_s: float = 30.0  # store errors while verifying after `uploaded`, or exporting
    max_attempts: int = 6
    workers: int = 2
    lease_s: float = 60.0
    poll_s: float = 1.0
    # PostgreSQL mode (procrastinate): a worker silent this long is dead; how often the sweep looks
    stalled_after_s: float = 30.0
    sweep_every_s: float = 10.0
    webhook: str | None = field(default=None, repr=False)  # may hold a token; never logged
    exports: tuple[ExportRule, ...] = ()
    retention: tuple[Any, ...] = ()  # storage.manage.retention.RetentionRule, in order
    retention_every_s: float = 0.0  # 0: the server never runs the retention rules by itself

    @property
    def runs_retention(self) -> bool:
        return bool(self.retention) and self.retention_every_s > 0

    @classmethod
    def from_table(cls, table: Mapping[str, Any], where: str = "[rules]") -> Rules:
        """Validate a `[rules]` table; an unknown key is an error naming it (like the rest of recshelf.toml)."""
        hidden = {"exports", "retention_every_s"}
        names = {f.name: f for f in fields(cls)} | {"export": None, "retention_every": None}
        values: dict[str, Any] = {}
        for name, value in table.items():
            if name not in names or name in hidden:
                known = ", ".join(sorted(set(names) - hidden))
                raise InvalidConfig(f"{where}: unknown key {name!r} (known: {known})")
            if name == "export":
                values["exports"] = tuple(_export_rule(item, f"{where}.export") for item in _list(value, where))
            elif name == "retention":  # `recshelf retention` applies them; checked here so serve refuses bad ones too
                from storage.manage.retention import parse_rules

                try:
                    values["retention"] = tuple(parse_rules(value, f"{where}.retention"))
                except ConfigError as exc:
                    raise InvalidConfig(str(exc)) from None
            elif name == "retention_every":
                values["retention_every_s"] = _period(value, f"{where}: 'retention_every'")
            elif name in ("store", "prefix", "webhook"):
                if not isinstance(value, str):
                    raise InvalidConfig(f"{where}: {name!r} must be a string")
                values[name] = value
            elif name in ("workers", "max_attempts"):
                if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                    raise InvalidConfig(f"{where}: {name!r} must be a positive integer")
                values[name] = value
            else:
                if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
                    raise InvalidConfig(f"{where}: {name!r} must be a number of seconds (>= 0)")
                values[name] = float(value)
        return _with_retention_period(cls(**values), "retention_every" in table, where)

    def backoff(self, step: int) -> float:
        return min(self.backoff_max_s, self.backoff_initial_s * self.backoff_factor ** min(step, 64))

    def prefix_for(self, sid: str, cname: str) -> str:
        return self.prefix.replace("{sid}", sid).replace("{cname}", cname)


def _period(value: Any, where: str) -> float:
    """'1d', '12h', '30m' (as `older_than`), a number of seconds, or 'off' / 0 for never."""
    from storage.manage.retention import parse_age

    if isinstance(value, str) and value.strip().lower() in ("off", "never", "0"):
        return 0.0
    if isinstance(value, int | float) and not isinstance(value, bool) and value >= 0:
        return float(value)
    age = parse_age(value) if isinstance(value, str) else None
    if age is None:
        raise InvalidConfig(f"{where} must be a period such as '1d', '12h' or '30m', or 'off' (got {value!r})")
    return age.total_seconds()


def _with_retention_period(rules: Rules, given: bool, where: str) -> Rules:
    """Retention rules run daily unless told otherwise; a period without rules or without a store is a mistake."""
    if not given:
        return replace(rules, retention_every_s=DEFAULT_RETENTION_EVERY_S) if rules.retention and rules.store else rules
    if rules.retention_every_s > 0 and not rules.retention:
        raise InvalidConfig(f"{where}: 'retention_every' is set but there is no [[rules.retention]] to run")
    if rules.runs_retention and not rules.store:
        raise InvalidConfig(f"{where}: 'retention_every' needs 'store' (the store the retention rules apply to)")
    return rules


def _list(value: Any, where: str) -> list[Any]:
    if isinstance(value, Mapping):
        return [value]
    if not isinstance(value, list):
        raise InvalidConfig(f"{where}: 'export' must be a table or an array of tables")
    return value


def _export_rule(item: Any, where: str) -> ExportRule:
    if not isinstance(item, Mapping):
        raise InvalidConfig(f"{where} must be a table")
    unknown = set(item) - {"format", "dest", "allow_incomplete"}
    if unknown:
        raise InvalidConfig(f"{where}: unknown key {sorted(unknown)[0]!r} (known: allow_incomplete, dest, format)")
    from storage.export.options import FORMATS  # light: no PyAV

    fmt, dest = item.get("format"), item.get("dest")
    if not isinstance(fmt, str) or not isinstance(dest, str) or not dest:
        raise InvalidConfig(f"{where}: 'format' and 'dest' are required strings")
    if fmt not in FORMATS:
        # Caught when `recshelf serve` starts, not after a recording completes and its export job fails.
        raise InvalidConfig(f"{where}: 'format' must be one of {', '.join(FORMATS)} (got {fmt!r})")
    return ExportRule(fmt, dest, bool(item.get("allow_incomplete", False)))

"""`recshelf rm`, `mv`, `tier`, `restore`, `repair`, `du`, `clean`: change a store's content, plan → confirm → apply.

Without --yes the plan is printed and confirmed at the terminal; with no terminal and no --yes the
command refuses (exit 2). --dry-run prints the plan and changes nothing. A run cut short (Ctrl-C,
SIGKILL, a dead store) resumes when the same command is run again: the plan is kept in the data
folder's journal. Exit codes: 0 done, 1 refused or partly done, 2 usage, configuration or store errors.
"""

from __future__ import annotations

import csv
import json
import sys
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console

from storage.cli.access import guard_plan
from storage.cli.common import EXIT_NOT_OK, error_exit, fail_on_store_errors, open_store_or_exit, settings_or_exit
from storage.errors import ManageError

if TYPE_CHECKING:
    from storage.manage.apply import Outcome
    from storage.manage.plan import Plan

StoreArg = Annotated[str, typer.Argument(help="Store URL (file:///dir, s3://bucket/prefix, oss://…, qiniu://…) "
                                              "or a profile name from recshelf.toml.")]
SidOpt = Annotated[str, typer.Option("--sid", help="The recording's sid.")]
UidOpt = Annotated[str | None, typer.Option("--uid", help="Only this uid's recordings (individual mode).")]
PrefixOpt = Annotated[str, typer.Option("--prefix", help="Only under this folder of the store.")]
ForceOpt = Annotated[bool, typer.Option("--force", help="Also recordings that do not verify complete.")]
YesOpt = Annotated[bool, typer.Option("--yes", "-y", help="Apply without asking.")]
DryOpt = Annotated[bool, typer.Option("--dry-run", help="Print the plan; change nothing.")]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print JSON (the plan, and the outcome when applied).")]
DataOpt = Annotated[Path | None, typer.Option("--data", help="Data folder for the journal (default: "
                                                               "$RECSHELF_DATA, \\[server] data, ./recshelf-data).")]


def parse_age(text: str) -> timedelta:
    """'7d', '72h', '30m', '90s', '2w' (a bare number is hours)."""
    from storage.manage.retention import parse_age as parse

    age = parse(text)
    if age is None:
        raise error_exit(f"--older-than {text!r}: use a number with s, m, h, d or w (e.g. 72h, 7d)")
    return age


def _data(given: Path | None) -> Path:
    return settings_or_exit().data_dir(given)


def _human(n: int) -> str:
    from storage.cli.commands.catalog import _human_bytes

    return _human_bytes(n)


def _print_plan(console: Console, plan: Plan, resumed: bool) -> None:
    verb = {"delete": "delete", "move": f"move to {plan.dest}", "clean": "clean up",
            "tier": f"change to class {plan.request.get('class')}", "restore": "restore",
            "repair": "write rebuilt playlist(s):"}[plan.operation]
    head = "resuming an interrupted run: " if resumed else ""
    console.print(f"{head}plan {plan.id}: {verb} {len(plan.objects)} object(s), {_human(plan.total_bytes)} "
                  f"in {plan.store}", highlight=False)
    for rec in plan.recordings:
        who = f" uid {rec.uid} {rec.stream or ''}".rstrip() if rec.uid else ""
        kept = f", class {rec.storage_class}" if rec.storage_class else ""
        console.print(f"  {rec.id} ({rec.cname}{who}): {rec.status}, {rec.objects} object(s), "
                      f"{_human(rec.bytes)}{kept}", highlight=False)
    named = ("orphan_slice", "repaired_playlist")  # objects shown one by one, not only as their recording's count
    loose = [obj for obj in plan.objects if obj.recording is None or obj.reason in named]
    for obj in loose[:20]:
        console.print(f"  {obj.reason or 'object'}: {obj.key} ({_human(obj.size)})", highlight=False)
    if len(loose) > 20:
        console.print(f"  … and {len(loose) - 20} more", highlight=False)
    for warning in plan.warnings:
        console.print(f"  [yellow]warning[/] {warning}", highlight=False)
    for refusal in plan.refusals:
        console.print(f"  [red]refused[/] {refusal}", highlight=False)


def _confirm(plan: Plan, yes: bool) -> None:
    if yes:
        return
    if not sys.stdin.isatty():
        raise error_exit("not applied: no terminal to confirm on; pass --yes (or --dry-run to only see the plan)")
    if not typer.confirm(f"Apply plan {plan.id} ({len(plan.objects)} object(s), {_human(plan.total_bytes)})?"):
        print("nothing changed", file=sys.stderr)
        raise typer.Exit(EXIT_NOT_OK)


def _run(plan: Plan, resumed: bool, *, yes: bool, dry_run: bool, as_json: bool,
         apply: Callable[[Plan], Outcome], data: Path | None = None) -> None:
    console = Console(stderr=as_json, soft_wrap=True)
    _print_plan(console, plan, resumed)
    if plan.refused or dry_run or not plan.objects:
        if as_json:
            print(json.dumps({"plan": plan.to_dict(), "outcome": None}, indent=1))
        raise typer.Exit(EXIT_NOT_OK if plan.refused else 0)
    apply = guard_plan(plan, apply, data)  # the role check (a refusal is audited) and the audit of the run
    _confirm(plan, yes)
    try:
        outcome: Outcome = apply(plan)
    except KeyboardInterrupt:
        console.print("interrupted; run the same command again to resume")
        raise typer.Exit(EXIT_NOT_OK) from None
    except ManageError as exc:
        raise error_exit(str(exc)) from None
    if as_json:
        print(json.dumps({"plan": plan.to_dict(), "outcome": outcome.to_dict()}, indent=1))
    style = "green" if outcome.ok else "red"
    repaired = "written: repaired, the recording verifies complete" if outcome.ok else "written"
    done = {"tier": "changed", "restore": "asked to restore", "repair": repaired}.get(plan.operation, "removed")
    console.print(f"[{style}]{outcome.status}[/]: {outcome.deleted} object(s), {_human(outcome.bytes)} {done}"
                  + (f"; {len(outcome.remaining)} still listed" if outcome.remaining else "")
                  + (f"; {outcome.error}" if outcome.error else ""), highlight=False)
    if not outcome.ok:
        raise typer.Exit(EXIT_NOT_OK)


def _resume_or(data: Path, fresh: Plan) -> tuple[Plan, bool]:
    from storage.manage.apply import pending_plan

    pending = pending_plan(data, fresh)
    return (pending, True) if pending is not None else (fresh, False)


def rm_command(store: StoreArg,
               sid: Annotated[list[str] | None, typer.Option(
                   "--sid", help="The recording's sid; repeat it to delete several recordings in one plan.")] = None,
               sids_from: Annotated[str | None, typer.Option(
                   "--sids-from", metavar="FILE", help="Also the sids in FILE, one a line ('-' reads stdin).")]
               = None,
               channel: Annotated[str | None, typer.Option(
                   "--channel", help="Only recordings of this channel (exact name); alone: every one of it.")]
               = None,
               uid: UidOpt = None, prefix: PrefixOpt = "", force: ForceOpt = False,
               require_copy: Annotated[str | None, typer.Option(
                   "--require-copy", help="Refuse unless a verified complete copy exists in this store.")] = None,
               reverify: Annotated[bool, typer.Option(
                   "--reverify", help="Several recordings: read every playlist, even of recordings the web UI "
                                      "verified for their current listing.")] = False,
               yes: YesOpt = False, dry_run: DryOpt = False, as_json: JsonOpt = False, data: DataOpt = None) -> None:
    """Delete recordings — every playlist variant, slice, failover part and MP4 of each, nothing of any other.

    Several sids (or a channel) are planned from one listing of the prefix and confirmed by one more.
    """
    from storage.cli.rm_many import named_sids, verified_statuses
    from storage.manage.apply import apply_deletes
    from storage.manage.delete import plan_delete
    from storage.manage.selection import plan_delete_many

    sids = named_sids(sid or [], sids_from)
    if not sids and channel is None:
        raise error_exit("name the recordings: --sid SID (repeatable), --sids-from FILE or --channel NAME")
    opened = open_store_or_exit(store)
    copy_store = open_store_or_exit(require_copy) if require_copy else None
    folder = _data(data)
    with fail_on_store_errors():
        if len(sids) == 1 and channel is None:  # one recording: its narrow listings, as it always was
            fresh = plan_delete(opened, sids[0], uid, force=force, require_copy=copy_store, prefix=prefix)
        else:
            known = None if reverify else verified_statuses(store, opened, folder)
            fresh = plan_delete_many(opened, sids, uid=uid, channel=channel, prefix=prefix, force=force,
                                     require_copy=copy_store, known=known)
        plan, resumed = _resume_or(folder, fresh)
        _run(plan, resumed, yes=yes, dry_run=dry_run, as_json=as_json,
             apply=lambda p: apply_deletes(opened, p, folder), data=folder)


def mv_command(store: StoreArg, sid: SidOpt,
               to: Annotated[str, typer.Option("--to", help="Store URL or profile to move the recording to.")],
               uid: UidOpt = None, prefix: PrefixOpt = "", force: ForceOpt = False, yes: YesOpt = False,
               dry_run: DryOpt = False, as_json: JsonOpt = False, data: DataOpt = None) -> None:
    """Move (archive) a recording: copy it, verify the copy complete, only then delete the source."""
    from storage.export.jobs import copy_recordings
    from storage.manage.move import apply_move, plan_move

    opened = open_store_or_exit(store)
    dest = open_store_or_exit(to)
    folder = _data(data)
    with fail_on_store_errors():
        plan, resumed = _resume_or(folder, plan_move(opened, dest, sid, uid, force=force, prefix=prefix))
        _run(plan, resumed, yes=yes, dry_run=dry_run, as_json=as_json,
             apply=lambda p: apply_move(opened, dest, p, folder, copy_recordings), data=folder)


def tier_command(store: StoreArg, sid: SidOpt,
                 storage_class: Annotated[str, typer.Option(
                     "--class", help="The store's own class name: S3 STANDARD_IA, GLACIER_IR, GLACIER, DEEP_ARCHIVE; "
                                     "OSS IA, Archive, ColdArchive; Qiniu low-frequency, archive (or standard).")],
                 uid: UidOpt = None, prefix: PrefixOpt = "", force: ForceOpt = False, yes: YesOpt = False,
                 dry_run: DryOpt = False, as_json: JsonOpt = False, data: DataOpt = None) -> None:
    """Change a recording's storage class in place (cold storage), with the store's own call."""
    from storage.manage.tier import apply_tier, plan_tier

    opened = open_store_or_exit(store)
    folder = _data(data)
    with fail_on_store_errors():
        plan, resumed = _resume_or(folder, plan_tier(opened, sid, uid, storage_class, force=force, prefix=prefix))
        _run(plan, resumed, yes=yes, dry_run=dry_run, as_json=as_json,
             apply=lambda p: apply_tier(opened, p, folder), data=folder)


def restore_command(store: StoreArg, sid: SidOpt, uid: UidOpt = None, prefix: PrefixOpt = "",
                    days: Annotated[int, typer.Option("--days", min=1, help="Days the restored copy stays readable.")]
                    = 7,
                    yes: YesOpt = False, dry_run: DryOpt = False, as_json: JsonOpt = False,
                    data: DataOpt = None) -> None:
    """Start restoring a recording kept in an archive class, so it can be read (the store takes hours)."""
    from storage.manage.tier import apply_restore, plan_restore

    opened = open_store_or_exit(store)
    folder = _data(data)
    with fail_on_store_errors():
        plan, resumed = _resume_or(folder, plan_restore(opened, sid, uid, days=days, prefix=prefix))
        _run(plan, resumed, yes=yes, dry_run=dry_run, as_json=as_json,
             apply=lambda p: apply_restore(opened, p, folder), data=folder)


def repair_command(store: StoreArg, sid: SidOpt, uid: UidOpt = None, prefix: PrefixOpt = "", yes: YesOpt = False,
                   dry_run: DryOpt = False, as_json: JsonOpt = False, data: DataOpt = None) -> None:
    """Rebuild a playlist that never arrived, or leaves out slices Agora delivered later, as a new object."""
    from storage.manage.repair import apply_repair, plan_repair

    opened = open_store_or_exit(store)
    folder = _data(data)
    with fail_on_store_errors():
        plan, resumed = _resume_or(folder, plan_repair(opened, sid, uid, prefix=prefix))
        _run(plan, resumed, yes=yes, dry_run=dry_run, as_json=as_json,
             apply=lambda p: apply_repair(opened, p, folder), data=folder)


def clean_command(store: StoreArg, older_than: Annotated[str, typer.Option(
                      "--older-than", help="Only what is older than this (default 72h: Agora's backup window).")]
                  = "72h",
                  prefix: PrefixOpt = "", yes: YesOpt = False, dry_run: DryOpt = False, as_json: JsonOpt = False,
                  data: DataOpt = None) -> None:
    """Remove orphan slices, recordings whose playlist never arrived, and stale recshelf temp files."""
    from storage.manage.apply import apply_deletes
    from storage.manage.clean import plan_clean

    age = parse_age(older_than)
    opened = open_store_or_exit(store)
    folder = _data(data)
    with fail_on_store_errors():
        plan, resumed = _resume_or(folder, plan_clean(opened, age, prefix))
        _run(plan, resumed, yes=yes, dry_run=dry_run, as_json=as_json,
             apply=lambda p: apply_deletes(opened, p, folder), data=folder)


def du_command(store: StoreArg, by: Annotated[str, typer.Option(
                   "--by", help="Group by channel, day, month, status (reads playlists), class (storage) or uid.")]
               = "channel",
               prefix: PrefixOpt = "", as_json: JsonOpt = False,
               as_csv: Annotated[bool, typer.Option("--csv", help="Print CSV.")] = False) -> None:
    """Storage used: recordings, hours, bytes and slices per group, from one listing."""
    from storage.manage.usage import GROUPINGS, usage

    if by not in GROUPINGS:
        raise error_exit(f"--by {by!r}: use one of {', '.join(GROUPINGS)}")
    opened = open_store_or_exit(store)
    with fail_on_store_errors():
        rows = [row.to_dict() for row in usage(opened, by, prefix)]
    columns = ["group", "recordings", "hours", "bytes", "slices"]
    if as_json:
        print(json.dumps({"store": opened.url, "by": by, "groups": rows}, indent=1))
    elif as_csv:
        writer = csv.DictWriter(sys.stdout, fieldnames=columns, lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)
    else:
        from rich.table import Table

        table = Table(title=f"usage of {opened.url} by {by}")
        for column in columns:
            table.add_column(column, justify="left" if column == "group" else "right")
        for row in rows:
            table.add_row(str(row["group"]), str(row["recordings"]), f"{row['hours']:.2f}", _human(int(row["bytes"])),
                          str(row["slices"]))
        Console(width=None if sys.stdout.isatty() else 200).print(table)


def register(app: typer.Typer) -> None:
    app.command("rm")(rm_command)
    app.command("mv")(mv_command)
    app.command("tier")(tier_command)
    app.command("restore")(restore_command)
    app.command("repair")(repair_command)
    app.command("du")(du_command)
    app.command("clean")(clean_command)

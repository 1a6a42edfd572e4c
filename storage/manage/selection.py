"""Plans for recordings picked one by one (the web UI's selected rows), not named by sid.

`delete.plan_delete` and `move.plan_move` take a sid (and uid) and plan every recording of it; a person
who ticked three rows of a table wants exactly those three. These build the same plans from the
`Recording`s themselves (the catalog's grouping, so never a key of another recording), through the same
`delete.fill`, and are applied by the same `apply.apply_deletes` / `move.apply_move`.

* One delete plan for the whole selection: its request names the recordings' ids, so a re-run of the
  same selection resumes an interrupted one.
* One move plan per recording: `move.apply_move` re-selects a plan's recordings by its request's sid,
  uid and prefix before copying, so each plan names one recording (its folder as the prefix).
* One delete plan for many sids (or a channel), `recshelf rm --sid A --sid B` / `--sids-from`: ONE listing
  of the prefix, grouped by the catalog (narrow listings per sid would cost several requests each), and
  apply confirms with one listing of the prefix too (`Plan.confirm_prefix`).
"""

from __future__ import annotations

import re
from collections.abc import Collection, Iterable, Sequence

from storage.manage.delete import KnownStatus, copy_problems, fill
from storage.manage.plan import Plan
from storage.media.naming import split_key
from storage.recordings.catalog import Recording, group, iter_find
from storage.stores.base import ObjectInfo, ObjectStore

_FAILOVER = re.compile(r"bak[0-9]+_([^_]+)_")  # a failover part's name: bak<n>_<sid>_…


def select_many(store: ObjectStore, sids: Collection[str], *, prefix: str = "", uid: str | None = None,
                channel: str | None = None) -> list[Recording]:
    """The recordings of any of `sids` (all sids when empty), of `channel` and `uid` when given, under
    `prefix` in any folder, from one listing of `prefix`.

    Objects whose name cannot be of a wanted sid are dropped before grouping, so memory follows the
    selected recordings, not the prefix. That is only a first cut (the sid is the name's first token,
    after any bak<n>_); membership comes from the catalog's grouping and exact key comparison, never from
    prefix matching, so sid `ab12` never takes an object of `ab123`.
    """
    wanted = set(sids)
    if wanted:
        found: Iterable[Recording] = group(obj for obj in store.list(prefix) if _sid_of(obj) in wanted)
    else:  # a channel: streamed folder by folder (a channel name does not start its object names); a flat
        # prefix costs one more narrow listing there, of its bak<n>_ failover parts
        found = iter_find(store, prefix, cname=channel)
    return [rec for rec in found if (not wanted or rec.key.sid in wanted)
            and (channel is None or rec.key.cname == channel) and (uid is None or rec.key.uid == uid)]


def plan_delete_many(store: ObjectStore, sids: Collection[str], *, uid: str | None = None,
                     channel: str | None = None, prefix: str = "", force: bool = False,
                     require_copy: ObjectStore | None = None, known: KnownStatus | None = None) -> Plan:
    """Delete every recording of these sids (or of `channel`); a sid or channel that matches nothing is refused.

    `known` gives the status of recordings verified for this very listing already (their playlists are
    then not read again).
    """
    wanted = sorted(set(sids))
    request = {"sids": wanted, "channel": channel, "uid": uid, "prefix": prefix, "force": force,
               "require_copy": require_copy.url if require_copy is not None else None}
    plan = Plan("delete", store.url, request, confirm_prefix=prefix)
    recordings = select_many(store, wanted, prefix=prefix, uid=uid, channel=channel)
    where = "".join([f" uid {uid}" if uid else "", f" in channel {channel!r}" if channel else "",
                     f" under {prefix!r}" if prefix else "", f" in {store.url}"])
    found = {rec.key.sid for rec in recordings}
    plan.refusals += [f"no recording of sid {sid}{where}" for sid in wanted if sid not in found]
    if not wanted and not recordings:
        plan.refusals.append(f"no recording{where}")
    if recordings:
        fill(plan, store, recordings, force=force, known=known)
    if require_copy is not None:
        plan.refusals += copy_problems(require_copy, plan.recordings, plan.objects)
    return plan


def _sid_of(obj: ObjectInfo) -> str:
    name = split_key(obj.key)[1]
    failover = _FAILOVER.match(name)
    return failover.group(1) if failover else name.split("_", 1)[0]


def plan_delete_selected(store: ObjectStore, recordings: Sequence[Recording], *, force: bool = False) -> Plan:
    """Delete exactly `recordings` (every object of each); not-complete ones are refused unless `force`."""
    request = {"recordings": sorted({rec.id for rec in recordings}), "force": force}
    plan = Plan("delete", store.url, request)
    fill(plan, store, _unique(recordings), force=force)
    return plan


def plan_move_selected(store: ObjectStore, dest: ObjectStore, recordings: Sequence[Recording], *,
                       force: bool = False) -> list[Plan]:
    """One move plan per recording (copy, verify the copy, then delete the source), in the given order."""
    plans = []
    for rec in _unique(recordings):
        request = {"sid": rec.key.sid, "uid": rec.key.uid, "prefix": rec.folder, "force": force, "to": dest.url,
                   "recordings": [rec.id]}
        plan = Plan("move", store.url, request, dest=dest.url)
        if dest.url == store.url:
            plan.refusals.append("the destination is the source store itself; a move needs another store")
        else:
            fill(plan, store, [rec], force=force)
        plans.append(plan)
    return plans


def _unique(recordings: Sequence[Recording]) -> list[Recording]:
    # A recording picked twice (two table rows of one uid, say) is planned once.
    return list({rec.id: rec for rec in recordings}.values())

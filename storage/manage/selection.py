"""Plans for recordings picked one by one (the web UI's selected rows), not named by sid.

`delete.plan_delete` and `move.plan_move` take a sid (and uid) and plan every recording of it; a person
who ticked three rows of a table wants exactly those three. These build the same plans from the
`Recording`s themselves (the catalog's grouping, so never a key of another recording), through the same
`delete.fill`, and are applied by the same `apply.apply_deletes` / `move.apply_move`.

* One delete plan for the whole selection: its request names the recordings' ids, so a re-run of the
  same selection resumes an interrupted one.
* One move plan per recording: `move.apply_move` re-selects a plan's recordings by its request's sid,
  uid and prefix before copying, so each plan names one recording (its folder as the prefix).
"""

from __future__ import annotations

from collections.abc import Sequence

from storage.manage.delete import fill
from storage.manage.plan import Plan
from storage.recordings.catalog import Recording
from storage.stores.base import ObjectStore


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

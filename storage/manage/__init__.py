"""Manage recordings: delete, move/archive, usage and clean-up, each as plan → apply (DESIGN.md "manage").

* `delete.plan_delete`, `move.plan_move`, `clean.plan_clean` build a `plan.Plan`: exactly the objects and
  bytes an operation will touch, shown before anything changes.
* `apply.apply_deletes` (delete, clean) and `move.apply_move` carry out that plan, journaling each step in
  `<data dir>/journal/<plan id>.jsonl` (journal.py) so an interrupted run resumes where it stopped.
* `usage.usage` sums recordings, hours, bytes and slices per group from one listing.
"""

"""The MP4 of `avFileType: ["hls", "mp4"]`: each part's slices remuxed (PyAV, no re-encode) at exit."""

from __future__ import annotations

import tempfile
from collections.abc import Callable

from storage.demo.simulator.session import Task
from storage.media.naming import mp4_name


def write_mp4s(task: Task, write: Callable[[Task, str, bytes], bool]) -> None:
    """`<sid>_<cname>_0.mp4` per part, remuxed from the slices (Agora rolls over after ~2 h; we never do)."""
    from storage.export.mp4 import TrackSlice, remux_to_mp4  # the export engine: only MP4 tasks need it

    for track in task.tracks:
        for part, datas in track.media.items():
            name = mp4_name(track.key, 0, part)
            with tempfile.TemporaryDirectory(prefix="recshelf-sim-") as tmp:
                path = f"{tmp}/{name}"
                remux_to_mp4([[TrackSlice(d) for d in datas]], path)
                with open(path, "rb") as f:
                    written = write(task, task.storage.prefix_path + name, f.read())
            if written:
                track.mp4s.append(name)

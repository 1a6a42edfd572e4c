"""A local, Agora-compatible Cloud Recording service that records for real (reference/agora.md §1–§4).

`AgoraSimulator` (state.py) answers acquire → start → query / update / updateLayout → stop with
Agora's status codes; between start and stop a recorder thread per task (recorder.py) makes
synthetic H.264/AAC slices (`storage.demo.synth`), names them as Agora does (`storage.media.naming`),
uploads them through recshelf's store adapters to the store `storageConfig` names, and sends signed
NCS callbacks (`storage.agora.sender`). With `avFileType: ["hls", "mp4"]` (mix / web) an MP4 per
part is remuxed at exit (remux.py). Faults are injected per start or per call (faults.py).

Importing this package loads PyAV and numpy (the `demo` extra): the server and CLI import it only
when the simulator is enabled or `recshelf demo` runs.
"""

from storage.demo.simulator.errors import SimulatorError
from storage.demo.simulator.faults import FAULTS_FIELD, NO_PUBLISHER_CNAME_PREFIX, Faults
from storage.demo.simulator.session import Task
from storage.demo.simulator.settings import SimulatorSettings, StoreResolver
from storage.demo.simulator.state import AgoraSimulator

__all__ = [
    "FAULTS_FIELD",
    "NO_PUBLISHER_CNAME_PREFIX",
    "AgoraSimulator",
    "Faults",
    "SimulatorError",
    "SimulatorSettings",
    "StoreResolver",
    "Task",
]

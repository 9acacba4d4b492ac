"""Import Rasa's NLU components without TensorFlow (issue 17: cold start and memory).

Our pipeline (nlu/config.yml) has no TensorFlow component, yet importing its components pulls
TensorFlow in (about 5 s of CPU and 300 MB): every component module imports Rasa's default
recipe, whose policies import `rasa.nlu.extractors.extractor` → `rasa.utils.train_utils`, which
imports the TensorFlow training callbacks and batch generator at module level; and the CRF
extractor imports `rasa.nlu.test` (for one function used in training), which imports
`rasa.core.agent` and Rasa's whole server stack; and `rasa.core.channels` imports the client
library of every input channel Rasa has. None of these is used to predict.

`deferred_training_imports()` puts a stand-in module under those four names while the
components are imported, and removes the stand-ins afterwards, so a later real import (training
in the same process, `rasa test`) loads the real modules as usual. A name taken from a stand-in
(`from rasa.utils.tensorflow.callback import RasaTrainingLogger`) is a small class: calling it
(building a callback, calling `determine_token_labels`) imports the real module and returns what
the real name returns. It is a type, so annotations such as `Optional[RasaBatchDataGenerator]`
still evaluate. Nothing in site-packages is changed.

Used only when every component of the model is in `nlu.pipeline.LEAN_COMPONENTS`; a pipeline
with a TensorFlow component (DIET) imports everything as Rasa does.
"""

from __future__ import annotations

import importlib
import importlib.util
import sys
import threading
import types
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

DEFERRED = (
    "rasa.utils.tensorflow.callback",  # training callbacks: imports tensorflow
    "rasa.utils.tensorflow.data_generator",  # training batches: imports tensorflow.keras
    "rasa.nlu.test",  # evaluation: imports rasa.core.agent (TensorFlow, sanic, channels)
    "rasa.core.channels",  # every input channel's web client (aiogram, socketio, slack...)
)
CHANNEL = "rasa.core.channels.channel"  # the package's own classes (UserMessage...) live here
_LOCK = threading.Lock()


class _StandIn(types.ModuleType):
    """Stands for a module while the components are imported: every public name is a
    deferred class (`_deferred`)."""

    def __getattr__(self, name: str) -> Any:
        if name.startswith("__"):
            raise AttributeError(name)
        return _deferred(self.__name__, name)


class _PackageStandIn(_StandIn):
    """Stands for `rasa.core.channels`, whose __init__ imports every channel's client library
    (0.7 s) to list them: its submodules still load from the real directory, and the names
    the engine takes from the package (UserMessage in the graph's placeholder types) are the
    real classes of its `channel` module, so a later training validates the same types."""

    def __getattr__(self, name: str) -> Any:
        if name.startswith("__"):
            raise AttributeError(name)
        channel = importlib.import_module(CHANNEL)
        if hasattr(channel, name):
            return getattr(channel, name)
        return _deferred(self.__name__, name)


def _stand_in(name: str) -> _StandIn:
    if name != "rasa.core.channels":
        return _StandIn(name)
    spec = importlib.util.find_spec(name)
    package = _PackageStandIn(name)
    package.__path__ = list(spec.submodule_search_locations or []) if spec else []
    return package


def _deferred(module: str, name: str) -> type:
    """A class whose call imports the real `module` and returns `module.name(...)`."""

    def __new__(cls: type, *args: Any, **kwargs: Any) -> Any:
        return getattr(real_module(module), name)(*args, **kwargs)

    return type(name, (), {"__new__": __new__, "__module__": module,
                           "__doc__": f"{module}.{name}, imported when first called"})


def real_module(name: str) -> types.ModuleType:
    """The real module, even if a stand-in is installed at this moment."""
    with _LOCK:
        if isinstance(sys.modules.get(name), _StandIn):
            del sys.modules[name]
    return importlib.import_module(name)


@contextmanager
def deferred_training_imports() -> Iterator[list[str]]:
    """Within this block, the modules of `DEFERRED` not imported yet are stand-ins. Yields the
    names it stood in for (none when `rasa.utils.train_utils` is already imported: then
    TensorFlow is too and there is nothing to save)."""
    installed: list[str] = []
    with _LOCK:
        if "rasa.utils.train_utils" not in sys.modules:
            for name in DEFERRED:
                if name not in sys.modules:
                    sys.modules[name] = _stand_in(name)
                    installed.append(name)
    try:
        yield installed
    finally:
        with _LOCK:
            for name in installed:
                if isinstance(sys.modules.get(name), _StandIn):
                    del sys.modules[name]

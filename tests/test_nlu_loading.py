"""Loading the model without Rasa's Agent (nlu/pipeline.py) and without TensorFlow
(nlu/lean_imports.py), issue 17: the same answers as Rasa's own parse, nothing heavy imported,
the stand-ins gone once the components are loaded, the CRF taggers cached between loads."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path
from typing import Any

import pytest

from nlu.engine import cache_dir, model_path
from tests.test_nlu import heldout_examples

ROOT = Path(__file__).resolve().parent.parent
TEXTS = 60  # held-out texts compared with Rasa's Agent (both languages, mixed)


def _texts() -> list[str]:
    examples = heldout_examples()
    step = max(1, len(examples) // TEXTS)
    return [*[ex["text"] for ex in examples[::step]][:TEXTS], "/ស្នើសុំសំបុត្រកំណើត", "x" * 50,
            "how much is a birth certificate in Kampong Cham"]


def _as_json(parsed: dict[str, Any]) -> Any:
    return json.loads(json.dumps(parsed, default=float, sort_keys=True))


RASA_AGENT = """
import json, sys
from nlu.engine import _quiet_rasa, _load_agent, _parse_in_thread
_quiet_rasa()
agent = _load_agent(__import__("pathlib").Path(sys.argv[1]))
texts = json.loads(sys.stdin.read())
print(json.dumps([_parse_in_thread(agent, text) for text in texts], default=float))
"""


def test_the_pipeline_answers_exactly_as_rasa_agent(tmp_path: Path) -> None:
    """Every field of Rasa's parse dict (intent, ranking, entities with their confidences,
    tokens), for a first load (CRFs trained, then cached) and a second (CRFs from the cache)."""
    from nlu.engine import LocalNlu, _parse_in_thread

    model = tmp_path / model_path(ROOT / "models").name
    shutil.copyfile(model_path(ROOT / "models"), model)
    texts = _texts()
    rasa = subprocess.run([sys.executable, "-c", RASA_AGENT, str(model)], cwd=ROOT,
                          input=json.dumps(texts), capture_output=True, text=True, check=True)
    expected = json.loads(rasa.stdout.strip().splitlines()[-1])
    first = LocalNlu.load(model)
    assert first.agent.lean and list(cache_dir(model).glob("crf-*.crfsuite"))
    second = LocalNlu.load(model)
    for nlu in (first, second):
        got = [_as_json(_parse_in_thread(nlu.agent, text)) for text in texts]
        assert got == [_as_json(parsed) for parsed in expected]


LEAN_PROCESS = """
import json, sys, typing
from pathlib import Path
from nlu.engine import load_local
nlu = load_local(Path(sys.argv[1]))
heavy = [m for m in ("tensorflow", "rasa.core.agent", "skops.io", "aiogram", "socketio",
                     "rasa.nlu.test", "rasa.utils.tensorflow.callback") if m in sys.modules]
from nlu.lean_imports import _StandIn
stand_ins = [n for n, m in sys.modules.items() if isinstance(m, _StandIn)]
# the names taken from stand-ins reach the real modules when used
from rasa.engine.constants import RESERVED_PLACEHOLDERS
from rasa.core.channels.channel import UserMessage
same_types = RESERVED_PLACEHOLDERS["__message__"] == typing.List[UserMessage]
from rasa.nlu.extractors import crf_entity_extractor
from rasa.nlu.tokenizers.tokenizer import Token
token = Token("Takeo", 0)
label = crf_entity_extractor.determine_token_labels(token, [], attribute_key="entity")
import rasa.nlu.test, rasa.core.channels, rasa.utils.tensorflow.callback
print(json.dumps({"lean": nlu.agent.lean, "heavy": heavy, "stand_ins": stand_ins,
                  "same_types": same_types, "label": label,
                  "real_label": rasa.nlu.test.determine_token_labels(token, [], None, "entity"),
                  "channels": hasattr(rasa.core.channels, "TelegramInput"),
                  "callback": hasattr(rasa.utils.tensorflow.callback, "RasaModelCheckpoint")}))
"""


def test_loading_imports_no_tensorflow_and_leaves_the_real_modules_importable() -> None:
    """A fresh process loads the model without TensorFlow, skops, Rasa's agent or the
    channels' clients; afterwards no stand-in is left, the graph's placeholder type is the real
    UserMessage (a later training validates against it), and a name the CRF took from a
    stand-in calls the real function."""
    done = subprocess.run([sys.executable, "-c", LEAN_PROCESS, str(ROOT / "models")],
                          cwd=ROOT, capture_output=True, text=True, check=True)
    found = json.loads(done.stdout.strip().splitlines()[-1])
    assert found["lean"] is True
    assert found["heavy"] == [] and found["stand_ins"] == []
    assert found["same_types"] is True
    assert found["label"] == found["real_label"] == "O"
    assert found["channels"] is True and found["callback"] is True


def _skops(path: Path, schema: dict[str, Any]) -> Path:
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("schema.json", json.dumps(schema))
    return path


@pytest.mark.parametrize("schema", [
    {"__class__": "SVC", "__module__": "sklearn.svm._classes", "__loader__": "ObjectNode",
     "protocol": 1, "content": {"__loader__": "DictNode", "content": {}}},
    {"__class__": "LogisticRegression", "__module__": "sklearn.linear_model._logistic",
     "__loader__": "ObjectNode", "protocol": 1,
     "content": {"__loader__": "DictNode", "content": {
         "C": {"__loader__": "JsonNode", "content": "1.0"},
         "coef_": {"__loader__": "ObjectNode", "__class__": "Evil", "content": {}}}}},
    {"__class__": "LogisticRegression", "__module__": "sklearn.linear_model._logistic",
     "__loader__": "ObjectNode", "protocol": 1,
     "content": {"__loader__": "DictNode", "content": {
         "C": {"__loader__": "JsonNode", "content": "1.0"}}}},  # no fitted arrays
])
def test_anything_but_a_plain_logistic_regression_is_left_to_skops(
        tmp_path: Path, schema: dict[str, Any]) -> None:
    from nlu.pipeline import read_logistic_regression

    assert read_logistic_regression(_skops(tmp_path / "model.skops", schema)) is None
    assert read_logistic_regression(tmp_path / "missing.skops") is None


def test_a_graph_that_is_not_a_chain_is_left_to_rasa() -> None:
    from nlu.pipeline import CONVERTER, _chain

    chain = {"convert": {"uses": CONVERTER, "needs": {"messages": "__message__"}},
             "tokens": {"uses": "x.Tokenizer", "needs": {"messages": "convert"}},
             "intents": {"uses": "x.Classifier", "needs": {"messages": "tokens"}}}
    assert _chain(chain, "intents") == ["convert", "tokens", "intents"]
    two_inputs = {**chain, "intents": {"uses": "x.Classifier",
                                       "needs": {"messages": "tokens", "domain": "domain"}}}
    assert _chain(two_inputs, "intents") is None
    assert _chain({**chain, "convert": {"uses": "x.Other", "needs": {
        "messages": "__message__"}}}, "intents") is None

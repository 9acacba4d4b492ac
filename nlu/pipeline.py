"""The trained model's components, loaded and run in order without Rasa's Agent (issue 17).

Rasa's `Agent.load` imports `rasa.core.agent` (TensorFlow, sanic, every channel) and wraps each
parse in a dialogue tracker, a Dask-style graph run and debug logging whose arguments are
deep-copied even when the log is off: 7 ms of CPU per parse for a logistic regression and a
CRF. An NLU predict graph is a chain (message → tokenizer → featurizers → classifier →
extractors → our canonicalizer → the "/intent" handler), so this module builds the same
components from the same model archive, with the same constructors and configuration as
Rasa's `GraphNode`, and calls their `process` one after the other on a `Message`; the result is
the dict `MessageProcessor.parse_message` returns (tests/test_nlu.py compares the two).

Two costs more are avoided, since the pipeline has no TensorFlow component (`LEAN_COMPONENTS`):
TensorFlow itself (nlu/lean_imports.py) and skops, whose import walks every estimator of
scikit-learn (2.5 s) to build its list of trusted types: our logistic regression is read from
its .skops file by `read_logistic_regression`, which accepts only that estimator's plain
parameters and numeric or text arrays (no pickle, nothing else built) and otherwise leaves the
file to skops. A graph that is not such a chain, or has another component (DIET), returns None:
the caller loads it with Rasa's Agent as before.
"""

from __future__ import annotations

import dataclasses
import hashlib
import io
import json
import logging
import os
import shutil
import tempfile
import uuid
import zipfile
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from nlu.lean_imports import deferred_training_imports

log = logging.getLogger(__name__)

CONVERTER = "rasa.graph_components.converters.nlu_message_converter.NLUMessageConverter"
LR = "rasa.nlu.classifiers.logistic_regression_classifier.LogisticRegressionClassifier"
CRF = "rasa.nlu.extractors.crf_entity_extractor.CRFEntityExtractor"
LEAN_COMPONENTS = frozenset({
    CONVERTER, LR,
    "nlu.components.KhmerTokenizer",
    "nlu.components.EntityCanonicalizer",
    "rasa.nlu.featurizers.sparse_featurizer.regex_featurizer.RegexFeaturizer",
    "rasa.nlu.featurizers.sparse_featurizer.lexical_syntactic_featurizer."
    "LexicalSyntacticFeaturizer",
    "rasa.nlu.featurizers.sparse_featurizer.count_vectors_featurizer.CountVectorsFeaturizer",
    CRF,
    "rasa.nlu.classifiers.regex_message_handler.RegexMessageHandler",
})


@dataclass
class Pipeline:
    """The predict graph's components in order; `parse` is Rasa's parse without the Agent."""

    steps: list[tuple[str, Any, Callable[[list[Any]], list[Any]]]]  # node, component, fn
    lean: bool  # loaded without TensorFlow and skops

    @property
    def components(self) -> list[Any]:
        return [component for _, component, _ in self.steps]

    def parse(self, text: str) -> dict[str, Any]:
        from rasa.shared.nlu.constants import TEXT, TEXT_TOKENS
        from rasa.shared.nlu.training_data.message import Message

        # what NLUMessageConverter makes of a UserMessage
        messages = [Message(data={TEXT: text, "message_id": uuid.uuid4().hex,
                                  "metadata": None}, output_properties={TEXT_TOKENS})]
        for _, _, run in self.steps:
            messages = run(messages)
        parsed: dict[str, Any] = {"text": "", "intent": {"name": None, "confidence": 0.0},
                                  "entities": []}
        parsed.update(messages[0].as_dict(only_output_properties=True))
        return parsed


def _chain(schema: dict[str, Any], target: str) -> list[str] | None:
    """The nodes from the converter to `target` if each needs only the previous one's
    messages (the first the user message), else None."""
    order = [target]
    while True:
        node = schema.get(order[-1])
        if node is None or set(node.get("needs", {})) != {"messages"}:
            return None
        parent = node["needs"]["messages"]
        if parent == "__message__":
            break
        if parent in order:
            return None
        order.append(parent)
    order.reverse()
    if schema[order[0]]["uses"] != CONVERTER:
        return None
    return order


def load_pipeline(archive: Path, cache: Path | None = None) -> Pipeline | None:
    """The components of the model at `archive`, or None when its predict graph is not a
    chain of `LEAN_COMPONENTS` (the caller then uses Rasa's Agent). Only the predict graph's
    classes are imported (Rasa's own loading imports the training graph's too: DIET, hence
    TensorFlow, for the default recipe's validator). `cache`: a directory for the trained CRF
    taggers (`_crf_extractor`), None to train them at every load as Rasa does."""
    from tarsafe import TarSafe  # Rasa's own safe extraction (no paths out of the directory)

    with tempfile.TemporaryDirectory(prefix="isafbot-nlu-") as unpacked:
        with TarSafe.open(archive, mode="r:gz") as tar:
            tar.extractall(unpacked)
        metadata = Path(unpacked) / "metadata.json"
        if not metadata.is_file():
            return None
        raw = json.loads(metadata.read_text(encoding="utf-8"))
        schema, target = raw["predict_schema"]["nodes"], raw.get("nlu_target")
        order = _chain(schema, target) if target else None
        if order is None:
            return None
        lean = all(schema[name]["uses"] in LEAN_COMPONENTS for name in order)
        if not lean:  # a TensorFlow pipeline (bench/configs): Rasa's own loading, as before
            return None
        with deferred_training_imports():
            from rasa.engine.graph import ExecutionContext, GraphSchema
            from rasa.engine.storage.local_model_storage import LocalModelStorage

            predict = GraphSchema.from_dict(raw["predict_schema"])
            storage = LocalModelStorage(Path(unpacked) / "components")
            context = ExecutionContext(graph_schema=predict, model_id=raw.get("model_id"))
            steps = [_build(name, predict.nodes[name], storage, context, lean, cache)
                     for name in order[1:]]
    return Pipeline(steps, lean)


def _build(name: str, node: Any, storage: Any, context: Any, lean: bool, cache: Path | None
           ) -> tuple[str, Any, Callable[[list[Any]], list[Any]]]:
    """One component, made as Rasa's GraphNode makes it (defaults overridden by the node's
    config, the node's resource, the context named after the node), and the function to run."""
    from rasa.engine.storage.resource import Resource
    from rasa.utils.common import override_defaults

    cls = node.uses
    kind = f"{cls.__module__}.{cls.__name__}"
    config = override_defaults(cls.get_default_config(), node.config)
    resource = node.resource or Resource(name)
    context = dataclasses.replace(context, node_name=name)
    component = None
    if lean and kind == LR and node.resource:
        with storage.read_from(resource) as directory:
            classifier = read_logistic_regression(directory / f"{resource.name}.skops")
        if classifier is not None:
            component = cls(config, name, storage, resource)
            component.clf = classifier
            return name, component, _intents(component)
    if lean and kind == CRF and node.resource and cache is not None:
        component = _crf_extractor(cls, config, storage, resource, cache)
    if component is None:
        component = getattr(cls, node.constructor_name)(
            config=config, model_storage=storage, resource=resource, execution_context=context)
    return name, component, getattr(component, node.fn)


def _intents(component: Any) -> Callable[[list[Any]], list[Any]]:
    """LogisticRegressionClassifier.process, reading only the sentence features it uses:
    Rasa's `_create_X` also combines every token's features (deep copies and sparse stacks:
    2 of its 3 ms) and then drops them. Same matrix, same classifier, same ranking."""
    from rasa.shared.nlu.constants import FEATURE_TYPE_SENTENCE, TEXT
    from rasa.utils.tensorflow.constants import RANKING_LENGTH
    from scipy.sparse import hstack

    def process(messages: list[Any]) -> list[Any]:
        for message in messages:
            sentence = [f for f in message.features
                        if f.attribute == TEXT and f.type == FEATURE_TYPE_SENTENCE]
            if not sentence or not all(f.is_sparse() for f in sentence):
                component.process([message])  # dense features: Rasa's own way
                continue
            probabilities = component.clf.predict_proba(
                hstack([f.features for f in sentence], format="csr"))[0]
            ranking = sorted(({"name": name, "confidence": confidence} for name, confidence
                              in zip(component.clf.classes_, probabilities, strict=True)),
                             key=lambda e: -e["confidence"])
            intent = ranking[0]
            if component.config[RANKING_LENGTH] > 0:
                ranking = ranking[: component.config[RANKING_LENGTH]]
            message.set("intent", intent, add_to_output=True)
            message.set("intent_ranking", ranking, add_to_output=True)
        return messages

    return process


def _crf_extractor(cls: Any, config: dict[str, Any], storage: Any, resource: Any,
                   cache: Path) -> Any:
    """CRFEntityExtractor.load without training its CRFs at every load: Rasa 3.6 stores the
    training set in the model and trains the taggers again each time it loads (1.5 to 3 s).
    Trained once, the taggers' model files are kept in `cache` under a digest of what shapes
    them (training set, order, configuration, library versions); a later load opens them."""
    from importlib.metadata import version

    import sklearn_crfsuite
    from rasa.nlu.extractors.crf_entity_extractor import CRFToken

    with storage.read_from(resource) as directory:
        dataset = (directory / "crf_dataset.json").read_bytes()
        order_json = (directory / "crf_order.json").read_bytes()
    digest = hashlib.sha256(dataset + order_json)
    digest.update(json.dumps(config, sort_keys=True, default=str).encode())
    for package in ("sklearn-crfsuite", "python-crfsuite"):
        digest.update(f"{package}=={version(package)}".encode())
    order = json.loads(order_json)
    files = {tag: cache / f"crf-{digest.hexdigest()[:20]}-{tag}.crfsuite" for tag in order}
    if all(path.is_file() for path in files.values()):
        taggers = OrderedDict((tag, sklearn_crfsuite.CRF(model_filename=str(files[tag])))
                              for tag in order)
    else:
        sentences = [[CRFToken.create_from_dict(token) for token in sentence]
                     for sentence in json.loads(dataset)]
        taggers = cls.train_model(sentences, config, order)
        try:
            cache.mkdir(parents=True, exist_ok=True)
            for tag, tagger in taggers.items():
                partial = files[tag].with_suffix(f".{os.getpid()}.part")
                shutil.copyfile(tagger.modelfile.name, partial)
                os.replace(partial, files[tag])
        except OSError as error:  # a read-only model directory: train at every load
            log.info("CRF taggers not cached in %s: %s", cache, error)
    extractor = cls(config, storage, resource, taggers)
    extractor.crf_order = order
    return extractor


_LR_PARAMS = {"penalty", "dual", "tol", "C", "fit_intercept", "intercept_scaling",
              "class_weight", "random_state", "solver", "max_iter", "multi_class", "verbose",
              "warm_start", "n_jobs", "l1_ratio", "n_features_in_", "_sklearn_version"}
_LR_ARRAYS = {"classes_", "n_iter_", "coef_", "intercept_"}


def read_logistic_regression(path: Path) -> Any | None:
    """A LogisticRegression from a .skops file (skops' format, protocol 1) when the file holds
    exactly that: JSON parameters and numpy arrays of numbers or text. None for anything else,
    which skops then reads with its own checks."""
    try:
        with zipfile.ZipFile(path) as archive:
            schema = json.loads(archive.read("schema.json"))
            if (schema.get("__class__"), schema.get("__module__"), schema.get("__loader__"),
                    schema.get("protocol")) != ("LogisticRegression",
                                                "sklearn.linear_model._logistic",
                                                "ObjectNode", 1):
                return None
            content = schema["content"]
            if content.get("__loader__") != "DictNode":
                return None
            state: dict[str, Any] = {}
            for key, value in content["content"].items():
                if key in _LR_PARAMS and value.get("__loader__") == "JsonNode":
                    state[key] = json.loads(value["content"])
                elif (key in _LR_ARRAYS and value.get("__loader__") == "NdArrayNode"
                      and value.get("type") == "numpy"):
                    array = np.load(io.BytesIO(archive.read(value["file"])),
                                    allow_pickle=False)
                    if array.dtype.kind not in "iufU":
                        return None
                    state[key] = array
                else:
                    return None
    except (KeyError, ValueError, OSError, zipfile.BadZipFile):
        return None
    if not set(state) >= _LR_ARRAYS:
        return None
    from sklearn.linear_model import LogisticRegression

    classifier = LogisticRegression.__new__(LogisticRegression)
    classifier.__setstate__(state)  # as skops does: BaseEstimator checks _sklearn_version
    return classifier

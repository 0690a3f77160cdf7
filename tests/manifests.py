"""Reading the rendered manifests and the schemas in ../shared/schemas/ they must satisfy."""

from __future__ import annotations

import copy
import functools
import json
from pathlib import Path

import yaml

from local.services import ROOT

SCHEMAS = ROOT.parent / "shared" / "schemas"
CRDS = {
    ("serving.knative.dev", "Service"): "knative/serving-service.yaml",
    ("eventing.knative.dev", "Broker"): "knative/eventing-broker.yaml",
    ("eventing.knative.dev", "Trigger"): "knative/eventing-trigger.yaml",
    ("sources.knative.dev", "PingSource"): "knative/eventing-pingsource.yaml",
    ("sources.knative.dev", "SinkBinding"): "knative/eventing-sinkbindings.yaml",
    ("eventing.knative.dev", "EventPolicy"): "knative/eventing-eventpolicy.yaml",
}
MAPPING_SCHEMA = "emissary/mapping-v3alpha1.schema.yaml"


def documents() -> list[tuple[Path, dict]]:
    """Every object in every rendered manifest, with its file."""
    found = []
    for path in sorted((ROOT / "knative").rglob("*.yaml")):
        if path.name == "kustomization.yaml":
            continue
        for document in yaml.safe_load_all(path.read_text()):
            if document:
                found.append((path, document))
    return found


def strict(schema: dict) -> dict:
    """An OpenAPI v3 structural schema as JSON Schema that refuses unknown fields, the way
    the API server prunes them: objects with `properties` and no preserve-unknown-fields
    get additionalProperties: false. int-or-string and nullable become JSON Schema too."""
    schema = copy.deepcopy(schema)

    def walk(node):
        if isinstance(node, list):
            return [walk(item) for item in node]
        if not isinstance(node, dict):
            return node
        node = {key: walk(value) for key, value in node.items()}
        if node.pop("x-kubernetes-int-or-string", False):
            node.pop("type", None)
            node["anyOf"] = [{"type": "integer"}, {"type": "string"}]
        if node.pop("nullable", False) and "type" in node:
            node["type"] = [node["type"], "null"]
        preserve = node.pop("x-kubernetes-preserve-unknown-fields", False)
        if "properties" in node and not preserve and "additionalProperties" not in node:
            node["additionalProperties"] = False
        for key in [k for k in node if k.startswith("x-kubernetes-")]:
            node.pop(key)
        return node

    return walk(schema)


@functools.cache
def crd_schema(group: str, kind: str, version: str) -> dict:
    crd = yaml.safe_load((SCHEMAS / CRDS[(group, kind)]).read_text())
    [entry] = [v for v in crd["spec"]["versions"] if v["name"] == version]
    schema = strict(entry["schema"]["openAPIV3Schema"])
    # The API server accepts the object's own envelope whether or not a CRD spells it out.
    for field, kind in (("apiVersion", "string"), ("kind", "string"), ("metadata", "object")):
        schema.setdefault("properties", {}).setdefault(field, {"type": kind})
    return schema


@functools.cache
def mapping_schema() -> dict:
    return strict(yaml.safe_load((SCHEMAS / MAPPING_SCHEMA).read_text())["openAPIV3Schema"])


@functools.cache
def func_schema() -> dict:
    return strict(json.loads((SCHEMAS / "knative" / "func_yaml-schema.json").read_text()))

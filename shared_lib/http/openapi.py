"""The OpenAPI 3.1 document, built from the catalog and the pydantic models it names."""

from __future__ import annotations

from typing import Any

from pydantic.json_schema import models_json_schema

from shared_lib.catalog import HTTP, FunctionSpec

ERROR_SCHEMA = {
    "type": "object",
    "required": ["error"],
    "properties": {
        "error": {
            "type": "object",
            "required": ["code", "message", "details"],
            "properties": {
                "code": {"type": "string"},
                "message": {"type": "string"},
                "details": {"type": "array", "items": {}},
            },
        }
    },
}


def _ref(model: Any) -> dict[str, Any]:
    return {"$ref": f"#/components/schemas/{model.__name__}"}


# What an event stream takes to resume (shared_lib/http/sse.py).
RESUME = {"type": "string", "maxLength": 64}
STREAM_PARAMETERS = [
    {"name": "Last-Event-ID", "in": "header", "required": False, "schema": RESUME,
     "description": "resume after this event (a reconnecting EventSource sends it)"},
    {"name": "last_event_id", "in": "query", "required": False, "schema": RESUME,
     "description": "the same, for a first connection (e.g. the history's last_event_id)"},
]


def _parameters(spec: FunctionSpec) -> list[dict[str, Any]]:
    params = [
        {"name": name, "in": "path", "required": True, "schema": {"type": "string"}}
        for name in spec.path_pattern.groupindex
    ]
    if spec.stream:
        params += STREAM_PARAMETERS
    if spec.query is not None:
        schema = spec.query.model_json_schema()
        required = set(schema.get("required", []))
        for name, prop in schema.get("properties", {}).items():
            params.append({"name": name, "in": "query", "required": name in required, "schema": prop})
    return params


def _operation(spec: FunctionSpec) -> dict[str, Any]:
    ok: dict[str, Any] = {"description": "OK"}
    if spec.response is not None:
        ok["content"] = {"application/json": {"schema": _ref(spec.response)}}
    elif spec.stream:
        ok["description"] = "Server-Sent Events: `id:`, `event:` and JSON `data:` lines"
        ok["content"] = {"text/event-stream": {"schema": {"type": "string"}}}
    status = 204 if spec.status == 204 else spec.status
    operation: dict[str, Any] = {
        "operationId": spec.name,
        "summary": spec.summary,
        "parameters": _parameters(spec),
        "responses": {
            str(status): ok if status != 204 else {"description": "No content"},
            "default": {
                "description": "An error",
                "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}},
            },
        },
    }
    if spec.body is not None:
        operation["requestBody"] = {
            "required": True,
            "content": {"application/json": {"schema": _ref(spec.body)}},
        }
    if spec.auth == "user":
        operation["security"] = [{"bearer": []}]
    elif spec.auth == "optional":
        operation["security"] = [{}, {"bearer": []}]
    return operation


def build_document(specs: list[FunctionSpec], *, version: str = "1.0.0") -> dict[str, Any]:
    public = [s for s in specs if s.kind == HTTP and not s.internal]
    paths: dict[str, dict[str, Any]] = {}
    for spec in public:
        if spec.path and spec.method:
            paths.setdefault(spec.path, {})[spec.method.lower()] = _operation(spec)
    models = {m for s in public for m in (s.body, s.response) if m is not None}
    _, definitions = models_json_schema(
        [(model, "validation") for model in sorted(models, key=lambda m: m.__name__)],
        ref_template="#/components/schemas/{model}",
    )
    schemas = definitions.get("$defs", {})
    schemas["Error"] = ERROR_SCHEMA
    return {
        "openapi": "3.1.0",
        "info": {"title": "streamfn", "version": version},
        "paths": dict(sorted(paths.items())),
        "components": {
            "schemas": schemas,
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"}},
        },
    }

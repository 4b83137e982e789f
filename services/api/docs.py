"""The OpenAPI document, generated from the API's own routes and marshmallow schemas.

Each API view carries its description through `@documented(...)`; `build_spec()` walks the URL
map, so a route added to the API appears in `/api/v1/openapi.json` without a hand-kept dict.
"""
from __future__ import annotations

import re
from typing import Any, Callable

from apispec import APISpec
from apispec.ext.marshmallow import MarshmallowPlugin
from flask import Flask

ERROR_STATUSES = {
    400: "Malformed request", 401: "Missing or invalid token", 403: "Not allowed for this role",
    404: "Not found", 409: "Conflict", 422: "Validation failed", 429: "Too many requests",
}


def documented(
    *, summary: str, tag: str, body: Any = None, response: Any = None, status: int = 200,
    public: bool = False, errors: tuple[int, ...] = (), query: Any = None,
) -> Callable:
    """Attach the OpenAPI description of one API operation to its view."""

    def decorator(view: Callable) -> Callable:
        view.api_doc = {  # type: ignore[attr-defined]
            "summary": summary, "tag": tag, "body": body, "response": response,
            "status": status, "public": public, "errors": errors, "query": query,
        }
        return view

    return decorator


def _openapi_path(rule: str, prefix: str) -> str:
    return re.sub(r"<(?:[^:<>]+:)?([^<>]+)>", r"{\1}", rule[len(prefix):] or "/")


def _operation(doc: dict, rule) -> dict:
    responses: dict[str, Any] = {
        str(doc["status"]): {"description": "Success"}
        | ({"content": {"application/json": {"schema": doc["response"]}}} if doc["response"] else {})
    }
    statuses = set(doc["errors"]) | ({401, 403} if not doc["public"] else set())
    if doc["body"] is not None:
        statuses |= {400, 422}
    if doc["query"] is not None:  # a bad or unknown query parameter is a 422 too
        statuses.add(422)
    if rule.arguments:
        statuses.add(404)
    for status in sorted(statuses):
        responses[str(status)] = {
            "description": ERROR_STATUSES[status],
            "content": {"application/json": {"schema": "Error"}},
        }
    operation: dict[str, Any] = {"summary": doc["summary"], "tags": [doc["tag"]],
                                 "responses": responses}
    parameters = [
        {"in": "path", "name": name, "required": True, "schema": {"type": "integer"}}
        for name in sorted(rule.arguments)
    ]
    if doc["query"] is not None:
        parameters.append({"in": "query", "schema": doc["query"]})
    if parameters:
        operation["parameters"] = parameters
    if doc["body"] is not None:
        operation["requestBody"] = {"required": True,
                                    "content": {"application/json": {"schema": doc["body"]}}}
    operation["security"] = [] if doc["public"] else [{"bearer": []}]
    return operation


def build_spec(app: Flask, *, blueprint: str = "api", prefix: str = "/api/v1") -> dict:
    from services.api.schemas import ErrorSchema

    spec = APISpec(title="Anju API", version="1.0.0", openapi_version="3.0.3",
                   plugins=[MarshmallowPlugin()],
                   info={"description": "JSON API v1 of Anju: dormitories, aid cases and "
                                        "welfare-service bookings for industrial-park workers."},
                   servers=[{"url": prefix}])
    spec.components.security_scheme("bearer", {"type": "http", "scheme": "bearer"})
    spec.components.schema("Error", schema=ErrorSchema)
    paths: dict[str, dict] = {}
    for rule in app.url_map.iter_rules():
        if not rule.endpoint.startswith(f"{blueprint}."):
            continue
        doc = getattr(app.view_functions[rule.endpoint], "api_doc", None)
        if doc is None:
            continue
        path = _openapi_path(rule.rule, prefix)
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            paths.setdefault(path, {})[method.lower()] = _operation(doc, rule)
    for path in sorted(paths):
        spec.path(path=path, operations=paths[path])
    return spec.to_dict()

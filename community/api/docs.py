"""The API reference page's data: the OpenAPI document regrouped for a template (no CDN, no JS renderer)."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from flask import Flask

from community.api.tokens import BLUEPRINT_AREAS, SAFE_METHODS

METHODS = ("get", "post", "put", "patch", "delete")
TITLES = {"api_kb": "Help center", "api_gaps": "Knowledge gaps"}  # where the blueprint's name reads badly


@dataclass
class Operation:
    method: str
    path: str
    summary: str
    description: str
    parameters: list[dict[str, Any]]
    request_schema: str | None
    responses: list[tuple[str, str, str | None]]  # (status, description, schema name)
    scope: str | None
    anchor: str


@dataclass
class Group:
    name: str
    description: str
    operations: list[Operation] = field(default_factory=list)


def schema_name(schema: dict[str, Any] | None) -> str | None:
    """The component name a schema points at ("Idea", or "Idea[]" for an array of them)."""
    if not schema:
        return None
    if "$ref" in schema:
        return schema["$ref"].rsplit("/", 1)[-1]
    if schema.get("type") == "array" and "$ref" in schema.get("items", {}):
        return schema["items"]["$ref"].rsplit("/", 1)[-1] + "[]"
    return None


def type_of(prop: dict[str, Any]) -> str:
    """A short readable type for a property (string, integer, date-time, Idea, string[])."""
    if "$ref" in prop:
        return prop["$ref"].rsplit("/", 1)[-1]
    if prop.get("allOf"):
        return type_of(prop["allOf"][0])
    kind = prop.get("format") or prop.get("type") or "any"
    if kind == "array":
        return type_of(prop.get("items", {})) + "[]"
    return kind


def operations(app: Flask) -> tuple[dict[str, Any], list[Group]]:
    """The spec and its operations grouped by blueprint, in the order the spec lists them."""
    spec = app.extensions["coknow.api"].spec.to_dict()
    descriptions = {t["name"]: t.get("description", "") for t in spec.get("tags", [])}
    groups: dict[str, Group] = {}
    for path, item in spec["paths"].items():
        for method in METHODS:
            op = item.get(method)
            if op is None:
                continue
            tag = (op.get("tags") or ["api"])[0]
            groups.setdefault(tag, Group(TITLES.get(tag, tag.removeprefix("api_").replace("_", " ").title()),
                                                 descriptions.get(tag, "")))
            body = op.get("requestBody", {}).get("content", {}).get("application/json", {}).get("schema")
            responses = []
            for status, response in op.get("responses", {}).items():
                if status == "default":
                    continue
                schema = response.get("content", {}).get("application/json", {}).get("schema")
                responses.append((status, response.get("description", ""), schema_name(schema)))
            area = BLUEPRINT_AREAS.get(tag, "-")
            scope = None if area is None else ("—" if area == "-" else
                                               f"{area}:{'read' if method.upper() in SAFE_METHODS else 'write'}")
            groups[tag].operations.append(Operation(
                method=method.upper(), path=path, summary=op.get("summary", ""),
                description=op.get("description", ""), parameters=op.get("parameters", []),
                request_schema=schema_name(body), responses=sorted(responses), scope=scope,
                anchor=f"{method}-{path}".replace("/", "-").replace("{", "").replace("}", "").strip("-"),
            ))
    return spec, list(groups.values())

"""A tiny validator for the JSON Schema subset of kubeuser/output/schemas.py (no jsonschema dependency).

It knows ``type`` (a name or a list), ``enum``, ``properties``, ``required``, ``additionalProperties: false``
and ``items``; any other keyword in a schema is an error, so a schema can never say more than is checked.
"""

from __future__ import annotations

from typing import Any

KNOWN = {"type", "description", "enum", "properties", "required", "additionalProperties", "items"}
TYPES: dict[str, Any] = {
    "object": dict,
    "array": list,
    "string": str,
    "boolean": bool,
    "null": type(None),
}


def _is(value: Any, kind: str) -> bool:
    if kind == "integer":
        return isinstance(value, int) and not isinstance(value, bool)
    if kind == "number":
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    return isinstance(value, TYPES[kind])


def errors(value: Any, schema: dict[str, Any], path: str = "$") -> list[str]:
    """Every way *value* fails *schema*, each as ``path: problem``; empty when it conforms."""
    unknown = set(schema) - KNOWN
    if unknown:
        return [f"{path}: the schema uses {sorted(unknown)}, which this validator does not check"]
    kinds = schema.get("type")
    if kinds is not None:
        kinds = [kinds] if isinstance(kinds, str) else kinds
        if not any(_is(value, k) for k in kinds):
            return [f"{path}: {value!r:.60} is not {' or '.join(kinds)}"]
    if "enum" in schema and value not in schema["enum"]:
        return [f"{path}: {value!r:.60} is not one of {schema['enum']}"]
    out: list[str] = []
    if isinstance(value, dict):
        props: dict[str, Any] = schema.get("properties", {})
        out += [f"{path}: {k!r} is missing" for k in schema.get("required", []) if k not in value]
        if schema.get("additionalProperties") is False:
            out += [f"{path}: {k!r} is not in the schema" for k in value if k not in props]
        for k, v in value.items():
            if k in props:
                out += errors(v, props[k], f"{path}.{k}")
    if isinstance(value, list) and "items" in schema:
        for i, v in enumerate(value):
            out += errors(v, schema["items"], f"{path}[{i}]")
    return out

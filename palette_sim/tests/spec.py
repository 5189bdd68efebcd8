"""The published specs as JSON Schema validators, for the conformance tests.

Swagger 2.0 `definitions` are JSON Schema (draft 4) plus `x-` extensions, so they validate as
they are once `$ref`s resolve against the same document. "Field names exact" is enforced by
closing every object schema that lists properties (additionalProperties: false), except the
definitions used inside `allOf`, which must stay open for the composition to work.
"""

import copy
import functools
import json
from datetime import datetime
from pathlib import Path

import jsonschema

SPEC_DIR = Path(__file__).resolve().parents[1] / "spec"  # copies of the published specs (spec/SOURCES.md)
PALETTE = SPEC_DIR / "palette-sdk-go" / "palette-apis-spec.json"
PALETTE_DOCS = SPEC_DIR / "api-evangelist" / "spectro-cloud-palette-openapi.json"
EDGE = SPEC_DIR / "api-evangelist" / "spectro-cloud-edge-management-openapi.json"

FORMATS = jsonschema.FormatChecker()


@FORMATS.checks("date-time", raises=ValueError)
def is_date_time(value: object) -> bool:
    if not isinstance(value, str):
        return True
    if "T" not in value or not (value.endswith("Z") or value[-6] in "+-"):
        raise ValueError(f"{value!r} is not an RFC 3339 date-time")
    datetime.fromisoformat(value.replace("Z", "+00:00"))
    return True


def composed_refs(node: object, found: set[str], inside: bool = False) -> None:
    if isinstance(node, dict):
        ref = node.get("$ref")
        if inside and isinstance(ref, str):
            found.add(ref.rsplit("/", 1)[-1])
        for key, value in node.items():
            composed_refs(value, found, inside or key == "allOf")
    elif isinstance(node, list):
        for value in node:
            composed_refs(value, found, inside)


def close(schema: object) -> None:
    """additionalProperties: false on every object schema that names its properties."""
    if not isinstance(schema, dict):
        return
    if "properties" in schema and "additionalProperties" not in schema and "allOf" not in schema:
        schema["additionalProperties"] = False
    for sub in schema.get("properties", {}).values():
        close(sub)
    for key in ("items", "additionalProperties"):
        if isinstance(schema.get(key), dict):
            close(schema[key])
    for sub in schema.get("allOf", []):
        close(sub)


@functools.cache
def document(path: Path) -> dict:
    spec = json.loads(path.read_text())
    definitions = copy.deepcopy(spec["definitions"])
    open_ones: set[str] = set()
    composed_refs(definitions, open_ones)
    for name, schema in definitions.items():
        if name not in open_ones:
            close(schema)
    return {"paths": spec["paths"], "definitions": definitions}


def response_schema(path: Path, template: str, method: str, status: str = "200") -> dict:
    """The response schema the spec declares for one operation."""
    doc = document(path)
    operation = doc["paths"][template][method.lower()]
    return operation["responses"][status]["schema"]


@functools.cache
def validator(path: Path, template: str, method: str, status: str = "200") -> jsonschema.Draft4Validator:
    schema = {**response_schema(path, template, method, status), "definitions": document(path)["definitions"]}
    return jsonschema.Draft4Validator(schema, format_checker=FORMATS)


@functools.cache
def definition(path: Path, name: str) -> jsonschema.Draft4Validator:
    schema = {"$ref": f"#/definitions/{name}", "definitions": document(path)["definitions"]}
    return jsonschema.Draft4Validator(schema, format_checker=FORMATS)


def problems(v: jsonschema.Draft4Validator, body: object, limit: int = 5) -> list[str]:
    out = []
    for err in v.iter_errors(body):
        out.append(f"{'/'.join(str(p) for p in err.absolute_path)}: {err.message[:200]}")
        if len(out) >= limit:
            break
    return out

"""Objects made from the published spec's definitions, not from the simulator's choices: every
optional property may be absent, strings may be empty, long, or anything else the schema allows.

A small seeded generator (property-based libraries that read JSON Schema choke on the spec's size
and recursion): deterministic for a seed, so a failure names the seed that reproduces it.
"""

import random
from collections.abc import Iterator

from palette_sim.tests.spec import PALETTE, document

OMIT = object()
TEXTS = ("", "x", "store-0042", "\u202eمضيف-١٢", '<script>alert("x")</script>', "名" * 300, "y" * 5000)
TIMES = ("2026-11-30T12:00:00Z", "2026-11-30T12:00:00.123+01:00", "0001-01-01T00:00:00Z", "yesterday")


def objects(name: str, count: int, seed: int = 0) -> Iterator[dict]:
    """`count` objects of definition `name`, each with a metadata.uid (items without one are unusable)."""
    definitions = document(PALETTE)["definitions"]
    for i in range(count):
        rng = random.Random(f"{name}:{seed}:{i}")
        value = make({"$ref": f"#/definitions/{name}"}, definitions, rng, 0)
        value = value if isinstance(value, dict) else {}
        metadata = value.get("metadata") if isinstance(value.get("metadata"), dict) else {}
        value["metadata"] = {**metadata, "uid": f"{i:024x}"}
        yield value


def make(schema: dict, definitions: dict, rng: random.Random, depth: int) -> object:
    """One value of `schema`, or OMIT where the generator gives up on depth."""
    if "$ref" in schema:
        if depth > 7:
            return OMIT
        return make(definitions[schema["$ref"].rsplit("/", 1)[-1]], definitions, rng, depth + 1)
    if "allOf" in schema:
        merged: dict = {}
        for part in schema["allOf"]:
            value = make(part, definitions, rng, depth)
            if isinstance(value, dict):
                merged.update(value)
        return merged
    if "enum" in schema:
        return rng.choice(schema["enum"])
    kind = schema.get("type") or ("object" if "properties" in schema else "string")
    if kind == "object":
        return make_object(schema, definitions, rng, depth)
    if kind == "array":
        items = [make(schema.get("items", {}), definitions, rng, depth + 1) for _ in range(rng.choice((0, 0, 1, 3)))]
        return [item for item in items if item is not OMIT]
    if kind == "string":
        return rng.choice(TIMES) if schema.get("format") == "date-time" else rng.choice(TEXTS)
    if kind == "integer":
        return rng.choice((0, 1, 3, 2**31 - 1))
    if kind == "number":
        return rng.choice((0, 0.5, 1e9))
    if kind == "boolean":
        return rng.random() < 0.5
    return OMIT


def make_object(schema: dict, definitions: dict, rng: random.Random, depth: int) -> dict:
    required = set(schema.get("required", []))
    out = {}
    for key, sub in schema.get("properties", {}).items():
        if key in required or rng.random() < 0.6:
            value = make(sub, definitions, rng, depth + 1)
            if value is not OMIT:
                out[key] = value
    extra = schema.get("additionalProperties")
    if isinstance(extra, dict) and not schema.get("properties"):
        for n in range(rng.choice((0, 1, 2))):
            value = make(extra, definitions, rng, depth + 1)
            if value is not OMIT:
                out[f"key{n}"] = value
    return out

"""Exported JSON Schemas of the event data, and the check that a change keeps them backward compatible.

Compatible: adding an optional field, adding an enum value. Incompatible: removing a field, changing
its type, making a field required, removing an enum value. An incompatible change needs a new type.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from leadflow_shared.contracts.envelope import Envelope
from leadflow_shared.contracts.events import EVENT_MODELS

SCHEMA_DIR = Path(__file__).resolve().parent.parent / "schemas"

Schema = dict[str, Any]


def current_schemas() -> dict[str, Schema]:
    """The JSON Schema of every event type's data, as the code defines it now."""
    return {model.event_type: model.model_json_schema(mode="serialization") for model in EVENT_MODELS}


def committed_schemas(directory: Path = SCHEMA_DIR) -> dict[str, Schema]:
    """The schemas committed in the repository."""
    return {path.stem: json.loads(path.read_text()) for path in sorted(directory.glob("*.json"))}


def export(directory: Path = SCHEMA_DIR) -> list[Path]:
    """Write the current schemas, one file per event type."""
    directory.mkdir(parents=True, exist_ok=True)
    written = []
    for event_type, schema in current_schemas().items():
        path = directory / f"{event_type}.json"
        path.write_text(json.dumps(schema, indent=2, sort_keys=True) + "\n")
        written.append(path)
    return written


def _resolve(schema: Schema, root: Schema) -> Schema:
    while "$ref" in schema:
        name = schema["$ref"].rsplit("/", 1)[-1]
        schema = root.get("$defs", {})[name]
    return schema


def _kinds(schema: Schema, root: Schema) -> set[str]:
    """The set of JSON types a schema admits, looking through anyOf and refs."""
    schema = _resolve(schema, root)
    if "anyOf" in schema:
        return set().union(*(_kinds(s, root) for s in schema["anyOf"]))
    if "enum" in schema or "const" in schema:
        return {"enum"}
    kind = schema.get("type", "any")
    fmt = schema.get("format")
    return {f"{kind}:{fmt}" if fmt else str(kind)}


def incompatibilities(
    old: Schema, new: Schema, path: str = "", roots: tuple[Schema, Schema] | None = None
) -> list[str]:
    """Every way in which data valid under the old schema's contract breaks under the new one."""
    old_root, new_root = roots or (old, new)
    old, new = _resolve(old, old_root), _resolve(new, new_root)
    problems: list[str] = []
    where = path or "data"
    old_kinds, new_kinds = _kinds(old, old_root), _kinds(new, new_root)
    if not old_kinds <= new_kinds and "any" not in new_kinds:
        problems.append(f"{where}: type changed from {sorted(old_kinds)} to {sorted(new_kinds)}")
        return problems
    old_enum = _enum_values(old, old_root)
    new_enum = _enum_values(new, new_root)
    if old_enum is not None and new_enum is not None and not old_enum <= new_enum:
        problems.append(f"{where}: enum values removed: {sorted(map(str, old_enum - new_enum))}")
    old_props, new_props = _properties(old, old_root), _properties(new, new_root)
    if old_props is not None and new_props is not None:
        old_required = set(_object(old, old_root).get("required", []))
        new_required = set(_object(new, new_root).get("required", []))
        for name in old_props:
            if name not in new_props:
                problems.append(f"{where}.{name}: field removed")
            else:
                problems += incompatibilities(
                    old_props[name], new_props[name], f"{where}.{name}", (old_root, new_root)
                )
        for name in sorted(new_required - old_required):
            problems.append(f"{where}.{name}: field is required now")
    return problems


def _object(schema: Schema, root: Schema) -> Schema:
    schema = _resolve(schema, root)
    for option in schema.get("anyOf", []):
        option = _resolve(option, root)
        if option.get("type") == "object":
            return option
    return schema


def _properties(schema: Schema, root: Schema) -> dict[str, Schema] | None:
    props = _object(schema, root).get("properties")
    return dict(props) if props is not None else None


def _enum_values(schema: Schema, root: Schema) -> set[Any] | None:
    schema = _resolve(schema, root)
    if "enum" in schema:
        return set(schema["enum"])
    for option in schema.get("anyOf", []):
        values = _enum_values(option, root)
        if values is not None:
            return values
    return None


def check(directory: Path = SCHEMA_DIR) -> list[str]:
    """Compare the code's schemas with the committed ones; answer every incompatibility and gap."""
    committed = committed_schemas(directory)
    current = current_schemas()
    problems = [f"{event_type}: event type removed" for event_type in committed if event_type not in current]
    for event_type, schema in current.items():
        if event_type not in committed:
            problems.append(
                f"{event_type}: no committed schema (run: python -m leadflow_shared.contracts.schemas export)"
            )
            continue
        problems += [f"{event_type}: {p}" for p in incompatibilities(committed[event_type], schema)]
    return problems


def asyncapi() -> Schema:
    """An AsyncAPI 3.0 document of every topic and event type, for people who consume leadflow."""
    from leadflow_shared.contracts.topics import dlq

    channels: Schema = {}
    messages: Schema = {}
    operations: Schema = {}
    by_topic: dict[str, list[str]] = {}
    for model in EVENT_MODELS:
        by_topic.setdefault(model.topic, []).append(model.event_type)
        messages[model.event_type] = {
            "name": model.event_type,
            "title": model.__name__,
            "summary": (model.__doc__ or "").strip(),
            "contentType": "application/cloudevents+json",
            "payload": {
                "allOf": [
                    Envelope.model_json_schema(),
                    {"properties": {"type": {"const": model.event_type}, "data": model.model_json_schema()}},
                ]
            },
        }
    for topic, types in by_topic.items():
        channels[topic] = {
            "address": topic,
            "messages": {t: {"$ref": f"#/components/messages/{t}"} for t in types},
        }
        channels[dlq(topic)] = {
            "address": dlq(topic),
            "description": f"What consumers of {topic} could not handle.",
        }
        operations[f"publish-{topic}"] = {"action": "send", "channel": {"$ref": f"#/channels/{topic}"}}
    return {
        "asyncapi": "3.0.0",
        "info": {"title": "leadflow events", "version": "1.0.0"},
        "defaultContentType": "application/cloudevents+json",
        "channels": channels,
        "operations": operations,
        "components": {"messages": messages},
    }


def main() -> None:
    """`python -m leadflow_shared.contracts.schemas export|check|asyncapi FILE`."""
    command = sys.argv[1] if len(sys.argv) > 1 else "check"
    if command == "export":
        for path in export():
            print(path)
    elif command == "asyncapi":
        Path(sys.argv[2]).write_text(json.dumps(asyncapi(), indent=2) + "\n")
    else:
        problems = check()
        print("\n".join(problems) or "schemas compatible")
        raise SystemExit(1 if problems else 0)


if __name__ == "__main__":
    main()

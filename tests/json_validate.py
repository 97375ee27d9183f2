#!/usr/bin/env python3
"""Validate JSON documents against barspace's schemas (docs/schemas/).

Implements the subset of JSON Schema (2020-12 keywords) the schemas use:
type (a name or a list), required, properties, additionalProperties
(boolean or schema), items, enum, const, minimum, maximum, pattern,
minItems, $ref to "#/$defs/NAME", and description/title/$id/$schema/
$comment/examples as annotations.  Any other keyword is an error, so a
schema can never silently rely on something unchecked.  Standard library
only.

usage: json_validate.py SCHEMA.json [DOC.json ...]   (no DOC: read stdin;
       a DOC may hold several JSON values, one per line)
exit 0 when every document is valid, 1 otherwise, 2 on bad usage/schema.
"""
import json
import re
import sys

KNOWN = {"type", "required", "properties", "additionalProperties", "items",
         "enum", "const", "minimum", "maximum", "pattern", "minItems", "$ref",
         "$defs", "description", "title", "$id", "$schema", "$comment",
         "examples"}

TYPES = {
    "object": lambda v: isinstance(v, dict),
    "array": lambda v: isinstance(v, list),
    "string": lambda v: isinstance(v, str),
    "integer": lambda v: isinstance(v, int) and not isinstance(v, bool),
    "number": lambda v: isinstance(v, (int, float)) and not isinstance(v, bool),
    "boolean": lambda v: isinstance(v, bool),
    "null": lambda v: v is None,
}


class SchemaError(Exception):
    pass


def check_schema(s, root, path="#"):
    if isinstance(s, bool):
        return
    if not isinstance(s, dict):
        raise SchemaError("%s: a schema must be an object" % path)
    for k in s:
        if k not in KNOWN:
            raise SchemaError("%s: unsupported keyword '%s'" % (path, k))
    t = s.get("type")
    for name in (t if isinstance(t, list) else [t] if t else []):
        if name not in TYPES:
            raise SchemaError("%s: unknown type '%s'" % (path, name))
    if "$ref" in s:
        resolve(root, s["$ref"], path)
    for k, sub in s.get("properties", {}).items():
        check_schema(sub, root, path + "/properties/" + k)
    for k, sub in s.get("$defs", {}).items():
        check_schema(sub, root, path + "/$defs/" + k)
    if "items" in s:
        check_schema(s["items"], root, path + "/items")
    if isinstance(s.get("additionalProperties"), dict):
        check_schema(s["additionalProperties"], root,
                     path + "/additionalProperties")
    if "pattern" in s:
        re.compile(s["pattern"])


def resolve(root, ref, path):
    m = re.fullmatch(r"#/\$defs/([A-Za-z0-9_.-]+)", ref)
    if not m or m.group(1) not in root.get("$defs", {}):
        raise SchemaError("%s: cannot resolve $ref '%s'" % (path, ref))
    return root["$defs"][m.group(1)]


def validate(v, s, root, path, errors):
    if s is True:
        return
    if s is False:
        errors.append("%s: no value allowed here" % path)
        return
    if "$ref" in s:
        validate(v, resolve(root, s["$ref"], path), root, path, errors)
    t = s.get("type")
    if t is not None:
        names = t if isinstance(t, list) else [t]
        if not any(TYPES[n](v) for n in names):
            errors.append("%s: expected %s, got %s" %
                          (path, "/".join(names), json.dumps(v)[:60]))
            return
    if "const" in s and v != s["const"]:
        errors.append("%s: expected %s, got %s" %
                      (path, json.dumps(s["const"]), json.dumps(v)[:60]))
    if "enum" in s and v not in s["enum"]:
        errors.append("%s: %s is not one of %s" %
                      (path, json.dumps(v)[:60], json.dumps(s["enum"])))
    if TYPES["number"](v):
        if "minimum" in s and v < s["minimum"]:
            errors.append("%s: %s < minimum %s" % (path, v, s["minimum"]))
        if "maximum" in s and v > s["maximum"]:
            errors.append("%s: %s > maximum %s" % (path, v, s["maximum"]))
    if isinstance(v, str) and "pattern" in s:
        if not re.search(s["pattern"], v):
            errors.append("%s: %s does not match /%s/" %
                          (path, json.dumps(v)[:60], s["pattern"]))
    if isinstance(v, dict):
        for k in s.get("required", []):
            if k not in v:
                errors.append("%s: missing required '%s'" % (path, k))
        props = s.get("properties", {})
        extra = s.get("additionalProperties", True)
        for k, x in v.items():
            if k in props:
                validate(x, props[k], root, path + "." + k, errors)
            elif extra is False:
                errors.append("%s: unexpected property '%s'" % (path, k))
            elif isinstance(extra, dict):
                validate(x, extra, root, path + "." + k, errors)
    if isinstance(v, list):
        if "minItems" in s and len(v) < s["minItems"]:
            errors.append("%s: fewer than %d items" % (path, s["minItems"]))
        if "items" in s:
            for i, x in enumerate(v):
                validate(x, s["items"], root, "%s[%d]" % (path, i), errors)


def documents(text):
    """One JSON value, or several (one per line)."""
    try:
        return [json.loads(text)]
    except json.JSONDecodeError:
        docs = []
        for n, line in enumerate(text.splitlines(), 1):
            if line.strip():
                try:
                    docs.append(json.loads(line))
                except json.JSONDecodeError as e:
                    raise ValueError("line %d: %s" % (n, e))
        if not docs:
            raise ValueError("no JSON value")
        return docs


def main(argv):
    if len(argv) < 2:
        sys.stderr.write(__doc__)
        return 2
    try:
        with open(argv[1]) as f:
            schema = json.load(f)
        check_schema(schema, schema)
    except (OSError, ValueError, SchemaError) as e:
        print("%s: bad schema: %s" % (argv[1], e), file=sys.stderr)
        return 2
    ok = True
    inputs = argv[2:] or ["-"]
    for name in inputs:
        try:
            text = sys.stdin.read() if name == "-" else open(name).read()
            docs = documents(text)
        except (OSError, ValueError) as e:
            print("%s: not JSON: %s" % (name, e))
            ok = False
            continue
        for d in docs:
            errors = []
            validate(d, schema, schema, "$", errors)
            for e in errors[:20]:
                print("%s: %s" % (name, e))
            if errors:
                ok = False
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv))

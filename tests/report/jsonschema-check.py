"""Validate a JSON document against a JSON Schema (draft 2020-12) with
Python's jsonschema: a second opinion on tests/report/schema-check.c.
usage: jsonschema-check.py SCHEMA DOC"""
import json
import sys

import jsonschema

with open(sys.argv[1]) as f:
    schema = json.load(f)
with open(sys.argv[2]) as f:
    doc = json.load(f)
jsonschema.Draft202012Validator.check_schema(schema)
errors = list(jsonschema.Draft202012Validator(schema).iter_errors(doc))
for e in errors:
    print(f"{sys.argv[2]}: {'/'.join(map(str, e.absolute_path))}: {e.message}", file=sys.stderr)
sys.exit(1 if errors else 0)

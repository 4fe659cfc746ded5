#!/usr/bin/env python3
"""Validate a uapi-conform JSON report against its schema (fixtures/schemas/).
   validate-report.py SCHEMA.json REPORT.json   -> exit 0 valid, 1 invalid (one line why)"""
import json
import sys

import jsonschema

schema, report = (json.load(open(p)) for p in sys.argv[1:3])
try:
    jsonschema.validate(report, schema, cls=jsonschema.Draft202012Validator)
except jsonschema.ValidationError as e:
    print(f"{sys.argv[2]}: {'/'.join(map(str, e.absolute_path))}: {e.message[:300]}")
    sys.exit(1)

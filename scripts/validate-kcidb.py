#!/usr/bin/env python3
"""Validate a KCIDB report (uapi-conform --format kcidb) with KernelCI's own kcidb-io:
   validate-kcidb.py REPORT.json  -> exit 0 valid, 1 invalid (one line why), 2 no kcidb_io.
   The report must be valid as v5.0 exactly (what it claims) and for the newest schema kcidb-io has."""
import json
import sys

try:
    import jsonschema
    import kcidb_io
except ImportError as e:
    print(f"kcidb-io is not installed ({e}): run scripts/kcidb-venv.sh")
    sys.exit(2)

data = json.load(open(sys.argv[1]))
try:
    kcidb_io.schema.V5_0.validate_exactly(data)
    kcidb_io.schema.LATEST.validate(data)
except jsonschema.exceptions.ValidationError as e:
    print(f"{sys.argv[1]}: {'/'.join(map(str, e.absolute_path))}: {e.message[:300]}")
    sys.exit(1)

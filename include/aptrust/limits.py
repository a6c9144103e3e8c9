"""The bounds on what the APTrust DAGs accept from outside, each defined once.

Used by the params forms (``dags/aptrust.py``) and by the code that reads params and
the registry, which enforces them again: a value out of bounds is refused by name.
Kept free of imports so the DAG file can read it at parse time for nothing.
"""

from __future__ import annotations

# A person approves every item by reading the list: a thousand is already a long read.
MAX_IDENTIFIERS = 1000
# S3's limit on an object key, the longest thing a registry identifier becomes.
MAX_IDENTIFIER_LENGTH = 1024
MAX_INSTITUTION_LENGTH = 255
# RFC 5321's limit on a forward path, which email-validator enforces as well.
MAX_ADDRESS_LENGTH = 254
# institutions.spot_restore_frequency takes any integer; beyond ten years "not restored
# since" means "never", and a few million days overflow Python's dates.
MAX_FREQUENCY_DAYS = 3650

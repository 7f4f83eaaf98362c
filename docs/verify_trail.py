#!/usr/bin/env python3
"""Checks the hash chain of a Coprod trail export (NDJSON) without Coprod: see docs/verifying.md.

Usage: python3 verify_trail.py trail.ndjson   (exit 0 if intact, 1 at the first divergence)
"""
import hashlib
import json
import sys


def canonical(value):
    # Sorted keys, no whitespace, UTF-8; json.dumps escapes exactly as Coprod does for the
    # characters it allows (quote, backslash, control characters), and keeps the rest literal.
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def main(path):
    lines = [json.loads(line) for line in open(path, encoding="utf-8") if line.strip()]
    project_id = lines[0]["data"]["project_id"]
    head = bytes(32)
    heads = {}
    for expected_sequence, line in enumerate(lines, start=1):
        payload = dict(line["data"], type=line["type"])
        entry = {
            "aggregate_id": project_id,
            "sequence": line["sequence"],
            "event_type": line["type"],
            "event_version": line["version"],
            "payload": payload,
            "metadata": {"recorded_at": line["recorded_at"], "recorded_by": line["recorded_by"]},
        }
        head = hashlib.sha256(head + canonical(entry).encode("utf-8")).digest()
        if line["sequence"] != expected_sequence or line["digest"] != "sha256:" + head.hex():
            print(f"DIVERGES at sequence {expected_sequence}")
            return 1
        heads[expected_sequence] = "sha256:" + head.hex()
    print(f"OK ({len(lines)} entries, head sha256:{head.hex()})")
    intact = True
    for line in lines:
        if line["type"] == "assessment_sealed":
            seal = line["data"]
            holds = heads.get(seal["at_sequence"]) == seal["stream_digest"]
            intact &= holds
            print(f"seal at entry {line['sequence']} ({seal['purpose']}): stream digest at entry "
                  f"{seal['at_sequence']} {'matches' if holds else 'DOES NOT MATCH'}; "
                  f"sealed body {seal['assessment_digest']}")
    return 0 if intact else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))

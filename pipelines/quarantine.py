"""Quarantine in the manifest: the files the job held back (transforms/quarantine.py), named with why.

The job already kept their records out of the interactions; here their counts say so (good 0, every
record failed) and the manifest lists them, so the summary and the gate can name them.
"""

from __future__ import annotations

from transforms.quarantine import over_threshold, reason


def mark_quarantined(manifest: dict, max_failed_share: float) -> list[dict]:
    """Mark the held-back files in the manifest and return one report entry per file."""
    report = []
    for f in manifest["files"]:
        parse_failed = f["failed"]
        if not over_threshold(f["read"], parse_failed, max_failed_share):
            continue
        held_back = f["written"]  # its good records, none of which was written
        f.update(quarantined=True, failed=parse_failed + held_back, good=f["duplicates"], written=0)
        report.append({"file": f["file"], "read": f["read"], "held_back": held_back,
                       "reason": reason(f["read"], parse_failed, max_failed_share)})
    if report:
        totals = manifest["totals"]
        for key in ("good", "failed", "duplicates", "written"):
            totals[key] = sum(f[key] for f in manifest["files"])
        manifest["quarantined"] = report
    return report

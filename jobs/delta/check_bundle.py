#!/usr/bin/env python3
"""Checks databricks.yml without a workspace: the bundle's top-level keys, every ${var.x} it uses
declared under `variables`, and each job resource loaded by the typed Job model of
`databricks-bundles` (PyPI; its classes are generated from the bundle schema and refuse unknown
fields and wrong types, nested ones included). No JSON schema file of the bundle ships on PyPI or
npm, and the Databricks CLI (`databricks bundle validate`) is not a registry package.
Usage: check_bundle.py [databricks.yml]  — prints a JSON summary, exits 1 with the problems."""
from __future__ import annotations

import json
import re
import sys
from pathlib import Path

import yaml
from databricks.bundles.jobs import Job

TOP = {"bundle", "variables", "resources", "targets", "include", "workspace", "artifacts", "sync", "permissions", "run_as", "experimental", "presets"}


def check(path: Path) -> list[str]:
    doc = yaml.safe_load(path.read_text(encoding="utf8"))
    problems = [f"unknown top-level key {k!r}" for k in doc if k not in TOP]
    if not doc.get("bundle", {}).get("name"):
        problems.append("bundle.name is missing")
    declared = set(doc.get("variables") or {})
    used = set(re.findall(r"\$\{var\.([A-Za-z0-9_]+)\}", path.read_text(encoding="utf8")))
    problems += [f"${{var.{v}}} is used but not declared" for v in sorted(used - declared)]
    problems += [f"variable {v!r} is declared but never used" for v in sorted(declared - used)]
    jobs = (doc.get("resources") or {}).get("jobs") or {}
    if not jobs:
        problems.append("no job resource")
    for key, job in jobs.items():
        try:
            Job.from_dict(job)
        except Exception as e:  # the model's own message names the field
            problems.append(f"resources.jobs.{key}: {e}")
        for t in job.get("tasks", []):
            f = (t.get("spark_python_task") or {}).get("python_file")
            if f and not (path.parent / f).is_file():
                problems.append(f"resources.jobs.{key}: task {t.get('task_key')}: {f} does not exist")
    return problems


if __name__ == "__main__":
    p = Path(sys.argv[1] if len(sys.argv) > 1 else Path(__file__).with_name("databricks.yml"))
    problems = check(p)
    print(json.dumps({"file": str(p), "ok": not problems, "problems": problems}))
    sys.exit(1 if problems else 0)

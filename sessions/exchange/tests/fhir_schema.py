"""The official FHIR R4 JSON schema (vendored under sessions/exchange/vendor/fhir-r4) as a
validator per resource type. Validating one resource against its own definition avoids the schema's
top-level oneOf over all 146 types, which would try every one of them for each resource."""

import json
from functools import cache
from pathlib import Path

from jsonschema import Draft6Validator

SCHEMA_PATH = Path(__file__).resolve().parents[1] / "vendor" / "fhir-r4" / "fhir.schema.json"


@cache
def _schema() -> dict:
    return json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))


@cache
def validator_for(resource_type: str) -> Draft6Validator:
    schema = _schema()
    assert resource_type in schema["definitions"], f"{resource_type} is not an R4 resource"
    return Draft6Validator(
        {"definitions": schema["definitions"], "$ref": f"#/definitions/{resource_type}"}
    )


def schema_errors(resource: dict) -> list[str]:
    """What the R4 schema says is wrong with `resource` (empty when it validates). A Bundle is
    checked without its entries' resources, which are checked one by one."""
    if resource.get("resourceType") == "Bundle":
        errors = []
        shell = {**resource, "entry": []}
        for entry in resource.get("entry", []):
            shell["entry"].append({k: v for k, v in entry.items() if k != "resource"})
            errors += schema_errors(entry["resource"])
        resource = shell
    validator = validator_for(resource["resourceType"])
    return [
        f"{resource['resourceType']}/{resource.get('id')} {'/'.join(map(str, e.absolute_path))}: "
        f"{e.message[:200]}"
        for e in validator.iter_errors(resource)
    ]

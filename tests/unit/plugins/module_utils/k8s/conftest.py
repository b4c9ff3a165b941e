"""Shared helpers for the Kubernetes rendering-core tests: a valid base spec and schema validation."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import jsonschema
import kubernetes_validate
import pytest

K8S_VERSION = "1.36.0"
# Traefik's IngressRoute and Middleware openAPIV3Schema, extracted from
# github.com/traefik/traefik/v3@v3.6.12 (see the "_origin" key of the file).
_CRD_SCHEMAS = json.loads((Path(__file__).parent / "data" / "traefik-crd-schemas.json").read_text())

BASE: dict[str, Any] = {
    "tenant": "acme",
    "environment": "prod",
    "image": "registry.example.com/odoo:17.0",
    "hostnames": ["erp.acme.test"],
    "database": {"host": "pg-rw.db.svc", "name": "acme", "user": "acme", "password_secret": {"name": "acme-db"}},
}


@pytest.fixture
def base_spec() -> dict[str, Any]:
    return copy.deepcopy(BASE)


def validate_manifest(obj: dict[str, Any]) -> None:
    """Schema-validate one manifest: Kubernetes kinds with kubernetes-validate, Traefik CRDs with their schema."""
    if obj["apiVersion"].startswith("traefik.io/"):
        jsonschema.validate(obj, _CRD_SCHEMAS[obj["kind"]])
    elif obj["apiVersion"].startswith("cert-manager.io/"):
        assert set(obj["spec"]) == {"secretName", "dnsNames", "issuerRef"}
    else:
        kubernetes_validate.validate(obj, K8S_VERSION, strict=True)

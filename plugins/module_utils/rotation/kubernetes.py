# -*- coding: utf-8 -*-
# Copyright: erpops.odoo contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""A Kubernetes Secret consumed by Odoo as a credential store, with a rolling restart of named Deployments.

Kubernetes Secrets have no staging labels, so the pending value lives only in this process's memory until
``finish``: a failed rotation never writes the Secret. Finishing replaces the Secret's keys with an
optimistic-concurrency check (``resourceVersion``) and records the version and time in annotations; then
every named Deployment gets a checksum annotation on its pod template (a merge patch, so pods roll) and the
rollout is waited for like ``kubectl rollout status``.
"""

from __future__ import absolute_import, annotations, division, print_function

__metaclass__ = type

import base64
import datetime
import hashlib
import json
import time
import uuid

from ansible_collections.erpops.odoo.plugins.module_utils.rotation.core import (
    RotationError,
    Store,
    StoredCredential,
    isoformat,
    utcnow,
)

try:
    from kubernetes import client as k8s_client
    from kubernetes import config as k8s_config
    from kubernetes.client.rest import ApiException
    HAS_KUBERNETES = True
except ImportError:  # pragma: no cover - reported by the module
    HAS_KUBERNETES = False

ANNOTATION_VERSION = "erpops.io/credential-version"
ANNOTATION_ROTATED_AT = "erpops.io/rotated-at"
CHECKSUM_PREFIX = "checksum.erpops.io/"
FIELD_MANAGER = "erpops-credential-rotate"


def api_client(kubeconfig: str | None = None, context: str | None = None):
    """An ApiClient from ``kubeconfig`` (default: ``KUBECONFIG``/``~/.kube/config``) or the in-cluster config."""
    if not HAS_KUBERNETES:
        raise RotationError("the kubernetes Python client is required for the kubernetes store")
    try:
        return k8s_config.new_client_from_config(config_file=kubeconfig, context=context)
    except Exception as exc:  # noqa: BLE001 - fall back to in-cluster only when no kubeconfig was given
        if kubeconfig:
            raise RotationError("cannot load kubeconfig %s: %s" % (kubeconfig, exc))
        try:
            k8s_config.load_incluster_config()
        except Exception:  # noqa: BLE001
            raise RotationError("no kubeconfig found and not running in a cluster")
        return k8s_client.ApiClient()


def checksum_annotation(secret_name: str) -> str:
    """Pod-template annotation carrying the checksum of ``secret_name`` (name part kept within 63 chars)."""
    name = "secret-" + secret_name
    if len(name) > 63:
        name = "secret-%s-%s" % (secret_name[:40].rstrip("-."), hashlib.sha256(secret_name.encode()).hexdigest()[:12])
    return CHECKSUM_PREFIX + name


def _api_error(what: str, exc: Exception) -> RotationError:
    if HAS_KUBERNETES and isinstance(exc, ApiException):
        try:
            message = json.loads(exc.body or "{}").get("message", "")
        except ValueError:
            message = ""
        return RotationError("%s: HTTP %s %s %s" % (what, exc.status, exc.reason, message))
    return RotationError("%s: %s" % (what, exc))


def _parse_time(value: str | None) -> datetime.datetime | None:
    if not value:
        return None
    try:
        return datetime.datetime.strptime(value, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=datetime.timezone.utc)  # noqa: UP017
    except ValueError:
        return None


class KubernetesSecretStore(Store):
    kind = "kubernetes"

    def __init__(self, api, namespace: str, name: str, *, keys: dict | None = None,
                 restart_deployments: list | None = None, rollout_timeout: float = 300.0, sleep=time.sleep,
                 clock=time.monotonic):
        self.api = api
        self.core = k8s_client.CoreV1Api(api)
        self.apps = k8s_client.AppsV1Api(api)
        self.namespace, self.name = namespace, name
        self.keys = dict(keys or {})
        self.restart = list(restart_deployments or [])
        self.rollout_timeout = rollout_timeout
        self._sleep, self._clock = sleep, clock
        self._pending = {}
        self._secret = None
        self._checksum = None

    def describe(self) -> str:
        return "kubernetes:%s/%s" % (self.namespace, self.name)

    def _key(self, field: str) -> str:
        return self.keys.get(field, field)

    def check(self) -> None:
        for dep in self.restart:
            try:
                self.apps.read_namespaced_deployment(dep, self.namespace)
            except ApiException as exc:
                if exc.status == 404:
                    raise RotationError("deployment %s/%s to restart does not exist" % (self.namespace, dep))
                raise _api_error("reading deployment %s/%s" % (self.namespace, dep), exc)

    def _read(self):
        try:
            return self.core.read_namespaced_secret(self.name, self.namespace)
        except ApiException as exc:
            if exc.status == 404:
                return None
            raise _api_error("reading secret %s" % self.describe(), exc)

    def read_current(self) -> StoredCredential | None:
        secret = self._read()
        self._secret = secret
        if secret is None:
            return None
        ann = secret.metadata.annotations or {}
        data = secret.data or {}
        reverse = {v: k for k, v in self.keys.items()}
        value = {reverse.get(k, k): base64.b64decode(v).decode("utf-8") for k, v in data.items()}
        version = ann.get(ANNOTATION_VERSION) or "rv-%s" % secret.metadata.resource_version
        return StoredCredential(value=value, version=version, rotated_at=_parse_time(ann.get(ANNOTATION_ROTATED_AT)))

    def put_pending(self, value: dict) -> str:
        version = str(uuid.uuid4())
        self._pending[version] = value
        return version

    def discard_pending(self, version: str) -> None:
        self._pending.pop(version, None)

    def promote(self, version: str, value: dict, previous: StoredCredential | None) -> None:
        value = self._pending.pop(version, value)
        encoded = {self._key(k): base64.b64encode(str(v).encode("utf-8")).decode("ascii") for k, v in value.items()}
        ann = {ANNOTATION_VERSION: version, ANNOTATION_ROTATED_AT: isoformat(utcnow())}
        secret = self._secret
        try:
            if secret is None:
                body = k8s_client.V1Secret(
                    metadata=k8s_client.V1ObjectMeta(name=self.name, namespace=self.namespace, annotations=ann),
                    type="Opaque", data=encoded)
                written = self.core.create_namespaced_secret(self.namespace, body, field_manager=FIELD_MANAGER)
            else:
                data = dict(secret.data or {})
                data.update(encoded)  # other keys of the Secret are kept
                secret.data = data
                secret.metadata.annotations = dict(secret.metadata.annotations or {}, **ann)
                # resourceVersion from the read: a concurrent writer makes this fail (409) instead of being lost
                written = self.core.replace_namespaced_secret(self.name, self.namespace, secret,
                                                              field_manager=FIELD_MANAGER)
        except ApiException as exc:
            raise _api_error("writing secret %s" % self.describe(), exc)
        self._checksum = hashlib.sha256(json.dumps(written.data or {}, sort_keys=True).encode()).hexdigest()

    def after_promote(self, check_mode: bool) -> list[str]:
        if check_mode:
            return ["would restart deployment %s/%s and wait for its rollout" % (self.namespace, d)
                    for d in self.restart]
        annotation = checksum_annotation(self.name)
        patch = {"spec": {"template": {"metadata": {"annotations": {annotation: self._checksum}}}}}
        for dep in self.restart:
            try:
                self.apps.patch_namespaced_deployment(dep, self.namespace, patch, field_manager=FIELD_MANAGER)
            except ApiException as exc:
                raise _api_error("restarting deployment %s/%s" % (self.namespace, dep), exc)
        actions = []
        for dep in self.restart:
            ok, why = self.rollout_status(dep)
            if not ok:
                raise RotationError(why)
            actions.append(why)
        return actions

    def rollout_status(self, name: str) -> tuple[bool, str]:
        """Like ``kubectl rollout status``: every replica updated, Ready, and no old ones left."""
        deadline = self._clock() + self.rollout_timeout
        while True:
            try:
                dep = self.apps.read_namespaced_deployment(name, self.namespace)
            except ApiException as exc:
                raise _api_error("reading deployment %s/%s" % (self.namespace, name), exc)
            want = dep.spec.replicas if dep.spec.replicas is not None else 1
            st = dep.status
            if (st.observed_generation or 0) >= (dep.metadata.generation or 0) and \
                    (st.updated_replicas or 0) == want and (st.ready_replicas or 0) == want and \
                    (st.replicas or 0) == want:
                return True, "deployment %s/%s rolled out: %d/%d replicas updated and Ready" % (
                    self.namespace, name, want, want)
            progressing = next((c for c in st.conditions or [] if c.type == "Progressing"), None)
            if progressing is not None and progressing.reason == "ProgressDeadlineExceeded":
                return False, "deployment %s/%s rollout failed: %s" % (self.namespace, name, progressing.message)
            if self._clock() > deadline:
                return False, "deployment %s/%s did not finish its rollout within %ss" % (
                    self.namespace, name, self.rollout_timeout)
            self._sleep(1.0)

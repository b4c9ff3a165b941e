# -*- coding: utf-8 -*-
# Copyright: erpops.odoo contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""AWS Secrets Manager as a credential store, using the AWSPENDING / AWSCURRENT / AWSPREVIOUS staging labels.

The secret value is a JSON object (``{"username": ..., "password": ...}`` for logins). A rotation puts
the new value as a new version labelled only AWSPENDING, and finishing moves AWSCURRENT to it (Secrets
Manager then labels the old version AWSPREVIOUS) and removes AWSPENDING. A failed rotation removes
AWSPENDING from the new version, so AWSCURRENT never moves.
"""

from __future__ import absolute_import, annotations, division, print_function

__metaclass__ = type

import contextlib
import json
import os
import uuid

from ansible_collections.erpops.odoo.plugins.module_utils.rotation.core import RotationError, Store, StoredCredential

try:
    import boto3
    from botocore.config import Config
    from botocore.exceptions import BotoCoreError, ClientError
    HAS_BOTO3 = True
except ImportError:  # pragma: no cover - reported by the module
    HAS_BOTO3 = False

PENDING, CURRENT, PREVIOUS = "AWSPENDING", "AWSCURRENT", "AWSPREVIOUS"


def client(endpoint_url: str | None = None, region: str | None = None):
    """A Secrets Manager client; ``endpoint_url`` defaults to ``AWS_ENDPOINT_URL`` (the lab's moto server)."""
    if not HAS_BOTO3:
        raise RotationError("boto3 is required for the Secrets Manager store")
    return boto3.client("secretsmanager", endpoint_url=endpoint_url or os.environ.get("AWS_ENDPOINT_URL") or None,
                        region_name=region or os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION"),
                        config=Config(retries={"mode": "standard", "max_attempts": 6}, connect_timeout=10,
                                      read_timeout=30))


def _err(what: str, exc: Exception) -> RotationError:
    if HAS_BOTO3 and isinstance(exc, ClientError):
        code = exc.response.get("Error", {}).get("Code", "")
        return RotationError("%s: %s %s" % (what, code, exc.response.get("Error", {}).get("Message", "")))
    return RotationError("%s: %s" % (what, exc.__class__.__name__))


class SecretsManagerStore(Store):
    kind = "secretsmanager"

    def __init__(self, secret_id: str, sm_client, kms_key_id: str | None = None, description: str | None = None):
        self.secret_id = secret_id
        self.sm = sm_client
        self.kms_key_id = kms_key_id
        self.description = description
        self._created = False

    def describe(self) -> str:
        return "secretsmanager:%s" % self.secret_id

    # -- reads -----------------------------------------------------------------------------------------
    def stages(self) -> dict:
        """``{version_id: [labels]}`` or ``{}`` if the secret does not exist."""
        try:
            return dict(self.sm.describe_secret(SecretId=self.secret_id).get("VersionIdsToStages") or {})
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") == "ResourceNotFoundException":
                return {}
            raise _err("describe_secret %s" % self.secret_id, exc)
        except BotoCoreError as exc:
            raise _err("describe_secret %s" % self.secret_id, exc)

    def _version_of(self, label: str) -> str | None:
        return next((v for v, labels in self.stages().items() if label in labels), None)

    def read_current(self) -> StoredCredential | None:
        if self._version_of(CURRENT) is None:
            return None
        try:
            resp = self.sm.get_secret_value(SecretId=self.secret_id, VersionStage=CURRENT)
        except (ClientError, BotoCoreError) as exc:
            raise _err("get_secret_value %s" % self.secret_id, exc)
        try:
            value = json.loads(resp.get("SecretString") or "")
        except ValueError:
            raise RotationError("secret %s: AWSCURRENT is not a JSON object" % self.secret_id)
        if not isinstance(value, dict):
            raise RotationError("secret %s: AWSCURRENT is not a JSON object" % self.secret_id)
        return StoredCredential(value=value, version=resp["VersionId"], rotated_at=resp.get("CreatedDate"))

    def last_rotated(self):
        """CreatedDate of the AWSCURRENT version, without fetching the secret value."""
        version = self._version_of(CURRENT)
        if version is None:
            return None
        kwargs = {"SecretId": self.secret_id}
        try:
            while True:
                page = self.sm.list_secret_version_ids(**kwargs)
                for v in page.get("Versions", []):
                    if v.get("VersionId") == version:
                        return v.get("CreatedDate")
                if not page.get("NextToken"):
                    return None
                kwargs["NextToken"] = page["NextToken"]
        except (ClientError, BotoCoreError) as exc:
            raise _err("list_secret_version_ids %s" % self.secret_id, exc)

    # -- writes ----------------------------------------------------------------------------------------
    def put_pending(self, value: dict) -> str:
        stages = self.stages()
        try:
            if not stages:
                kwargs = {"Name": self.secret_id}
                if self.kms_key_id:
                    kwargs["KmsKeyId"] = self.kms_key_id
                if self.description:
                    kwargs["Description"] = self.description
                try:
                    self.sm.create_secret(**kwargs)
                    self._created = True
                except ClientError as exc:
                    if exc.response.get("Error", {}).get("Code") != "ResourceExistsException":
                        raise
            # a pending version left by an interrupted rotation is never promoted: drop its label
            for version, labels in stages.items():
                if PENDING in labels:
                    self.sm.update_secret_version_stage(SecretId=self.secret_id, VersionStage=PENDING,
                                                        RemoveFromVersionId=version)
            token = str(uuid.uuid4())
            self.sm.put_secret_value(SecretId=self.secret_id, ClientRequestToken=token,
                                     SecretString=json.dumps(value, sort_keys=True), VersionStages=[PENDING])
        except (ClientError, BotoCoreError) as exc:
            raise _err("storing the pending version of %s" % self.secret_id, exc)
        return token

    def discard_pending(self, version: str) -> None:
        if self._created:
            # Secrets Manager labels the first version of a secret AWSCURRENT as well: a failed first
            # rotation must not leave an untested value current, so remove the secret this run created.
            try:
                self.sm.delete_secret(SecretId=self.secret_id, ForceDeleteWithoutRecovery=True)
            except (ClientError, BotoCoreError) as exc:
                raise _err("removing the secret %s created by the failed rotation" % self.secret_id, exc)
            self._created = False
            return
        labels = self.stages().get(version, [])
        if PENDING in labels:
            try:
                self.sm.update_secret_version_stage(SecretId=self.secret_id, VersionStage=PENDING,
                                                    RemoveFromVersionId=version)
            except (ClientError, BotoCoreError) as exc:
                raise _err("removing AWSPENDING from %s" % self.secret_id, exc)

    def promote(self, version: str, value: dict, previous: StoredCredential | None) -> None:
        kwargs = {"SecretId": self.secret_id, "VersionStage": CURRENT, "MoveToVersionId": version}
        old = self._version_of(CURRENT)
        if old is not None:
            kwargs["RemoveFromVersionId"] = old
        try:
            # the first version of a new secret is already AWSCURRENT (Secrets Manager does that itself)
            if old != version:
                self.sm.update_secret_version_stage(**kwargs)
        except (ClientError, BotoCoreError) as exc:
            raise _err("moving AWSCURRENT of %s" % self.secret_id, exc)
        self._created = False
        with contextlib.suppress(RotationError):  # cleanup; the rotation already succeeded
            self.discard_pending(version)

"""Fakes for the network edge only: a boto3 Secrets Manager client and a redis-py client factory."""

from __future__ import annotations

import datetime
import hashlib
import uuid

import redis
from botocore.exceptions import ClientError


def _client_error(code: str, op: str) -> ClientError:
    return ClientError({"Error": {"Code": code, "Message": code}}, op)


class FakeSecretsManager:
    """Enough of Secrets Manager's staging-label semantics (as documented by AWS) for the store."""

    def __init__(self) -> None:
        self.secrets: dict[str, dict[str, dict]] = {}
        self.fail: dict[str, str] = {}  # operation -> error code to raise
        self.calls: list[str] = []

    def _check(self, op: str) -> None:
        self.calls.append(op)
        if op in self.fail:
            raise _client_error(self.fail[op], op)

    def _get(self, secret_id: str, op: str) -> dict[str, dict]:
        if secret_id not in self.secrets:
            raise _client_error("ResourceNotFoundException", op)
        return self.secrets[secret_id]

    def stages(self, secret_id: str) -> dict[str, list[str]]:
        return {v: sorted(d["stages"]) for v, d in self.secrets.get(secret_id, {}).items() if d["stages"]}

    def describe_secret(self, SecretId):
        self._check("DescribeSecret")
        self._get(SecretId, "DescribeSecret")
        return {"Name": SecretId, "VersionIdsToStages": self.stages(SecretId)}

    def create_secret(self, Name, **_kw):
        self._check("CreateSecret")
        if Name in self.secrets:
            raise _client_error("ResourceExistsException", "CreateSecret")
        self.secrets[Name] = {}
        return {"Name": Name}

    def delete_secret(self, SecretId, ForceDeleteWithoutRecovery=False):
        self._check("DeleteSecret")
        self._get(SecretId, "DeleteSecret")
        del self.secrets[SecretId]

    def get_secret_value(self, SecretId, VersionStage="AWSCURRENT"):
        self._check("GetSecretValue")
        for vid, d in self._get(SecretId, "GetSecretValue").items():
            if VersionStage in d["stages"]:
                return {"VersionId": vid, "SecretString": d["value"], "CreatedDate": d["created"]}
        raise _client_error("ResourceNotFoundException", "GetSecretValue")

    def put_secret_value(self, SecretId, ClientRequestToken, SecretString, VersionStages):
        self._check("PutSecretValue")
        versions = self._get(SecretId, "PutSecretValue")
        first = not versions
        for d in versions.values():
            d["stages"] -= set(VersionStages)
        stages = set(VersionStages) | ({"AWSCURRENT"} if first else set())
        versions[ClientRequestToken] = {"value": SecretString, "stages": stages,
                                        "created": datetime.datetime.now(datetime.UTC)}
        return {"VersionId": ClientRequestToken}

    def update_secret_version_stage(self, SecretId, VersionStage, MoveToVersionId=None, RemoveFromVersionId=None):
        self._check("UpdateSecretVersionStage")
        versions = self._get(SecretId, "UpdateSecretVersionStage")
        holder = next((v for v, d in versions.items() if VersionStage in d["stages"]), None)
        if RemoveFromVersionId is not None:
            if holder != RemoveFromVersionId:
                raise _client_error("InvalidParameterException", "UpdateSecretVersionStage")
            versions[holder]["stages"].discard(VersionStage)
        elif holder is not None and MoveToVersionId is not None and holder != MoveToVersionId:
            raise _client_error("InvalidParameterException", "UpdateSecretVersionStage")
        if MoveToVersionId is not None:
            versions[MoveToVersionId]["stages"].add(VersionStage)
            if VersionStage == "AWSCURRENT" and RemoveFromVersionId is not None:
                for d in versions.values():
                    d["stages"].discard("AWSPREVIOUS")
                versions[RemoveFromVersionId]["stages"].add("AWSPREVIOUS")


class FakeRedisServer:
    """ACL users with several passwords each; ``reject_new`` makes the server ignore added passwords."""

    def __init__(self, admin_password: str) -> None:
        self.users: dict[str, set[str]] = {"default": {admin_password}}
        self.reject_new = False
        self.commands: list[tuple] = []

    def factory(self, **kw):
        return FakeRedisClient(self, kw["username"] or "default", kw["password"])

    def can_login(self, user: str, password: str) -> bool:
        return password in self.users.get(user, set())


class FakeRedisClient:
    def __init__(self, server: FakeRedisServer, username: str, password: str) -> None:
        self.server, self.username, self.password = server, username, password

    def _auth(self) -> None:
        if not self.server.can_login(self.username, self.password):
            raise redis.AuthenticationError("WRONGPASS invalid username-password pair or user is disabled.")

    def ping(self) -> bool:
        self._auth()
        return True

    def close(self) -> None:
        pass

    def execute_command(self, *args):
        self._auth()
        self.server.commands.append(args[:3])
        cmd = (args[0] + " " + args[1]).upper()
        users = self.server.users
        if cmd == "ACL WHOAMI":
            return self.username.encode()
        if cmd == "ACL SAVE":
            raise redis.ResponseError("ERR This Redis instance is not configured to use an ACL file.")
        if cmd == "ACL GETUSER":
            if args[2] not in users:
                return None
            return {b"flags": [b"on"], b"passwords": [hashlib.sha256(p.encode()).hexdigest().encode()
                                                      for p in sorted(users[args[2]])]}
        if cmd == "ACL DELUSER":
            users.pop(args[2], None)
            return 1
        if cmd == "ACL SETUSER":
            pw = users.setdefault(args[2], set())
            for rule in args[3:]:
                if rule.startswith(">") and not self.server.reject_new:
                    pw.add(rule[1:])
                elif rule.startswith("<"):
                    pw.discard(rule[1:])
                elif rule.startswith("!"):
                    for p in list(pw):
                        if hashlib.sha256(p.encode()).hexdigest() == rule[1:]:
                            pw.discard(p)
            return b"OK"
        raise AssertionError("unexpected command %r" % (args,))


def new_id() -> str:
    return uuid.uuid4().hex

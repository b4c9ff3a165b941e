"""provision.yml, EKS path, against the lab's moto server: the whole estate, then an idempotent re-run."""

from __future__ import annotations

import json
from pathlib import Path

import boto3
import pytest
import yaml

from tests.support.platform_lab import INVENTORY, changed_tasks, recap

REPO = Path(__file__).resolve().parents[3]
ESTATE = yaml.safe_load((REPO / INVENTORY / "group_vars/all/platform.yml").read_text())["provision_eks"]
NAME = ESTATE["name"]


@pytest.fixture(scope="module")
def aws(lab_env: dict[str, str]):
    if "AWS_ENDPOINT_URL" not in lab_env:
        pytest.fail("the lab's s3 (moto) service is not up: make lab-up LAB_SERVICES='kube s3'")
    session = boto3.session.Session(aws_access_key_id=lab_env["AWS_ACCESS_KEY_ID"],
                                    aws_secret_access_key=lab_env["AWS_SECRET_ACCESS_KEY"],
                                    region_name=lab_env.get("AWS_REGION", "eu-west-1"))
    return lambda svc: session.client(svc, endpoint_url=lab_env["AWS_ENDPOINT_URL"])


@pytest.fixture(scope="module")
def provisioned(run_playbook):
    first = run_playbook("playbooks/provision.yml", "-e", "provision_target=eks", inventory=INVENTORY)
    second = run_playbook("playbooks/provision.yml", "-e", "provision_target=eks", inventory=INVENTORY)
    return first, second


def test_vpc_spans_three_zones_with_private_and_public_subnets(provisioned, aws) -> None:
    ec2 = aws("ec2")
    vpcs = ec2.describe_vpcs(Filters=[{"Name": "tag:Name", "Values": [NAME]}])["Vpcs"]
    assert len(vpcs) == 1 and vpcs[0]["CidrBlock"] == ESTATE["vpc_cidr"]
    subnets = ec2.describe_subnets(Filters=[{"Name": "vpc-id", "Values": [vpcs[0]["VpcId"]]}])["Subnets"]
    tier = {s["CidrBlock"]: {t["Key"]: t["Value"] for t in s.get("Tags", [])}.get("erpops.io/tier") for s in subnets}
    private = [s for s in subnets if tier[s["CidrBlock"]] == "private"]
    assert sorted(s["CidrBlock"] for s in private) == sorted(ESTATE["private_subnets"])
    assert len({s["AvailabilityZone"] for s in private}) == 3
    assert len([s for s in subnets if tier[s["CidrBlock"]] == "public"]) == 3
    nat = ec2.describe_nat_gateways(Filters=[{"Name": "vpc-id", "Values": [vpcs[0]["VpcId"]]}])["NatGateways"]
    assert [n["State"] for n in nat] == ["available"]
    sgs = ec2.describe_security_groups(Filters=[{"Name": "group-name", "Values": [f"{NAME}-cluster"]}])
    assert sgs["SecurityGroups"][0]["VpcId"] == vpcs[0]["VpcId"]


def test_cluster_private_endpoint_logging_and_nodegroups(provisioned, aws) -> None:
    eks = aws("eks")
    cluster = eks.describe_cluster(name=NAME)["cluster"]
    assert cluster["status"] == "ACTIVE" and cluster["version"] == ESTATE["version"]
    vpc_cfg = cluster["resourcesVpcConfig"]
    assert vpc_cfg["endpointPrivateAccess"] is True and vpc_cfg["endpointPublicAccess"] is False
    assert len(vpc_cfg["subnetIds"]) == 3
    enabled = [t for e in cluster["logging"]["clusterLogging"] if e["enabled"] for t in e["types"]]
    assert sorted(enabled) == sorted(ESTATE["logging"])
    groups = sorted(eks.list_nodegroups(clusterName=NAME)["nodegroups"])
    assert groups == ["odoo-cron", "odoo-web", "system"]
    for ng_spec in ESTATE["nodegroups"]:
        ng = eks.describe_nodegroup(clusterName=NAME, nodegroupName=ng_spec["name"])["nodegroup"]
        assert ng["instanceTypes"] == ng_spec["instance_types"]
        assert ng["scalingConfig"] == {"minSize": ng_spec["min_size"], "desiredSize": ng_spec["desired_size"],
                                       "maxSize": ng_spec["max_size"]}
        assert ng["labels"]["erpops.io/workload"] == ng_spec["workload_class"]
        assert ng["updateConfig"] == {"maxUnavailable": 1}


def test_oidc_provider_for_service_account_roles(provisioned, aws) -> None:
    issuer = aws("eks").describe_cluster(name=NAME)["cluster"]["identity"]["oidc"]["issuer"]
    iam = aws("iam")
    arns = [p["Arn"] for p in iam.list_open_id_connect_providers()["OpenIDConnectProviderList"]]
    mine = [a for a in arns if a.endswith(issuer.replace("https://", ""))]
    assert len(mine) == 1
    assert iam.get_open_id_connect_provider(OpenIDConnectProviderArn=mine[0])["ClientIDList"] == ["sts.amazonaws.com"]
    roles = {r["RoleName"] for r in iam.list_roles()["Roles"]}
    assert {f"{NAME}-cluster", f"{NAME}-node"} <= roles


def test_buckets_versioned_encrypted_private_with_lifecycle(provisioned, aws) -> None:
    s3 = aws("s3")
    for purpose, spec in ESTATE["buckets"].items():
        bucket = spec["name"]
        assert s3.get_bucket_versioning(Bucket=bucket)["Status"] == "Enabled", purpose
        rules = s3.get_bucket_encryption(Bucket=bucket)["ServerSideEncryptionConfiguration"]["Rules"]
        assert rules[0]["ApplyServerSideEncryptionByDefault"]["SSEAlgorithm"] == "AES256"
        block = s3.get_public_access_block(Bucket=bucket)["PublicAccessBlockConfiguration"]
        assert all(block.values())
        lifecycle = {r["ID"]: r for r in s3.get_bucket_lifecycle_configuration(Bucket=bucket)["Rules"]}
        for rule in spec["lifecycle"]:
            got = lifecycle[rule["id"]]
            assert got["Status"] == "Enabled"
            if "expiration_days" in rule:
                assert got["Expiration"]["Days"] == rule["expiration_days"]
            if "noncurrent_version_expiration_days" in rule:
                days = rule["noncurrent_version_expiration_days"]
                assert got["NoncurrentVersionExpiration"]["NoncurrentDays"] == days


def test_secrets_exist_with_a_generated_value(provisioned, aws) -> None:
    sm = aws("secretsmanager")
    for spec in ESTATE["secrets"]:
        value = sm.get_secret_value(SecretId=spec["name"])["SecretString"]
        assert len(value) == 40


def test_second_run_changes_nothing(provisioned) -> None:
    first, second = provisioned
    assert recap(first.stdout)["failed"] == 0
    assert recap(second.stdout)["changed"] == 0, changed_tasks(second.stdout)


def test_overlapping_cidrs_are_refused_before_any_change(run_playbook, aws, tmp_path: Path) -> None:
    bad = dict(ESTATE, name="erpops-bad-estate", region="eu-west-1",
               zones=["eu-west-1a", "eu-west-1b", "eu-west-1c"],
               private_subnets=["10.40.0.0/19", "10.40.16.0/20", "10.40.64.0/19"])
    bad["nodegroups"] = [dict(ESTATE["nodegroups"][0], instance_types=["m6i.hugex"]), *ESTATE["nodegroups"][1:]]
    extra = tmp_path / "bad.json"
    extra.write_text(json.dumps({"provision_eks": bad}))
    res = run_playbook("playbooks/provision.yml", "-e", "provision_target=eks", "-e", f"@{extra}",
                       inventory=INVENTORY, check=False)
    assert res.returncode != 0
    out = res.stdout
    assert "overlaps 10.40.16.0/20 (private_subnets[1])" in out
    assert "nodegroups[0].instance_types[0]" in out and "m6i.hugex" in out
    vpcs = aws("ec2").describe_vpcs(Filters=[{"Name": "tag:Name", "Values": ["erpops-bad-estate"]}])["Vpcs"]
    assert vpcs == []

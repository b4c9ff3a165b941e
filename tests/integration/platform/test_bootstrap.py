"""provision.yml, bootstrap path, against the lab cluster: platform components, tenancy and the deployer account."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml
from kubernetes import client, dynamic

from tests.support.platform_lab import INVENTORY, changed_tasks, recap, sa_kubeconfig

REPO = Path(__file__).resolve().parents[3]
REGISTRY = yaml.safe_load((REPO / INVENTORY / "tenants.yml").read_text())
TENANTS = {f"{t['name']}-{env}": t for t in REGISTRY["tenants"] for env in t["environments"]}
ROLE_DEFAULTS = yaml.safe_load((REPO / "roles/platform/defaults/main.yml").read_text())
DEPLOYER = ROLE_DEFAULTS["platform_deployer_name"]
LAB_RESOURCES = {"requests": {"cpu": "100m", "memory": "256Mi"}, "limits": {"cpu": "1", "memory": "2Gi"}}


@pytest.fixture(scope="module")
def bootstrapped(run_playbook):
    first = run_playbook("playbooks/provision.yml", "-e", "provision_target=bootstrap", inventory=INVENTORY)
    second = run_playbook("playbooks/provision.yml", "-e", "provision_target=bootstrap", inventory=INVENTORY)
    return first, second


def test_second_bootstrap_changes_nothing(bootstrapped) -> None:
    assert recap(bootstrapped[1].stdout)["changed"] == 0, changed_tasks(bootstrapped[1].stdout)


def test_platform_namespaces_traefik_and_operator(bootstrapped, kube) -> None:
    core, apps = client.CoreV1Api(kube), client.AppsV1Api(kube)
    for ns in ("erpops-system", "traefik", "cnpg-system"):
        labels = core.read_namespace(ns).metadata.labels
        assert labels["pod-security.kubernetes.io/enforce"] == "baseline"
        names = {p.metadata.name for p in client.NetworkingV1Api(kube).list_namespaced_network_policy(ns).items}
        assert {"platform-default-deny", "platform-allow-dns"} <= names
    traefik = apps.read_namespaced_deployment("traefik", "traefik")
    container = traefik.spec.template.spec.containers[0]
    assert container.image == ROLE_DEFAULTS["platform_traefik_image"]
    assert "--api.dashboard=false" in container.args
    assert traefik.spec.template.spec.priority_class_name == "erpops-platform-critical"
    cnpg = apps.read_namespaced_deployment("cnpg-controller-manager", "cnpg-system")
    assert cnpg.spec.template.spec.containers[0].image == ROLE_DEFAULTS["platform_cnpg_image"]
    ic = client.NetworkingV1Api(kube).read_ingress_class("traefik")
    assert ic.spec.controller == "traefik.io/ingress-controller"
    dyn = dynamic.DynamicClient(kube)
    tlso = dyn.resources.get(api_version="traefik.io/v1alpha1", kind="TLSOption").get(name="default",
                                                                                       namespace="traefik")
    assert tlso.spec.minVersion == "VersionTLS12"
    pcs = {p.metadata.name: p.value for p in client.SchedulingV1Api(kube).list_priority_class().items}
    assert pcs["erpops-odoo-web"] > pcs["erpops-odoo-cron"] > pcs["erpops-batch"]


@pytest.mark.parametrize("namespace", sorted(TENANTS))
def test_tenant_namespace_has_quota_limits_policies_and_restricted_pss(bootstrapped, kube, namespace: str) -> None:
    core = client.CoreV1Api(kube)
    tier = TENANTS[namespace]["tier"]
    labels = core.read_namespace(namespace).metadata.labels
    assert labels["pod-security.kubernetes.io/enforce"] == "restricted"
    assert labels["erpops.io/tenant"] == TENANTS[namespace]["name"] and labels["erpops.io/tier"] == tier
    quota = core.read_namespaced_resource_quota("tenant-quota", namespace)
    assert quota.spec.hard == ROLE_DEFAULTS["platform_tiers"][tier]["quota"]
    limits = core.read_namespaced_limit_range("tenant-limits", namespace).spec.limits[0]
    assert limits.default == ROLE_DEFAULTS["platform_tiers"][tier]["limits"]["default"]
    deny = client.NetworkingV1Api(kube).read_namespaced_network_policy("platform-default-deny", namespace)
    assert deny.spec.pod_selector.match_labels is None and deny.spec.policy_types == ["Ingress", "Egress"]


def can_i(kubectl, namespace: str, *what: str, as_ns: str = "alpha-production") -> bool:
    res = kubectl("auth", "can-i", *what, "-n", namespace, f"--as=system:serviceaccount:{as_ns}:{DEPLOYER}",
                  check=False)
    return res.stdout.strip() == "yes"


@pytest.mark.parametrize(("namespace", "what", "allowed"), [
    ("alpha-production", ("get", "secrets"), True),
    ("alpha-production", ("create", "deployments.apps"), True),
    ("alpha-production", ("patch", "ingressroutes.traefik.io"), True),
    ("alpha-production", ("create", "jobs.batch"), True),
    ("alpha-production", ("list", "secrets"), False),            # no enumeration of Secrets
    ("alpha-production", ("patch", "resourcequotas"), False),     # the platform's quota is read-only
    ("alpha-production", ("delete", "limitranges"), False),
    ("alpha-production", ("patch", "namespaces/alpha-production"), False),
    ("alpha-production", ("create", "roles.rbac.authorization.k8s.io"), False),
    ("alpha-production", ("create", "pods/exec"), False),
    ("alpha-production", ("delete", "networkpolicy/platform-default-deny"), False),  # platform policy untouchable
    ("alpha-production", ("patch", "networkpolicy/alpha-production-allow-egress"), True),
    ("bravo-production", ("get", "secrets"), False),              # another tenant's Secrets
    ("bravo-production", ("get", "secret/bravo-db"), False),
    ("bravo-production", ("create", "deployments.apps"), False),
    ("bravo-staging", ("get", "configmaps"), False),
    ("kube-system", ("get", "secrets"), False),
])
def test_deployer_rights_are_least_privilege(bootstrapped, kubectl, namespace: str, what: tuple[str, ...],
                                             allowed: bool) -> None:
    assert can_i(kubectl, namespace, *what) is allowed


def test_deployer_may_list_ingressroutes_cluster_wide_only(bootstrapped, kubectl) -> None:
    # the deploy core refuses a hostname another tenant already routes: one cluster-wide list, nothing else
    res = kubectl("auth", "can-i", "list", "ingressroutes.traefik.io", "--all-namespaces",
                  f"--as=system:serviceaccount:alpha-production:{DEPLOYER}", check=False)
    assert res.stdout.strip() == "yes"
    res = kubectl("auth", "can-i", "get", "ingressroutes.traefik.io", "-n", "bravo-production",
                  f"--as=system:serviceaccount:alpha-production:{DEPLOYER}", check=False)
    assert res.stdout.strip() == "no"


def spec(namespace: str, tenant: str) -> dict[str, Any]:
    return {"tenant": tenant, "environment": "production", "namespace": namespace,
            # the platform owns Namespace, ResourceQuota and LimitRange here (docs/tenancy.md)
            "tenancy": "dedicated", "create_namespace": False,
            "image": "registry.example.net/odoo:17.0", "odoo_version": 17,
            "web": {"replicas": 1, "workers": 2, "resources": LAB_RESOURCES}, "cron": {"resources": LAB_RESOURCES},
            "hostnames": [f"{tenant}.erp.lab.test"], "tls": {"mode": "certresolver", "cert_resolver": "lab"},
            "progress_deadline_seconds": 60,
            # the lab has no volume provisioner: attachments in object storage
            "filestore": {"type": "s3", "s3": {"bucket": f"erpops-lab-{tenant}", "endpoint": "http://127.0.0.1:9",
                                              "secret": f"{tenant}-s3"}},
            "database": {"host": "pg.lab.test", "name": tenant, "user": f"odoo_{tenant}",
                         "password_secret": {"name": f"{tenant}-db", "key": "password"}, "cidrs": ["10.0.0.0/8"]}}


def deploy_as(ansible_env: dict[str, str], kubeconfig: Path, namespace: str, tenant: str, tmp: Path
              ) -> subprocess.CompletedProcess[str]:
    play = [{"name": "Deploy one tenant as its deployer ServiceAccount", "hosts": "localhost", "gather_facts": False,
             "tasks": [{"name": "Deploy", "erpops.odoo.odoo_instance": {
                 "kubeconfig": str(kubeconfig), "spec": spec(namespace, tenant), "wait": True, "wait_timeout": 240,
                 "secrets": {f"{tenant}-db": {"password": "lab-only-password"},
                             f"{tenant}-s3": {"AWS_ACCESS_KEY_ID": "lab", "AWS_SECRET_ACCESS_KEY": "lab-only"}}},
                 "register": "out"},
                 {"name": "Result", "ansible.builtin.debug": {"msg": "CHANGED={{ out.changed }}"}}]}]
    pb = tmp / f"deploy-{namespace}.yml"
    pb.write_text(yaml.safe_dump(play))
    env = dict(ansible_env)
    env.pop("KUBECONFIG", None)  # only the ServiceAccount's kubeconfig
    return subprocess.run([str(Path(sys.executable).parent / "ansible-playbook"), "-i", "localhost,", "-c", "local",
                           "-e", f"ansible_python_interpreter={sys.executable}", str(pb)],
                          cwd=REPO, env=env, capture_output=True, text=True, check=False)


def test_deploy_with_the_deployer_token_works_and_stays_in_its_namespace(  # noqa: PLR0917 - pytest fixtures
        bootstrapped, kubectl, kube, lab_env, ansible_env, tmp_path: Path) -> None:
    kc = sa_kubeconfig(kubectl, lab_env, "alpha-production", DEPLOYER, tmp_path / "alpha.kubeconfig")
    res = deploy_as(ansible_env, kc, "alpha-production", "alpha", tmp_path)
    assert res.returncode == 0, res.stdout[-4000:] + res.stderr[-2000:]
    apps = client.AppsV1Api(kube)
    web = apps.read_namespaced_deployment("alpha-production-web", "alpha-production")
    assert web.metadata.managed_fields[0].manager.startswith("erpops.odoo")
    assert (web.status.ready_replicas or 0) == 1
    # idempotent under the same account
    again = deploy_as(ansible_env, kc, "alpha-production", "alpha", tmp_path)
    assert again.returncode == 0 and "CHANGED=False" in again.stdout, again.stdout[-3000:]
    # the platform's objects are untouched by the deploy
    assert client.CoreV1Api(kube).read_namespaced_resource_quota("tenant-quota", "alpha-production")
    # the same account cannot deploy into another tenant's namespace
    other = deploy_as(ansible_env, kc, "bravo-production", "bravo", tmp_path)
    assert other.returncode != 0
    assert "forbidden" in other.stdout.lower()
    assert apps.list_namespaced_deployment("bravo-production").items == []


def test_inventory_plugin_lists_tenants_from_registry_and_from_labels(bootstrapped, lab_env, tmp_path: Path) -> None:
    env = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=str(REPO / "build" / "collections"))
    exe = str(Path(sys.executable).parent / "ansible-inventory")
    reg = json.loads(subprocess.run([exe, "-i", str(REPO / INVENTORY), "--list"], env=env, capture_output=True,
                                    text=True, check=True).stdout)
    cfg = tmp_path / "lab.tenants.yml"
    # only namespaces the platform role bootstrapped (other suites deploy tenants of their own to the same lab)
    cfg.write_text(yaml.safe_dump({"plugin": "erpops.odoo.tenants", "source": "kubernetes",
                                   "label_selector": "erpops.io/tenant,erpops.io/platform=true",
                                   "kubernetes": [{"name": "lab", "kubeconfig": lab_env["KUBECONFIG"]}]}))
    live = json.loads(subprocess.run([exe, "-i", str(cfg), "--list"], env=env, capture_output=True, text=True,
                                     check=True).stdout)
    for data in (reg, live):
        assert sorted(data["tenants"]["hosts"]) == sorted(TENANTS)
        assert sorted(data["cluster_lab"]["hosts"]) == sorted(TENANTS)
        assert sorted(data["env_staging"]["hosts"]) == ["bravo-staging"]
        assert sorted(data["tier_premium"]["hosts"]) == ["alpha-production"]
        assert sorted(data["tier_standard"]["hosts"]) == ["bravo-production", "bravo-staging"]

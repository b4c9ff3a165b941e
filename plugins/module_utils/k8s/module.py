# -*- coding: utf-8 -*-
# Copyright: erpops.odoo contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The part every Kubernetes module of an instance shares: the engine from the cluster options, the errors of the
core mapped to ``fail_json`` the same way everywhere."""

from __future__ import absolute_import, division, print_function
from __future__ import annotations

__metaclass__ = type

from typing import Any, Callable  # noqa: UP035 - Python 3.8 on managed hosts

from ansible.module_utils.basic import missing_required_lib

from ansible_collections.erpops.odoo.plugins.module_utils.k8s import apply as k8s_apply
from ansible_collections.erpops.odoo.plugins.module_utils.k8s.instance import InstanceError
from ansible_collections.erpops.odoo.plugins.module_utils.k8s.release import ReleaseError
from ansible_collections.erpops.odoo.plugins.module_utils.k8s.spec import SpecError


def run(module: Any, call: Callable[[Any], dict[str, Any]], failure_key: str = "failure") -> dict[str, Any]:
    """``call(engine)`` with an engine for the module's ``kubeconfig``/``context`` and check mode; its result.

    Bad input (spec, release) fails with ``changed=false``; an :class:`InstanceError` with its partial result and
    its details under ``failure_key``; an API error with its details.
    """
    if not k8s_apply.HAS_KUBERNETES:
        module.fail_json(msg=missing_required_lib("kubernetes"), exception=str(k8s_apply.KUBERNETES_IMPORT_ERROR))
    p = module.params
    try:
        engine = k8s_apply.Engine(k8s_apply.new_client(p["kubeconfig"], p["context"]), check_mode=module.check_mode)
        return call(engine)
    except (SpecError, ReleaseError) as exc:
        module.fail_json(msg=str(exc), changed=False)
    except InstanceError as exc:
        res = dict(exc.result)
        res.pop("msg", None)
        res[failure_key] = exc.details
        module.fail_json(msg=str(exc), **res)
    except k8s_apply.ApplyError as exc:
        module.fail_json(msg=str(exc), details=exc.details)
    raise AssertionError("fail_json returns only in tests")  # pragma: no cover

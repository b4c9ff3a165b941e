# -*- coding: utf-8 -*-
# Copyright: erpops.odoo contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Argument-spec pieces shared by the Kubernetes modules (documented by doc_fragments/k8s_cluster.py)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import copy

CLUSTER_ARGS = {
    "kubeconfig": {"type": "path"},
    "context": {"type": "str"},
}

SPEC_ARG = {"spec": {"type": "dict", "required": True}}


def argspec(**extra):
    """CLUSTER_ARGS plus module-specific options (deep-copied so modules cannot alter the shared dicts)."""
    out = copy.deepcopy(CLUSTER_ARGS)
    out.update(copy.deepcopy(extra))
    return out

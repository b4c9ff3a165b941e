# -*- coding: utf-8 -*-
# Copyright: erpops.odoo contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""PostgreSQL connection options of the backup modules (mirrors DATABASE_OPTIONS in module_utils/backup/args.py)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type


class ModuleDocFragment(object):
    DOCUMENTATION = r"""
options:
  login_host:
    description: PostgreSQL host; defaults to C(PGHOST), else the local socket.
    type: str
  login_port:
    description: PostgreSQL port; defaults to C(PGPORT).
    type: int
    default: 5432
  login_user:
    description:
      - Role used for dumps and restores; defaults to C(PGUSER).
      - Backups need read access to every table; restores need C(CREATEDB) and, with C(overwrite), ownership of
        the existing database (or superuser).
    type: str
  login_password:
    description: Password of O(login_user); defaults to C(PGPASSWORD). Passed to libpq and the client binaries
      through the environment only.
    type: str
  ssl_mode:
    description: libpq C(sslmode).
    type: str
    choices: [disable, allow, prefer, require, verify-ca, verify-full]
  maintenance_db:
    description: Database used for C(CREATE/ALTER/DROP DATABASE).
    type: str
    default: postgres
  pg_bin_dir:
    description: Directory of C(pg_dump)/C(pg_restore) (e.g. C(/usr/lib/postgresql/15/bin)); default is C(PATH).
      Use binaries of the server's major version or newer.
    type: path
  connect_timeout:
    description: Connection timeout in seconds; an unreachable server fails with a clear error after it.
    type: int
    default: 10
requirements:
  - psycopg >= 3 or psycopg2 on the host running the module
  - PostgreSQL client binaries (pg_dump, pg_restore)
"""

"""Generate an Odoo-shaped database and filestore for backup/restore tests and benchmarks.

Real Odoo core table names and key columns (res_company, res_partner, res_users, ir_module_module,
ir_config_parameter, ir_attachment with store_fname, ir_cron, ir_mail_server, mail_message, account_move,
account_move_line, project_project, project_task, ...). Rows come from ``generate_series`` in SQL; filestore
files are random (incompressible, like PDFs and images) under ``<data_dir>/filestore/<db>/<xx>/<sha1>``.

Size: ``size_mb`` (default from ``ERPOPS_BACKUP_FIXTURE_MB``, else 240) is split roughly 2/3 database,
1/3 filestore.

    python tests/support/odoo_fixture.py DBNAME DATA_DIR [SIZE_MB]     # uses PG* environment variables
"""

from __future__ import annotations

import hashlib
import os
import random
import re
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import psycopg
from psycopg import sql

DEFAULT_MB = int(os.environ.get("ERPOPS_BACKUP_FIXTURE_MB", "240"))

MODULES = [
    "base", "web", "bus", "mail", "contacts", "product", "uom", "analytic", "account", "account_edi",
    "sale", "sale_management", "purchase", "stock", "project", "hr", "hr_timesheet", "calendar", "portal",
    "digest", "resource", "utm", "web_editor", "base_setup", "base_import", "auth_signup", "iap", "sms",
    "payment", "l10n_generic_coa", "project_account", "sale_project", "purchase_stock", "sale_stock",
]

SCHEMA = """
CREATE TABLE res_currency (id serial PRIMARY KEY, name varchar NOT NULL, symbol varchar, active boolean DEFAULT true);
CREATE TABLE res_company (id serial PRIMARY KEY, name varchar NOT NULL, partner_id integer, currency_id integer
    REFERENCES res_currency(id), sequence integer, create_date timestamp DEFAULT now(), write_date timestamp);
CREATE TABLE res_partner (id serial PRIMARY KEY, name varchar, display_name varchar, company_id integer
    REFERENCES res_company(id), ref varchar, email varchar, phone varchar, street varchar, city varchar, zip varchar,
    vat varchar, is_company boolean, active boolean DEFAULT true, comment text, create_date timestamp,
    write_date timestamp);
CREATE TABLE res_groups (id serial PRIMARY KEY, name jsonb NOT NULL);
CREATE TABLE res_users (id serial PRIMARY KEY, login varchar NOT NULL UNIQUE, password varchar,
    partner_id integer NOT NULL REFERENCES res_partner(id), company_id integer REFERENCES res_company(id),
    active boolean DEFAULT true, share boolean, create_date timestamp);
CREATE TABLE ir_module_module (id serial PRIMARY KEY, name varchar NOT NULL UNIQUE, state varchar,
    latest_version varchar, author varchar, license varchar, summary jsonb, application boolean);
CREATE TABLE ir_config_parameter (id serial PRIMARY KEY, key varchar NOT NULL, value text NOT NULL,
    create_date timestamp, write_date timestamp, CONSTRAINT ir_config_parameter_key_uniq UNIQUE (key));
CREATE TABLE ir_cron (id serial PRIMARY KEY, cron_name varchar, active boolean, interval_number integer,
    interval_type varchar, nextcall timestamp NOT NULL, priority integer);
CREATE TABLE ir_mail_server (id serial PRIMARY KEY, name varchar NOT NULL, smtp_host varchar, smtp_port integer,
    smtp_encryption varchar, active boolean DEFAULT true, sequence integer);
CREATE TABLE ir_attachment (id serial PRIMARY KEY, name varchar NOT NULL, res_model varchar, res_id integer,
    company_id integer, type varchar NOT NULL, url varchar, public boolean, store_fname varchar, db_datas bytea,
    file_size integer, checksum varchar, mimetype varchar, index_content text, create_date timestamp);
CREATE INDEX ir_attachment_res_idx ON ir_attachment (res_model, res_id);
CREATE TABLE mail_message (id serial PRIMARY KEY, model varchar, res_id integer, body text, subject varchar,
    author_id integer REFERENCES res_partner(id), message_type varchar, date timestamp);
CREATE INDEX mail_message_model_res_id_idx ON mail_message (model, res_id);
CREATE TABLE account_account (id serial PRIMARY KEY, code varchar NOT NULL, name jsonb NOT NULL,
    account_type varchar, company_id integer REFERENCES res_company(id));
CREATE TABLE account_journal (id serial PRIMARY KEY, name jsonb NOT NULL, code varchar, type varchar,
    company_id integer REFERENCES res_company(id));
CREATE TABLE account_move (id serial PRIMARY KEY, name varchar, ref varchar, date date NOT NULL, state varchar,
    move_type varchar, partner_id integer REFERENCES res_partner(id), journal_id integer REFERENCES
    account_journal(id), company_id integer REFERENCES res_company(id), currency_id integer, amount_total numeric,
    amount_residual numeric, payment_state varchar, narration text, create_date timestamp);
CREATE INDEX account_move_date_idx ON account_move (date);
CREATE TABLE account_move_line (id serial PRIMARY KEY, move_id integer NOT NULL REFERENCES account_move(id)
    ON DELETE CASCADE, account_id integer REFERENCES account_account(id), partner_id integer, name varchar,
    date date, debit numeric, credit numeric, balance numeric, amount_currency numeric, quantity numeric,
    price_unit numeric, display_type varchar, company_id integer, create_date timestamp);
CREATE INDEX account_move_line_move_id_idx ON account_move_line (move_id);
CREATE INDEX account_move_line_account_id_idx ON account_move_line (account_id);
CREATE TABLE project_project (id serial PRIMARY KEY, name jsonb NOT NULL, partner_id integer REFERENCES
    res_partner(id), company_id integer REFERENCES res_company(id), active boolean DEFAULT true, sequence integer,
    date_start date, date date, description text);
CREATE TABLE project_task (id serial PRIMARY KEY, name varchar NOT NULL, project_id integer REFERENCES
    project_project(id), stage_id integer, priority varchar, description text, date_deadline date, active boolean,
    create_date timestamp);
CREATE INDEX project_task_project_id_idx ON project_task (project_id);
"""


@dataclass
class Sizes:
    partners: int
    moves: int
    lines_per_move: int
    messages: int
    projects: int
    tasks: int
    files: int
    file_kb: int

    @classmethod
    def for_mb(cls, size_mb: float) -> Sizes:
        db_mb = max(1.0, size_mb * 2 / 3)
        fs_mb = max(0.25, size_mb / 3)
        file_kb = 48
        return cls(partners=int(db_mb * 260), moves=int(db_mb * 500), lines_per_move=4,
                   messages=int(db_mb * 650), projects=max(5, int(db_mb / 2)), tasks=int(db_mb * 220),
                   files=max(4, int(fs_mb * 1024 / file_kb)), file_kb=file_kb)


def populate(conn: psycopg.Connection, s: Sizes) -> None:
    """Create the schema and fill it with ``generate_series`` (one statement per table)."""
    cur = conn.cursor()

    def run(stmt: str, params: tuple = ()) -> None:
        """Literal ``%`` in the SQL, ``%s`` placeholders for params."""
        cur.execute(re.sub(r"%(?!s)", "%%", stmt) if params else stmt, params or None)

    run(SCHEMA)
    run("INSERT INTO res_currency (name, symbol) VALUES ('EUR', '€'), ('USD', '$'), ('CHF', 'CHF')")
    run("INSERT INTO res_company (name, currency_id, sequence) "
                "SELECT 'Construction Co ' || g, 1, g FROM generate_series(1, 3) g")
    run(
        "INSERT INTO res_partner (name, display_name, company_id, ref, email, phone, street, city, zip, vat, "
        "is_company, comment, create_date, write_date) "
        "SELECT 'Partner ' || g, 'Partner ' || g, 1 + g % 3, 'P' || lpad(g::text, 7, '0'), "
        "'partner' || g || '@example.invalid', '+41 44 ' || lpad((g::bigint * 7919 % 10000000)::text, 7, '0'), "
        "g || ' Baustrasse', (ARRAY['Zürich','Basel','Bern','Genève','Lausanne'])[1 + g % 5], "
        "lpad((1000 + g % 9000)::text, 4, '0'), 'CHE-' || lpad((g::bigint * 104729 % 1000000000)::text, 9, '0'), "
        "g % 4 = 0, md5(g::text) || ' site notes ' || md5((g * 3)::text), "
        "now() - (g % 1000) * interval '1 day', now() FROM generate_series(1, %s) g", (s.partners,))
    run("UPDATE res_company SET partner_id = id")
    run("INSERT INTO res_groups (name) SELECT jsonb_build_object('en_US', 'Group ' || g) "
                "FROM generate_series(1, 40) g")
    run("INSERT INTO res_users (login, password, partner_id, company_id, share, create_date) "
                "SELECT CASE WHEN g = 1 THEN 'admin' ELSE 'user' || g END, "
                "'$pbkdf2-sha512$600000$' || md5(g::text), g, 1 + g % 3, g > 20, now() "
                "FROM generate_series(1, %s) g", (max(5, min(200, s.partners // 10)),))
    cur.executemany(
        "INSERT INTO ir_module_module (name, state, latest_version, author, license, summary, application) "
        "VALUES (%s, 'installed', %s, 'Odoo S.A.', 'LGPL-3', '{\"en_US\": \"core\"}', false)",
        [(m, "17.0.1.%d" % (i % 4)) for i, m in enumerate(MODULES)])
    run("UPDATE ir_module_module SET latest_version = '17.0.1.3' WHERE name = 'base'")
    run("INSERT INTO ir_module_module (name, state, latest_version, author, license) "
                "SELECT 'l10n_x' || g, 'uninstalled', NULL, 'Odoo S.A.', 'LGPL-3' FROM generate_series(1, 60) g")
    run("INSERT INTO ir_config_parameter (key, value, create_date) VALUES "
                "('database.uuid', gen_random_uuid()::text, now()), ('database.create_date', now()::text, now()), "
                "('web.base.url', 'https://erp.example.invalid', now()), ('database.secret', md5(random()::text), "
                "now()), ('mail.catchall.domain', 'example.invalid', now())")
    run("INSERT INTO ir_cron (cron_name, active, interval_number, interval_type, nextcall, priority) "
                "SELECT 'Scheduled action ' || g, true, 1 + g % 5, (ARRAY['minutes','hours','days'])[1 + g % 3], "
                "now() + g * interval '1 hour', 5 FROM generate_series(1, 25) g")
    run("INSERT INTO ir_mail_server (name, smtp_host, smtp_port, smtp_encryption, active, sequence) VALUES "
                "('Outgoing', 'smtp.example.invalid', 587, 'starttls', true, 10), "
                "('Bulk', 'bulk.example.invalid', 465, 'ssl', true, 20)")
    run("INSERT INTO account_account (code, name, account_type, company_id) "
                "SELECT (100000 + g)::text, jsonb_build_object('en_US', 'Account ' || g), "
                "(ARRAY['asset_receivable','liability_payable','income','expense','asset_current'])[1 + g % 5], "
                "1 + g % 3 FROM generate_series(1, 300) g")
    run("INSERT INTO account_journal (name, code, type, company_id) "
                "SELECT jsonb_build_object('en_US', 'Journal ' || g), 'J' || g, "
                "(ARRAY['sale','purchase','bank','general'])[1 + g % 4], 1 + g % 3 FROM generate_series(1, 12) g")
    run(
        "INSERT INTO account_move (name, ref, date, state, move_type, partner_id, journal_id, company_id, "
        "currency_id, amount_total, amount_residual, payment_state, narration, create_date) "
        "SELECT 'INV/' || (2020 + g % 6) || '/' || lpad(g::text, 6, '0'), 'REF-' || md5(g::text), "
        "date '2020-01-01' + (g % 2190), "
        "(ARRAY['posted','draft','cancel'])[1 + (g % 10 = 0)::int + (g % 37 = 0)::int], "
        "(ARRAY['out_invoice','in_invoice','entry','out_refund'])[1 + g % 4], 1 + g % %s, 1 + g % 12, "
        "1 + g % 3, 1, round((g * 7.31) % 100000, 2), round((g * 3.17) % 1000, 2), 'not_paid', "
        "'Terms: ' || md5(g::text), now() FROM generate_series(1, %s) g",
        (s.partners, s.moves))
    run(
        "INSERT INTO account_move_line (move_id, account_id, partner_id, name, date, debit, credit, balance, "
        "amount_currency, quantity, price_unit, display_type, company_id, create_date) "
        "SELECT m, 1 + (m * 4 + l) % 300, 1 + m % %s, 'Line ' || l || ' of move ' || m || ' ' || md5((m * l)::text), "
        "date '2020-01-01' + (m % 2190), CASE WHEN l % 2 = 0 THEN (m * 1.37) % 5000 ELSE 0 END, "
        "CASE WHEN l % 2 = 1 THEN (m * 1.37) % 5000 ELSE 0 END, "
        "CASE WHEN l % 2 = 0 THEN (m * 1.37) % 5000 ELSE -((m * 1.37) % 5000) END, (m * 1.37) % 5000, "
        "1 + l, round((m * 0.91) % 500, 2), 'product', 1 + m % 3, now() "
        "FROM generate_series(1, %s) m, generate_series(1, %s) l",
        (s.partners, s.moves, s.lines_per_move))
    run(
        "INSERT INTO mail_message (model, res_id, body, subject, author_id, message_type, date) "
        "SELECT 'account.move', 1 + g % %s, '<p>' || repeat(md5(g::text) || ' ', 4) || '</p>', 'Re: ' || g, "
        "1 + g % %s, 'comment', now() - (g % 1000) * interval '1 hour' FROM generate_series(1, %s) g",
        (s.moves, s.partners, s.messages))
    run(
        "INSERT INTO project_project (name, partner_id, company_id, sequence, date_start, date, description) "
        "SELECT jsonb_build_object('en_US', 'Site ' || g), 1 + g % %s, 1 + g % 3, g, date '2022-01-01' + g, "
        "date '2024-01-01' + g, 'Construction site ' || md5(g::text) FROM generate_series(1, %s) g",
        (s.partners, s.projects))
    run(
        "INSERT INTO project_task (name, project_id, stage_id, priority, description, date_deadline, active, "
        "create_date) SELECT 'Task ' || g, 1 + g % %s, 1 + g % 6, (g % 2)::text, "
        "'<p>' || md5(g::text) || md5((g + 1)::text) || '</p>', date '2024-01-01' + g % 700, true, now() "
        "FROM generate_series(1, %s) g", (s.projects, s.tasks))


def write_filestore(conn: psycopg.Connection, fs_dir: Path, s: Sizes, seed: int = 17) -> tuple[int, int]:
    """Random files at ``<xx>/<sha1>`` plus matching ``ir_attachment`` rows (COPY). Returns (files, bytes)."""
    rng = random.Random(seed)
    rows = []
    total = 0
    for i in range(1, s.files + 1):
        size = max(256, int(s.file_kb * 1024 * (0.25 + 1.5 * rng.random())))
        data = rng.randbytes(size)
        sha1 = hashlib.sha1(data).hexdigest()  # noqa: S324 - Odoo names filestore files by SHA-1
        d = fs_dir / sha1[:2]
        d.mkdir(parents=True, exist_ok=True)
        (d / sha1).write_bytes(data)
        total += size
        kind = ("application/pdf", "image/jpeg", "image/png")[i % 3]
        rows.append(("document_%d.%s" % (i, kind.split("/")[1]), "account.move", 1 + i % 1000, 1, "binary",
                     "%s/%s" % (sha1[:2], sha1), size, sha1, kind))
    with conn.cursor().copy("COPY ir_attachment (name, res_model, res_id, company_id, type, store_fname, "
                            "file_size, checksum, mimetype) FROM STDIN") as cp:
        for r in rows:
            cp.write_row(r)
    # and a few url attachments without a file, as Odoo has
    conn.execute("INSERT INTO ir_attachment (name, type, url, res_model, public, create_date) "
                 "SELECT '/web/assets/' || g || '/web.assets_frontend.min.css', 'url', '/web/assets/' || g, "
                 "'ir.ui.view', true, now() FROM generate_series(1, 20) g")
    return len(rows), total


def create(dbname: str, data_dir: str | Path, size_mb: float = DEFAULT_MB, *, conninfo: str = "",
           replace: bool = True) -> dict:
    """(Re)create database ``dbname`` and its filestore under ``data_dir/filestore/<dbname>``."""
    t0 = time.monotonic()
    s = Sizes.for_mb(size_mb)
    fs_dir = Path(data_dir) / "filestore" / dbname
    with psycopg.connect(conninfo, dbname="postgres", autocommit=True) as admin:
        if replace:
            admin.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s", (dbname,))
            admin.execute(sql.SQL("DROP DATABASE IF EXISTS {}").format(sql.Identifier(dbname)))
        admin.execute(sql.SQL("CREATE DATABASE {} TEMPLATE template0 ENCODING 'UTF8'").format(sql.Identifier(dbname)))
    if fs_dir.exists() and replace:
        import shutil

        shutil.rmtree(fs_dir)
    with psycopg.connect(conninfo, dbname=dbname) as conn:
        populate(conn, s)
        files, fs_bytes = write_filestore(conn, fs_dir, s)
        conn.commit()
        conn.autocommit = True
        conn.execute("VACUUM ANALYZE")
        db_bytes = conn.execute("SELECT pg_database_size(current_database())").fetchone()[0]
    return {"db": dbname, "filestore": str(fs_dir), "db_bytes": int(db_bytes), "filestore_files": files,
            "filestore_bytes": fs_bytes, "seconds": round(time.monotonic() - t0, 2), "sizes": s.__dict__}


def drop(dbname: str, conninfo: str = "") -> None:
    with psycopg.connect(conninfo, dbname="postgres", autocommit=True) as admin:
        admin.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s", (dbname,))
        admin.execute(sql.SQL("DROP DATABASE IF EXISTS {}").format(sql.Identifier(dbname)))


if __name__ == "__main__":
    args = sys.argv[1:]
    if len(args) < 2:
        print(__doc__)
        sys.exit(2)
    print(create(args[0], args[1], float(args[2]) if len(args) > 2 else DEFAULT_MB))

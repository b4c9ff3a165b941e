"""The erpops.odoo lab: real services on 127.0.0.1 for tests and the demo."""

"""Offline stand-in for ansible-test's pip bootstrap script (get-pip.py).

ansible-test bootstraps pip into its sanity-test venvs by downloading get-pip.py from
ci-files.testing.ansible.com, which this environment cannot reach. This script does the same
job with the interpreter's bundled ``ensurepip`` and then installs the requested pins from PyPI.
tools/sanity.sh copies it to the cache path ansible-test looks in before downloading.
"""

import ensurepip
import os
import subprocess
import sys

# ansible-test runs pip with a filtered environment, so the machine's pip settings (CA bundle of
# the registry proxy, local wheel links) would be lost: pin them in the venv's own pip.conf.
conf = ["[global]", "disable-pip-version-check = true"]
cert = os.environ.get("ERPOPS_PIP_CERT", "/etc/ssl/certs/ca-certificates.crt")
if os.path.exists(cert):
    conf.append("cert = %s" % cert)
with open(os.path.join(sys.prefix, "pip.conf"), "w") as fh:
    fh.write("\n".join(conf) + "\n")

ensurepip.bootstrap(upgrade=True, default_pip=True)
# ensurepip sets PIP_CONFIG_FILE=/dev/null in *our* environment: undo it so pip.conf applies.
os.environ.pop("PIP_CONFIG_FILE", None)
args = [a for a in sys.argv[1:] if a not in ("--no-setuptools", "--no-wheel")]
sys.exit(subprocess.call([sys.executable, "-m", "pip", "install", *args]))

"""Redis (Debian redis-server) with a generated password, on 127.0.0.1."""

from __future__ import annotations

import os
import shutil

from lab.framework import Lab, LabError, Service, port_open

PORT = int(os.environ.get("ERPOPS_LAB_REDIS_PORT", "56379"))


class Redis(Service):
    name = "redis"

    def healthy(self, lab: Lab) -> bool:
        if not port_open(PORT):
            return False
        cli = shutil.which("redis-cli")
        if cli is None:
            return False
        res = lab.run([cli, "-h", "127.0.0.1", "-p", str(PORT), "--no-auth-warning", "ping"],
                      env={"REDISCLI_AUTH": lab.secret("redis_password")}, check=False)
        return res.stdout.strip() == "PONG"

    def start(self, lab: Lab) -> None:
        server = shutil.which("redis-server")
        if server is None:
            raise LabError("redis-server not found: run tools/apt-deps.sh")
        d = lab.dir(self.name)
        conf = d / "redis.conf"
        conf.write_text(
            f"bind 127.0.0.1\nport {PORT}\nprotected-mode yes\ndaemonize no\n"
            f"dir {d}\nappendonly no\nsave \"\"\n"
            f"requirepass {lab.secret('redis_password')}\n"
        )
        conf.chmod(0o600)
        lab.spawn(self.name, "redis", [server, str(conf)])

    def env(self, lab: Lab) -> dict[str, str]:
        pw = lab.secret("redis_password")
        return {"REDIS_HOST": "127.0.0.1", "REDIS_PORT": str(PORT), "REDIS_PASSWORD": pw,
                "REDIS_URL": f"redis://:{pw}@127.0.0.1:{PORT}/0"}

    def describe(self, lab: Lab) -> str:
        return f"redis://127.0.0.1:{PORT} (password in .lab/env)"

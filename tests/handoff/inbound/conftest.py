"""A throwaway Dovecot IMAP server for the inbound tests: its own configuration in a temporary directory,
IMAPS on a free loopback port with a self-signed certificate, one passwd-file user, maildirs in the
directory. Started once per session; skipped (failed in CI) without Debian's dovecot-imapd."""
from __future__ import annotations

import os
import pwd
import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest

from tests.fakes import free_port, wait_for

USER, PASSWORD = "support@example.com", "imap-test-password"


class Dovecot:
    def __init__(self):
        self.dir = Path(tempfile.mkdtemp(prefix="ccr-dovecot-"))
        self.dir.chmod(0o755)  # dovecot's unprivileged processes reach their sockets through it
        self.port = free_port()
        self.cert, self.key = self.dir / "cert.pem", self.dir / "key.pem"
        # As root, dovecot drops to its own users; mail is then accessed as `dovecot`. Otherwise as us.
        me = pwd.getpwuid(os.getuid()).pw_name
        self.mail_user = "dovecot" if os.geteuid() == 0 else me
        self.internal = {} if os.geteuid() == 0 else {"default_internal_user": me, "default_login_user": me}

    def start(self) -> "Dovecot":
        subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
                        "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1",
                        "-keyout", str(self.key), "-out", str(self.cert)], check=True, capture_output=True)
        (self.dir / "passwd").write_text(f"{USER}:{{PLAIN}}{PASSWORD}::::::\n")
        home = self.dir / "home"
        home.mkdir()
        entry = pwd.getpwnam(self.mail_user)
        shutil.chown(home, entry.pw_uid, entry.pw_gid)
        settings = {
            "protocols": "imap", "listen": "127.0.0.1", "base_dir": str(self.dir / "run"),
            "state_dir": str(self.dir / "state"), "log_path": str(self.dir / "dovecot.log"),
            "ssl": "required", "ssl_cert": f"<{self.cert}", "ssl_key": f"<{self.key}",
            "mail_location": f"maildir:{home}/%u", "first_valid_uid": "1", "auth_mechanisms": "plain",
            **self.internal,
        }
        conf = [f"{k} = {v}" for k, v in settings.items()] + [
            "service imap-login {", "  inet_listener imap {", "    port = 0", "  }",
            "  inet_listener imaps {", f"    port = {self.port}", "    ssl = yes", "  }", "}",
            "passdb {", "  driver = passwd-file", f"  args = scheme=PLAIN {self.dir / 'passwd'}", "}",
            "userdb {", "  driver = static", f"  args = uid={entry.pw_uid} gid={entry.pw_gid} home={home}/%u", "}",
            "service anvil {", "  chroot =", "}", "service imap-login {", "  chroot =", "}",
        ]
        self.conf = self.dir / "dovecot.conf"
        self.conf.write_text("\n".join(conf) + "\n")
        self.proc = subprocess.Popen(["dovecot", "-F", "-c", str(self.conf)], stdout=subprocess.DEVNULL,
                                     stderr=subprocess.STDOUT)
        try:
            wait_for(self._listening, timeout=20)
        except Exception:
            self.stop()
            raise RuntimeError("dovecot did not start:\n" + self.log())
        return self

    def _listening(self) -> bool:
        import socket

        if self.proc.poll() is not None:
            raise RuntimeError("dovecot exited:\n" + self.log())
        try:
            socket.create_connection(("127.0.0.1", self.port), timeout=0.5).close()
            return True
        except OSError:
            return False

    def log(self) -> str:
        path = self.dir / "dovecot.log"
        return path.read_text(errors="replace")[-3000:] if path.exists() else ""

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
        shutil.rmtree(self.dir, ignore_errors=True)


@pytest.fixture(scope="session")
def dovecot():
    if not shutil.which("dovecot") and not Path("/usr/sbin/dovecot").exists():
        reason = "Debian's dovecot-imapd is not installed: run `make scale-deps` (or apt-get install dovecot-imapd)."
        if os.environ.get("CI"):
            pytest.fail(reason)
        pytest.skip(reason)
    server = Dovecot().start()
    yield server
    server.stop()

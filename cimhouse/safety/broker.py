"""The MQTT broker: Debian's ``mosquitto`` run by cimhouse itself, or an existing one by URL.

Like the embedded PostgreSQL cluster, the embedded broker lives in one directory
(``VAR_DIR/mqtt``): ``mosquitto.conf``, a password file with one generated user (its
password in ``credentials``, mode 0600: the broker refuses anonymous clients), ``data/``
(persistence: queued QoS 1 messages of a persistent session survive a restart of the
broker), ``mosquitto.pid`` and ``mosquitto.log``. It listens on 127.0.0.1 only, on
``CIMHOUSE_MQTT_PORT`` (1883). With ``CIMHOUSE_MQTT_URL`` set, that broker is used and
cimhouse starts nothing.

Example::

    broker = EmbeddedBroker(Path("var/mqtt"), port=1883)
    broker.start()                  # writes the config on first use, then mosquitto -d
    broker.url()                    # 'mqtt://cimhouse:<password>@127.0.0.1:1883'
    broker.stop()
"""

from __future__ import annotations

import os
import pwd
import secrets
import shutil
import signal
import socket
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote, unquote, urlsplit

from cimhouse.errors import ConfigurationError, DatabaseUnavailable, InvalidInput
from cimhouse.i18n import _
from cimhouse.settings import Settings

USER = "cimhouse"
MOSQUITTO_PATHS = ("/usr/sbin/mosquitto", "/usr/bin/mosquitto")
PASSWD_PATHS = ("/usr/bin/mosquitto_passwd",)

# A persistent session (the ingester's) keeps its queue while the ingester is away: no cap
# on queued messages (mosquitto's default of 1000 would drop readings), and no cap on QoS 1
# messages in flight to a client (the ingester acknowledges a whole batch after its commit;
# MQTT 5 clients also bound it with their receive-maximum).
CONFIG = """# written by cimhouse (cimhouse/safety/broker.py); rewritten on every start
listener {port} 127.0.0.1
allow_anonymous false
password_file {passwd}
persistence true
persistence_location {data}/
autosave_interval 60
pid_file {pid}
log_dest file {log}
log_type error
log_type warning
log_type notice
user {user}
max_queued_messages 0
max_queued_bytes 0
max_inflight_messages 0
max_packet_size 1048576
set_tcp_nodelay true
"""


@dataclass(frozen=True)
class BrokerAddress:
    """Where a broker listens and who we are there (parsed from an ``mqtt://`` URL)."""

    host: str
    port: int
    username: str | None = None
    password: str | None = None

    @classmethod
    def parse(cls, url: str) -> BrokerAddress:
        """>>> BrokerAddress.parse("mqtt://u:p%40@10.0.0.5:1884")
        BrokerAddress(host='10.0.0.5', port=1884, username='u', password='p@')
        """
        parts = urlsplit(url)
        if parts.scheme not in ("mqtt", "tcp") or not parts.hostname:
            raise InvalidInput(_("not an MQTT URL (mqtt://[user:password@]host[:port]): "
                                 "{url}", url=f"{parts.scheme}://{parts.hostname or ''}"))
        return cls(parts.hostname, parts.port or 1883,
                   unquote(parts.username) if parts.username else None,
                   unquote(parts.password) if parts.password else None)

    def url(self, *, hide_password: bool = True) -> str:
        auth = ""
        if self.username:
            secret = "***" if hide_password else quote(self.password or "", safe="")
            auth = f"{quote(self.username, safe='')}:{secret}@"
        return f"mqtt://{auth}{self.host}:{self.port}"


@dataclass
class BrokerStatus:
    initialised: bool
    running: bool
    pid: int | None
    port: int
    directory: Path


def find_mosquitto() -> Path:
    for candidate in (*MOSQUITTO_PATHS, shutil.which("mosquitto") or ""):
        if candidate and Path(candidate).exists():
            return Path(candidate)
    raise ConfigurationError(_("mosquitto not found: install Debian's mosquitto (make "
                               "install does) or set CIMHOUSE_MQTT_URL to an existing broker"))


def _listening(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=0.5):
            return True
    except OSError:
        return False


class EmbeddedBroker:
    """Create, start and stop a private mosquitto under ``root`` on 127.0.0.1:``port``."""

    def __init__(self, root: Path, port: int = 1883) -> None:
        self.root = root.resolve()
        self.port = port
        self.config = self.root / "mosquitto.conf"
        self.passwd = self.root / "passwd"
        self.credentials = self.root / "credentials"
        self.pid_file = self.root / "mosquitto.pid"
        self.log_file = self.root / "mosquitto.log"
        self.data_dir = self.root / "data"

    def _password(self) -> str:
        """The generated password of :data:`USER` (made on first use, kept in 0600)."""
        if not self.credentials.exists():
            self.root.mkdir(parents=True, exist_ok=True)
            password = secrets.token_urlsafe(24)
            descriptor = os.open(self.credentials, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(descriptor, "w") as handle:
                handle.write(f"{USER}:{password}\n")
        return self.credentials.read_text().strip().split(":", 1)[1]

    def init(self) -> None:
        """Write the password file and the config (idempotent; the port may change)."""
        self.data_dir.mkdir(parents=True, exist_ok=True)
        password = self._password()
        if not self.passwd.exists():
            tool = next((p for p in PASSWD_PATHS if Path(p).exists()), None)
            if tool is None:
                raise ConfigurationError(_("mosquitto_passwd not found: install mosquitto"))
            subprocess.run([tool, "-b", "-c", str(self.passwd), USER, password],
                           check=True, capture_output=True, text=True)
            os.chmod(self.passwd, 0o600)
        self.config.write_text(CONFIG.format(
            port=self.port, passwd=self.passwd, data=self.data_dir, pid=self.pid_file,
            log=self.log_file, user=pwd.getpwuid(os.geteuid()).pw_name))

    def address(self) -> BrokerAddress:
        return BrokerAddress("127.0.0.1", self.port, USER, self._password())

    def url(self) -> str:
        return self.address().url(hide_password=False)

    def _pid(self) -> int | None:
        try:
            pid = int(self.pid_file.read_text().strip())
            os.kill(pid, 0)
        except (OSError, ValueError):
            return None
        return pid

    def status(self) -> BrokerStatus:
        pid = self._pid()
        return BrokerStatus(self.config.exists(), pid is not None, pid, self.port, self.root)

    def start(self, timeout: float = 10.0) -> bool:
        """Start mosquitto (daemonised); True when it was started now, False when running."""
        if self._pid() is not None:
            return False
        if _listening("127.0.0.1", self.port):
            raise ConfigurationError(_("port {port} on 127.0.0.1 is taken by another "
                                       "process: set CIMHOUSE_MQTT_PORT", port=self.port))
        self.init()
        self.pid_file.unlink(missing_ok=True)
        proc = subprocess.run([str(find_mosquitto()), "-c", str(self.config), "-d"],
                              capture_output=True, text=True, cwd=self.root, check=False)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self._pid() is not None and _listening("127.0.0.1", self.port):
                return True
            time.sleep(0.05)
        tail = self.log_file.read_text()[-800:] if self.log_file.exists() else ""
        raise DatabaseUnavailable(_("mosquitto did not start (exit {code}): {log}",
                                    code=proc.returncode,
                                    log=(proc.stderr or tail).strip()[-800:]))

    def stop(self, timeout: float = 10.0) -> bool:
        """Stop mosquitto (it saves its persistence file); True when one was running."""
        pid = self._pid()
        if pid is None:
            return False
        os.kill(pid, signal.SIGTERM)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and self._pid() is not None:
            time.sleep(0.05)
        if self._pid() is not None:
            os.kill(pid, signal.SIGKILL)
        self.pid_file.unlink(missing_ok=True)
        return True


def embedded_broker(settings: Settings) -> EmbeddedBroker:
    return EmbeddedBroker(settings.mqtt_dir, settings.mqtt_port)


def broker_address(settings: Settings, *, start: bool = True) -> BrokerAddress:
    """``CIMHOUSE_MQTT_URL``, or the embedded broker (started on demand, like the database)."""
    if settings.mqtt_url:
        return BrokerAddress.parse(settings.mqtt_url)
    broker = embedded_broker(settings)
    if start:
        broker.start()
    return broker.address()

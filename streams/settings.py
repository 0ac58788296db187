"""Settings: one frozen pydantic-settings class per external system, env prefix ROOMPULSE_."""

from __future__ import annotations

from functools import cached_property
from typing import Any

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict


def _config(prefix: str) -> SettingsConfigDict:
    return SettingsConfigDict(
        env_prefix=prefix, frozen=True, extra="ignore", secrets_dir=None, env_file=None
    )


class KafkaSettings(BaseSettings):
    """Kafka connection. Unset `bootstrap` means: start the embedded Tansu broker."""

    model_config = _config("ROOMPULSE_KAFKA_")

    bootstrap: str | None = Field(None, description="host:port[,host:port]; unset = embedded")
    security_protocol: str = Field("PLAINTEXT",
                                   description="PLAINTEXT, SSL, SASL_PLAINTEXT or SASL_SSL")
    sasl_mechanism: str | None = Field(None, description="PLAIN, SCRAM-SHA-256 or SCRAM-SHA-512")
    sasl_username: str | None = Field(None, description="SASL user")
    sasl_password: SecretStr | None = Field(None, description="SASL password")
    compression: str = Field("gzip", description="gzip works everywhere, Tansu included")
    session_timeout_ms: int = Field(10_000, description="consumer group session (embedded: 2000)")
    heartbeat_interval_ms: int = Field(3_000, description="group heartbeat (embedded: 500)")
    rebalance_timeout_ms: int = Field(10_000, description="group rebalance (embedded: 2000)")

    def client_kwargs(self) -> dict:
        """Keyword arguments shared by aiokafka producers, consumers and admin clients."""
        kw: dict[str, Any] = {"bootstrap_servers": self.bootstrap,
                              "security_protocol": self.security_protocol}
        if self.sasl_mechanism:
            kw["sasl_mechanism"] = self.sasl_mechanism
            kw["sasl_plain_username"] = self.sasl_username
            if self.sasl_password is not None:
                kw["sasl_plain_password"] = self.sasl_password.get_secret_value()
        return kw

    def group_kwargs(self) -> dict:
        """Consumer-group timeouts (short on the embedded stack, see `embedded_group_timeouts`)."""
        return {
            "session_timeout_ms": self.session_timeout_ms,
            "heartbeat_interval_ms": self.heartbeat_interval_ms,
            "rebalance_timeout_ms": self.rebalance_timeout_ms,
        }


# Tansu makes a group join wait half the session timeout: keep it short there only.
EMBEDDED_GROUP_TIMEOUTS = {
    "session_timeout_ms": 2_000,
    "heartbeat_interval_ms": 500,
    "rebalance_timeout_ms": 2_000,
}


class RedisSettings(BaseSettings):
    """Redis connection. Unset `url` means: start the embedded valkey-server."""

    model_config = _config("ROOMPULSE_REDIS_")

    url: SecretStr | None = Field(None, description="redis://[:password@]host:port/db")
    password: SecretStr | None = Field(None, description="Redis password, if not in the URL")
    cluster: bool = Field(False, description="the URL names any node of a Redis Cluster")
    wait_replicas: int = Field(0, ge=0, le=16, description=(
        "Redis Cluster: before a batch's offsets move, WAIT until this many replicas of every "
        "primary it wrote to have it, so a failover to a replica loses nothing counted (0 = "
        "no wait; see docs/worker.md)"))

    def client_url(self) -> str | None:
        return self.url.get_secret_value() if self.url is not None else None


class TopicSettings(BaseSettings):
    """Topic names and layout. `mapping` lets a user feed everything from one mixed topic."""

    model_config = _config("ROOMPULSE_TOPICS_")

    prefix: str = Field("roompulse", description="topic name prefix: <prefix>.views, ...")
    partitions: int = Field(8, ge=1, le=1024, description="partitions of each topic created")
    replication_factor: int = Field(1, ge=1, description="replicas of each topic created")
    # Extra input topics to consume (e.g. a platform's mixed feed); `type` decides, not the topic.
    extra_inputs: list[str] = Field(
        default_factory=list, description="more input topics (e.g. one mixed feed); `type` decides")

    def name(self, kind: str) -> str:
        return f"{self.prefix}.{kind}"

    @cached_property
    def inputs(self) -> list[str]:
        """Every topic the KPI engine consumes."""
        base = [self.name(k) for k in ("views", "interactions", "products", "orders", "control")]
        return base + [t for t in self.extra_inputs if t not in base]

    @cached_property
    def outputs(self) -> list[str]:
        return [self.name(k) for k in ("alerts", "nudges", "deadletter")]

    @property
    def deadletter(self) -> str:
        return self.name("deadletter")

    @property
    def control(self) -> str:
        return self.name("control")

    @property
    def alerts(self) -> str:
        return self.name("alerts")

    @property
    def nudges(self) -> str:
        return self.name("nudges")

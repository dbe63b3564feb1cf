"""The composition root: the only module that wires concrete parts together."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from pathlib import Path
from typing import Any

from headwater.admin.app import create_admin_app
from headwater.admin.auth import IdentityConfig
from headwater.admin.console import DEFAULT_DIRECTORY, Console
from headwater.admin.gate import BodyLimits
from headwater.admin.info import ServerInfo
from headwater.admin.signin import SignIn
from headwater.catalog.runtime import RuntimeScraper
from headwater.catalog.runtime_export import RuntimeCollector
from headwater.changes import build_changes
from headwater.clock import monotonic
from headwater.control import ControlPlane
from headwater.gateway.admission import Admission
from headwater.gateway.apis.messages import MessagesApi
from headwater.gateway.apis.responses import ResponsesApi
from headwater.gateway.app import Gateway
from headwater.gateway.asgi import Receive, Scope, Send
from headwater.gateway.auth import Authenticator
from headwater.gateway.proxy import Proxy
from headwater.gateway.recount import Recount
from headwater.gateway.upstream import Upstream
from headwater.identity.jwt_verifier import JwtVerifier
from headwater.identity.provisioning import FirstSeen
from headwater.identity.trusted import TrustedHeaders
from headwater.keys.secret import hash_key
from headwater.limits.failover import FailoverLimiter
from headwater.logs import configure
from headwater.metrics import Metrics, Readings, exporter
from headwater.policies.quota import LiveLimits
from headwater.serving.cors import ADMIN_HEADERS, ADMIN_METHODS, GATEWAY_METHODS, ASGIApp, Cors
from headwater.serving.garbage import settle_garbage_collector
from headwater.serving.loop_lag import LoopLag
from headwater.settings import Settings
from headwater.snapshot import SnapshotRefresher
from headwater.storage.sql import migrate, rollups
from headwater.storage.sql.database import create_engine, ping
from headwater.storage.sql.dead_letters import SqlDeadLetterStore
from headwater.storage.sql.limit_events import SqlLimitEventStore
from headwater.storage.sql.retention import SqlRetention
from headwater.storage.sql.snapshot_source import SqlSnapshotSource
from headwater.storage.sql.stored_responses import build_response_store
from headwater.storage.sql.usage import SqlUsageStore
from headwater.storage.sql.usage_history import SqlUsageHistory
from headwater.usage.fanout import FanOut
from headwater.usage.journal import Journal
from headwater.usage.journal_codec import USAGE_CODEC
from headwater.usage.journal_files import journal_directory
from headwater.usage.pruning import Pruner
from headwater.usage.traces import build_traces
from headwater.usage.writer import BatchWriter
from headwater.wiring import build_limiter, build_verifiers, key_rules

log = logging.getLogger("headwater")

GATEWAY_PREFIX = "/v1/"
ADMIN_API_PREFIX = "/api/"
SIGN_IN_PREFIX = "/auth/"
PROBES = frozenset({"/healthz", "/readyz", "/metrics", "/v1"})


def build_identity(settings: Settings, verifier: JwtVerifier | None) -> IdentityConfig:
    token = settings.admin_token.get_secret_value() if settings.admin_token else None
    return IdentityConfig(
        admin_token_hash=hash_key(token) if token else None,
        verifier=verifier,
        trusted=TrustedHeaders(settings.trusted_headers, settings.trusted_proxies),
        admin_groups=settings.oidc_admin_groups,
        auditor_groups=settings.oidc_auditor_groups,
    )


def build_signin(
    settings: Settings, cp: ControlPlane, identity: IdentityConfig, id_tokens: JwtVerifier | None
) -> SignIn | None:
    """Browser sign-in needs the client id and secret; bearer tokens need only issuer and audience."""
    if id_tokens is None or settings.oidc_client_secret is None:
        return None
    return SignIn(
        cp=cp,
        identity=identity,
        issuer=settings.oidc_issuer,
        client_id=settings.oidc_client_id,
        client_secret=settings.oidc_client_secret.get_secret_value(),
        scopes=settings.oidc_scopes,
        public_url=settings.public_url,
        session_ttl_s=settings.session_ttl_s,
        id_tokens=id_tokens,
    )


#: Limit events kept in memory while the database is unreachable (they have no journal).
LIMIT_EVENTS_BUFFER = 200_000


class Headwater:
    """One process: the gateway on /v1/* and the probes, the admin API on /api/* and /auth/*, the web
    console (built into ``console``) on everything else."""

    def __init__(self, settings: Settings, console: Path = DEFAULT_DIRECTORY) -> None:
        self.settings = settings
        self.console = Console(console)
        self.engine = create_engine(settings.resolved_database_url)
        self._backfill: asyncio.Task[None] | None = None
        secret_box = settings.secret_box()
        self.snapshot_source = SqlSnapshotSource(self.engine, settings.credential_env_prefix, secret_box)
        self.snapshots = SnapshotRefresher(
            self.snapshot_source,
            settings.snapshot_poll_interval_s,
        )
        self.journal = Journal(
            journal_directory(settings.resolved_usage_journal_dir, settings.resolved_database_url),
            USAGE_CODEC,
        )
        self.usage_store = SqlUsageStore(self.engine)
        self.usage = BatchWriter(
            self.usage_store,
            flush_interval_s=settings.usage_flush_interval_s,
            batch_size=settings.usage_batch_size,
            buffer_limit=settings.usage_buffer_limit,
            dead_letters=SqlDeadLetterStore(self.engine),
            journal=self.journal,
        )
        self.upstream = Upstream(
            connect_timeout_s=settings.upstream_connect_timeout_s,
            timeout_s=settings.upstream_timeout_s,
            pool_size=settings.upstream_pool_size,
            client=settings.upstream_client,
        )
        self.runtime = RuntimeScraper(lambda: self.snapshots.current, settings.runtime_scrape_interval_s)
        self.limit_events = BatchWriter(
            SqlLimitEventStore(self.engine),
            flush_interval_s=settings.usage_flush_interval_s,
            batch_size=settings.usage_batch_size,
            # no journal behind them: kept in memory through a database outage, as many as before
            buffer_limit=max(settings.usage_buffer_limit, LIMIT_EVENTS_BUFFER),
            name="limit events",
            dead_letters=SqlDeadLetterStore(self.engine),
        )
        self.retention = Pruner(
            SqlRetention(
                self.engine,
                usage_days=settings.usage_retention_days,
                rollup_days=settings.rollup_retention_days,
            ).prune
        )
        self.limiter = build_limiter(settings)
        self.metrics = Metrics(principal_labels=settings.metrics_principal_labels)
        self.loop_lag = LoopLag(observe=self.metrics.loop_lag.observe)
        admission = Admission(
            self.limiter,
            default_max_tokens=settings.default_max_tokens,
            events=FanOut(self.limit_events.emit, self.metrics.requests.limit).emit,
        )
        self.recount = Recount(SqlUsageHistory(self.engine), admission, lambda: self.snapshots.current)
        # OpenTelemetry spans of the calls, made from their usage events; None (not imported) when off
        self.traces = build_traces(
            settings.otel_endpoint, settings.otel_service_name, lambda: self.snapshots.current
        )
        self.proxy = proxy = Proxy(
            upstream=self.upstream,
            usage=FanOut(
                self.usage.emit, self.metrics.requests.emit, *((self.traces.emit,) if self.traces else ())
            ),
            admission=admission,
            max_body_bytes=settings.max_body_bytes,
            max_response_bytes=settings.max_response_bytes,
            max_event_bytes=settings.max_stream_event_bytes,
            deadline_s=settings.upstream_deadline_s,
            body_timeout_s=settings.body_timeout_s,
            default_max_tokens=settings.default_max_tokens,
        )
        self.verifiers = build_verifiers(settings)
        identity = build_identity(settings, self.verifiers.access)
        self.changes = build_changes(settings.redis_url, settings.redis_prefix, self.snapshots.refresh)
        control_plane = ControlPlane(
            engine=self.engine,
            changed=self.changes.changed,
            credential_env_prefix=settings.credential_env_prefix,
            link_verified_email=settings.oidc_link_verified_email,
            secret_box=secret_box,
        )
        self.first_seen = FirstSeen(control_plane)
        self.gateway = Gateway(
            proxy=proxy,
            snapshots=self.snapshots,
            ready=self._ready,
            auth=Authenticator(
                self.verifiers.access,
                identity.trusted,
                self.first_seen,
                link_verified_email=settings.oidc_link_verified_email,
            ),
            metrics=self._exporter(),
            may_call=lambda snapshot, key, model: admission.plan(snapshot, key, model).allowed,
            responses=ResponsesApi(build_response_store(self.engine, days=settings.response_store_days)),
            messages=MessagesApi(),
            max_body_bytes=settings.max_body_bytes,
        )
        self.signin = signin = build_signin(settings, control_plane, identity, self.verifiers.id_tokens)
        self.admin = create_admin_app(
            control_plane,
            identity,
            signin,
            key_rules(settings),
            lambda: self.snapshots.current,
            BodyLimits(settings.admin_max_body_bytes, settings.body_timeout_s),
            LiveLimits(admission, self.limiter, lambda: self.snapshots.current),
            runtime=self.runtime,
            usage_retention_days=settings.usage_retention_days,
            info=ServerInfo(settings.public_url, settings.dashboard_url or None),
        )
        # What /v1/* and /api/* reach: the apps themselves, behind CORS only when origins are listed.
        self.v1: ASGIApp = self.gateway
        self.api: ASGIApp = self.admin
        if settings.cors_origins:
            self.v1 = Cors(self.gateway, settings.cors_origins, GATEWAY_METHODS)
            self.api = Cors(self.admin, settings.cors_origins, ADMIN_METHODS, ADMIN_HEADERS)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            path: str = scope["path"]
            if path.startswith(GATEWAY_PREFIX):
                await self.v1(scope, receive, send)
            elif path in PROBES:
                await self.gateway(scope, receive, send)
            elif path.startswith(ADMIN_API_PREFIX):
                await self.api(scope, receive, send)
            elif path.startswith(SIGN_IN_PREFIX):
                await self.admin(scope, receive, send)
            else:
                await self.console(scope, receive, send)
        elif scope["type"] == "lifespan":
            await self._lifespan(receive, send)
        else:
            await self.admin(scope, receive, send)

    async def start(self) -> None:
        if self.settings.auto_migrate:
            await migrate.upgrade(self.engine)
        await self.snapshots.start()
        await self.limiter.restore(self.recount)  # counters from the usage history, before serving
        await self.changes.start()
        await self.verifiers.start()
        await self.upstream.start()
        await self.runtime.start()
        self.usage.start()
        self.limit_events.start()
        self.retention.start()
        self._backfill = asyncio.create_task(
            rollups.backfill_logged(self.engine), name="usage-rollup-backfill"
        )
        self.metrics.start()
        if self.traces is not None:
            self.traces.start()
        # Changes committed while this worker started (the snapshot was loaded before it listened
        # for them) are served from its first request on, not a poll interval later.
        await self.snapshots.refresh()
        settle_garbage_collector()
        self.loop_lag.start()  # after start-up: it measures the stalls of a serving worker

    async def stop(self) -> None:
        """After the server has drained in-flight requests: flush usage, then close."""
        if self._backfill is not None:
            self._backfill.cancel()
            await asyncio.gather(self._backfill, return_exceptions=True)
        await self.loop_lag.stop()
        await self.retention.stop()
        await self.usage.close()
        await self.usage_store.close()
        await self.limit_events.close()
        if self.traces is not None:
            await self.traces.close()  # bounded: a collector that is down never holds up the stop
        await self.metrics.stop()  # after the writers: their last counts are in
        await self.limiter.close()
        await self.runtime.stop()
        await self.upstream.close()
        await self.first_seen.close()
        await self.verifiers.close()
        await self.changes.close()
        await self.snapshots.stop()
        await self.snapshot_source.close()
        await self.engine.dispose()

    def _exporter(self) -> Callable[[], bytes]:
        limiter = self.limiter
        degraded = limiter if isinstance(limiter, FailoverLimiter) else None
        return exporter(
            Readings(
                snapshot_revision=lambda: float(self.snapshots.current.revision),
                snapshot_age_s=lambda: (
                    monotonic() - self.snapshots.last_ok if self.snapshots.loaded else -1.0
                ),
                usage_written=lambda: float(self.usage.written),
                usage_pending=lambda: float(self.usage.pending),
                usage_dropped=lambda: float(self.usage.dropped),
                usage_dead_letters=lambda: float(self.usage.dead_lettered),
                limit_events_dead_letters=lambda: float(self.limit_events.dead_lettered),
                signin_failures_unaudited=lambda: float(self.signin.limits.unaudited) if self.signin else 0.0,
                limits_degraded=lambda: float(degraded.degraded) if degraded else 0.0,
                limits_degraded_calls=lambda: float(degraded.degraded_calls) if degraded else 0.0,
                loop_lag_max_s=self.loop_lag.take_max,
                requests_in_flight=lambda: float(self.proxy.in_flight),
                usage_journal_bytes=lambda: float(self.journal.size_bytes),
                usage_journal_failures=lambda: float(self.journal.failures),
                retention_deleted=lambda: float(sum(self.retention.pruned.values())),
                retention_failures=lambda: float(self.retention.failures),
            ),
            self.metrics,
            extra=(RuntimeCollector(self.runtime),),
        )

    async def _ready(self) -> list[str]:
        """What keeps this process from being ready (``/readyz`` says it); empty when ready."""
        problems = [] if self.snapshots.healthy() else ["the configuration snapshot is stale"]
        if not await ping(self.engine):
            problems.append("the database is unreachable")
        if self.journal.problem:
            problems.append(f"usage journal: {self.journal.problem}")
        return problems

    async def _lifespan(self, receive: Receive, send: Send) -> None:
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                try:
                    await self.start()
                except Exception as exc:
                    log.exception("start-up failed")
                    await send({"type": "lifespan.startup.failed", "message": str(exc)})
                    return
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                try:
                    await self.stop()
                finally:
                    await send({"type": "lifespan.shutdown.complete"})
                return


def create_app(settings: Settings | None = None) -> Headwater:
    settings = settings or Settings()
    configure(settings.log_format, settings.log_level, settings.access_log)
    return Headwater(settings)


def app_factory() -> Any:
    """What ``uvicorn`` workers import (``headwater.main:app_factory``, factory=True)."""
    return create_app()

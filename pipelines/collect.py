"""`cx collect`: an HTTP collector that takes touchpoint events as the tools push them.

One endpoint per source, each with the source's own authentication:

    POST /v1/track|page|identify|screen|group|alias|batch   Segment's HTTP API (write key: HTTP Basic or in the body) -> web/
    POST /webhooks/stripe      Stripe-Signature (HMAC-SHA256 of "<t>.<body>", v1, timestamp tolerance) -> billing/
    POST /webhooks/zendesk     X-Zendesk-Webhook-Signature (base64 HMAC-SHA256 of timestamp + body) -> email/
    POST /webhooks/intercom    X-Hub-Signature (sha1=<hex HMAC-SHA1 of the body>) -> chat/
    POST /v1/events/{folder}   any JSON object, with a bearer token -> <folder>/
    GET  /health, GET /metrics (Prometheus text)

An accepted body is appended, unchanged, as one line to a landing file in the touchpoint folder the batch
job reads, and answered 2xx only once its bytes are on disk (written and fsynced, many requests per
fsync: a group commit). The file being written is hidden (`.collect-...`, which the job skips); it is
closed by a rename to `collect-<opened>-<pid>-<n>.jsonl` when it reaches a size or an age, so the job's
file registry sees each closed file once, whole. A collector killed mid-write leaves its open file: the
next start cuts any half-written last line (never acknowledged) and closes it.

A sender retrying the same event writes it twice; the job dedups on the event's id (messageId, the Stripe
event id, the notification id). Rejections are counted per endpoint and reason: a bad signature 401, a
stale Stripe timestamp 401, a body over the limit 413, malformed JSON 400 with the parser's reason, a
sender over its rate 429 with Retry-After; a write the disk refuses 503 (not stored, so not acknowledged);
connections over the limit get 503 from the server.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import hashlib
import hmac
import json
import os
import socket
import time
from dataclasses import dataclass, field
from pathlib import Path

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Histogram, generate_latest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

SEGMENT_CALLS = ("track", "page", "identify", "screen", "group", "alias", "batch")
# Segment's documented limits: 32 KB a call, 500 KB a batch.
SEGMENT_CALL_BYTES = 32 * 1024
SEGMENT_BATCH_BYTES = 500 * 1024
WEBHOOK_BYTES = 1024 * 1024
STRIPE_TOLERANCE_S = 300  # the official SDKs' default


@dataclass(frozen=True)
class CollectorConfig:
    """What the collector accepts and where it writes. Secrets come from the environment (see from_env)."""

    input_root: Path
    segment_write_keys: frozenset[str] = frozenset()
    stripe_secrets: tuple[str, ...] = ()
    zendesk_secret: str | None = None
    intercom_secret: str | None = None
    bearer_tokens: frozenset[str] = frozenset()
    folders: frozenset[str] = frozenset()          # touchpoint folders the generic endpoint may write to
    segment_folder: str = "web"
    max_body_bytes: int = WEBHOOK_BYTES
    rate_per_key: float = 2000.0                    # requests per second, per write key / token / webhook
    burst_per_key: float = 4000.0
    rotate_bytes: int = 64 * 1024 * 1024
    rotate_seconds: float = 60.0

    @classmethod
    def from_env(cls, input_root: Path, folders: frozenset[str], **overrides) -> CollectorConfig:
        """Secrets from CX_COLLECT_* variables (comma-separated where several are allowed); an endpoint whose
        secret is not set answers 404: it is not offered."""
        def listed(name: str) -> tuple[str, ...]:
            return tuple(v.strip() for v in os.environ.get(name, "").split(",") if v.strip())
        return cls(input_root=Path(input_root),
                   segment_write_keys=frozenset(listed("CX_COLLECT_SEGMENT_WRITE_KEYS")),
                   stripe_secrets=listed("CX_COLLECT_STRIPE_SECRETS"),
                   zendesk_secret=os.environ.get("CX_COLLECT_ZENDESK_SECRET") or None,
                   intercom_secret=os.environ.get("CX_COLLECT_INTERCOM_SECRET") or None,
                   bearer_tokens=frozenset(listed("CX_COLLECT_TOKENS")),
                   folders=folders, **overrides)


class Rejected(Exception):
    """A request refused: its HTTP status and the reason, which the sender is told and the metrics count."""

    def __init__(self, status: int, reason: str, message: str, headers: dict | None = None):
        super().__init__(message)
        self.status, self.reason, self.message, self.headers = status, reason, message, headers or {}


# ---- authentication, one function per source, each as its documentation describes it ----

def segment_write_key(request_headers, body: dict) -> str | None:
    """The write key of a Segment call: HTTP Basic (username = write key, empty password) or `writeKey` in the body."""
    header = request_headers.get("authorization", "")
    if header.lower().startswith("basic "):
        try:
            return base64.b64decode(header[6:].strip()).decode().split(":", 1)[0]
        except (ValueError, UnicodeDecodeError):
            return None
    key = body.get("writeKey")
    return key if isinstance(key, str) else None


def verify_stripe(body: bytes, header: str, secrets: tuple[str, ...], now: float, tolerance: float = STRIPE_TOLERANCE_S) -> None:
    """Stripe-Signature: `t=<epoch s>,v1=<hex>[,v1=...]`; HMAC-SHA256 of "<t>.<body>" with an endpoint secret must
    equal one v1 (several during a secret's rotation), and t be no older than the tolerance."""
    pairs = [part.split("=", 1) for part in header.split(",") if "=" in part]
    timestamps = [v for k, v in pairs if k.strip() == "t"]
    signatures = [v.strip() for k, v in pairs if k.strip() == "v1"]
    if not timestamps or not signatures or not timestamps[0].strip().isdigit():
        raise Rejected(401, "bad_signature", "Stripe-Signature has no timestamp or no v1 signature")
    stamp = timestamps[0].strip()
    signed = stamp.encode() + b"." + body
    if not any(hmac.compare_digest(hmac.new(secret.encode(), signed, hashlib.sha256).hexdigest(), sig)
               for secret in secrets for sig in signatures):
        raise Rejected(401, "bad_signature", "no v1 signature matches the endpoint secret")
    if int(stamp) < now - tolerance:
        raise Rejected(401, "stale_timestamp", f"the signature's timestamp is more than {tolerance:.0f} s old")


def verify_zendesk(body: bytes, signature: str, timestamp: str, secret: str) -> None:
    """X-Zendesk-Webhook-Signature = base64(HMAC-SHA256(secret, timestamp + body)), no separator."""
    expected = base64.b64encode(hmac.new(secret.encode(), timestamp.encode() + body, hashlib.sha256).digest()).decode()
    if not signature or not hmac.compare_digest(expected, signature.strip()):
        raise Rejected(401, "bad_signature", "X-Zendesk-Webhook-Signature does not match the webhook secret")


def verify_intercom(body: bytes, signature: str, secret: str) -> None:
    """X-Hub-Signature = "sha1=" + hex HMAC-SHA1(client secret, body)."""
    expected = "sha1=" + hmac.new(secret.encode(), body, hashlib.sha1).hexdigest()
    if not signature or not hmac.compare_digest(expected, signature.strip()):
        raise Rejected(401, "bad_signature", "X-Hub-Signature does not match the app's client secret")


# ---- limits ----

@dataclass
class TokenBucket:
    """Requests per second per sender key, with a burst; refuses with the seconds until the next one fits."""

    rate: float
    burst: float
    tokens: dict[str, tuple[float, float]] = field(default_factory=dict)  # key -> (tokens, at)

    def take(self, key: str, now: float) -> float:
        """0 when the request may go; else the seconds to wait."""
        tokens, at = self.tokens.get(key, (self.burst, now))
        tokens = min(self.burst, tokens + (now - at) * self.rate)
        if tokens >= 1:
            self.tokens[key] = (tokens - 1, now)
            return 0.0
        self.tokens[key] = (tokens, now)
        return (1 - tokens) / self.rate


async def read_body(request: Request, limit: int) -> bytes:
    """The body, refused with 413 as soon as it passes `limit` bytes (declared or streamed)."""
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > limit:
        raise Rejected(413, "too_large", f"body of {int(declared):,} bytes is over the limit of {limit:,}")
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise Rejected(413, "too_large", f"body is over the limit of {limit:,} bytes")
        chunks.append(chunk)
    return b"".join(chunks)


def parse_object(body: bytes) -> dict:
    """The body as a JSON object, or 400 with the parser's reason."""
    try:
        value = json.loads(body)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise Rejected(400, "malformed_json", f"body is not valid JSON: {exc}") from None
    if not isinstance(value, dict):
        raise Rejected(400, "malformed_json", f"body is JSON but not an object (a {type(value).__name__})")
    return value


def as_line(body: bytes, value: dict) -> bytes:
    """The body as one line of the landing file: unchanged when it holds no line break (JSON needs none
    inside strings); else written again compactly, the same JSON value."""
    if b"\n" not in body and b"\r" not in body:
        return body.strip() + b"\n"
    return json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode() + b"\n"


# ---- landing files ----

class LandingFile:
    """The append-only landing file of one touchpoint folder, written by one task (a group commit): every
    request's line waits in a queue; the writer takes all that are waiting, writes them, fsyncs once, and
    only then answers each. Rotation closes the file by a rename the batch job then sees."""

    def __init__(self, folder: Path, rotate_bytes: int, rotate_seconds: float, metrics: Metrics):
        self.folder, self.rotate_bytes, self.rotate_seconds, self.metrics = folder, rotate_bytes, rotate_seconds, metrics
        self.queue: asyncio.Queue[tuple[bytes, asyncio.Future]] = asyncio.Queue()
        self.fd: int | None = None
        self.path: Path | None = None
        self.opened_at = 0.0
        self.size = 0
        self.sequence = 0
        self.task: asyncio.Task | None = None

    def start(self) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        self.task = asyncio.get_running_loop().create_task(self._run())

    async def append(self, line: bytes) -> None:
        done = asyncio.get_running_loop().create_future()
        await self.queue.put((line, done))
        await done

    async def _run(self) -> None:
        while True:
            try:
                first = await asyncio.wait_for(self.queue.get(), timeout=1.0)
            except asyncio.TimeoutError:
                if self.fd is not None and time.time() - self.opened_at >= self.rotate_seconds:
                    await asyncio.to_thread(self._close)
                continue
            batch = [first]
            while not self.queue.empty():
                batch.append(self.queue.get_nowait())
            try:
                await asyncio.to_thread(self._write, b"".join(line for line, _ in batch))
            except OSError as exc:
                for _, done in batch:
                    done.set_exception(exc)
                continue
            self.metrics.commits.inc()
            for _, done in batch:
                done.set_result(None)

    def _write(self, data: bytes) -> None:
        if self.fd is None:
            self._open()
        view = memoryview(data)
        while view:
            written = os.write(self.fd, view)
            view = view[written:]
        os.fsync(self.fd)
        self.size += len(data)
        if self.size >= self.rotate_bytes or time.time() - self.opened_at >= self.rotate_seconds:
            self._close()

    def _open(self) -> None:
        self.sequence += 1
        self.opened_at = time.time()
        stamp = time.strftime("%Y%m%dT%H%M%S", time.gmtime(self.opened_at))
        name = f"collect-{stamp}-{socket.gethostname()}-{os.getpid()}-{self.sequence:05d}.jsonl"
        self.path = self.folder / f".{name}"
        self.fd = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
        self.size = 0
        _fsync_folder(self.folder)

    def _close(self) -> None:
        if self.fd is None:
            return
        os.fsync(self.fd)
        os.close(self.fd)
        self.fd = None
        os.replace(self.path, self.path.with_name(self.path.name[1:]))
        _fsync_folder(self.folder)
        self.metrics.files_closed.inc()

    async def stop(self) -> None:
        if self.task is not None:
            while not self.queue.empty():
                await asyncio.sleep(0.01)
            self.task.cancel()
        await asyncio.to_thread(self._close)


def _fsync_folder(folder: Path) -> None:
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def recover_open_files(input_root: Path) -> list[Path]:
    """Close the landing files a killed collector left open: cut a half-written last line (it was never
    acknowledged), then rename the file to its closed name. Returns the files closed."""
    closed = []
    for path in sorted(Path(input_root).glob("*/.collect-*.jsonl")):
        data = path.read_bytes()
        whole = data[: data.rfind(b"\n") + 1]
        if len(whole) != len(data):
            with open(path, "r+b") as handle:
                handle.truncate(len(whole))
                handle.flush()
                os.fsync(handle.fileno())
        target = path.with_name(path.name[1:])
        if whole:
            os.replace(path, target)
            closed.append(target)
        else:
            path.unlink()
        _fsync_folder(path.parent)
    return closed


# ---- metrics ----

class Metrics:
    """Prometheus counters of the collector, in a registry of its own."""

    def __init__(self):
        self.registry = CollectorRegistry()
        self.accepted = Counter("cx_collect_accepted_requests", "Requests written and acknowledged", ["endpoint"], registry=self.registry)
        self.events = Counter("cx_collect_accepted_events", "Events in acknowledged requests (a Segment batch counts its calls)",
                              ["endpoint"], registry=self.registry)
        self.rejected = Counter("cx_collect_rejected_requests", "Requests refused", ["endpoint", "reason"], registry=self.registry)
        self.commits = Counter("cx_collect_fsyncs", "Group commits (one fsync each)", registry=self.registry)
        self.files_closed = Counter("cx_collect_files_closed", "Landing files closed for the batch job", registry=self.registry)
        self.latency = Histogram("cx_collect_request_seconds", "Time from request to acknowledgement", ["endpoint"],
                                 buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1.0), registry=self.registry)


# ---- the application ----

def create_app(config: CollectorConfig) -> Starlette:
    """The collector as an ASGI application (served by uvicorn in `cx collect`, driven directly in tests)."""
    metrics = Metrics()
    buckets = TokenBucket(config.rate_per_key, config.burst_per_key)
    landing: dict[str, LandingFile] = {}

    def landing_for(folder: str) -> LandingFile:
        if folder not in landing:
            landing[folder] = LandingFile(config.input_root / folder, config.rotate_bytes, config.rotate_seconds, metrics)
            landing[folder].start()
        return landing[folder]

    def limited(key: str) -> None:
        wait = buckets.take(key, time.monotonic())
        if wait:
            raise Rejected(429, "rate_limited", f"over {config.rate_per_key:g} requests/s for this sender",
                           {"Retry-After": str(max(1, round(wait + 0.5)))})

    async def accept(endpoint: str, request: Request, handle) -> Response:
        started = time.perf_counter()
        try:
            folder, line, events = await handle(request)
            await landing_for(folder).append(line)
        except Rejected as exc:
            metrics.rejected.labels(endpoint, exc.reason).inc()
            return JSONResponse({"error": exc.reason, "message": exc.message}, exc.status, headers=exc.headers)
        except OSError as exc:  # the disk refused the write (full, read-only): not stored, so not acknowledged
            metrics.rejected.labels(endpoint, "not_stored").inc()
            return JSONResponse({"error": "not_stored", "message": f"the event could not be stored: {exc.strerror or exc}"}, 503,
                                headers={"Retry-After": "5"})
        metrics.accepted.labels(endpoint).inc()
        metrics.events.labels(endpoint).inc(events)
        metrics.latency.labels(endpoint).observe(time.perf_counter() - started)
        return JSONResponse({"success": True}, 200)

    async def segment(request: Request) -> Response:
        call = request.path_params["call"]

        async def handle(request):
            if not config.segment_write_keys:
                raise Rejected(404, "not_configured", "no Segment write key is configured")
            body = await read_body(request, SEGMENT_BATCH_BYTES if call == "batch" else SEGMENT_CALL_BYTES)
            value = parse_object(body)
            key = segment_write_key(request.headers, value)
            if key not in config.segment_write_keys:
                raise Rejected(401, "bad_write_key", "missing or unknown write key")
            limited("segment:" + key)
            if call == "batch" and not isinstance(value.get("batch"), list):
                raise Rejected(400, "malformed_json", "a batch body needs a `batch` list")
            if call == "batch":
                return config.segment_folder, as_line(body, value), len(value["batch"])
            if value.get("type", call) != call:
                raise Rejected(400, "malformed_json", f"a /v1/{call} call of type {value['type']!r}")
            if "type" not in value:  # the HTTP API takes the call's type from the path; the line must say it, as Segment stores it
                return config.segment_folder, json.dumps(value | {"type": call}, ensure_ascii=False, separators=(",", ":")).encode() + b"\n", 1
            return config.segment_folder, as_line(body, value), 1

        if call not in SEGMENT_CALLS:
            return JSONResponse({"error": "not_found"}, 404)
        return await accept(f"segment_{call}", request, handle)

    def webhook(name: str, folder: str, configured, missing: str, verify):
        """A signed webhook endpoint: `verify(body, headers)` raises Rejected unless the source signed the body."""
        async def endpoint(request: Request) -> Response:
            async def handle(request):
                if not configured:
                    raise Rejected(404, "not_configured", f"no {missing} is configured")
                body = await read_body(request, config.max_body_bytes)
                verify(body, request.headers)
                limited(name)
                return folder, as_line(body, parse_object(body)), 1
            return await accept(name, request, handle)
        return endpoint

    stripe = webhook("stripe", "billing", config.stripe_secrets, "Stripe endpoint secret", lambda body, headers: verify_stripe(
        body, headers.get("stripe-signature", ""), config.stripe_secrets, time.time()))
    zendesk = webhook("zendesk", "email", config.zendesk_secret, "Zendesk webhook secret", lambda body, headers: verify_zendesk(
        body, headers.get("x-zendesk-webhook-signature", ""), headers.get("x-zendesk-webhook-signature-timestamp", ""),
        config.zendesk_secret))
    intercom = webhook("intercom", "chat", config.intercom_secret, "Intercom client secret", lambda body, headers: verify_intercom(
        body, headers.get("x-hub-signature", ""), config.intercom_secret))

    async def generic(request: Request) -> Response:
        folder = request.path_params["folder"]

        async def handle(request):
            header = request.headers.get("authorization", "")
            token = header[7:].strip() if header.lower().startswith("bearer ") else ""
            if not token or not any(hmac.compare_digest(token, known) for known in config.bearer_tokens):
                raise Rejected(401, "bad_token", "missing or unknown bearer token")
            if folder not in config.folders:
                raise Rejected(404, "unknown_touchpoint", f"no touchpoint folder {folder!r}; known: {', '.join(sorted(config.folders))}")
            body = await read_body(request, config.max_body_bytes)
            limited("token:" + hashlib.sha256(token.encode()).hexdigest()[:12])
            return folder, as_line(body, parse_object(body)), 1
        return await accept("events", request, handle)

    async def health(request: Request) -> Response:
        return JSONResponse({"status": "ok", "landing": sorted(landing)})

    async def prometheus(request: Request) -> Response:
        return Response(generate_latest(metrics.registry), media_type=CONTENT_TYPE_LATEST)

    @contextlib.asynccontextmanager
    async def lifespan(app):
        recover_open_files(config.input_root)
        yield
        for file in landing.values():
            await file.stop()

    app = Starlette(routes=[
        Route("/v1/events/{folder}", generic, methods=["POST"]),
        Route("/v1/{call}", segment, methods=["POST"]),
        Route("/webhooks/stripe", stripe, methods=["POST"]),
        Route("/webhooks/zendesk", zendesk, methods=["POST"]),
        Route("/webhooks/intercom", intercom, methods=["POST"]),
        Route("/health", health, methods=["GET"]),
        Route("/metrics", prometheus, methods=["GET"]),
    ], lifespan=lifespan)
    app.state.metrics = metrics
    return app

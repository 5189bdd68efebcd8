"""Which certificates a host may present: a CA bundle, a pinned fingerprint, or (only when set)
none; one SSL context per trust setting in the process."""

import hashlib
import socket
import ssl
import threading
from collections.abc import Callable

from dashboard.edge_states import EdgeApiState
from palette_sync.edge.access import EdgeAccess, EdgeError
from palette_sync.edge.sessions import Lru

PINNED = Lru(50_000)  # the certificate each host's pin matched, per (address, port, pin)
CONTEXTS = Lru(64)  # one SSL context per trust setting (loading trust stores costs milliseconds)


def normalise_fingerprint(value: str) -> str:
    return value.replace(":", "").replace(" ", "").lower()


def peer_fingerprint(address: str, port: int, timeout: float) -> tuple[str, bytes]:
    """The SHA-256 fingerprint and DER of the certificate a host presents (not yet trusted)."""
    context = shared_context("insecure", insecure_context)
    with socket.create_connection((address, port), timeout=timeout) as raw, context.wrap_socket(raw) as tls:
        der = tls.getpeercert(binary_form=True)
    return hashlib.sha256(der).hexdigest(), der


def tls_verify(access: EdgeAccess, address: str, timeout: float) -> ssl.SSLContext:
    """The `verify` httpx should use for this host, checked before any credential is sent."""
    if access.scheme != "https" or access.insecure:
        return shared_context("insecure", insecure_context)
    if access.fingerprint:
        return pinned_context(access, address, timeout)
    if not access.ca_pem:
        return shared_context("system", ssl.create_default_context)
    key = hashlib.sha256(access.ca_pem.encode()).hexdigest()
    return shared_context(key, lambda: ca_context(access.ca_pem))


CONTEXT_LOCK = threading.Lock()


def shared_context(key: str, make: Callable[[], ssl.SSLContext]) -> ssl.SSLContext:
    """One SSL context per trust setting, shared by every host and thread of the process.

    Made under a lock: a context with the system's trust store costs about a megabyte of native
    memory and tens of milliseconds, and a batch's threads all start at once, so without the lock
    each of them made its own on a cold cache (hundreds at the start of a worker, their native
    memory then kept by the allocator).
    """
    context = CONTEXTS.get(key)
    if context is None:
        with CONTEXT_LOCK:
            context = CONTEXTS.get(key)
            if context is None:
                context = make()
                CONTEXTS.put(key, context)
    return context


def ca_context(ca_pem: str) -> ssl.SSLContext:
    """Trust exactly the given CA bundle (not the system's store as well)."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.load_verify_locations(cadata=ca_pem)
    return context


def insecure_context() -> ssl.SSLContext:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    return context


def pinned_context(access: EdgeAccess, address: str, timeout: float) -> ssl.SSLContext:
    """A context that trusts exactly the host's certificate once its fingerprint matched the pin.

    The certificate is fetched and checked once per host (then kept in PINNED): a host that later
    presents another certificate fails the handshake, and is checked afresh at the next probe. The
    context is one per pin, like the other trust settings' (a pin names exactly one certificate):
    making it for every reading cost a third of a millisecond and 17 KiB of native memory churned.
    """
    pin = normalise_fingerprint(access.fingerprint)
    key = (address, access.port, pin)
    der = PINNED.get(key)
    if der is None:
        try:
            seen, der = peer_fingerprint(address, access.port, timeout)
        except ssl.SSLError as exc:
            raise EdgeError(EdgeApiState.TLS_FAILED, f"TLS handshake failed: {exc}") from exc
        if seen != pin:
            raise EdgeError(EdgeApiState.TLS_FAILED, f"certificate fingerprint {seen} is not the pinned one")
        PINNED.put(key, der)
    return shared_context(f"pinned:{pin}", lambda: certificate_context(der))


def certificate_context(der: bytes) -> ssl.SSLContext:
    """Trust exactly this certificate (DER), whatever names it carries."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.check_hostname = False
    context.verify_flags |= ssl.VERIFY_X509_PARTIAL_CHAIN
    context.load_verify_locations(cadata=der)
    return context

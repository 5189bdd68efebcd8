"""Certificates for the simulated edge hosts: one CA, one leaf per host address, made on first use.

A client connecting to https://127.x.y.z:5080 gets a certificate whose SAN is exactly that IP,
signed by a CA the simulator generates at start (written out with --edge-ca-out). A client that
trusts that CA verifies for real; one that trusts only the system store fails, as it would
against real self-signed edge hosts. With `self_signed` every host's certificate signs itself,
as on a factory-fresh edge host: only pinning (or not verifying) gets through.
"""

import datetime
import ipaddress
import os
import ssl
import tempfile
import threading
from collections import OrderedDict

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID


class TlsIssuer:
    def __init__(self, cache_size: int = 1024, self_signed: bool = False) -> None:
        self.self_signed = self_signed  # each host's certificate signs itself (no CA to trust)
        self.dir = tempfile.mkdtemp(prefix="palette-sim-tls-")
        now = datetime.datetime.now(datetime.UTC)
        self.not_before = now - datetime.timedelta(days=1)
        self.not_after = now + datetime.timedelta(days=365)
        self.ca_key = ec.generate_private_key(ec.SECP256R1())
        self.leaf_key = ec.generate_private_key(ec.SECP256R1())
        name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "palette_sim edge CA")])
        self.ca_cert = (
            x509.CertificateBuilder()
            .subject_name(name)
            .issuer_name(name)
            .public_key(self.ca_key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(self.not_before)
            .not_valid_after(self.not_after)
            .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
            .add_extension(x509.KeyUsage(False, False, False, False, False, True, True, False, False), critical=True)
            .sign(self.ca_key, hashes.SHA256())
        )
        self.ca_pem = self.ca_cert.public_bytes(serialization.Encoding.PEM)
        self.ca_path = os.path.join(self.dir, "ca.pem")
        with open(self.ca_path, "wb") as fh:
            fh.write(self.ca_pem)
        self.key_path = os.path.join(self.dir, "leaf-key.pem")
        with open(self.key_path, "wb") as fh:
            fh.write(
                self.leaf_key.private_bytes(
                    serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
                )
            )
        self._contexts: OrderedDict[str, ssl.SSLContext] = OrderedDict()
        self._size = cache_size
        self._lock = threading.Lock()

    def leaf_pem(self, address: str) -> bytes:
        subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, address)])
        cert = (
            x509.CertificateBuilder()
            .subject_name(subject)
            .issuer_name(subject if self.self_signed else self.ca_cert.subject)
            .public_key(self.leaf_key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(self.not_before)
            .not_valid_after(self.not_after)
            .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address(address))]), critical=False)
            .add_extension(x509.ExtendedKeyUsage([x509.oid.ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
            .sign(self.leaf_key if self.self_signed else self.ca_key, hashes.SHA256())
        )
        return cert.public_bytes(serialization.Encoding.PEM)

    def context(self, address: str) -> ssl.SSLContext:
        """A server context presenting the certificate of `address` (cached, least recently used out)."""
        with self._lock:
            ctx = self._contexts.get(address)
            if ctx is not None:
                self._contexts.move_to_end(address)
                return ctx
        path = os.path.join(self.dir, f"{address}.pem")
        with open(path, "wb") as fh:
            fh.write(self.leaf_pem(address) + (b"" if self.self_signed else self.ca_pem))
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.minimum_version = ssl.TLSVersion.TLSv1_2
        ctx.load_cert_chain(path, self.key_path)
        os.unlink(path)
        with self._lock:
            self._contexts[address] = ctx
            while len(self._contexts) > self._size:
                self._contexts.popitem(last=False)
        return ctx

    def write_ca(self, path: str) -> None:
        with open(path, "wb") as fh:
            fh.write(self.ca_pem)

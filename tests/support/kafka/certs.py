"""A throwaway PKI for the TLS listeners: a test CA and a server certificate it signs.

Made at run time with `cryptography` (in the `test` extra of pyproject.toml), so no key or
certificate is ever committed. The server certificate names localhost and 127.0.0.1 (DNS and IP
subject alternative names), so a client that verifies the broker's hostname (librdkafka does by
default: ssl.endpoint.identification.algorithm=https) accepts it on either name. Kafka reads the
key and chain from a PKCS#12 keystore; clients trust the CA from its PEM file
(``ssl.ca.location``).
"""

from __future__ import annotations

import datetime
import ipaddress
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import pkcs12
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

__all__ = ["TestPki", "make_test_pki"]


@dataclass(frozen=True)
class TestPki:
    """Where make_test_pki() wrote the CA and the server's keystore."""

    __test__ = False  # not a pytest test class, despite the name

    ca_pem: Path  # the CA certificate (clients: ssl.ca.location)
    server_pem: Path  # the server certificate alone, for inspection
    keystore: Path  # PKCS#12: the server key, its certificate and the CA (Kafka: ssl.keystore.location)
    keystore_password: str


def _name(common_name: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.ORGANIZATION_NAME, "rdpy tests"),
                      x509.NameAttribute(NameOID.COMMON_NAME, common_name)])


def make_test_pki(directory: Path, password: str = "rdpy-test-secret", days: int = 7) -> TestPki:
    """Write a new CA (ca.pem), a server certificate for localhost/127.0.0.1 signed by it
    (server.pem) and the server's PKCS#12 keystore (server.p12, protected by `password`)."""
    directory.mkdir(parents=True, exist_ok=True)
    now = datetime.datetime.now(datetime.timezone.utc)
    not_before, not_after = now - datetime.timedelta(hours=1), now + datetime.timedelta(days=days)

    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_cert = (
        x509.CertificateBuilder()
        .subject_name(_name("rdpy test CA"))
        .issuer_name(_name("rdpy test CA"))
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(not_before)
        .not_valid_after(not_after)
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(x509.KeyUsage(digital_signature=True, key_cert_sign=True, crl_sign=True,
                                     content_commitment=False, key_encipherment=False, data_encipherment=False,
                                     key_agreement=False, encipher_only=False, decipher_only=False), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), critical=False)
        .sign(ca_key, hashes.SHA256())
    )

    server_key = ec.generate_private_key(ec.SECP256R1())
    server_cert = (
        x509.CertificateBuilder()
        .subject_name(_name("localhost"))
        .issuer_name(ca_cert.subject)
        .public_key(server_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(not_before)
        .not_valid_after(not_after)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.SubjectAlternativeName([x509.DNSName("localhost"),
                                                    x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), critical=False)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False)
        .sign(ca_key, hashes.SHA256())
    )

    ca_pem = directory / "ca.pem"
    ca_pem.write_bytes(ca_cert.public_bytes(serialization.Encoding.PEM))
    server_pem = directory / "server.pem"
    server_pem.write_bytes(server_cert.public_bytes(serialization.Encoding.PEM))
    keystore = directory / "server.p12"
    keystore.write_bytes(pkcs12.serialize_key_and_certificates(
        b"localhost", server_key, server_cert, [ca_cert],
        serialization.BestAvailableEncryption(password.encode())))
    return TestPki(ca_pem=ca_pem, server_pem=server_pem, keystore=keystore, keystore_password=password)

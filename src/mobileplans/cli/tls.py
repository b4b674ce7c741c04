"""``mobileplans up --tls``: the whole stack over HTTPS with a generated local CA.

Every listener serves a certificate from the local CA; the operator's MO API requires
the broker's client certificate (mutual TLS, spec 2.8) with the configured subject; the
broker presents it. Outbound clients in this process (broker → MO API, operator →
SM-DP+, SM-DP+ → operator) trust the local CA through ``SSL_CERT_FILE``, which points
at the system bundle plus the local CA.
"""

from __future__ import annotations

import os
import ssl
from dataclasses import dataclass
from pathlib import Path

import certifi

from mobileplans.config import MtlsPolicy, Settings
from mobileplans.kit.certs import BROKER_SUBJECT, LocalPki, ensure_local_pki
from mobileplans.kit.clock import SystemClock
from mobileplans.web.tls import server_ssl_context


@dataclass(frozen=True)
class StackTls:
    pki: LocalPki
    trust_bundle: Path

    def server_context(self, *, client_ca: bool = False) -> ssl.SSLContext:
        return server_ssl_context(
            self.pki.server.cert_file,
            self.pki.server.key_file,
            self.pki.ca.cert_file if client_ca else None,
        )

    def mo_api_policy(self) -> MtlsPolicy:
        return MtlsPolicy(ca_file=self.pki.ca.cert_file, subject=BROKER_SUBJECT)

    def broker_settings(self, settings: Settings) -> Settings:
        return settings.model_copy(
            update={
                "broker_client_cert": self.pki.broker.cert_file,
                "broker_client_key": self.pki.broker.key_file,
                "broker_ca_file": self.pki.ca.cert_file,
            }
        )

    def summary(self) -> dict[str, str]:
        return {
            "ca_file": str(self.pki.ca.cert_file),
            "trust_bundle": str(self.trust_bundle),
            "broker_client_cert": str(self.pki.broker.cert_file),
            "broker_client_subject": BROKER_SUBJECT,
        }


def prepare_tls(data_dir: Path) -> StackTls:
    """Make (or reuse) the local PKI and trust it for this process's outbound calls."""
    directory = data_dir / "pki"
    directory.mkdir(parents=True, exist_ok=True)
    pki = ensure_local_pki(directory, now=SystemClock().now())
    bundle = directory / "trust-bundle.pem"
    bundle.write_text(Path(certifi.where()).read_text() + "\n" + pki.ca.cert_file.read_text())
    os.environ["SSL_CERT_FILE"] = str(bundle)
    return StackTls(pki=pki, trust_bundle=bundle)

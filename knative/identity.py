"""Sender identity in the cluster (DESIGN.md §4): Knative Eventing's `authentication-oidc`.

- The functions and the rtmp-ingest pod run as service accounts of their own; the kubelet
  projects each a token for the Broker's audience, which they send events with.
- An EventPolicy lets only those two service accounts send to the Broker.
- Every Trigger and PingSource presents a token for its subscriber's audience
  (`streamfn/functions/<name>`), which the event function verifies against the cluster's
  service-account issuer: its JWKS is published in the `streamfn-oidc-jwks` ConfigMap
  (`kubectl get --raw /openid/v1/jwks`).

The feature itself is switched on in Knative Eventing's own `config-features`, outside this
namespace (README, "Deploy to Knative").
"""

from __future__ import annotations

from shared_lib.events.sender import broker_audience, function_audience

NAMESPACE = "streamfn"
BROKER = "default"
FUNCTIONS_ACCOUNT = "streamfn-functions"
INGEST_ACCOUNT = "rtmp-ingest"
TOKEN_DIR = "/var/run/secrets/streamfn"
OIDC_DIR = "/etc/streamfn/oidc"
CLUSTER_ISSUER = "https://kubernetes.default.svc.cluster.local"


def _labels() -> dict:
    return {"app.kubernetes.io/part-of": "streamfn", "app.kubernetes.io/component": "identity"}


def settings() -> dict[str, str]:
    """What every function reads to verify and to send (the streamfn-config ConfigMap)."""
    return {"STREAMFN_OIDC_ISSUER": CLUSTER_ISSUER,
            "STREAMFN_OIDC_JWKS_FILE": f"{OIDC_DIR}/jwks.json",
            "STREAMFN_SENDER_TOKEN_FILE": f"{TOKEN_DIR}/broker-token"}


def sender_volume() -> tuple[dict, dict]:
    """(volume, mount) of a pod's projected token for the Broker, refreshed by the kubelet."""
    volume = {"name": "broker-token", "projected": {"sources": [{"serviceAccountToken": {
        "audience": broker_audience(NAMESPACE, BROKER), "expirationSeconds": 3600,
        "path": "broker-token"}}]}}
    return volume, {"name": "broker-token", "mountPath": TOKEN_DIR, "readOnly": True}


def issuer_volume() -> tuple[dict, dict]:
    """(volume, mount) of the cluster issuer's JWKS, which event functions verify with."""
    return ({"name": "oidc-jwks", "configMap": {"name": "streamfn-oidc-jwks"}},
            {"name": "oidc-jwks", "mountPath": OIDC_DIR, "readOnly": True})


def subscriber(ref: dict, name: str) -> dict:
    """A Trigger's or PingSource's destination, with the audience its token is for."""
    return {**ref, "audience": function_audience(name)}


def identity() -> list[dict]:
    def account(name: str) -> dict:
        return {"apiVersion": "v1", "kind": "ServiceAccount",
                "metadata": {"name": name, "namespace": NAMESPACE, "labels": _labels()}}

    return [
        account(FUNCTIONS_ACCOUNT),
        account(INGEST_ACCOUNT),
        {"apiVersion": "eventing.knative.dev/v1alpha1", "kind": "EventPolicy",
         "metadata": {"name": "broker-senders", "namespace": NAMESPACE, "labels": _labels()},
         "spec": {
             "to": [{"ref": {"apiVersion": "eventing.knative.dev/v1", "kind": "Broker", "name": BROKER}}],
             "from": [{"ref": {"apiVersion": "v1", "kind": "ServiceAccount", "name": name,
                               "namespace": NAMESPACE}}
                      for name in (INGEST_ACCOUNT, FUNCTIONS_ACCOUNT)]}},
        {"apiVersion": "v1", "kind": "ConfigMap",
         "metadata": {"name": "streamfn-oidc-jwks", "namespace": NAMESPACE, "labels": _labels()},
         # A template: fill it with `kubectl get --raw /openid/v1/jwks` (and again when the
         # cluster rotates its service-account signing key).
         "data": {"jwks.json": '{"keys": []}\n'}},
    ]

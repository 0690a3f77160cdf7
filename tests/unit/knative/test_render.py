"""The Knative deployment: rendered from the catalog, and valid against the schemas."""

from __future__ import annotations

import re
import subprocess
import sys

import jsonschema
import kubernetes_validate
import pytest
import yaml

from functions import load_catalog
from local.services import ROOT
from shared_lib.catalog import EVENT, HTTP, SCHEDULE
from tests.manifests import crd_schema, documents, func_schema, mapping_schema

DOCUMENTS = documents()
CORE_KINDS = {"Namespace", "ConfigMap", "Secret", "Deployment", "PersistentVolumeClaim",
              "ServiceAccount"}


def of_kind(kind: str, api_prefix: str = "", component: str | None = None) -> list[dict]:
    return [d for _, d in DOCUMENTS if d["kind"] == kind and d["apiVersion"].startswith(api_prefix)
            and component in (None, d["metadata"]["labels"]["app.kubernetes.io/component"])]


def functions() -> list[dict]:
    return of_kind("Service", "serving.knative.dev", "function")


def api_mappings() -> list[dict]:
    return of_kind("Mapping", component="route")


def test_a_fresh_render_matches_the_checked_in_files():
    result = subprocess.run([sys.executable, "knative/render.py", "--check"], cwd=ROOT,
                            capture_output=True, text=True)
    assert result.returncode == 0, result.stderr


@pytest.mark.parametrize("path, document", DOCUMENTS,
                         ids=[f"{p.name}:{d['kind']}:{d['metadata']['name']}" for p, d in DOCUMENTS])
def test_every_object_validates_against_its_schema(path, document):
    group, _, version = document["apiVersion"].rpartition("/")
    if group == "getambassador.io":
        jsonschema.validate(document, mapping_schema())
    elif document["kind"] in CORE_KINDS or (group == "" and document["kind"] == "Service"):
        kubernetes_validate.validate(document, "1.30.0", strict=True)
    else:
        jsonschema.validate(document, crd_schema(group, document["kind"], version))


def test_unknown_fields_are_refused_by_the_validation():
    service = yaml.safe_load((ROOT / "knative/functions/login.yaml").read_text().split("---\n", 1)[1])
    service["spec"]["template"]["spec"]["containers"][0]["imagePullPolicyy"] = "Always"
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(service, crd_schema("serving.knative.dev", "Service", "v1"))
    mapping = of_kind("Mapping")[0]
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate({**mapping, "spec": {**mapping["spec"], "prefixx": "/"}},
                            mapping_schema())


def test_func_yaml_validates_against_funcs_schema():
    jsonschema.validate(yaml.safe_load((ROOT / "func.yaml").read_text()), func_schema())


def test_every_function_has_its_service_trigger_pingsource_and_mapping():
    specs = load_catalog()
    services = [d["metadata"]["name"] for d in functions()]
    assert sorted(services) == sorted(s.name for s in specs)
    triggers = {d["metadata"]["name"]: d for d in of_kind("Trigger")}
    typed = [s for s in specs if s.kind == EVENT and s.event_type]
    assert sorted(triggers) == sorted(s.name for s in typed)
    for spec in typed:
        assert triggers[spec.name]["spec"]["filter"]["attributes"]["type"] == spec.event_type
        assert triggers[spec.name]["spec"]["delivery"]["deadLetterSink"]
    pings = {d["metadata"]["name"]: d["spec"]["schedule"] for d in of_kind("PingSource")}
    assert pings == {s.name: s.schedule for s in specs if s.kind == SCHEDULE}
    mapped = sorted(d["metadata"]["name"] for d in api_mappings())
    assert mapped == sorted(s.name for s in specs if s.kind == HTTP and not s.internal)
    assert not any("/internal/" in d["spec"]["prefix"] for d in of_kind("Mapping"))


def test_scaling_and_threads_follow_the_catalog():
    specs = {s.name: s for s in load_catalog()}
    for service in functions():
        spec = specs[service["metadata"]["name"]]
        template = service["spec"]["template"]
        annotations = template["metadata"]["annotations"]
        assert annotations["autoscaling.knative.dev/min-scale"] == str(spec.scaling.min_scale)
        container = template["spec"]["containers"][0]
        env = {e["name"]: e["value"] for e in container["env"]}
        assert env["THREADS"] == str(template["spec"]["containerConcurrency"])
        assert env["FUNCTION_SOURCE"] == spec.source and env["FUNCTION_TARGET"] == spec.target
        assert container["readinessProbe"]["httpGet"]["path"] == "/healthz"
    assert specs["authorize-publish"].scaling.min_scale == 1


def test_only_the_functions_that_sign_tokens_mount_the_signing_key():
    mounting = {d["metadata"]["name"] for d in functions()
                if any(v.get("secret") for v in d["spec"]["template"]["spec"]["volumes"])}
    assert mounting == {"register", "login", "refresh"}


def test_the_ingest_pod_and_the_replay_and_clip_functions_share_one_media_claim():
    def claims(pod_spec: dict) -> set[str]:
        return {v["persistentVolumeClaim"]["claimName"] for v in pod_spec.get("volumes", [])
                if "persistentVolumeClaim" in v}

    [claim] = of_kind("PersistentVolumeClaim")
    assert claim["spec"]["accessModes"] == ["ReadWriteMany"]
    name = claim["metadata"]["name"]
    [ingest] = of_kind("Deployment")
    assert claims(ingest["spec"]["template"]["spec"]) == {name}
    mounting = {d["metadata"]["name"] for d in functions()
                if claims(d["spec"]["template"]["spec"]) == {name}}
    assert mounting == {"on-recording-completed", "delete-replay", "expire-replays",
                        "cut-clip", "delete-clip", "sweep-clip-files"}


def test_secret_templates_hold_placeholders_only():
    for secret in of_kind("Secret"):
        for value in secret["stringData"].values():
            assert "change-me" in value


def test_the_front_door_routes_exactly_as_the_mappings_do():
    """The nginx config `make dev` serves is rendered from the same table the Emissary
    Mappings carry: same routes, same order of precedence."""
    from local.routes import RouteTable

    specs = load_catalog()
    catalog = RouteTable.from_catalog(specs)
    from_mappings = RouteTable.from_mappings(api_mappings())
    assert from_mappings.rows() == catalog.rows()
    assert [(r.method, r.regex) for r in from_mappings.routes] == [
        (r.method, r.regex) for r in catalog.routes]
    for spec in (s for s in specs if s.kind == HTTP and not s.internal):
        sample = re.sub(r"\{\w+\}", "x1", spec.path)
        assert from_mappings.match(spec.method, sample)[0] == spec.name
    assert from_mappings.match("POST", "/api/streams/key")[0] == "rotate-stream-key"


def test_the_web_app_gets_only_what_no_api_route_claims():
    [web] = of_kind("Mapping", component="web")
    others = api_mappings()
    assert len(others) + 1 == len(of_kind("Mapping"))
    assert web["spec"]["prefix"] == "/" and "prefix_regex" not in web["spec"]
    assert web["spec"]["precedence"] < min(m["spec"]["precedence"] for m in others)
    assert all(m["spec"]["prefix"].startswith("^/api/") for m in others)
    [service] = of_kind("Service", "serving.knative.dev", "web")
    container = service["spec"]["template"]["spec"]["containers"][0]
    assert container["image"].startswith("ghcr.io/streamfn/streamfn-web:")
    assert container["readinessProbe"]["httpGet"]["path"] == "/healthz"


def kustomized(directory):
    """The files `kubectl apply -k` applies: each kustomization's resources, a directory
    among them by its own kustomization.yaml."""
    resources = yaml.safe_load((directory / "kustomization.yaml").read_text())["resources"]
    for resource in resources:
        path = directory / resource
        yield from kustomized(path) if path.is_dir() else [path]


def test_the_kustomization_applies_every_manifest_once():
    applied = list(kustomized(ROOT / "knative"))
    files = {p for p in (ROOT / "knative").rglob("*.yaml") if p.name != "kustomization.yaml"}
    assert len(applied) == len(set(applied)) and set(applied) == files


def test_every_probe_targets_a_port_its_container_listens_on_beyond_loopback():
    """The kubelet probes the pod's address: a server bound to 127.0.0.1 there is never
    Ready and is restarted over and over."""
    [deployment] = [d for d in of_kind("Deployment") if d["metadata"]["name"] == "rtmp-ingest"]
    listening = {
        # nginx listens on every address of the ports it is given (RTMP_LISTEN, HTTP_LISTEN).
        "nginx": lambda env: {int(env["RTMP_LISTEN"]), int(env["HTTP_LISTEN"])},
        "sidecar": lambda env: {int(env["SIDECAR_PORT"])}
        if env.get("SIDECAR_HOST") not in (None, "127.0.0.1", "localhost") else set(),
        "playlists": lambda env: {int(env["PLAYLISTS_LISTEN"].rpartition(":")[2])}
        if not env["PLAYLISTS_LISTEN"].startswith(("127.", "localhost", "unix:")) else set(),
    }
    for container in deployment["spec"]["template"]["spec"]["containers"]:
        env = {e["name"]: e.get("value") for e in container.get("env", [])}
        ports = listening[container["name"]](env)
        declared = {p["containerPort"] for p in container.get("ports", [])}
        for kind in ("readinessProbe", "livenessProbe"):
            probe = container[kind]
            port = (probe.get("httpGet") or probe.get("tcpSocket"))["port"]
            assert port in ports and port in declared, (container["name"], kind, port)


def test_senders_and_subscribers_carry_oidc_identities():
    """Knative's sender identity: the Broker takes events only from the functions' and the
    ingest pod's service accounts, each with a projected token for the Broker's audience,
    and every Trigger and PingSource presents a token for its function's own audience."""
    from shared_lib.events.sender import broker_audience, function_audience

    [policy] = of_kind("EventPolicy")
    assert policy["spec"]["to"][0]["ref"]["kind"] == "Broker"
    senders = {entry["ref"]["name"] for entry in policy["spec"]["from"]}
    assert senders == {"streamfn-functions", "rtmp-ingest"}
    for source in of_kind("Trigger") + of_kind("PingSource"):
        destination = source["spec"].get("subscriber") or source["spec"]["sink"]
        assert destination["audience"] == function_audience(destination["ref"]["name"])
    broker = broker_audience("streamfn", "default")
    pods = [s["spec"]["template"]["spec"] for s in of_kind("Service", "serving", "function")] + [
        d["spec"]["template"]["spec"] for d in of_kind("Deployment")]
    for pod in pods:
        assert pod["serviceAccountName"] in senders
        projected = [v for v in pod.get("volumes", []) if "projected" in v]
        assert projected[0]["projected"]["sources"][0]["serviceAccountToken"]["audience"] == broker


def test_the_event_stream_is_a_service_of_its_own_sized_for_open_connections():
    """chat-events holds Server-Sent Events open: served in ASGI mode, timeouts a long
    response needs, a concurrency target for connections, and still scale to zero."""
    service = next(s for s in functions() if s["metadata"]["name"] == "chat-events")
    template = service["spec"]["template"]
    spec, annotations = template["spec"], template["metadata"]["annotations"]
    env = {e["name"]: e["value"] for e in spec["containers"][0]["env"]}
    assert env["FUNCTION_USE_ASGI"] == "true" and env["FUNCTION_TARGET"] == "chat_events"
    assert spec["timeoutSeconds"] == 600 and spec["responseStartTimeoutSeconds"] == 10
    assert spec["idleTimeoutSeconds"] == 60 and spec["containerConcurrency"] == 1000
    assert annotations["autoscaling.knative.dev/min-scale"] == "0"
    assert annotations["autoscaling.knative.dev/target"] == "700"
    route = next(m for m in api_mappings() if m["metadata"]["name"] == "chat-events")
    assert route["spec"]["timeout_ms"] == 600_000 and route["spec"]["idle_timeout_ms"] == 60_000
    served_async = {s["metadata"]["name"] for s in functions() if "FUNCTION_USE_ASGI" in str(s)}
    assert served_async == {"chat-events", "get-stream", "list-streams", "record-view"}, \
        "the rest stay WSGI"

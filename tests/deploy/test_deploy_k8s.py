"""deploy/k8s: base and overlays build, validate against the Kubernetes schemas, and say what they claim."""

from __future__ import annotations

import copy
from collections.abc import Callable
from pathlib import Path
from typing import Any

import kubernetes_validate  # type: ignore[import-untyped]
import pytest
import yaml
from deploy_support import (
    ALLOWED_ENV,
    ENVIRONMENTS,
    K8S,
    KUBERNETES_VERSIONS,
    REQUIRED_ENV,
    SECRET_ENV,
    SECRETS_EXAMPLE,
    TEMPORAL_NAMESPACE,
    Resource,
    build,
    container_env_names,
    containers,
    find,
    is_probatio_image,
    load_documents,
    load_yaml,
    of_kind,
    pod_spec,
    pod_templates,
    split_image,
)


def schema_errors(resource: Resource, version: str) -> str | None:
    """Why the object does not validate (strict: unknown fields are errors), or None when it does."""
    try:
        kubernetes_validate.validate(resource, version, strict=True)
    except kubernetes_validate.ValidationError as exc:
        path = ".".join(str(p) for p in exc.path)
        return f"{resource['kind']}/{resource['metadata']['name']}: {path}: {exc.message}"
    except kubernetes_validate.SchemaNotFoundError as exc:
        # An unknown kind or apiVersion is an error here, not the CLI's warning.
        return str(exc.message)
    return None


# --- validation ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("version", KUBERNETES_VERSIONS)
@pytest.mark.parametrize("environment", ENVIRONMENTS)
def test_every_object_validates_strictly(environment: str, version: str) -> None:
    resources = build(environment)
    assert len(resources) >= 10
    errors = [e for e in (schema_errors(r, version) for r in resources) if e]
    assert errors == []


@pytest.mark.parametrize("version", KUBERNETES_VERSIONS)
def test_secrets_example_validates(version: str) -> None:
    documents = load_documents(SECRETS_EXAMPLE)
    assert {d["metadata"]["name"] for d in documents} == {"probatio-secrets", "probatio-signing-key"}
    assert [e for e in (schema_errors(d, version) for d in documents) if e] == []


def _web(resources: list[Resource]) -> dict[str, Any]:
    container: dict[str, Any] = pod_spec(find(resources, "Deployment", "probatio-web"))["containers"][0]
    return container


BREAKAGES: dict[str, Callable[[list[Resource]], None]] = {
    "misspelt probe field": lambda rs: _web(rs)["readinessProbe"]["httpGet"].update(paht="/healthz"),
    "misspelt security field": lambda rs: _web(rs)["securityContext"].update(runAsNonroot=True),
    "port given by name where a number is due": lambda rs: _web(rs)["ports"][0].update(containerPort="http"),
    "container without a name": lambda rs: _web(rs).pop("name"),
    "replicas as text": lambda rs: find(rs, "Deployment", "probatio-worker")["spec"].update(replicas="three"),
    "unknown top-level field": lambda rs: find(rs, "Job", "probatio-temporal-setup").update(extra=1),
    "unknown kind": lambda rs: find(rs, "Service", "probatio-web").update(kind="Servise"),
}


@pytest.mark.parametrize("breakage", BREAKAGES)
def test_validator_rejects_a_broken_manifest(breakage: str) -> None:
    """The validation above is worth something only if it fails on mistakes like these."""
    resources = build("overlays/production")
    BREAKAGES[breakage](resources)
    errors = [e for e in (schema_errors(r, KUBERNETES_VERSIONS[0]) for r in resources) if e]
    assert len(errors) == 1


# --- the files of each environment -------------------------------------------------------------------


@pytest.mark.parametrize("environment", ENVIRONMENTS)
def test_every_file_beside_a_kustomization_is_used(environment: str) -> None:
    """A patch or resource file that no kustomization names would be dead: forgotten, never applied."""
    directory = K8S / environment
    kustomization = load_yaml(directory / "kustomization.yaml")
    named = set(kustomization.get("resources", []))
    named |= {p["path"] for p in kustomization.get("patches", [])}
    for generator in kustomization.get("configMapGenerator", []):
        named |= {f.partition("=")[2] or f for f in generator.get("files", [])}
    present = {p.name for p in directory.iterdir() if p.is_file() and p.name != "kustomization.yaml"}
    assert present == {n for n in named if "/" not in n}


# --- what the overlays claim --------------------------------------------------------------------------


def _probatio_images(resources: list[Resource]) -> set[str]:
    return {c["image"] for r in resources for c in containers(r) if is_probatio_image(c["image"])}


@pytest.mark.parametrize(
    ("environment", "namespace", "replicas", "image", "public_url"),
    [
        (
            "overlays/staging",
            "probatio-staging",
            1,
            "registry.example.eu/probatio:main",
            "https://probatio.staging.example.lu",
        ),
        (
            "overlays/production",
            "probatio",
            3,
            "registry.example.eu/probatio:0.1.0",
            "https://probatio.justice.example.lu",
        ),
    ],
)
def test_overlay_changes_what_it_claims(
    environment: str, namespace: str, replicas: int, image: str, public_url: str
) -> None:
    base, resources = build("base"), build(environment)
    for name in ("probatio-web", "probatio-worker"):
        assert find(base, "Deployment", name)["spec"]["replicas"] == 2
        assert find(resources, "Deployment", name)["spec"]["replicas"] == replicas
    assert _probatio_images(base) == {"probatio:latest"}
    # Every probatio container, the migrate init container included, runs the overlay's image.
    assert _probatio_images(resources) == {image}
    assert find(resources, "Namespace", namespace)
    for resource in resources:
        if resource["kind"] != "Namespace":
            assert resource["metadata"]["namespace"] == namespace, resource["metadata"]["name"]
    config = find(resources, "ConfigMap", "probatio-config")["data"]
    assert config["PROBATIO_PUBLIC_URL"] == public_url
    # merge, not replace: the base's other settings are still there.
    assert config["PROBATIO_TEMPORAL_NAMESPACE"] == TEMPORAL_NAMESPACE
    assert set(config) >= set(find(base, "ConfigMap", "probatio-config")["data"])
    host = public_url.removeprefix("https://")
    ingress = find(resources, "Ingress", "probatio-web")["spec"]
    assert [rule["host"] for rule in ingress["rules"]] == [host]
    assert ingress["tls"] == [{"hosts": [host], "secretName": "probatio-tls"}]
    directory = find(resources, "ConfigMap", "probatio-directory")["data"]["directory.yaml"]
    assert directory == (K8S / environment / "directory.yaml").read_text(encoding="utf-8")


def test_production_gets_more_resources_and_keeps_its_probes() -> None:
    base, production = build("base"), build("overlays/production")
    for name, container_name in (("probatio-worker", "worker"), ("probatio-web", "web")):
        before = next(c for c in pod_spec(find(base, "Deployment", name))["containers"] if c["name"] == container_name)
        after = next(
            c for c in pod_spec(find(production, "Deployment", name))["containers"] if c["name"] == container_name
        )
        assert after["resources"]["limits"]["memory"] != before["resources"]["limits"]["memory"]
        assert after["resources"]["requests"]["cpu"] != before["resources"]["requests"]["cpu"]
        for field in ("readinessProbe", "livenessProbe", "securityContext", "volumeMounts", "envFrom"):
            assert after[field] == before[field], field
    assert "OTEL_EXPORTER_OTLP_ENDPOINT" in find(production, "ConfigMap", "probatio-config")["data"]


def test_production_image_is_pinned() -> None:
    for image in _probatio_images(build("overlays/production")):
        tag = split_image(image)[1]
        assert tag not in (None, "latest", "main"), image


# --- the application's facts --------------------------------------------------------------------------


@pytest.mark.parametrize("environment", ENVIRONMENTS)
def test_probatio_containers_get_only_known_settings(environment: str) -> None:
    resources = build(environment)
    seen: set[str] = set()
    for workload in of_kind(resources, "Deployment"):
        for container in containers(workload):
            assert is_probatio_image(container["image"])
            names = container_env_names(container, resources)
            assert names <= ALLOWED_ENV, f"{container['name']}: unknown {sorted(names - ALLOWED_ENV)}"
            missing = REQUIRED_ENV[container["name"]] - names
            assert not missing, f"{container['name']}: missing {sorted(missing)}"
            # Secret values come from the Secret, never from the ConfigMap or a literal.
            for entry in container.get("env", []):
                if entry["name"] in SECRET_ENV:
                    assert set(entry) == {"name", "valueFrom"}
                    assert entry["valueFrom"]["secretKeyRef"]["name"] == "probatio-secrets"
            seen.add(container["name"])
    assert seen == {"migrate", "worker", "web"}
    config = find(resources, "ConfigMap", "probatio-config")["data"]
    assert not SECRET_ENV & set(config)
    assert config["PROBATIO_TEMPORAL_ADDRESS"] == "temporal-frontend.temporal:7233"
    assert config["PROBATIO_TEMPORAL_NAMESPACE"] == TEMPORAL_NAMESPACE
    assert config["PROBATIO_LOG_FORMAT"] == "json"
    assert len(config["PROBATIO_STATE"]) == 2 and config["PROBATIO_STATE"].isupper()


def test_commands_and_probes() -> None:
    resources = build("base")
    worker = pod_spec(find(resources, "Deployment", "probatio-worker"))
    (worker_container,) = worker["containers"]
    assert worker_container["args"] == ["worker"]
    assert "initContainers" not in worker
    for probe in ("readinessProbe", "livenessProbe"):
        assert worker_container[probe]["exec"]["command"] == ["probatio", "healthcheck", "worker"]
    assert (
        worker_container["livenessProbe"]["failureThreshold"] * worker_container["livenessProbe"]["periodSeconds"]
        >= 180
    ), "a short Temporal outage must not restart the workers"

    web = pod_spec(find(resources, "Deployment", "probatio-web"))
    (migrate,) = web["initContainers"]
    assert migrate["args"] == ["migrate"]
    (web_container,) = web["containers"]
    # The app listens on 127.0.0.1 unless told otherwise: probes and the Service would find nothing.
    assert web_container["args"] == ["web", "--host", "0.0.0.0"]
    ports = {p["name"]: p["containerPort"] for p in web_container["ports"]}
    config = find(resources, "ConfigMap", "probatio-config")["data"]
    assert ports == {"http": int(config["PROBATIO_WEB_PORT"]), "metrics": int(config["PROBATIO_METRICS_PORT"])}
    assert web_container["readinessProbe"]["httpGet"] == {"path": "/healthz", "port": "http"}
    # Liveness must not depend on PostgreSQL and Temporal, or their outage restarts every pod.
    assert "httpGet" not in web_container["livenessProbe"]
    assert web_container["livenessProbe"]["tcpSocket"] == {"port": "http"}


@pytest.mark.parametrize("environment", ENVIRONMENTS)
def test_pods_are_hardened_and_bounded(environment: str) -> None:
    resources = build(environment)
    workloads = of_kind(resources, "Deployment") + of_kind(resources, "Job")
    assert len(workloads) == 3
    for workload in workloads:
        spec = pod_spec(workload)
        assert spec["securityContext"]["runAsNonRoot"] is True
        assert spec["securityContext"]["runAsUser"] != 0
        # What Pod Security "restricted" (set on the overlays' namespaces) demands besides the above.
        assert spec["securityContext"]["seccompProfile"] == {"type": "RuntimeDefault"}
        assert spec["automountServiceAccountToken"] is False
        volumes = {v["name"]: v for v in spec["volumes"]}
        for container in containers(workload):
            where = f"{workload['metadata']['name']}/{container['name']}"
            context = container["securityContext"]
            assert context["readOnlyRootFilesystem"] is True, where
            assert context["allowPrivilegeEscalation"] is False, where
            assert context["capabilities"] == {"drop": ["ALL"]}, where
            assert set(container["resources"]) == {"requests", "limits"}, where
            assert {"cpu", "memory"} <= set(container["resources"]["limits"]), where
            tmp = [m for m in container["volumeMounts"] if m["mountPath"] == "/tmp"]
            assert len(tmp) == 1 and "emptyDir" in volumes[tmp[0]["name"]], where


def test_metrics_are_announced_to_prometheus() -> None:
    resources = build("base")
    port = find(resources, "ConfigMap", "probatio-config")["data"]["PROBATIO_METRICS_PORT"]
    assert port == "9464"
    for name in ("probatio-web", "probatio-worker"):
        template = next(pod_templates(find(resources, "Deployment", name)))
        annotations = template["metadata"]["annotations"]
        assert annotations["prometheus.io/scrape"] == "true"
        assert annotations["prometheus.io/port"] == port
        container = template["spec"]["containers"][0]
        assert {"name": "metrics", "containerPort": int(port), "protocol": "TCP"} in container["ports"]


def test_key_and_directory_files_are_where_the_settings_say() -> None:
    resources = build("base")
    config = find(resources, "ConfigMap", "probatio-config")["data"]
    secret_keys = {d["metadata"]["name"]: set(d["stringData"]) for d in load_documents(SECRETS_EXAMPLE)}
    for name in ("probatio-web", "probatio-worker"):
        spec = pod_spec(find(resources, "Deployment", name))
        volumes = {v["name"]: v for v in spec["volumes"]}
        container = spec["containers"][0]
        mounted: dict[str, str] = {}
        for mount in container["volumeMounts"]:
            volume = volumes[mount["name"]]
            assert mount["mountPath"] == "/tmp" or mount.get("readOnly") is True
            if "secret" in volume:
                for key in secret_keys[volume["secret"]["secretName"]]:
                    mounted[f"{mount['mountPath']}/{key}"] = "secret"
            if "configMap" in volume:
                data = find(resources, "ConfigMap", volume["configMap"]["name"])["data"]
                for key in data:
                    mounted[f"{mount['mountPath']}/{key}"] = "configMap"
        assert mounted.get(config["PROBATIO_SIGNING_KEY_FILE"]) == "secret"
        assert mounted.get(config["PROBATIO_SEAL_KEY_FILE"]) == "secret"
        assert mounted.get(config["PROBATIO_SEAL_CERTIFICATE_FILE"]) == "secret"
        assert mounted.get(config["PROBATIO_DIRECTORY_FILE"]) == "configMap"
        for entry in container["env"]:
            ref = entry["valueFrom"]["secretKeyRef"]
            assert ref["key"] in secret_keys[ref["name"]]


@pytest.mark.parametrize("environment", ENVIRONMENTS)
def test_selectors_and_references_meet_their_objects(environment: str) -> None:
    resources = build(environment)
    pods = {r["metadata"]["name"]: next(pod_templates(r)) for r in of_kind(resources, "Deployment")}

    def selected(selector: dict[str, str]) -> set[str]:
        return {name for name, t in pods.items() if selector.items() <= t["metadata"]["labels"].items()}

    for deployment in of_kind(resources, "Deployment"):
        assert selected(deployment["spec"]["selector"]["matchLabels"]) == {deployment["metadata"]["name"]}
    service = find(resources, "Service", "probatio-web")
    assert selected(service["spec"]["selector"]) == {"probatio-web"}
    web_ports = {p["name"] for p in pod_spec(find(resources, "Deployment", "probatio-web"))["containers"][0]["ports"]}
    assert {p["targetPort"] for p in service["spec"]["ports"]} <= web_ports
    for kind in ("PodDisruptionBudget", "NetworkPolicy"):
        for policy in of_kind(resources, kind):
            key = "selector" if kind == "PodDisruptionBudget" else "podSelector"
            assert selected(policy["spec"][key]["matchLabels"]) == {policy["metadata"]["name"]}
    ingress = find(resources, "Ingress", "probatio-web")
    for rule in ingress["spec"]["rules"]:
        for path in rule["http"]["paths"]:
            backend = path["backend"]["service"]
            assert backend["name"] == "probatio-web"
            assert backend["port"]["name"] in {p["name"] for p in service["spec"]["ports"]}
    # Every ConfigMap a pod needs is part of the build; Secrets are not (they come from secrets.example).
    config_maps = {r["metadata"]["name"] for r in of_kind(resources, "ConfigMap")}
    for workload in of_kind(resources, "Deployment") + of_kind(resources, "Job"):
        spec = pod_spec(workload)
        for volume in spec["volumes"]:
            if "configMap" in volume:
                assert volume["configMap"]["name"] in config_maps
        for container in containers(workload):
            for source in container.get("envFrom", []):
                assert source["configMapRef"]["name"] in config_maps
            for entry in container.get("env", []):
                ref = entry.get("valueFrom", {}).get("configMapKeyRef")
                if ref:
                    assert ref["key"] in find(resources, "ConfigMap", ref["name"])["data"]


@pytest.mark.parametrize("environment", ENVIRONMENTS)
def test_no_secret_is_kept_in_the_repository(environment: str) -> None:
    assert of_kind(build(environment), "Secret") == []


def test_secrets_example_holds_only_placeholders() -> None:
    for document in load_documents(SECRETS_EXAMPLE):
        for value in document["stringData"].values():
            assert "CHANGE-ME" in value


# --- the directory files the overlays ship ------------------------------------------------------------


@pytest.mark.parametrize(
    "path",
    [K8S / env / "directory.yaml" for env in ENVIRONMENTS] + [K8S.parent / "directory.yaml"],
    ids=lambda p: str(p.relative_to(K8S.parent)),
)
def test_directory_files_load_in_the_application(path: Path) -> None:
    directory_module = pytest.importorskip("adapters.directory")
    pytest.importorskip("adapters.nodelink")  # registers the nodelink adapter
    directory = directory_module.Directory.load(path)
    assert directory.states
    assert directory.check_adapters() == []


def test_broken_directory_file_is_refused(tmp_path: Path) -> None:
    directory_module = pytest.importorskip("adapters.directory")
    data = load_yaml(K8S / "base" / "directory.yaml")
    broken = copy.deepcopy(data)
    broken["states"]["BE"]["authorities"][0]["adress"] = "typo"
    path = tmp_path / "directory.yaml"
    path.write_text(yaml.safe_dump(broken), encoding="utf-8")
    with pytest.raises(ValueError, match="adress"):
        directory_module.Directory.load(path)

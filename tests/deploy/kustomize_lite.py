"""A small, strict stand-in for `kustomize build`, enough for deploy/k8s and nothing more.

Neither kustomize nor Helm can be installed where the tests run, so the overlays are built here in pure
Python. It models exactly the features deploy/k8s uses and refuses everything else (an unknown key in a
kustomization, a patch whose target does not exist, a generator with a name hash), so a manifest that
uses a feature this builder does not understand fails the tests instead of being silently misbuilt.

Supported, with kustomize's meaning:

- ``resources``: files (multi-document YAML) and directories holding a kustomization;
- ``configMapGenerator`` with ``literals`` and ``files``, ``behavior`` create / merge / replace, and
  ``options.disableNameSuffixHash: true`` (required: name hashes and the reference rewriting they need
  are not modelled);
- ``patches`` given by ``path``: strategic merge patches whose target is the patch's own kind and name;
  lists of containers, env, volumes, volume mounts and ports merge by their key, other lists replace;
  ``null`` deletes a field;
- ``labels`` with ``includeSelectors: false`` (with or without ``includeTemplates``);
- ``images`` (``newName``, ``newTag``, ``digest``), ``replicas``, ``namespace``.
"""

from __future__ import annotations

import copy
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import yaml

Resource = dict[str, Any]

KUSTOMIZATION_FILE = "kustomization.yaml"
SUPPORTED_KEYS = frozenset(
    {"apiVersion", "kind", "resources", "configMapGenerator", "patches", "labels", "images", "replicas", "namespace"}
)
# Kinds that are not namespaced (only those that could plausibly appear here).
CLUSTER_SCOPED = frozenset(
    {
        "Namespace",
        "ClusterRole",
        "ClusterRoleBinding",
        "CustomResourceDefinition",
        "PersistentVolume",
        "StorageClass",
        "PriorityClass",
        "IngressClass",
    }
)
# Kinds whose pod template lives at spec.template / spec.jobTemplate.spec.template.
WORKLOADS = frozenset({"Deployment", "StatefulSet", "DaemonSet", "ReplicaSet", "Job"})
SCALABLE = frozenset({"Deployment", "StatefulSet", "ReplicaSet"})
# Strategic-merge keys of the lists that deploy/k8s patches (from the Kubernetes API's patchMergeKey).
MERGE_KEYS: dict[str, tuple[str, ...]] = {
    "containers": ("name",),
    "initContainers": ("name",),
    "env": ("name",),
    "volumes": ("name",),
    "volumeMounts": ("mountPath",),
    "imagePullSecrets": ("name",),
    "ports": ("containerPort", "port"),
}


class KustomizeError(ValueError):
    """The kustomization uses something this builder does not model, or refers to what does not exist."""


def load_documents(path: Path) -> list[Resource]:
    """Every non-empty YAML document of a file; each must be a Kubernetes object."""
    documents = [doc for doc in yaml.safe_load_all(path.read_text(encoding="utf-8")) if doc is not None]
    for doc in documents:
        if not isinstance(doc, dict) or "kind" not in doc or "apiVersion" not in doc:
            raise KustomizeError(f"{path}: every document must be a Kubernetes object with kind and apiVersion")
    return documents


def resource_id(resource: Resource) -> tuple[str, str]:
    return resource["kind"], resource["metadata"]["name"]


def build(directory: Path) -> list[Resource]:
    """The objects `kustomize build DIRECTORY` would print (without name hashes)."""
    kustomization_path = directory / KUSTOMIZATION_FILE
    if not kustomization_path.is_file():
        raise KustomizeError(f"{directory}: no {KUSTOMIZATION_FILE}")
    kustomization = yaml.safe_load(kustomization_path.read_text(encoding="utf-8"))
    if not isinstance(kustomization, dict):
        raise KustomizeError(f"{kustomization_path}: not a mapping")
    unknown = set(kustomization) - SUPPORTED_KEYS
    if unknown:
        raise KustomizeError(f"{kustomization_path}: unsupported keys {sorted(unknown)}")
    if kustomization.get("kind") != "Kustomization":
        raise KustomizeError(f"{kustomization_path}: kind must be Kustomization")

    resources: list[Resource] = []
    for entry in kustomization.get("resources", []):
        path = (directory / entry).resolve()
        if path.is_dir():
            resources.extend(build(path))
        elif path.is_file():
            resources.extend(load_documents(path))
        else:
            raise KustomizeError(f"{kustomization_path}: resource {entry!r} does not exist")
    for generator in kustomization.get("configMapGenerator", []):
        _generate_config_map(directory, generator, resources)
    for patch in kustomization.get("patches", []):
        _apply_patch(directory, patch, resources)
    for labels in kustomization.get("labels", []):
        _add_labels(labels, resources)
    for image in kustomization.get("images", []):
        _set_image(image, resources)
    for replicas in kustomization.get("replicas", []):
        _set_replicas(replicas, resources)
    if "namespace" in kustomization:
        for resource in resources:
            if resource["kind"] not in CLUSTER_SCOPED:
                resource["metadata"]["namespace"] = kustomization["namespace"]

    seen: set[tuple[str, str]] = set()
    for resource in resources:
        key = resource_id(resource)
        if key in seen:
            raise KustomizeError(f"{directory}: {key[0]}/{key[1]} is defined twice")
        seen.add(key)
    return resources


def _generate_config_map(directory: Path, generator: dict[str, Any], resources: list[Resource]) -> None:
    unknown = set(generator) - {"name", "behavior", "literals", "files", "options"}
    if unknown:
        raise KustomizeError(f"configMapGenerator {generator.get('name')!r}: unsupported keys {sorted(unknown)}")
    name = generator["name"]
    options = generator.get("options", {})
    if options != {"disableNameSuffixHash": True}:
        raise KustomizeError(f"configMapGenerator {name!r}: options must be exactly disableNameSuffixHash: true")
    data: dict[str, str] = {}
    for literal in generator.get("literals", []):
        key, separator, value = literal.partition("=")
        if not separator:
            raise KustomizeError(f"configMapGenerator {name!r}: literal {literal!r} is not KEY=VALUE")
        data[key] = value
    for entry in generator.get("files", []):
        key, separator, file_name = entry.partition("=")
        if not separator:
            key, file_name = Path(entry).name, entry
        file_path = directory / file_name
        if not file_path.is_file():
            raise KustomizeError(f"configMapGenerator {name!r}: file {file_name!r} does not exist")
        data[key] = file_path.read_text(encoding="utf-8")

    behavior = generator.get("behavior", "create")
    existing = [r for r in resources if resource_id(r) == ("ConfigMap", name)]
    if behavior == "create":
        if existing:
            raise KustomizeError(f"configMapGenerator {name!r}: already exists (use behavior merge or replace)")
        resources.append({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name}, "data": data})
    elif behavior in ("merge", "replace"):
        if not existing:
            raise KustomizeError(f"configMapGenerator {name!r}: behavior {behavior} but no such ConfigMap")
        config_map = existing[0]
        config_map["data"] = {**config_map.get("data", {}), **data} if behavior == "merge" else data
    else:
        raise KustomizeError(f"configMapGenerator {name!r}: unknown behavior {behavior!r}")


def _apply_patch(directory: Path, patch: dict[str, Any], resources: list[Resource]) -> None:
    if set(patch) != {"path"}:
        raise KustomizeError(f"patch {patch}: only strategic merge patches given by 'path' are supported")
    for document in load_documents(directory / patch["path"]):
        targets = [r for r in resources if resource_id(r) == resource_id(document)]
        if len(targets) != 1 or targets[0]["apiVersion"] != document["apiVersion"]:
            kind, name = resource_id(document)
            raise KustomizeError(f"patch {patch['path']}: no {document['apiVersion']} {kind}/{name} to patch")
        strategic_merge(targets[0], document)


def strategic_merge(target: dict[str, Any], patch: dict[str, Any]) -> None:
    """Merge ``patch`` into ``target`` in place, as a Kubernetes strategic merge patch would."""
    for key, value in patch.items():
        if value is None:
            target.pop(key, None)
        elif isinstance(value, dict) and isinstance(target.get(key), dict):
            strategic_merge(target[key], value)
        elif isinstance(value, list) and isinstance(target.get(key), list) and key in MERGE_KEYS:
            target[key] = _merge_list(target[key], value, MERGE_KEYS[key])
        else:
            target[key] = copy.deepcopy(value)


def _merge_list(current: list[Any], patch: list[Any], candidates: tuple[str, ...]) -> list[Any]:
    items = current + patch
    merge_key = next((k for k in candidates if all(isinstance(item, dict) and k in item for item in items)), None)
    if merge_key is None:
        return copy.deepcopy(patch)
    merged = copy.deepcopy(current)
    for item in patch:
        match = next((m for m in merged if m[merge_key] == item[merge_key]), None)
        if match is None:
            merged.append(copy.deepcopy(item))
        else:
            strategic_merge(match, item)
    return merged


def pod_templates(resource: Resource) -> Iterator[dict[str, Any]]:
    """The pod template(s) of a workload (none for other kinds)."""
    if resource["kind"] in WORKLOADS:
        yield resource["spec"]["template"]
    elif resource["kind"] == "CronJob":
        yield resource["spec"]["jobTemplate"]["spec"]["template"]


def containers(resource: Resource) -> Iterator[dict[str, Any]]:
    """Every container and init container of a workload."""
    for template in pod_templates(resource):
        yield from template["spec"].get("initContainers", [])
        yield from template["spec"]["containers"]


def _add_labels(labels: dict[str, Any], resources: list[Resource]) -> None:
    if labels.get("includeSelectors", False):
        raise KustomizeError("labels with includeSelectors: true are not supported")
    unknown = set(labels) - {"pairs", "includeSelectors", "includeTemplates"}
    if unknown:
        raise KustomizeError(f"labels: unsupported keys {sorted(unknown)}")
    pairs = labels["pairs"]
    for resource in resources:
        resource["metadata"].setdefault("labels", {}).update(pairs)
        if labels.get("includeTemplates", False):
            for template in pod_templates(resource):
                template.setdefault("metadata", {}).setdefault("labels", {}).update(pairs)


def split_image(image: str) -> tuple[str, str | None, str | None]:
    """``registry/name:tag@digest`` → (``registry/name``, tag, digest)."""
    name, _, digest = image.partition("@")
    slash = name.rfind("/")
    colon = name.rfind(":")
    tag = None
    if colon > slash:
        name, tag = name[:colon], name[colon + 1 :]
    return name, tag, digest or None


def _set_image(entry: dict[str, Any], resources: list[Resource]) -> None:
    unknown = set(entry) - {"name", "newName", "newTag", "digest"}
    if unknown:
        raise KustomizeError(f"images: unsupported keys {sorted(unknown)}")
    found = False
    for resource in resources:
        for container in containers(resource):
            name, tag, digest = split_image(container["image"])
            if name != entry["name"]:
                continue
            found = True
            name = entry.get("newName", name)
            if "digest" in entry:
                container["image"] = f"{name}@{entry['digest']}"
                continue
            tag = str(entry.get("newTag", tag)) if entry.get("newTag", tag) is not None else None
            container["image"] = name + (f":{tag}" if tag else "") + (f"@{digest}" if digest else "")
    if not found:
        raise KustomizeError(f"images: no container uses image {entry['name']!r}")


def _set_replicas(entry: dict[str, Any], resources: list[Resource]) -> None:
    targets = [r for r in resources if r["kind"] in SCALABLE and r["metadata"]["name"] == entry["name"]]
    if not targets:
        raise KustomizeError(f"replicas: no workload named {entry['name']!r}")
    for target in targets:
        target["spec"]["replicas"] = int(entry["count"])

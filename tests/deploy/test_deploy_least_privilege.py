"""Least privilege in the manifests (issue 15): only the migration gets the database owner's URL; the web app
and the worker log in as probatio_node, which may work on cases but only add to the audit log."""

from __future__ import annotations

from deploy_support import DEPLOY, build, container_env_names, load_yaml, of_kind, pod_spec


def test_only_migrate_is_given_the_owners_url() -> None:
    services = load_yaml(DEPLOY / "compose.yaml")["services"]
    assert "PROBATIO_DATABASE_OWNER_URL" in services["migrate"]["environment"]
    for name in ("web", "worker"):
        assert "PROBATIO_DATABASE_OWNER_URL" not in services[name]["environment"]
        assert services[name]["environment"]["PROBATIO_DATABASE_URL"].startswith("postgresql://probatio_node:")
    resources = build("overlays/production")
    for workload in of_kind(resources, "Deployment"):
        spec = pod_spec(workload)
        for container in spec.get("initContainers", []) + spec["containers"]:
            names = container_env_names(container, resources)
            assert ("PROBATIO_DATABASE_OWNER_URL" in names) == (container["name"] == "migrate"), container["name"]

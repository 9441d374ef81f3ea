#!/usr/bin/env python3
"""Runs a compose file with plain podman commands (`podman network create`,
`podman run`), for engines where podman-compose cannot be used: Debian 12's
podman-compose 1.0.3 turns `network_mode: service:NAME` into an invalid
`--network service:NAME` and adds `--net` besides it.

    compose_podman.py up|down COMPOSE_FILE -- PODMAN_COMMAND...

Handles the subset of the compose format that docker/compose.yaml uses, and
refuses any other service key rather than ignore it: name, image, hostname,
environment, entrypoint, command, volumes (host paths relative to the file),
network_mode: service:NAME (share that service's network namespace),
depends_on (start order) and restart. `build` is skipped: the caller builds
the images. Containers are named PROJECT-SERVICE on the network
PROJECT_default, where each is reachable under its service name.
"""

import os
import subprocess
import sys

import yaml

SUPPORTED_KEYS = {"image", "build", "hostname", "environment", "entrypoint", "command",
                  "volumes", "network_mode", "depends_on", "restart"}


def start_order(services):
    """Service names, each after the services it depends on."""
    order, seen = [], set()

    def visit(name, path):
        if name in seen:
            return
        if name in path:
            sys.exit(f"compose_podman: dependency cycle through {name}")
        for dependency in services[name].get("depends_on", []):
            visit(dependency, path + [name])
        seen.add(name)
        order.append(name)

    for name in services:
        visit(name, [])
    return order


def as_words(value):
    return [value] if isinstance(value, str) else list(value)


def run_args(project, base_dir, name, service):
    unknown = set(service) - SUPPORTED_KEYS
    if unknown:
        sys.exit(f"compose_podman: service {name}: unsupported keys {sorted(unknown)}")
    args = ["run", "-d", "--name", f"{project}-{name}"]
    mode = service.get("network_mode")
    if mode is None:
        args += ["--network", f"{project}_default", "--network-alias", name]
    elif mode.startswith("service:"):
        args += ["--network", f"container:{project}-{mode[len('service:'):]}"]
    else:
        sys.exit(f"compose_podman: service {name}: network_mode {mode!r} is not supported")
    if "hostname" in service:
        args += ["--hostname", service["hostname"]]
    if "restart" in service:
        args += ["--restart", service["restart"]]
    environment = service.get("environment", {})
    if isinstance(environment, dict):
        environment = [f"{key}={value}" for key, value in environment.items()]
    for entry in environment:
        args += ["-e", entry]
    for volume in service.get("volumes", []):
        host, _, rest = volume.partition(":")
        if host.startswith("."):
            host = os.path.normpath(os.path.join(base_dir, host))
        args += ["-v", f"{host}:{rest}"]
    entrypoint = as_words(service.get("entrypoint", []))
    if entrypoint:
        args += ["--entrypoint", entrypoint[0]]
    args.append(service["image"])
    return args + entrypoint[1:] + as_words(service.get("command", []))


def main():
    if len(sys.argv) < 5 or sys.argv[1] not in ("up", "down") or sys.argv[3] != "--":
        sys.exit(__doc__)
    action, compose_file, podman = sys.argv[1], sys.argv[2], sys.argv[4:]
    with open(compose_file, encoding="utf-8") as f:
        compose = yaml.safe_load(f)
    project, services = compose["name"], compose["services"]
    base_dir = os.path.dirname(os.path.abspath(compose_file))
    order = start_order(services)
    if action == "up":
        subprocess.run(podman + ["network", "create", f"{project}_default"], check=True,
                       stdout=subprocess.DEVNULL)
        for name in order:
            subprocess.run(podman + run_args(project, base_dir, name, services[name]), check=True,
                           stdout=subprocess.DEVNULL)
            print(f"compose_podman: started {project}-{name}")
    else:
        for name in reversed(order):
            subprocess.run(podman + ["rm", "-f", "-t", "10", f"{project}-{name}"],
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        subprocess.run(podman + ["network", "rm", "-f", f"{project}_default"],
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


if __name__ == "__main__":
    main()

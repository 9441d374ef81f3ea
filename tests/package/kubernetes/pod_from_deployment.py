#!/usr/bin/env python3
"""Turns docker/kubernetes/ into what `podman kube play` (Podman 4.3, Debian 12)
can run as one replica of the Deployment, for the kube play test.

    pod_from_deployment.py MANIFEST_DIR SUFFIX IMAGE POD_NAME POD_IP ZK_SERVERS > pod.yaml
    pod_from_deployment.py MANIFEST_DIR SUFFIX --secret > secret.yaml

Prints the ConfigMap, with zk.servers set to ZK_SERVERS (the ZooKeeper pod
of the test, instead of the example's cluster DNS names), and a Pod named
POD_NAME made from the Deployment's pod template, its containers' image
IMAGE (the image under test, instead of localhost/zkelect:latest, which
other runs on this machine may retag). With --secret, prints the Secret.
Podman's secrets are global to the machine: the Secret's name gets SUFFIX
(so do the Pod's references to it). What Podman 4.3 cannot do, replaced
here and not in the manifests:
  - a Deployment's replicas: it makes one pod named after the Deployment,
    so the test plays one Pod per replica, each under a name of its own;
  - the downward API's status.podIP ("fieldPath status.podIP is either not
    valid or not supported"): the pod gets a static address (kube play --ip)
    and POD_IP is set to it;
  - a secret volume without `optional` (a nil-pointer crash, podman issue
    16636, fixed in 4.4): `optional: false`, Kubernetes' default, is spelled
    out;
  - a Secret's stringData (it mounts no file for it): given as data, base64;
  - $(VAR) references to earlier variables in an env value (left as they
    are): expanded here, as the kubelet does;
  - a pod's own volumes: Podman makes an emptyDir or a ConfigMap volume a
    named volume of the machine, named after the volume (emptyDir) or the
    ConfigMap, shared by every pod played with that name and kept after
    them. Every replica's sidecar then listened on one api-socket directory
    (the second found the first's socket and exited; each application asked
    the first replica's sidecar). Each gets POD_NAME appended (the
    ConfigMap's name too), so that the test can remove them.
Nothing else changes: images, commands, probes, security contexts, mounts.
"""
import base64
import sys

import yaml


def load(manifest_dir: str, name: str) -> dict:
    with open(f"{manifest_dir}/{name}", encoding="utf-8") as f:
        return yaml.safe_load(f)


def secret(manifest_dir: str, suffix: str) -> dict:
    result = load(manifest_dir, "secret.yaml")
    result["metadata"]["name"] += suffix
    result["data"] = {key: base64.b64encode(value.encode()).decode()
                      for key, value in result.pop("stringData", {}).items()}
    return result


def main() -> int:
    manifest_dir, suffix = sys.argv[1:3]
    if sys.argv[3] == "--secret":
        yaml.safe_dump(secret(manifest_dir, suffix), sys.stdout, sort_keys=False)
        return 0
    image, pod_name, pod_ip, zk_servers = sys.argv[3:7]
    config_map = load(manifest_dir, "configmap.yaml")
    deployment = load(manifest_dir, "deployment.yaml")

    toml = config_map["data"]["zkelect.toml"]
    lines = [f'servers = "{zk_servers}"' if line.strip().startswith("servers =") else line
             for line in toml.splitlines()]
    if lines == toml.splitlines():
        raise SystemExit("configmap.yaml: no zk.servers line to replace")
    config_map["data"]["zkelect.toml"] = "\n".join(lines) + "\n"

    template = deployment["spec"]["template"]
    pod = {"apiVersion": "v1", "kind": "Pod",
           "metadata": {"name": pod_name, "labels": template["metadata"]["labels"]},
           "spec": template["spec"]}
    for container in pod["spec"]["containers"]:
        container["image"] = image
        for env in container.get("env", []):
            field = env.get("valueFrom", {}).get("fieldRef", {}).get("fieldPath")
            if field == "status.podIP":
                env.pop("valueFrom")
                env["value"] = pod_ip
        known = {}
        for env in container.get("env", []):
            if "value" in env:
                for name, value in known.items():
                    env["value"] = env["value"].replace(f"$({name})", value)
                known[env["name"]] = env["value"]
    config_map["metadata"]["name"] += f"-{pod_name}"
    own_volumes = {}
    for volume in pod["spec"].get("volumes", []):
        if "secret" in volume:
            volume["secret"]["secretName"] += suffix
            volume["secret"].setdefault("optional", False)
        if "configMap" in volume:
            volume["configMap"]["name"] = config_map["metadata"]["name"]
        if "emptyDir" in volume:
            own_volumes[volume["name"]] = volume["name"] = f"{volume['name']}-{pod_name}"
    for container in pod["spec"]["containers"]:
        for mount in container.get("volumeMounts", []):
            mount["name"] = own_volumes.get(mount["name"], mount["name"])

    yaml.safe_dump_all([config_map, pod], sys.stdout, sort_keys=False)
    return 0


if __name__ == "__main__":
    sys.exit(main())

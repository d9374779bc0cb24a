#!/usr/bin/env bash
# Wraps a root file system tarball as a one-layer image in docker-archive form (what `docker
# save` writes: manifest.json, the image config, the layer), which `docker load`, `podman load`
# and `ctr image import` read, so no registry and no daemon are needed to make it.
#   docker-archive.sh ROOTFS.tar NAME:TAG OUT.tar '{"Entrypoint":[...],"Cmd":[...],...}'
set -euo pipefail
rootfs="$1" tag="$2" archive="$3" config="$4"
work="$(mktemp -d)"
trap 'rm -rf "${work}"' EXIT

layer="$(sha256sum "${rootfs}" | cut -d' ' -f1)"
mkdir "${work}/${layer}"
ln "${rootfs}" "${work}/${layer}/layer.tar" 2>/dev/null || cp "${rootfs}" "${work}/${layer}/layer.tar"
# The image config (image-spec config.json; docker's is the same with the container config in "config").
printf '{"architecture":"amd64","os":"linux","created":"1970-01-01T00:00:00Z","config":%s,"rootfs":{"type":"layers","diff_ids":["sha256:%s"]},"history":[{"created":"1970-01-01T00:00:00Z","created_by":"deploy/image/build-image.sh"}]}' \
    "${config}" "${layer}" > "${work}/config.json"
image="$(sha256sum "${work}/config.json" | cut -d' ' -f1)"
mv "${work}/config.json" "${work}/${image}.json"
printf '[{"Config":"%s.json","RepoTags":["%s"],"Layers":["%s/layer.tar"]}]' "${image}" "${tag}" "${layer}" > "${work}/manifest.json"
printf '{"%s":{"%s":"%s"}}' "${tag%:*}" "${tag##*:}" "${layer}" > "${work}/repositories"
tar -C "${work}" --owner=0 --group=0 --numeric-owner -cf "${archive}.tmp" manifest.json repositories "${image}.json" "${layer}"
mv "${archive}.tmp" "${archive}"

using System.Text.Json;

namespace AIOps.Trace.Cgroups;

/// <summary>What a container runtime wrote on disk about one container.</summary>
/// <param name="Name">The runtime's own name for it (docker --name, podman --name).</param>
/// <param name="IsSandbox">The pod's sandbox ("pause") container rather than one of the pod spec's.</param>
internal sealed record RuntimeFacts(
    string? Name, string? Image, string? PodName, string? Namespace, string? ContainerName, bool IsSandbox);

/// <summary>
/// Reads each runtime's per-container state under the host root. Every layout is the runtime's
/// documented or long-stable on-disk format:
/// <list type="bullet">
/// <item>Docker: <c>/var/lib/docker/containers/&lt;id&gt;/config.v2.json</c>, with <c>Name</c>
/// ("/web"), <c>Config.Image</c> and, under cri-dockerd, the <c>io.kubernetes.*</c> labels.</item>
/// <item>containerd: the OCI bundle <c>/run/containerd/io.containerd.runtime.v2.task/&lt;namespace&gt;/&lt;id&gt;/config.json</c>,
/// whose annotations the CRI plugin fills (<c>io.kubernetes.cri.container-name</c>, ...).</item>
/// <item>CRI-O: <c>/run/containers/storage/overlay-containers/&lt;id&gt;/userdata/config.json</c> (or
/// under /var/lib), annotations <c>io.kubernetes.container.name</c>, <c>io.kubernetes.cri-o.ImageName</c>, ...</item>
/// <item>Podman: containers/storage's <c>/var/lib/containers/storage/overlay-containers/containers.json</c>,
/// with <c>names</c> and libpod's <c>metadata</c> (a JSON string holding <c>image-name</c>).</item>
/// </list>
/// </summary>
internal static class RuntimeState
{
    private const string ContainerdTasks = "/run/containerd/io.containerd.runtime.v2.task";
    private static readonly string[] StorageRoots = ["/run/containers/storage", "/var/lib/containers/storage"];

    /// <summary>Facts about container <paramref name="id"/> of <paramref name="runtime"/>, or null when none are on disk.</summary>
    public static RuntimeFacts? Read(HostFiles files, string runtime, string id) => runtime switch
    {
        ContainerRuntime.Docker => Docker(files, id),
        ContainerRuntime.Containerd => Containerd(files, id),
        ContainerRuntime.Crio => Crio(files, id),
        ContainerRuntime.Podman => Podman(files, id),
        _ => null,
    };

    /// <summary>
    /// A container containerd runs outside Kubernetes and docker (<c>ctr run</c>): its cgroup is
    /// <c>/&lt;containerd namespace&gt;/&lt;container id&gt;</c> under the cgroupfs driver, an id the
    /// user chose (no hex, no prefix), so the path alone cannot tell it from any two-level cgroup.
    /// The task's bundle directory under the same namespace and id tells. Null when there is none.
    /// </summary>
    public static ContainerIdentity? PlainContainerd(HostFiles files, string relativeCgroupPath)
    {
        string[] segments = relativeCgroupPath.Split('/', StringSplitOptions.RemoveEmptyEntries);
        if (segments.Length != 2 || segments[0] is "." or ".." || segments[1] is "." or ".."
            || !files.DirectoryExists($"{ContainerdTasks}/{segments[0]}/{segments[1]}"))
            return null;
        string id = segments[1];
        return new ContainerIdentity(id, ContainerRuntime.Containerd, id, null, null, ContainerName: id);
    }

    private static RuntimeFacts? Docker(HostFiles files, string id)
    {
        using JsonDocument? doc = files.ReadJson($"/var/lib/docker/containers/{id}/config.v2.json");
        if (doc is null)
            return null;
        JsonElement root = doc.RootElement;
        string? Label(string key) => HostFiles.String(root, "Config", "Labels", key);
        return new RuntimeFacts(
            HostFiles.String(root, "Name")?.TrimStart('/'),
            HostFiles.String(root, "Config", "Image"),
            Label("io.kubernetes.pod.name"),
            Label("io.kubernetes.pod.namespace"),
            Label("io.kubernetes.container.name"),
            Label("io.kubernetes.docker.type") == "podsandbox");
    }

    private static RuntimeFacts? Containerd(HostFiles files, string id)
    {
        // The bundle lives under the containerd namespace that created the task: "k8s.io" for
        // the CRI plugin, "moby" for docker, "default" for ctr. Try k8s.io first, the usual one.
        foreach (string ns in files.List(ContainerdTasks, directories: true).OrderBy(n => n == "k8s.io" ? 0 : 1))
        {
            if (!files.DirectoryExists($"{ContainerdTasks}/{ns}/{id}"))
                continue;
            using JsonDocument? doc = files.ReadJson($"{ContainerdTasks}/{ns}/{id}/config.json");
            if (doc is null)
                return null;
            string? A(string key) => HostFiles.String(doc.RootElement, "annotations", key);
            // containerd's own name for a container is its id (ctr run IMAGE ID).
            return new RuntimeFacts(
                id,
                A("io.kubernetes.cri.image-name"),
                A("io.kubernetes.cri.sandbox-name"),
                A("io.kubernetes.cri.sandbox-namespace"),
                A("io.kubernetes.cri.container-name"),
                A("io.kubernetes.cri.container-type") == "sandbox");
        }
        return null;
    }

    private static RuntimeFacts? Crio(HostFiles files, string id)
    {
        foreach (string root in StorageRoots)
        {
            if (!files.DirectoryExists($"{root}/overlay-containers/{id}/userdata"))
                continue;
            using JsonDocument? doc = files.ReadJson($"{root}/overlay-containers/{id}/userdata/config.json");
            if (doc is null)
                continue;
            string? A(string key) => HostFiles.String(doc.RootElement, "annotations", key);
            return new RuntimeFacts(
                null,
                A("io.kubernetes.cri-o.ImageName"),
                A("io.kubernetes.pod.name"),
                A("io.kubernetes.pod.namespace"),
                A("io.kubernetes.container.name"),
                A("io.kubernetes.cri-o.ContainerType") == "sandbox");
        }
        return null;
    }

    private static RuntimeFacts? Podman(HostFiles files, string id)
    {
        using JsonDocument? doc = files.ReadJson("/var/lib/containers/storage/overlay-containers/containers.json");
        if (doc is null || doc.RootElement.ValueKind != JsonValueKind.Array)
            return null;
        foreach (JsonElement c in doc.RootElement.EnumerateArray())
        {
            if (HostFiles.String(c, "id") != id)
                continue;
            string? name = c.TryGetProperty("names", out JsonElement names) && names.ValueKind == JsonValueKind.Array
                && names.GetArrayLength() > 0 && names[0].ValueKind == JsonValueKind.String ? names[0].GetString() : null;
            return new RuntimeFacts(name, MetadataImage(files, HostFiles.String(c, "metadata")), null, null, null, false);
        }
        return null;
    }

    // libpod stores its own metadata as a JSON document inside a JSON string.
    private static string? MetadataImage(HostFiles files, string? metadata)
    {
        if (string.IsNullOrEmpty(metadata))
            return null;
        try
        {
            using JsonDocument doc = JsonDocument.Parse(metadata);
            return HostFiles.String(doc.RootElement, "image-name");
        }
        catch (JsonException)
        {
            files.CountFailure();
            return null;
        }
    }
}

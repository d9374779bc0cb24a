namespace AIOps.Trace.Cgroups;

/// <summary>
/// Who a cgroup belongs to: the first five facts come from its path (<see cref="ContainerNaming"/>),
/// the last four from the node's disk (<see cref="IdentityResolver"/>) and are null when unknown.
/// </summary>
/// <param name="Name">Display name: a 12-character short id for containers, the unit name for systemd, "host" for the root.</param>
/// <param name="Runtime">One of the <see cref="ContainerRuntime"/> names.</param>
/// <param name="ContainerId">Full container id, when the path carries one.</param>
/// <param name="PodUid">Kubernetes pod UID with dashes, when under kubepods.</param>
/// <param name="QosClass">"guaranteed", "burstable" or "besteffort", when under a pod.</param>
/// <param name="PodName">Kubernetes pod name.</param>
/// <param name="Namespace">Kubernetes namespace of the pod.</param>
/// <param name="ContainerName">Container name: the pod spec's for Kubernetes, the runtime's (docker --name) otherwise.</param>
/// <param name="Image">Image reference the container was created from, as the runtime recorded it.</param>
public sealed record ContainerIdentity(
    string Name, string Runtime, string? ContainerId, string? PodUid, string? QosClass,
    string? PodName = null, string? Namespace = null, string? ContainerName = null, string? Image = null)
{
    /// <summary>"namespace/pod/container" when all three are known, else null.</summary>
    public string? KubernetesName =>
        PodName is not null && Namespace is not null && ContainerName is not null ? $"{Namespace}/{PodName}/{ContainerName}" : null;
}

/// <summary>Values of <see cref="ContainerIdentity.Runtime"/>.</summary>
public static class ContainerRuntime
{
    /// <summary>A plain cgroup no runtime claims.</summary>
    public const string Cgroup = "cgroup";
    /// <summary>Docker (dockerd / moby).</summary>
    public const string Docker = "docker";
    /// <summary>containerd, including the Kubernetes CRI plugin.</summary>
    public const string Containerd = "containerd";
    /// <summary>CRI-O.</summary>
    public const string Crio = "crio";
    /// <summary>Podman (libpod).</summary>
    public const string Podman = "podman";
    /// <summary>A systemd unit: service, scope or slice.</summary>
    public const string Systemd = "systemd";
    /// <summary>The root cgroup: the host itself.</summary>
    public const string Host = "host";
}

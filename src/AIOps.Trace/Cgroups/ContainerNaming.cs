using System.Globalization;
using System.Text;

namespace AIOps.Trace.Cgroups;

/// <summary>
/// Names a cgroup from its path alone, following the layouts runtimes create with either
/// cgroup driver:
/// <list type="bullet">
/// <item>docker: <c>/docker/&lt;id&gt;</c> (cgroupfs), <c>/system.slice/docker-&lt;id&gt;.scope</c> (systemd)</item>
/// <item>containerd (Kubernetes): <c>/kubepods/burstable/pod&lt;uid&gt;/&lt;id&gt;</c>,
/// <c>/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod&lt;uid_&gt;.slice/cri-containerd-&lt;id&gt;.scope</c></item>
/// <item>CRI-O: <c>crio-&lt;id&gt;.scope</c>; podman: <c>libpod-&lt;id&gt;.scope</c>, <c>/libpod_parent/libpod-&lt;id&gt;</c></item>
/// </list>
/// The deepest segment naming a container wins, so a cgroup nested inside a container
/// (podman --cgroups=split, systemd in a container) is attributed to that container.
/// </summary>
public static class ContainerNaming
{
    private const int ShortIdLength = 12;
    private const int FullIdLength = 64;

    private static readonly ContainerIdentity Host = new("host", ContainerRuntime.Host, null, null, null);

    private static readonly (string Prefix, string Runtime)[] ScopePrefixes =
    [
        ("docker-", ContainerRuntime.Docker),
        ("cri-containerd-", ContainerRuntime.Containerd),
        ("crio-", ContainerRuntime.Crio),
        ("libpod-", ContainerRuntime.Podman),
    ];

    private static readonly string[] UnitSuffixes = [".service", ".scope", ".slice"];

    /// <summary>Identity of the cgroup at <paramref name="relativeCgroupPath"/> (relative to the hierarchy root).</summary>
    public static ContainerIdentity FromPath(string relativeCgroupPath)
    {
        ArgumentNullException.ThrowIfNull(relativeCgroupPath);
        string[] segments = relativeCgroupPath.Split('/', StringSplitOptions.RemoveEmptyEntries);
        if (segments.Length == 0)
            return Host;

        (string? podUid, string? qos, int kubepodsAt) = FindPod(segments);
        for (int i = segments.Length - 1; i >= 0; i--)
        {
            string? parent = i > 0 ? segments[i - 1] : null;
            if (TryContainer(segments[i], parent, underKubepods: kubepodsAt >= 0 && i > kubepodsAt, out string runtime, out string id))
                return new ContainerIdentity(id[..ShortIdLength], runtime, id, podUid, qos);
        }

        string last = segments[^1];
        foreach (string suffix in UnitSuffixes)
        {
            if (last.EndsWith(suffix, StringComparison.Ordinal) && last.Length > suffix.Length)
                return new ContainerIdentity(UnescapeUnitName(last[..^suffix.Length]), ContainerRuntime.Systemd, null, podUid, qos);
        }

        return new ContainerIdentity(last, ContainerRuntime.Cgroup, null, podUid, qos);
    }

    private static bool TryContainer(string segment, string? parent, bool underKubepods, out string runtime, out string id)
    {
        // "<prefix><id>.scope" under the systemd driver; CRI-O and podman use "<prefix><id>"
        // under cgroupfs. The id must be hex, so "crio-conmon-<id>.scope" (the monitor
        // process, not the container) does not match.
        string name = segment.EndsWith(".scope", StringComparison.Ordinal) ? segment[..^".scope".Length] : segment;
        foreach ((string prefix, string prefixRuntime) in ScopePrefixes)
        {
            if (name.StartsWith(prefix, StringComparison.Ordinal) && IsHex(name.AsSpan(prefix.Length), ShortIdLength))
            {
                (runtime, id) = (prefixRuntime, name[prefix.Length..]);
                return true;
            }
        }

        // A bare 64-hex directory: docker's cgroupfs driver under /docker, and the kubelet's
        // cgroupfs driver under a pod directory, where containerd is the usual runtime.
        if (segment.Length == FullIdLength && IsHex(segment, FullIdLength) && (parent == "docker" || underKubepods))
        {
            (runtime, id) = (parent == "docker" ? ContainerRuntime.Docker : ContainerRuntime.Containerd, segment);
            return true;
        }

        (runtime, id) = ("", "");
        return false;
    }

    // The kubelet puts pods under kubepods/[burstable|besteffort/]pod<uid> (cgroupfs) or
    // kubepods.slice/kubepods-<qos>.slice/kubepods-<qos>-pod<uid with _ for ->.slice (systemd,
    // which reserves "-" as its slice separator). Guaranteed pods have no QoS level.
    private static (string? PodUid, string? Qos, int KubepodsAt) FindPod(string[] segments)
    {
        int kubepodsAt = Array.FindIndex(segments, s => s == "kubepods" || (s.EndsWith(".slice", StringComparison.Ordinal) && s.Contains("kubepods", StringComparison.Ordinal)));
        if (kubepodsAt < 0)
            return (null, null, -1);

        string? uid = null;
        string qos = "guaranteed";
        for (int i = kubepodsAt; i < segments.Length && uid is null; i++)
        {
            string s = segments[i].EndsWith(".slice", StringComparison.Ordinal) ? segments[i][..^".slice".Length] : segments[i];
            if (s is "burstable" or "besteffort")
                qos = s;
            else if (s.Contains("-burstable", StringComparison.Ordinal))
                qos = "burstable";
            else if (s.Contains("-besteffort", StringComparison.Ordinal))
                qos = "besteffort";

            // "pod<uid>" as a whole segment, or after the last dash of a slice name.
            int dash = s.LastIndexOf("-pod", StringComparison.Ordinal);
            int start = s.StartsWith("pod", StringComparison.Ordinal) ? "pod".Length : dash >= 0 ? dash + "-pod".Length : -1;
            if (start >= 0 && IsUid(s.AsSpan(start)))
                uid = s[start..].Replace('_', '-');
        }

        return uid is null ? (null, null, kubepodsAt) : (uid, qos, kubepodsAt);
    }

    private static bool IsHex(ReadOnlySpan<char> s, int minLength) =>
        s.Length >= minLength && !s.ContainsAnyExcept("0123456789abcdef");

    // UUIDs, and the plain hex hashes the kubelet uses as UIDs of static pods.
    private static bool IsUid(ReadOnlySpan<char> s) =>
        s.Length >= 8 && !s.ContainsAnyExcept("0123456789abcdef-_");

    // systemd escapes bytes outside [A-Za-z0-9:_.] in unit names as \xNN (systemd.unit(5)).
    private static string UnescapeUnitName(string name)
    {
        if (!name.Contains("\\x", StringComparison.Ordinal))
            return name;
        var bytes = new List<byte>(name.Length);
        for (int i = 0; i < name.Length; i++)
        {
            if (name[i] == '\\' && i + 3 < name.Length && name[i + 1] == 'x'
                && byte.TryParse(name.AsSpan(i + 2, 2), NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out byte b))
            {
                bytes.Add(b);
                i += 3;
            }
            else
            {
                bytes.AddRange(Encoding.UTF8.GetBytes(name[i].ToString()));
            }
        }
        return Encoding.UTF8.GetString(bytes.ToArray());
    }
}

namespace AIOps.Trace.Cgroups;

/// <summary>A pod as the kubelet's log directory names it.</summary>
/// <param name="ContainerNames">Names of the pod's container log directories, sorted.</param>
internal sealed record PodLogs(string Namespace, string PodName, string Uid, string[] ContainerNames);

/// <summary>
/// Pod and container names from the kubelet's log layout, which exists on every node whatever
/// the runtime and which log shippers already mount:
/// <list type="bullet">
/// <item><c>/var/log/pods/&lt;namespace&gt;_&lt;pod&gt;_&lt;uid&gt;/&lt;container&gt;/&lt;restart&gt;.log</c>: one directory per
/// pod, one per container; the files are named by restart count, so they do not say which
/// container id they belong to.</item>
/// <item><c>/var/log/containers/&lt;pod&gt;_&lt;namespace&gt;_&lt;container&gt;-&lt;container id&gt;.log</c>: one symlink
/// per container the runtime started, which does carry the id.</item>
/// </list>
/// Namespaces and pod names are DNS labels or subdomains and container names DNS labels, none
/// of which may contain "_", so "_" splits the names unambiguously.
/// </summary>
internal static class KubeletLogs
{
    private const string PodsDir = "/var/log/pods";
    private const string ContainersDir = "/var/log/containers";

    /// <summary>Every pod with a log directory, keyed by UID with dashes.</summary>
    public static Dictionary<string, PodLogs> Pods(HostFiles files)
    {
        var pods = new Dictionary<string, PodLogs>(StringComparer.Ordinal);
        foreach (string dir in files.List(PodsDir, directories: true))
        {
            string[] parts = dir.Split('_');
            if (parts.Length != 3 || parts[0].Length == 0 || parts[1].Length == 0 || parts[2].Length == 0)
            {
                files.Warn("pods-names", $"{files.Under(PodsDir)} holds entries not named <namespace>_<pod>_<uid> (e.g. '{dir}'): ignored");
                continue;
            }
            string uid = parts[2].Replace('_', '-');
            string[] containers = files.List($"{PodsDir}/{dir}", directories: true);
            Array.Sort(containers, StringComparer.Ordinal);
            pods[uid] = new PodLogs(parts[0], parts[1], uid, containers);
        }
        return pods;
    }

    /// <summary>
    /// Container names by full container id, from the /var/log/containers symlinks; null when
    /// that directory does not exist at all (so its silence says nothing about a container).
    /// </summary>
    public static Dictionary<string, (string PodName, string Namespace, string ContainerName)>? ContainersById(HostFiles files)
    {
        if (!files.DirectoryExists(ContainersDir))
            return null;
        var byId = new Dictionary<string, (string, string, string)>(StringComparer.Ordinal);
        foreach (string file in files.List(ContainersDir, directories: false))
        {
            if (!file.EndsWith(".log", StringComparison.Ordinal))
                continue;
            string[] parts = file[..^".log".Length].Split('_');
            if (parts.Length != 3)
                continue;
            int dash = parts[2].LastIndexOf('-');
            if (dash <= 0 || dash == parts[2].Length - 1)
                continue;
            byId[parts[2][(dash + 1)..]] = (parts[0], parts[1], parts[2][..dash]);
        }
        return byId;
    }
}

using System.Text.RegularExpressions;

namespace AIOps.Trace.Analysis.Collection;

/// <summary>The workload that owns a pod, as far as its name tells.</summary>
/// <param name="Kind">"deployment", "statefulset", "daemonset-or-job" or "pod" (a bare pod, or a name no controller made).</param>
/// <param name="Name">The owner's name: the Deployment, StatefulSet or DaemonSet/Job name, or the pod's own.</param>
public sealed record OwnerWorkload(string Kind, string Name);

/// <summary>
/// Derives a pod's owner from its name the way Kubernetes controllers build names: a ReplicaSet
/// names its pods "&lt;deployment&gt;-&lt;pod-template-hash&gt;-&lt;5 random&gt;", a DaemonSet or Job
/// "&lt;name&gt;-&lt;5 random&gt;", a StatefulSet "&lt;name&gt;-&lt;ordinal&gt;". The hash and the random
/// suffix are drawn from the alphabet of <c>k8s.io/apimachinery/pkg/util/rand.SafeEncodeString</c>
/// (no vowels, no 0, 1 or 3), which is what tells them from ordinary words.
/// </summary>
public static partial class OwnerWorkloads
{
    private const string Safe = "[bcdfghjklmnpqrstvwxz2456789]";

    // A generated 5-character suffix is all digits with probability (6/27)^5 (0.05%): an all-digit suffix is read as an ordinal.
    [GeneratedRegex("^(?<owner>.+)-(?<ordinal>0|[1-9][0-9]*)$")]
    private static partial Regex StatefulSet();

    [GeneratedRegex("^(?<owner>.+)-" + Safe + "{6,10}-" + Safe + "{5}$")]
    private static partial Regex ReplicaSet();

    [GeneratedRegex("^(?<owner>.+)-" + Safe + "{5}$")]
    private static partial Regex DaemonSetOrJob();

    /// <summary>The owner of the pod named <paramref name="podName"/>.</summary>
    public static OwnerWorkload FromPodName(string podName)
    {
        ArgumentException.ThrowIfNullOrEmpty(podName);
        if (StatefulSet().Match(podName) is { Success: true } s)
            return new OwnerWorkload("statefulset", s.Groups["owner"].Value);
        if (ReplicaSet().Match(podName) is { Success: true } r)
            return new OwnerWorkload("deployment", r.Groups["owner"].Value);
        if (DaemonSetOrJob().Match(podName) is { Success: true } d)
            return new OwnerWorkload("daemonset-or-job", d.Groups["owner"].Value);
        return new OwnerWorkload("pod", podName);
    }
}

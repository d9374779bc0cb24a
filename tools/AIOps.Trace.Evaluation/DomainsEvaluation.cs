using AIOps.Trace.Analysis.Collection;
using AIOps.Trace.Analysis.Partitioning;

namespace AIOps.Trace.Evaluation;

/// <summary>Environment-aware domains against the benchmark's true replica groups, round after round.</summary>
/// <param name="Rounds">Windows partitioned (every container of both domains at once).</param>
/// <param name="MeanAri">Mean adjusted Rand index against the true groups (1: the same partition).</param>
/// <param name="MinAri">The worst round's.</param>
/// <param name="IdChanges">Containers whose domain id changed from one round to the next while their true group did not.</param>
/// <param name="Memberships">Container-rounds (every container in every round but the first).</param>
public sealed record DomainsResult(string Attributes, int Rounds, double MeanAri, double MinAri, int IdChanges, int Memberships);

public static class DomainsEvaluation
{
    /// <summary>
    /// Partitions every window's containers (both domains together) with
    /// <see cref="DomainPartitioner.ByEnvironment"/> from the settings recorded for each, passing
    /// the previous round's partition on, as the analysis pipeline does.
    /// </summary>
    public static DomainsResult Evaluate(IReadOnlyList<LabelledWindow> rows, bool includeMutableLimits)
    {
        var rounds = rows.GroupBy(r => (r.Run, r.Episode, r.Window)).ToArray();
        var aris = new List<double>();
        int changes = 0, memberships = 0;
        Partition? previous = null;
        string? previousRun = null;
        foreach (var round in rounds)
        {
            LabelledWindow[] members = round.ToArray();
            ContainerAttributes[] attributes = members.Select(Attributes).ToArray();
            if (previousRun != round.Key.Run)
                previous = null; // a new run is a new deployment: nothing carries over
            Partition p = DomainPartitioner.ByEnvironment(attributes, maxK: 10, previous: previous, includeMutableLimits: includeMutableLimits);
            aris.Add(AdjustedRandIndex(members.Select(m => m.Domain).ToArray(), attributes.Select(a => p.Memberships[a.Key].DomainId).ToArray()));
            if (previous is not null)
                foreach (ContainerAttributes a in attributes)
                    if (previous.Memberships.TryGetValue(a.Key, out Membership? before))
                    {
                        memberships++;
                        if (before.DomainId != p.Memberships[a.Key].DomainId)
                            changes++;
                    }
            previous = p;
            previousRun = round.Key.Run;
        }
        return new DomainsResult(includeMutableLimits ? "all settings (quota, shares, cpuset, memory limit)" : "settings no fault changes (shares)",
            aris.Count, aris.Average(), aris.Min(), changes, memberships);
    }

    /// <summary>What the pipeline would know of a recorded container: its cgroup path's owner and its settings; no runtime names it.</summary>
    private static ContainerAttributes Attributes(LabelledWindow r)
    {
        string key = $"/{r.Domain}/pod-{r.Key}/app"; // the benchmark's layout: every container is "app" in its pod
        (string? owner, string? kind) = ContainerAttributes.CgroupOwner(key);
        return new ContainerAttributes(key, "cgroup", null, owner, kind, new Dictionary<string, string>(), null,
            r.Settings.CpuQuotaCores, r.Settings.CpuShares, r.Settings.CpusetSize, r.Settings.MemoryLimitBytes, null);
    }

    /// <summary>Hubert and Arabie's adjusted Rand index of two labellings of the same items.</summary>
    public static double AdjustedRandIndex(IReadOnlyList<string> truth, IReadOnlyList<string> found)
    {
        int n = truth.Count;
        var table = new Dictionary<(string, string), int>();
        var a = new Dictionary<string, int>();
        var b = new Dictionary<string, int>();
        for (int i = 0; i < n; i++)
        {
            table[(truth[i], found[i])] = table.GetValueOrDefault((truth[i], found[i])) + 1;
            a[truth[i]] = a.GetValueOrDefault(truth[i]) + 1;
            b[found[i]] = b.GetValueOrDefault(found[i]) + 1;
        }
        static double Pairs(int k) => k * (k - 1) / 2.0;
        double index = table.Values.Sum(Pairs), sa = a.Values.Sum(Pairs), sb = b.Values.Sum(Pairs), all = Pairs(n);
        double expected = sa * sb / all, max = (sa + sb) / 2;
        return max == expected ? 1 : (index - expected) / (max - expected);
    }
}

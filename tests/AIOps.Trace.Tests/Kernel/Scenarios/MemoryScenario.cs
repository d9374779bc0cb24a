using AIOps.Trace.Diagnosis;

namespace AIOps.Trace.Tests.Kernel.Scenarios;

/// <summary>
/// A real situation on this machine whose memory outcome is known: the target container "t", a
/// neighbour "n", and workloads, in fresh v1 memory cgroups. <paramref name="Arrange"/> gets the
/// setup and a sparse file bigger than any limit here, whose reads fill the page cache without
/// disk I/O (holes read as zero pages).
/// </summary>
public sealed record MemoryScenario(string Name, string Expected, Action<ScenarioSetup, string> Arrange)
{
    private const long MiB = 1 << 20;

    /// <summary>Size of the sparse file: eight times the largest limit below.</summary>
    public const long SparseFileBytes = 1024 * MiB;

    /// <summary>The scenarios, one or more per memory outcome this machine can produce (see README for the others).</summary>
    public static readonly IReadOnlyList<MemoryScenario> All =
    [
        new("anon-beyond-the-limit", Outcomes.OomAtLimit, (s, _) =>
        {
            // 64 MiB of anonymous memory in 32 MiB, no swap: the OOM killer kills the worker and
            // stress-ng starts another, which is killed again.
            Limit(s.Target, 32 * MiB);
            s.Run(s.Target, "stress-ng --vm 1 --vm-bytes 64M --vm-keep --quiet");
        }),
        new("page-cache-at-the-limit", Outcomes.LimitReclaim, (s, sparse) =>
        {
            // Reading 1 GiB through 128 MiB: the cache is reclaimed from the cgroup at every
            // charge (failcnt rises), and cache is reclaimable, so nothing is killed. Usage dips
            // below the limit as reclaim frees a batch: at 32 MiB to 91% of it in one window of
            // twenty, too near the 90% threshold; at 128 MiB the dip is relatively smaller.
            Limit(s.Target, 128 * MiB);
            s.Run(s.Target, ReadLoop(sparse));
        }),
        new("small-steady-beside-a-busy-one", Outcomes.NotLimited, (s, _) =>
        {
            Limit(s.Target, 256 * MiB);
            s.Run(s.Target, "stress-ng --vm 1 --vm-bytes 16M --vm-keep --quiet");
            // Unlimited, mapping and unmapping 128 MiB: busy, but nothing is reclaimed.
            s.Run(s.Neighbour, "stress-ng --vm 1 --vm-bytes 128M --quiet");
        }),
        new("small-steady-beside-a-neighbour-at-its-limit", Outcomes.NotLimited, (s, sparse) =>
        {
            // The neighbour's reclaim stalls show in host PSI; the host itself does not reclaim,
            // so the target is not under host pressure.
            Limit(s.Target, 256 * MiB);
            s.Run(s.Target, "stress-ng --vm 1 --vm-bytes 16M --vm-keep --quiet");
            Limit(s.Neighbour, 32 * MiB);
            s.Run(s.Neighbour, ReadLoop(sparse));
            s.Run(s.Neighbour, ReadLoop(sparse));
        }),
    ];

    private static void Limit(TestCgroup cgroup, long bytes) => cgroup.Write("memory", "memory.limit_in_bytes", bytes.ToString());

    private static string ReadLoop(string file) => $"sh -c 'while :; do cat {file} > /dev/null; done'";
}

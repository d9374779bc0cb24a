using System.Diagnostics;
using AIOps.Trace.Cgroups;
using Xunit.Abstractions;

namespace AIOps.Trace.Tests.Kernel;

/// <summary>
/// Container churn, as on a busy Kubernetes node: 500 cgroups created and removed over about a
/// minute, then 200 of their paths made again (a restarted container gets its old path and a new
/// cgroup), each running a 50 ms CPU burst, while windows are cut every second. The engine must
/// report each cgroup under its own path with its own figures (never one generation's figures
/// under the other's id), and afterwards hold no more state than before. Ground truth for ids is the cgroupfs inode (statx), for lifetimes the
/// test's own clock around mkdir and rmdir. Run twice: scanning the tree every window, and every
/// fifth as the sidecar does (between scans removed cgroups drop out when their held counter files
/// fail, and new ones join on their first event).
/// </summary>
public sealed class ChurnTests(ITestOutputHelper output) : KernelTestBase
{
    private const int Fresh = 500, Again = 200, Cgroups = Fresh + Again;
    private static readonly TimeSpan Spacing = TimeSpan.FromMilliseconds(85);
    private static readonly TimeSpan Window = TimeSpan.FromSeconds(1);
    private const string Burst = "timeout 0.05 sh -c 'while :; do :; done'";

    private sealed record Churned(string Path, ulong Id, long CreatedAt, TimeSpan Life)
    {
        public TestCgroup? Cgroup { get; set; }
        public Process? Process { get; set; }
        public long RemovedAt { get; set; }
        public TimeSpan Lived => Stopwatch.GetElapsedTime(CreatedAt, RemovedAt);
    }

    private sealed record Seen(string Path, ulong Id, long CpuUsageNs, long Involuntary);

    [Theory]
    [InlineData(1)]
    [InlineData(5)]
    public void Churned_cgroups_are_reported_under_their_own_path_then_forgotten(int rescanEvery)
    {
        TraceEngine engine = StartEngine();
        engine.TreeRescanEvery = rescanEvery;
        var ids = new CgroupIndex(engine.Mounts.ForController("cpu")!.MountPoint);
        Thread.Sleep(Window);
        engine.CollectWindow().Dispose();
        Thread.Sleep(Window);
        engine.CollectWindow().Dispose();
        var before = engine.StateSizes;

        var churned = new List<Churned>();
        var live = new List<Churned>();
        var seen = new List<Seen>();
        long nextCut = Stopwatch.GetTimestamp() + Window.Ticks * Stopwatch.Frequency / TimeSpan.TicksPerSecond;
        try
        {
            for (int i = 0; i < Cgroups || live.Count > 0; i++)
            {
                if (i >= Cgroups)
                {
                    // All created: let the last ones live out their lives, cutting windows meanwhile.
                    Thread.Sleep(Spacing);
                    RemoveExpired(live);
                    CutWhenDue(engine, seen, ref nextCut);
                    continue;
                }
                // Every fourth lives 150 ms (created and gone between two cuts, named only if
                // pinned in time); the others 0.6-1.4 s, so some span a cut and some do not.
                TimeSpan life = i % 4 == 0 ? TimeSpan.FromMilliseconds(150) : TimeSpan.FromMilliseconds(600 + 400 * (i % 3));
                long created = Stopwatch.GetTimestamp();
                // The last 200 take the paths of the first 200, long removed by then.
                TestCgroup cg = i < Fresh ? TestCgroup.Create("churn") : TestCgroup.CreateAt(churned[i - Fresh].Path);
                var c = new Churned(cg.RelativePath, ids.IdOf(cg.RelativePath) ?? throw new InvalidOperationException("no inode"), created, life) { Cgroup = cg };
                churned.Add(c);
                live.Add(c);
                c.Process = cg.Start(Burst);

                Thread.Sleep(Spacing);
                RemoveExpired(live);
                CutWhenDue(engine, seen, ref nextCut);
            }
        }
        finally
        {
            foreach (Churned c in live)
            {
                c.Process?.Kill();
                c.Process?.Dispose();
                c.Cgroup?.Dispose();
            }
        }

        // Windows after the last removal: the last report, then a window without events that
        // lets the engine forget (after a scan of the tree), then one more to show it stays forgotten.
        for (int i = 0; i < rescanEvery + 2; i++)
        {
            Thread.Sleep(Window);
            Cut(engine, seen);
        }

        var byId = churned.ToDictionary(c => c.Id);
        Assert.Equal(Cgroups, byId.Count); // kernfs handed out a fresh id for every cgroup, a path made again too
        Assert.Equal(Fresh, churned.Select(c => c.Path).Distinct().Count());
        var reported = seen.Where(s => byId.ContainsKey(s.Id) || s.Path.StartsWith("/" + TestCgroup.Prefix, StringComparison.Ordinal)).ToList();
        int named = 0;
        foreach (Seen s in reported)
        {
            Assert.True(byId.TryGetValue(s.Id, out Churned? c), $"{s.Path} reported under id {s.Id}, which is none of the churned cgroups'");
            // Its own path, or (for one gone before it could be named) no path: never another's.
            Assert.True(s.Path == c!.Path || s.Path == $"<gone:{s.Id}>", $"id {s.Id} of {c.Path} reported as {s.Path}");
            named += s.Path == c.Path ? 1 : 0;
            // Figures of one cgroup only: no more CPU than its lifetime on one busy task.
            Assert.True(s.CpuUsageNs <= c.Lived.Ticks * 100, $"{c.Path} used {s.CpuUsageNs} ns in a life of {c.Lived}");
        }

        var gone = reported.Where(s => s.Path.StartsWith('<')).Select(s => s.Id).ToHashSet();
        output.WriteLine($"reported {reported.Count} entries for {reported.Select(s => s.Id).Distinct().Count()} of {Cgroups} cgroups; " +
            $"{named} by path, {gone.Count} gone before named ({gone.Count(id => byId[id].Life < TimeSpan.FromMilliseconds(600))} short-lived); " +
            $"usage known in {reported.Count(s => s.CpuUsageNs >= 0)}");

        // Every cgroup that outlived a naming tick by far, and ran, is named in some window.
        var longLived = churned.Where(c => c.Life >= TimeSpan.FromMilliseconds(600)).ToList();
        var namedPaths = reported.Where(s => !s.Path.StartsWith('<')).Select(s => s.Path).ToHashSet();
        var unnamed = longLived.Where(c => !namedPaths.Contains(c.Path)).Select(c => $"{c.Path} (lived {c.Lived.TotalMilliseconds:F0} ms)").ToList();
        Assert.True(unnamed.Count == 0, $"{unnamed.Count} of {longLived.Count} long-lived cgroups never reported by path: {string.Join(", ", unnamed.Take(5))}");
        Assert.True(named >= longLived.Count);

        // Bounded state: nothing of the churned cgroups is left, and sizes are back to the start.
        Assert.DoesNotContain(churned, c => engine.Tracks(c.Id));
        var after = engine.StateSizes;
        output.WriteLine($"(tracked, indexed, pinned, baseline, identities) {before} -> {after}");
        Assert.InRange(after.Tracked, 0, before.Tracked + 10);
        Assert.InRange(after.Indexed, 0, before.Indexed + 10);
        Assert.InRange(after.Baseline, 0, before.Baseline + 10);
        Assert.InRange(after.Pinned, 0, after.Tracked);
        Assert.InRange(after.Identities, 0, before.Identities + 10);
        // Two counter files per cgroup at most (cpuacct.usage and cpu.stat), none of a removed one.
        Assert.InRange(engine.Sampler.HeldFiles, 0, 2 * after.Indexed);
        Assert.Empty(TestCgroup.Leftovers());
    }

    private static void Cut(TraceEngine engine, List<Seen> seen)
    {
        using EngineSnapshot s = engine.CollectWindow();
        foreach (ContainerSnapshot c in s.Containers)
        {
            seen.Add(new Seen(c.CgroupPath, c.CgroupId, c.CpuUsageNs, c.Involuntary));
        }
        // One entry per cgroup per window.
        Assert.Equal(s.Containers.Count, s.Containers.Select(c => c.CgroupId).Distinct().Count());
    }

    private static void CutWhenDue(TraceEngine engine, List<Seen> seen, ref long nextCut)
    {
        if (Stopwatch.GetTimestamp() < nextCut)
            return;
        Cut(engine, seen);
        nextCut += Window.Ticks * Stopwatch.Frequency / TimeSpan.TicksPerSecond;
    }

    private static void RemoveExpired(List<Churned> live)
    {
        for (int i = live.Count - 1; i >= 0; i--)
        {
            Churned c = live[i];
            if (Stopwatch.GetElapsedTime(c.CreatedAt) < c.Life)
                continue;
            c.Process!.WaitForExit(5000);
            c.Process.Dispose();
            c.Cgroup!.Dispose();
            c.RemovedAt = Stopwatch.GetTimestamp();
            live.RemoveAt(i);
        }
    }
}

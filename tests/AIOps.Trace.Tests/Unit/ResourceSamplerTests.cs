using AIOps.Trace.Diagnosis;

namespace AIOps.Trace.Tests.Unit;

/// <summary>The sampler that turns two readings per cgroup into memory/disk/network verdicts.</summary>
public sealed class ResourceSamplerTests
{
    private sealed record Counter(long Timestamp, long Value) : IResourceReading;

    /// <summary>A probe over an in-memory counter per cgroup; a missing key is a vanished cgroup.</summary>
    private sealed class CounterProbe(Dictionary<string, long> counters) : IResourceProbe
    {
        public string Resource => "memory";

        public IResourceReading? Read(string cgroupPath) =>
            counters.TryGetValue(cgroupPath, out long v) ? new Counter(0, v) : null;

        public ResourceDiagnosis Diagnose(string cgroupPath, IResourceReading? start, IResourceReading end, double seconds)
        {
            long delta = ((Counter)end).Value - ((Counter?)start)?.Value ?? 0;
            return new ResourceDiagnosis(Resource, start is null ? Outcomes.Undecidable : Outcomes.NotLimited,
                [new DiagnosisStep("delta", "delta", delta, 1, delta >= 1)], $"{cgroupPath} {delta} in {seconds}s");
        }
    }

    [Fact]
    public void Verdicts_come_from_the_delta_since_the_baseline()
    {
        var counters = new Dictionary<string, long> { ["/a"] = 10, ["/b"] = 5 };
        var sampler = new ResourceSampler([new CounterProbe(counters)]);
        sampler.Baseline(["/a", "/b"]);
        counters["/a"] = 17;

        var verdicts = sampler.Sample(["/a"], 2.0);

        ResourceDiagnosis a = Assert.Single(verdicts["/a"]);
        Assert.Equal(Outcomes.NotLimited, a.Outcome);
        Assert.Equal(7, a.Path[0].Value);
        Assert.Equal("/a 7 in 2s", a.Summary);
        Assert.Equal(1, sampler.Tracked); // /b was not sampled: forgotten
    }

    [Fact]
    public void A_cgroup_first_seen_during_the_window_has_no_start_and_a_vanished_one_no_verdict()
    {
        var counters = new Dictionary<string, long> { ["/new"] = 3 };
        var sampler = new ResourceSampler([new CounterProbe(counters)]);
        sampler.Baseline([]);

        var verdicts = sampler.Sample(["/new", "/gone"], 1.0);

        Assert.Equal(Outcomes.Undecidable, Assert.Single(verdicts["/new"]).Outcome);
        Assert.Empty(verdicts["/gone"]);
    }
}

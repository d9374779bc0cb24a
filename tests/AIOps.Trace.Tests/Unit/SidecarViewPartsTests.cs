using AIOps.Trace.Analysis.Collection;
using AIOps.Trace.Diagnosis;
using AIOps.Trace.Server.Anomalies;
using AIOps.Trace.Server.Api;

namespace AIOps.Trace.Tests.Unit;

/// <summary>Parts of the sidecar's per-window views made without a dictionary per container: they must read as the dictionaries did.</summary>
public sealed class SidecarViewPartsTests
{
    [Fact]
    public void A_vector_by_slot_name_reads_as_the_dictionary_it_replaces()
    {
        var r = new Random(7);
        double[] values = Enumerable.Range(0, Metrics.Count).Select(i => i % 5 == 0 ? double.NaN : i % 7 == 0 ? double.PositiveInfinity : r.NextDouble()).ToArray();
        IReadOnlyDictionary<string, double?> view = AnomalyService.ByName(values);

        var expected = new Dictionary<string, double?>(StringComparer.Ordinal);
        for (int i = 0; i < Metrics.Count; i++)
            expected[Metrics.Names[i]] = double.IsFinite(values[i]) ? values[i] : null;
        Assert.Equal(expected.ToList(), view.ToList()); // the same pairs, in slot order
        Assert.Equal(expected.Count, view.Count);
        Assert.Equal(expected.Keys, view.Keys);
        Assert.Equal(expected.Values, view.Values);
        foreach ((string name, double? value) in expected)
        {
            Assert.True(view.ContainsKey(name));
            Assert.Equal(value, view[name]);
        }
        Assert.False(view.TryGetValue("no_such_metric", out _));
        Assert.Throws<KeyNotFoundException>(() => view["no_such_metric"]);

        // A vector shorter than the slots (an older recording) reads as null past its end.
        IReadOnlyDictionary<string, double?> shortView = AnomalyService.ByName([1.5]);
        Assert.Equal(1.5, shortView[Metrics.Names[0]]);
        Assert.All(shortView.Skip(1), p => Assert.Null(p.Value));
    }

    [Fact]
    public void The_diagnosis_text_worked_out_once_per_outcome_set_matches_the_text_of_each_container()
    {
        string[] cpu = [Outcomes.NotThrottled, Outcomes.CapThrottled, Outcomes.ShareThrottled, Outcomes.Undecidable];
        string[] memory = [Outcomes.NotLimited, Outcomes.LimitReclaim, Outcomes.OomAtLimit, Outcomes.Undecidable];
        string[] other = [Outcomes.NotLimited, Outcomes.Undecidable, "io_throttled", "packet_loss"];
        var r = new Random(11);
        for (int i = 0; i < 400; i++)
        {
            var resources = new List<ResourceDiagnosis>();
            if (r.Next(4) > 0)
                resources.Add(Diagnosis("memory", memory[r.Next(memory.Length)]));
            if (r.Next(3) > 0)
                resources.Add(Diagnosis("disk", other[r.Next(other.Length)]));
            if (r.Next(3) > 0)
                resources.Add(Diagnosis("network", other[r.Next(other.Length)]));
            var d = new ContainerDiagnosis(new ContainerSnapshot { CgroupPath = $"/c{i}" }, new CpuEvidence { CgroupPath = $"/c{i}", WindowSeconds = 1 },
                Diagnosis("cpu", cpu[r.Next(cpu.Length)]), resources);
            string? expected = ExportedSeries.DiagnosisText(d.All.ToDictionary(x => x.Resource, x => x.Outcome, StringComparer.Ordinal));
            Assert.Equal(expected, WindowInputs.DiagnosisText(d));
            Assert.Equal(expected, WindowInputs.DiagnosisText(d)); // and again, from the memo
        }
    }

    [Fact]
    public void A_failed_round_says_why_and_keeps_no_earlier_view_alive()
    {
        int built = 0;
        var round = new AnomalyView(
            () =>
            {
                built++;
                return new VerdictsDocument("node", 7, null, "owner", false, null, null, 0, null, []);
            },
            () => new DomainsDocument("node", 7, null, "owner", null, []),
            new Dictionary<string, string>(), new Dictionary<string, VerdictSummary>());
        Assert.Equal(0, built); // made when first asked for

        (AnomalyView last, WeakReference first) = FailMany(round, 50);
        GC.Collect();
        GC.WaitForPendingFinalizers();
        GC.Collect();
        Assert.False(first.IsAlive, "the first failed view is still reachable from the fiftieth: failed views chain");
        Assert.Equal("failure 49", last.Verdicts.Failure);
        Assert.Equal(7, last.Verdicts.Seq);
        Assert.Null(round.Verdicts.Failure);
        Assert.Equal(1, built); // the round's document, made once for every view of it
    }

    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.NoInlining)]
    private static (AnomalyView Last, WeakReference First) FailMany(AnomalyView round, int times)
    {
        AnomalyView view = round.Failed("failure 0");
        var first = new WeakReference(view);
        for (int i = 1; i < times; i++)
            view = view.Failed($"failure {i}");
        return (view, first);
    }

    private static ResourceDiagnosis Diagnosis(string resource, string outcome) => new(resource, outcome, [], outcome);
}

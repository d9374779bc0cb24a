using System.Buffers;
using System.Text.Json;
using AIOps.Trace.Cgroups;
using AIOps.Trace.Diagnosis;

namespace AIOps.Trace.Tests.Unit;

/// <summary>From an engine window to CPU evidence, and the two ways a diagnosis is shown.</summary>
public sealed class DiagnosisEvidenceTests
{
    private static EngineSnapshot Window(params (string Path, long UsageNs)[] containers)
    {
        var s = new EngineSnapshot(null)
        {
            Kernel = new KernelSummary("6.18", true, "ringbuf", "tp_btf", "cgroupfs", ""),
            Host = new HostSummary(2, 0.25),
            WindowSeconds = 2,
            LostEvents = 0,
            KernelCounters = default,
        };
        foreach ((string path, long usage) in containers)
            s.Containers.Add(new ContainerSnapshot { CgroupPath = path, CpuUsageNs = usage });
        return s;
    }

    [Fact]
    public void Other_tenants_count_each_unrelated_leaf_once()
    {
        using EngineSnapshot w = Window(("/", 4_000_000_000), ("/kubepods", 3_000_000_000), ("/kubepods/web", 1_000_000_000),
            ("/kubepods/web/c1", 900_000_000), ("/kubepods/batch", 1_500_000_000), ("/system.slice/cron.service", 100_000_000));

        // Not the root, not web's ancestors or descendants, and batch counted once (not again through /kubepods).
        Assert.Equal(1_600_000_000, CpuEvidenceBuilder.OtherTenantsUsageNs(w, "/kubepods/web"));
    }

    [Fact]
    public void Evidence_carries_the_window_limits_and_neighbours()
    {
        using EngineSnapshot w = Window(("/a", 1_000_000_000), ("/b", 2_000_000_000));
        ContainerSnapshot a = w.Containers[0];
        a.PreemptedByOther = 300;
        a.TopPreemptors.Add(new Preemptor("/b", 0, 300));
        a.Throttling = new ThrottlingFigures(20, 18, 900_000_000, 0, 0, "cgroupfs");
        a.RunQueue.Record(2_000_000);

        CpuEvidence e = CpuEvidenceBuilder.Build(w, a, new CpuLimits(20_000, 100_000, 1024, -1, "1"), new Dictionary<int, double> { [1] = 0.97 });

        Assert.Equal((0.5, 1.0), (e.CpuUsageCores, e.OtherTenantsCores));
        Assert.Equal(0.5, e.HostIdleCpus);
        Assert.Equal([1], e.CpusetCpus!);
        Assert.Equal(new NoisyNeighbour("/b", 300, 1.0), Assert.Single(e.TopPreemptors));
        Assert.Equal((900_000_000L, 18L, 20L, 20_000L), (e.ThrottledNs, e.ThrottledPeriods, e.Periods, e.QuotaUs));
        Assert.InRange(e.RunQueueP99Us, 1950, 2050);
        Assert.Equal(Outcomes.CapThrottled, CpuDiagnosis.Diagnose(e).Outcome);
    }

    [Theory]
    [InlineData("0-3,8", new[] { 0, 1, 2, 3, 8 })]
    [InlineData(" 1 \n", new[] { 1 })]
    [InlineData("", new int[0])]
    [InlineData("2,0-1", new[] { 0, 1, 2 })]
    public void Cpu_lists_parse_like_the_kernel_writes_them(string text, int[] cpus) => Assert.Equal(cpus, CpuList.Parse(text));

    [Theory]
    [InlineData("3-1")]
    [InlineData("a")]
    [InlineData("1,,x")]
    public void Bad_cpu_lists_are_a_format_error_quoting_the_text(string text) =>
        Assert.Contains($"'{text}'", Assert.Throws<FormatException>(() => CpuList.Parse(text)).Message);

    [Fact]
    public void Per_cpu_busy_share_comes_from_proc_stat_deltas()
    {
        PerCpuTime before = PerCpuTime.Parse("cpu  10 0 10 80 0 0 0 0 0 0\ncpu0 5 0 5 40 0 0 0 0 0 0\ncpu1 5 0 5 40 0 0 0 0 0 0\nintr 1\n");
        PerCpuTime after = PerCpuTime.Parse("cpu  0\ncpu0 95 0 5 50 0 0 0 0 0 0\ncpu1 6 0 5 139 0 0 0 0 0 0\n");

        IReadOnlyDictionary<int, double> busy = after.BusySince(before);

        Assert.Equal(0.9, busy[0], 6);
        Assert.Equal(0.01, busy[1], 6);
    }

    [Fact]
    public void The_wizard_text_puts_the_outcome_first_and_indents_each_step()
    {
        ResourceDiagnosis d = CpuDiagnosis.Diagnose(new CpuEvidence { CgroupPath = "/x", WindowSeconds = 1, ThrottledNs = 5_000_000, Periods = 10, ThrottledPeriods = 5 });
        var text = new StringWriter();

        DiagnosisWriter.WriteText(text, d);

        string[] lines = text.ToString().Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.StartsWith("  cpu: CAP_THROTTLED", lines[0]);
        Assert.Equal("    yes throttled time rising? throttled_ms_per_s = 5 (threshold 1)", lines[1]);
    }

    [Fact]
    public void The_json_form_has_outcome_path_and_null_for_missing_values()
    {
        ResourceDiagnosis d = MemoryDiagnosis.Diagnose(new MemoryEvidence { OomKills = -1, HostPsiSomePercent = -1, HostAvailableRatio = -1 });
        using JsonDocument doc = JsonDocument.Parse(System.Text.Json.JsonSerializer.SerializeToUtf8Bytes(
            AIOps.Trace.Contracts.DiagnosisDocument.From(d), AIOps.Trace.Contracts.TraceJson.Default.DiagnosisDocument));
        Assert.Equal("undecidable", doc.RootElement.GetProperty("outcome").GetString());
        Assert.Contains("PSI", doc.RootElement.GetProperty("undecidable_reason").GetString());
        Assert.Equal(JsonValueKind.Array, doc.RootElement.GetProperty("path").ValueKind);
    }
}

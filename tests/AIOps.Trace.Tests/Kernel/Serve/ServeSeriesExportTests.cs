using System.Globalization;
using AIOps.Trace.Analysis.Collection;

namespace AIOps.Trace.Tests.Kernel.Serve;

/// <summary>
/// The series `analyze --prometheus` reads back from every node: each container's metric vector,
/// attributes and limits, consistent with the window and with the cgroup's own files.
/// </summary>
public sealed class ServeSeriesExportTests : KernelTestBase
{
    [Fact]
    public async Task Vector_info_and_limit_series_match_the_cgroups_and_go_with_the_container()
    {
        TestCgroup busy = NewCgroup("busy");
        TestCgroup capped = NewCgroup("capped");
        capped.WriteCpu("cpu.cfs_period_us", "100000");
        capped.WriteCpu("cpu.cfs_quota_us", "20000");
        capped.WriteCpu("cpu.shares", "512");
        capped.Write("memory", "memory.limit_in_bytes", (256L << 20).ToString(CultureInfo.InvariantCulture));
        ServeProcess serve = Own(ServeProcess.Start(null, "--interval", "1s"));
        Track(busy.Start(TestCgroup.BusyLoop, cpu: 0));
        Track(capped.Start(TestCgroup.BusyLoop, cpu: 1));
        // Two windows cut after both loops ran: the next one read lies wholly after their start.
        long started = Seq(serve);
        Dictionary<string, long> statBefore = ProcFs.CpuStat(capped.CpuDir);
        var deadline = System.Diagnostics.Stopwatch.StartNew();
        while (Seq(serve) < started + 2)
        {
            Assert.True(deadline.Elapsed < TimeSpan.FromSeconds(15), $"no two windows cut in 15 s after seq {started}");
            await Task.Delay(100);
        }

        // The exposition and the JSON of the same window (the engine may cut one in between: retry).
        string text = "";
        System.Text.Json.JsonElement window = default;
        bool same = false;
        while (!same && deadline.Elapsed < TimeSpan.FromSeconds(30))
        {
            using var first = serve.GetJson("api/v1/containers");
            text = serve.Get("metrics");
            using var second = serve.GetJson("api/v1/containers");
            same = first.RootElement.GetProperty("seq").GetInt64() == second.RootElement.GetProperty("seq").GetInt64();
            window = second.RootElement.GetProperty("containers").Clone();
        }
        Assert.True(same, "no /metrics read fell between two reads of the same window in 30 s");
        Dictionary<string, long> statAfter = ProcFs.CpuStat(capped.CpuDir);
        ServeMetricsTests.AssertPromtoolAccepts(text);
        IReadOnlyList<PromSample> samples = PromText.Parse(text);

        // Every slot, once per container, under the names the analysis uses.
        foreach (TestCgroup cg in new[] { busy, capped })
        {
            var vector = samples.Where(s => s.Name == "aiops_trace_container_vector" && s.Label("cgroup") == cg.RelativePath).ToList();
            Assert.Equal(Metrics.Names.Order(), vector.Select(s => s.Label("metric")).Order());
            Assert.False(string.IsNullOrEmpty(vector[0].Label("node")));
        }
        // The vector is the window's: the same CPU usage as the JSON's last window. A busy loop uses up
        // to a core (less when other work shares its CPU); under a 20% quota at most about a fifth, and throttled.
        foreach (TestCgroup cg in new[] { busy, capped })
        {
            double json = window.EnumerateArray().Single(c => c.GetProperty("cgroup").GetString() == cg.RelativePath)
                .GetProperty("last_window").GetProperty("cpu_usage_cores").GetDouble();
            Assert.Equal(json, Vector(samples, cg, "cpu_usage_cores"), 0.0006);
        }
        Assert.InRange(Vector(samples, busy, "cpu_usage_cores"), 0.25, 1.1);
        Assert.InRange(Vector(samples, capped, "cpu_usage_cores"), 0.05, 0.25);
        Assert.InRange(Vector(samples, capped, "throttled_ratio"), 0.1, 1.0); // periods throttled / periods run (kernel 6.18 throttles per task: not every period)
        // As the kernel counts it over the seconds around that window (10 periods a second: a window's ratio moves in tenths).
        double kernelRatio = (double)(statAfter["nr_throttled"] - statBefore["nr_throttled"]) / (statAfter["nr_periods"] - statBefore["nr_periods"]);
        Assert.InRange(Vector(samples, capped, "throttled_ratio"), kernelRatio - 0.25, kernelRatio + 0.25);
        Assert.Equal(0, Vector(samples, busy, "throttled_ratio"));
        Assert.True(Vector(samples, capped, "runq_p99_us") >= 0);

        // Limits as the cgroup files say; NaN where there is none.
        Assert.Equal(0.2, Limit(samples, capped, "cpu_quota_cores"), 6);
        Assert.Equal(512, Limit(samples, capped, "cpu_shares"));
        Assert.Equal(256L << 20, Limit(samples, capped, "memory_bytes"));
        Assert.Equal(Environment.ProcessorCount, Limit(samples, capped, "cpuset_cpus"));
        Assert.True(double.IsNaN(Limit(samples, busy, "cpu_quota_cores")));
        Assert.True(double.IsNaN(Limit(samples, busy, "memory_bytes")));
        Assert.Equal(1024, Limit(samples, busy, "cpu_shares"));

        // Attributes: a cgroup no runtime names is owned by its leaf name.
        PromSample info = Assert.Single(samples, s => s.Name == "aiops_trace_container_info" && s.Label("cgroup") == capped.RelativePath);
        Assert.Equal(1, info.Value);
        Assert.Equal("cgroup", info.Label("runtime"));
        Assert.Equal(capped.RelativePath.TrimStart('/'), info.Label("owner"));
        Assert.Equal("cgroup", info.Label("owner_kind"));
        Assert.Equal("", info.Label("image"));
        Assert.Equal("", info.Label("qos_class"));

        // Dropped with the container.
        busy.Dispose();
        string after = await WaitUntil(serve, t => !t.Contains(busy.RelativePath, StringComparison.Ordinal));
        Assert.DoesNotContain(busy.RelativePath, after);
        Assert.Contains(capped.RelativePath, after);
    }

    private static long Seq(ServeProcess serve)
    {
        using var list = serve.GetJson("api/v1/containers");
        return list.RootElement.GetProperty("seq").GetInt64();
    }

    private static double Vector(IReadOnlyList<PromSample> samples, TestCgroup cg, string metric) =>
        Assert.Single(samples, s => s.Name == "aiops_trace_container_vector" && s.Label("cgroup") == cg.RelativePath && s.Label("metric") == metric).Value;

    private static double Limit(IReadOnlyList<PromSample> samples, TestCgroup cg, string limit) =>
        Assert.Single(samples, s => s.Name == "aiops_trace_container_limit" && s.Label("cgroup") == cg.RelativePath && s.Label("limit") == limit).Value;

    internal static async Task<string> WaitUntil(ServeProcess serve, Func<string, bool> done)
    {
        var deadline = System.Diagnostics.Stopwatch.StartNew();
        string text;
        while (!done(text = serve.Get("metrics")) && deadline.Elapsed < TimeSpan.FromSeconds(10))
            await Task.Delay(250);
        return text;
    }
}

using System.Diagnostics;
using System.Text.Json;

namespace AIOps.Trace.Tests.Kernel.Serve;

/// <summary>`serve`'s /metrics and JSON API against workloads in test cgroups, with cpu.stat as ground truth.</summary>
public sealed class ServeMetricsTests : KernelTestBase
{
    // A name a page or an exposition must escape: quotes, a backslash, angle brackets.
    private const string HostileRole = "x\"<img src=x onerror=alert(1)>\\";

    [Fact]
    public async Task Metrics_parse_as_exposition_and_carry_each_test_cgroup_with_cpu_stat_figures()
    {
        TestCgroup capped = NewCgroup("capped");
        capped.WriteCpu("cpu.cfs_period_us", "100000");
        capped.WriteCpu("cpu.cfs_quota_us", "20000");
        TestCgroup free = NewCgroup("free");
        TestCgroup hostile = NewCgroup(HostileRole);
        // Full resolution on /metrics: the 24 buckets of the API (the default budget is ServeMetricsBudgetTests').
        ServeProcess serve = Own(ServeProcess.Start(null, "--interval", "500ms", "--runqueue-buckets", "full"));

        Track(capped.Start(TestCgroup.BusyLoop));
        Process loop = Track(free.Start("sh -c 'while :; do sleep 0.01; done'"));
        Process odd = Track(Process.Start(new ProcessStartInfo("sh", ["-c", "while :; do sleep 0.02; done"]))!);
        hostile.Adopt(odd.Id);
        await Task.Delay(4000);

        string text = serve.Get("metrics");
        Dictionary<string, long> kernel = ProcFs.CpuStat(capped.CpuDir);
        AssertPromtoolAccepts(text);
        IReadOnlyList<PromSample> samples = PromText.Parse(text);

        // Throttling: the capped busy loop was throttled, as cpu.stat says, and no more than it says.
        double throttledPeriods = One(samples, "aiops_trace_cfs_throttled_periods_total", capped.RelativePath).Value;
        Assert.InRange(throttledPeriods, 1, kernel["nr_throttled"]);
        Assert.True(throttledPeriods >= kernel["nr_throttled"] * 0.5, $"{throttledPeriods} throttled periods, cpu.stat says {kernel["nr_throttled"]}");
        Assert.InRange(One(samples, "aiops_trace_cfs_throttled_seconds_total", capped.RelativePath).Value, 0.01, kernel["throttled_time"] / 1e9);
        Assert.True(One(samples, "aiops_trace_cfs_periods_total", capped.RelativePath).Value >= throttledPeriods);
        Assert.Equal(0, One(samples, "aiops_trace_cfs_throttled_periods_total", free.RelativePath).Value);
        Assert.Equal(1, Assert.Single(samples, s => s.Name == "aiops_trace_diagnosis" && s.Label("cgroup") == capped.RelativePath && s.Label("resource") == "cpu").Value);

        // The histogram is one: buckets never decrease, +Inf equals _count, and the waits are there.
        foreach (TestCgroup cg in new[] { capped, free, hostile })
        {
            var buckets = samples.Where(s => s.Name == "aiops_trace_runqueue_latency_seconds_bucket" && s.Label("cgroup") == cg.RelativePath)
                .OrderBy(s => s.Label("le") == "+Inf" ? double.PositiveInfinity : double.Parse(s.Label("le"), System.Globalization.CultureInfo.InvariantCulture))
                .ToList();
            Assert.Equal(24, buckets.Count);
            for (int i = 1; i < buckets.Count; i++)
                Assert.True(buckets[i].Value >= buckets[i - 1].Value, $"bucket le={buckets[i].Label("le")} below the one before");
            double count = One(samples, "aiops_trace_runqueue_latency_seconds_count", cg.RelativePath).Value;
            Assert.Equal(count, buckets[^1].Value);
            Assert.True(count > 0, $"no run-queue waits for {cg.RelativePath}");
            Assert.True(One(samples, "aiops_trace_runqueue_latency_seconds_sum", cg.RelativePath).Value > 0);
            Assert.Equal(4, samples.Count(s => s.Name == "aiops_trace_preemptions_total" && s.Label("cgroup") == cg.RelativePath));
            Assert.False(string.IsNullOrEmpty(One(samples, "aiops_trace_cpu_usage_seconds_total", cg.RelativePath).Label("node")));
        }

        // Engine health.
        Assert.True(One(samples, "aiops_trace_windows_total").Value >= 4);
        Assert.Equal(1, One(samples, "aiops_trace_ready").Value);
        Assert.True(One(samples, "aiops_trace_attached_programs").Value > 0);
        Assert.Equal(0, One(samples, "aiops_trace_reader_failures_total").Value);
        Assert.True(One(samples, "aiops_trace_managed_heap_bytes").Value > 0); // the sidecar's own heap, for the Soak target
        Assert.Equal(3, samples.Count(s => s.Name == "aiops_trace_gc_collections_total"));
        // serve collects its young generation after every window: at least one gen0 collection per
        // window (the scrape may fall between a window and its collection), and each one is timed.
        double windows = One(samples, "aiops_trace_windows_total").Value;
        double young = Assert.Single(samples, s => s.Name == "aiops_trace_gc_collections_total" && s.Label("generation") == "0").Value;
        Assert.True(young >= windows - 1, $"{young} gen0 collections in {windows} windows");
        Assert.True(One(samples, "aiops_trace_window_collect_seconds").Value > 0);
        Assert.Equal(0, One(samples, "aiops_trace_lost_events_total").Value);

        // The hostile name: exact in the exposition once unescaped, escaped in the raw JSON.
        Assert.Contains(samples, s => s.Label("cgroup") == hostile.RelativePath);
        string json = serve.Get("api/v1/containers");
        Assert.DoesNotContain("<img", json);
        Assert.Contains("\\u003Cimg src=x onerror=alert(1)\\u003E", json);
        using JsonDocument list = JsonDocument.Parse(json);
        JsonElement entry = list.RootElement.GetProperty("containers").EnumerateArray().Single(c => c.GetProperty("cgroup").GetString() == hostile.RelativePath);
        string id = entry.GetProperty("id").GetString()!;

        // The container's document: its histogram sums to its count, and the capped one is cap_throttled with the path.
        JsonElement cappedEntry = list.RootElement.GetProperty("containers").EnumerateArray().Single(c => c.GetProperty("cgroup").GetString() == capped.RelativePath);
        using JsonDocument detail = serve.GetJson("api/v1/containers/" + cappedEntry.GetProperty("id").GetString());
        long[] runq = detail.RootElement.GetProperty("runq_buckets").EnumerateArray().Select(e => e.GetInt64()).ToArray();
        Assert.Equal(24, runq.Length);
        Assert.Equal(detail.RootElement.GetProperty("container").GetProperty("cumulative").GetProperty("runq_count").GetInt64(), runq.Sum());
        JsonElement cpu = detail.RootElement.GetProperty("diagnosis").GetProperty("cpu");
        Assert.Equal("cap_throttled", cpu.GetProperty("outcome").GetString());
        Assert.Equal("throttled_ms_per_s", cpu.GetProperty("path")[0].GetProperty("metric").GetString());

        // A container that is gone is reported once more as ended, then its series go.
        loop.Kill();
        loop.WaitForExit();
        hostile.Dispose();
        free.Dispose();
        var deadline = Stopwatch.StartNew();
        string after;
        while ((after = serve.Get("metrics")).Contains(free.RelativePath, StringComparison.Ordinal) && deadline.Elapsed < TimeSpan.FromSeconds(10))
            await Task.Delay(250);
        Assert.DoesNotContain(free.RelativePath, after);
        Assert.DoesNotContain("onerror", after);
        Assert.Contains(capped.RelativePath, after);
        // The API keeps an ended container for the window that reports it as ended: it may
        // outlive the series by one interval.
        HttpResponseMessage gone;
        deadline.Restart();
        while ((gone = await serve.Http.GetAsync("api/v1/containers/" + id)).StatusCode == System.Net.HttpStatusCode.OK && deadline.Elapsed < TimeSpan.FromSeconds(10))
        {
            gone.Dispose();
            await Task.Delay(250);
        }
        using HttpResponseMessage _ = gone;
        Assert.Equal(System.Net.HttpStatusCode.NotFound, gone.StatusCode);
        Assert.Contains("\"error\"", await gone.Content.ReadAsStringAsync());
    }

    private static PromSample One(IReadOnlyList<PromSample> samples, string name, string? cgroup = null) =>
        Assert.Single(samples, s => s.Name == name && (cgroup is null || s.Label("cgroup") == cgroup));

    /// <summary>Prometheus's own checker (Debian's prometheus package) reads the exposition without complaint.</summary>
    internal static void AssertPromtoolAccepts(string exposition)
    {
        var psi = new ProcessStartInfo("promtool", ["check", "metrics"]) { RedirectStandardInput = true, RedirectStandardOutput = true, RedirectStandardError = true };
        using Process p = Process.Start(psi)!;
        p.StandardInput.Write(exposition);
        p.StandardInput.Close();
        string output = p.StandardOutput.ReadToEnd() + p.StandardError.ReadToEnd();
        Assert.True(p.WaitForExit(30_000), "promtool did not finish");
        Assert.True(p.ExitCode == 0, $"promtool check metrics: {output}");
    }
}

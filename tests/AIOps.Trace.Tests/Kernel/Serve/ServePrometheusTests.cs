using System.Diagnostics;
using System.Net;
using System.Net.Sockets;

namespace AIOps.Trace.Tests.Kernel.Serve;

/// <summary>A real Prometheus (Debian's package) scrapes `serve`, and PromQL answers per-container quantiles.</summary>
public sealed class ServePrometheusTests : KernelTestBase
{
    [Fact]
    public void Prometheus_scrapes_serve_and_histogram_quantile_answers_for_the_test_cgroups()
    {
        TestCgroup capped = NewCgroup("promcap");
        capped.WriteCpu("cpu.cfs_period_us", "100000");
        capped.WriteCpu("cpu.cfs_quota_us", "20000");
        TestCgroup sleeper = NewCgroup("promsleep");
        ServeProcess serve = Own(ServeProcess.Start(null, "--interval", "1s"));
        Track(capped.Start(TestCgroup.BusyLoop));
        Track(sleeper.Start("sh -c 'while :; do sleep 0.01; done'"));

        using PrometheusProcess prometheus = PrometheusProcess.Start(serve.Url);
        string query = "histogram_quantile(0.99, sum by (le, cgroup) (rate(aiops_trace_runqueue_latency_seconds_bucket{cgroup=~\"/aiops-test-prom.*\"}[10s])))";
        var deadline = Stopwatch.StartNew();
        Dictionary<string, double> p99 = new();
        while (deadline.Elapsed < TimeSpan.FromSeconds(45))
        {
            Thread.Sleep(1000);
            p99 = prometheus.Query(query);
            if (p99.Count == 2 && p99.Values.All(double.IsFinite))
                break;
        }
        Assert.True(p99.Count == 2, $"PromQL gave {p99.Count} series: {string.Join(", ", p99)}; prometheus said: {prometheus.Stderr}");
        foreach ((string cgroup, double seconds) in p99)
            Assert.True(double.IsFinite(seconds) && seconds > 0 && seconds < 5, $"{cgroup}: p99 {seconds} s");
        Assert.Contains(capped.RelativePath, p99.Keys);
        Assert.Contains(sleeper.RelativePath, p99.Keys);

        // Prometheus saw the target up, and the counters through it agree with the capped cgroup's state.
        Dictionary<string, double> up = prometheus.Query("up{job=\"aiops-trace\"}");
        Assert.Equal(1, Assert.Single(up).Value);
        Dictionary<string, double> throttled = prometheus.Query($"sum by (cgroup) (aiops_trace_cfs_throttled_periods_total{{cgroup=\"{capped.RelativePath}\"}})");
        Assert.True(Assert.Single(throttled).Value > 0);
    }

    internal static int FreePort()
    {
        using var l = new TcpListener(IPAddress.Loopback, 0);
        l.Start();
        return ((IPEndPoint)l.LocalEndpoint).Port;
    }
}

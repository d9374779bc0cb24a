using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text.Json;

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

        string dir = Directory.CreateTempSubdirectory("aiops-prometheus-").FullName;
        int port = FreePort();
        File.WriteAllText(Path.Combine(dir, "prometheus.yml"), $"""
            global:
              scrape_interval: 1s
              evaluation_interval: 1s
            scrape_configs:
              - job_name: aiops-trace
                static_configs:
                  - targets: ['{serve.Url.Host}:{serve.Url.Port}']
            """);
        var psi = new ProcessStartInfo("prometheus",
        [
            "--config.file=" + Path.Combine(dir, "prometheus.yml"), "--storage.tsdb.path=" + Path.Combine(dir, "data"),
            $"--web.listen-address=127.0.0.1:{port}", "--log.level=warn",
        ]) { RedirectStandardOutput = true, RedirectStandardError = true };
        Process prometheus = Track(Process.Start(psi)!);
        var stderr = new System.Text.StringBuilder();
        prometheus.ErrorDataReceived += (_, e) => { lock (stderr) stderr.AppendLine(e.Data); };
        prometheus.OutputDataReceived += (_, _) => { };
        prometheus.BeginErrorReadLine();
        prometheus.BeginOutputReadLine();
        try
        {
            using var http = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{port}/"), Timeout = TimeSpan.FromSeconds(10) };
            string query = "histogram_quantile(0.99, sum by (le, cgroup) (rate(aiops_trace_runqueue_latency_seconds_bucket{cgroup=~\"/aiops-test-prom.*\"}[10s])))";
            var deadline = Stopwatch.StartNew();
            Dictionary<string, double> p99 = new();
            while (deadline.Elapsed < TimeSpan.FromSeconds(45))
            {
                Thread.Sleep(1000);
                p99 = Query(http, query);
                if (p99.Count == 2 && p99.Values.All(double.IsFinite))
                    break;
            }
            lock (stderr)
                Assert.True(p99.Count == 2, $"PromQL gave {p99.Count} series: {string.Join(", ", p99)}; prometheus said: {stderr}");
            foreach ((string cgroup, double seconds) in p99)
                Assert.True(double.IsFinite(seconds) && seconds > 0 && seconds < 5, $"{cgroup}: p99 {seconds} s");
            Assert.Contains(capped.RelativePath, p99.Keys);
            Assert.Contains(sleeper.RelativePath, p99.Keys);

            // Prometheus saw the target up, and the counters through it agree with the capped cgroup's state.
            Dictionary<string, double> up = Query(http, "up{job=\"aiops-trace\"}");
            Assert.Equal(1, Assert.Single(up).Value);
            Dictionary<string, double> throttled = Query(http, $"sum by (cgroup) (aiops_trace_cfs_throttled_periods_total{{cgroup=\"{capped.RelativePath}\"}})");
            Assert.True(Assert.Single(throttled).Value > 0);
        }
        finally
        {
            prometheus.Kill(entireProcessTree: true);
            prometheus.WaitForExit(10_000);
            Directory.Delete(dir, recursive: true);
        }
    }

    /// <summary>Runs an instant query; the result by its cgroup label (or "" when it has none).</summary>
    private static Dictionary<string, double> Query(HttpClient http, string promql)
    {
        using HttpResponseMessage r = http.GetAsync("api/v1/query?query=" + Uri.EscapeDataString(promql)).GetAwaiter().GetResult();
        if (!r.IsSuccessStatusCode)
            return new();
        using JsonDocument d = JsonDocument.Parse(r.Content.ReadAsStringAsync().GetAwaiter().GetResult());
        var result = new Dictionary<string, double>();
        foreach (JsonElement s in d.RootElement.GetProperty("data").GetProperty("result").EnumerateArray())
        {
            string key = s.GetProperty("metric").TryGetProperty("cgroup", out JsonElement c) ? c.GetString()! : "";
            string value = s.GetProperty("value")[1].GetString()!;
            result[key] = value switch
            {
                "NaN" => double.NaN,
                "+Inf" => double.PositiveInfinity,
                _ => double.Parse(value, System.Globalization.CultureInfo.InvariantCulture),
            };
        }
        return result;
    }

    internal static int FreePort()
    {
        using var l = new TcpListener(IPAddress.Loopback, 0);
        l.Start();
        return ((IPEndPoint)l.LocalEndpoint).Port;
    }
}

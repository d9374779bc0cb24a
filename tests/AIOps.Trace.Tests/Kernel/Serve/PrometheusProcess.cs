using System.Diagnostics;
using System.Globalization;
using System.Text;
using System.Text.Json;

namespace AIOps.Trace.Tests.Kernel.Serve;

/// <summary>
/// A real Prometheus server (Debian's package) on a free loopback port, scraping the given targets
/// every second, with its configuration and data in a temporary directory. Dispose stops it with
/// SIGTERM (SIGKILL if it does not stop within 15 s) and deletes the directory.
/// </summary>
public sealed class PrometheusProcess : IDisposable
{
    private readonly Process _process;
    private readonly string _dir;
    private readonly StringBuilder _stderr = new();

    private PrometheusProcess(Process process, string dir, int port)
    {
        _process = process;
        _dir = dir;
        Url = new Uri($"http://127.0.0.1:{port}/");
        Http = new HttpClient { BaseAddress = Url, Timeout = TimeSpan.FromSeconds(10) };
    }

    public Uri Url { get; }

    public HttpClient Http { get; }

    /// <summary>What Prometheus logged (warnings and errors).</summary>
    public string Stderr { get { lock (_stderr) return _stderr.ToString(); } }

    /// <summary>Starts Prometheus scraping <paramref name="targets"/> ("host:port") as job aiops-trace, every second.</summary>
    public static PrometheusProcess Start(params Uri[] targets)
    {
        string dir = Directory.CreateTempSubdirectory("aiops-prometheus-").FullName;
        try
        {
            int port = ServePrometheusTests.FreePort();
            string list = string.Join(", ", targets.Select(t => $"'{t.Host}:{t.Port}'"));
            File.WriteAllText(Path.Combine(dir, "prometheus.yml"), $"""
                global:
                  scrape_interval: 1s
                  evaluation_interval: 1s
                scrape_configs:
                  - job_name: aiops-trace
                    static_configs:
                      - targets: [{list}]
                """);
            var psi = new ProcessStartInfo("prometheus",
            [
                "--config.file=" + Path.Combine(dir, "prometheus.yml"), "--storage.tsdb.path=" + Path.Combine(dir, "data"),
                $"--web.listen-address=127.0.0.1:{port}", "--log.level=warn",
            ]) { RedirectStandardOutput = true, RedirectStandardError = true };
            var prometheus = new PrometheusProcess(Process.Start(psi)!, dir, port);
            prometheus._process.ErrorDataReceived += (_, e) => { lock (prometheus._stderr) prometheus._stderr.AppendLine(e.Data); };
            prometheus._process.OutputDataReceived += (_, _) => { };
            prometheus._process.BeginErrorReadLine();
            prometheus._process.BeginOutputReadLine();
            return prometheus;
        }
        catch
        {
            Directory.Delete(dir, recursive: true);
            throw;
        }
    }

    /// <summary>Runs an instant query; each sample's value by the value of <paramref name="keyLabel"/> ("" when absent). Empty when Prometheus is not answering yet.</summary>
    public Dictionary<string, double> Query(string promql, string keyLabel = "cgroup")
    {
        var result = new Dictionary<string, double>();
        try
        {
            using HttpResponseMessage r = Http.GetAsync("api/v1/query?query=" + Uri.EscapeDataString(promql)).GetAwaiter().GetResult();
            if (!r.IsSuccessStatusCode)
                return result;
            using JsonDocument d = JsonDocument.Parse(r.Content.ReadAsStringAsync().GetAwaiter().GetResult());
            foreach (JsonElement s in d.RootElement.GetProperty("data").GetProperty("result").EnumerateArray())
            {
                string key = s.GetProperty("metric").TryGetProperty(keyLabel, out JsonElement c) ? c.GetString()! : "";
                string value = s.GetProperty("value")[1].GetString()!;
                result[key] = value switch
                {
                    "NaN" => double.NaN,
                    "+Inf" => double.PositiveInfinity,
                    _ => double.Parse(value, CultureInfo.InvariantCulture),
                };
            }
        }
        catch (Exception e) when (e is HttpRequestException or TaskCanceledException) // not up yet, or slow to answer: the caller polls
        {
        }
        return result;
    }

    public void Dispose()
    {
        try
        {
            if (!_process.HasExited)
            {
                BpfState.Run("kill", $"-TERM {_process.Id}");
                if (!_process.WaitForExit(15_000))
                    _process.Kill(entireProcessTree: true);
            }
            _process.WaitForExit();
        }
        finally
        {
            Http.Dispose();
            _process.Dispose();
            Directory.Delete(_dir, recursive: true);
        }
    }
}

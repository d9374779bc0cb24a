using System.Collections.Concurrent;
using System.Net;
using System.Text;

namespace AIOps.Trace.Tests.Unit.Analysis.Cluster;

/// <summary>
/// A stand-in for Prometheus' query API on a loopback port: answers <c>GET /api/v1/query</c> with
/// what <see cref="Answer"/> gives for the query (recorded answers by default) and remembers each
/// request, so the source and the CLI are tested over real HTTP.
/// </summary>
internal sealed class FakePrometheus : IDisposable
{
    private readonly HttpListener _listener = new();
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _loop;

    public FakePrometheus()
    {
        for (int attempt = 0; ; attempt++)
        {
            int port = FreePort();
            _listener.Prefixes.Clear();
            _listener.Prefixes.Add($"http://127.0.0.1:{port}/");
            try
            {
                _listener.Start();
                Url = new Uri($"http://127.0.0.1:{port}/");
                break;
            }
            catch (HttpListenerException) when (attempt < 5)
            {
            }
        }
        _loop = Task.Run(ServeAsync);
    }

    public Uri Url { get; }

    /// <summary>The answer to a query: HTTP status, body and content type.</summary>
    public Func<string, (int Status, string Body)> Answer { get; set; } = Recorded;

    /// <summary>How long to wait before answering (to test timeouts).</summary>
    public TimeSpan Delay { get; set; }

    /// <summary>Each request's query and Authorization header, in order.</summary>
    public ConcurrentQueue<(string Query, string? Authorization)> Requests { get; } = new();

    /// <summary>The recorded answers, chosen by the query's metric.</summary>
    public static (int, string) Recorded(string query) => query switch
    {
        _ when query.StartsWith("(quantile_over_time(0.5, aiops_trace_container_vector", StringComparison.Ordinal) => (200, PrometheusRecordings.Vector),
        "aiops_trace_container_info" => (200, PrometheusRecordings.Info),
        "aiops_trace_container_limit" => (200, PrometheusRecordings.Limits),
        "aiops_trace_diagnosis == 1" => (200, PrometheusRecordings.Diagnosis),
        _ => (400, PrometheusRecordings.BadData),
    };

    private async Task ServeAsync()
    {
        while (!_stop.IsCancellationRequested)
        {
            HttpListenerContext ctx;
            try
            {
                ctx = await _listener.GetContextAsync().ConfigureAwait(false);
            }
            catch (Exception e) when (e is HttpListenerException or ObjectDisposedException or InvalidOperationException)
            {
                return;
            }
            string query = ctx.Request.QueryString["query"] ?? "";
            Requests.Enqueue((query, ctx.Request.Headers["Authorization"]));
            try
            {
                if (Delay > TimeSpan.Zero)
                    await Task.Delay(Delay, _stop.Token).ConfigureAwait(false);
                (int status, string body) = ctx.Request.Url!.AbsolutePath == "/api/v1/query" ? Answer(query) : (404, "404 page not found\n");
                byte[] bytes = Encoding.UTF8.GetBytes(body);
                ctx.Response.StatusCode = status;
                ctx.Response.ContentType = body.StartsWith('{') ? "application/json" : "text/html";
                ctx.Response.ContentLength64 = bytes.Length;
                await ctx.Response.OutputStream.WriteAsync(bytes, _stop.Token).ConfigureAwait(false);
                ctx.Response.Close();
            }
            catch (Exception e) when (e is OperationCanceledException or HttpListenerException or IOException or ObjectDisposedException)
            {
                try { ctx.Response.Abort(); } catch (ObjectDisposedException) { }
            }
        }
    }

    /// <summary>A loopback port nothing listens on (for "cannot be reached").</summary>
    public static int FreePort() => Kernel.Serve.ServePrometheusTests.FreePort();

    public void Dispose()
    {
        _stop.Cancel();
        _listener.Close();
        try { _loop.Wait(TimeSpan.FromSeconds(5)); } catch (AggregateException) { }
        _stop.Dispose();
    }
}

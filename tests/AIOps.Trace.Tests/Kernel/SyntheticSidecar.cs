using System.Globalization;
using System.Text;
using System.Text.Json;
using AIOps.Trace.Diagnosis;
using AIOps.Trace.Server.Api;
using AIOps.Trace.Server.Dashboard;
using AIOps.Trace.Server.Engine;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;

namespace AIOps.Trace.Tests.Kernel;

/// <summary>
/// The dashboard's files and the sidecar's API shapes served from synthetic containers, in this
/// process on a loopback port: any number of containers, each diagnosed by the real CPU tree from
/// figures chosen per outcome, and a live stream of one frame a second with every container's
/// sparse run-queue deltas. The JSON goes through the server's own source-generated contract and
/// its own wizard and summary builders, so the page reads exactly what `serve` sends.
/// </summary>
internal sealed class SyntheticSidecar : IAsyncDisposable
{
    /// <summary>Figures per CPU outcome on a 2-CPU host over a 1 s window, as the real tree decides them.</summary>
    public static readonly (string Outcome, CpuEvidence Evidence)[] CpuCases =
    [
        (Outcomes.CapThrottled, Calm with { ThrottledNs = 480_000_000, ThrottledPeriods = 9, Periods = 10, QuotaUs = 20_000, PeriodUs = 100_000 }),
        (Outcomes.ShareThrottled, Preempted with { HostIdleCpus = 0.01, OtherTenantsCores = 1.4, TopPreemptors = [new NoisyNeighbour("/synthetic/batch", 700, 1.3)] }),
        (Outcomes.CpusetThrottled, Preempted with { CpusetCpus = [1], CpuBusy = new Dictionary<int, double> { [0] = 0.05, [1] = 0.99 }, HostIdleCpus = 0.95 }),
        (Outcomes.PhysicalCpuThrottled, Preempted with { HostIdleCpus = 0.01, OtherTenantsCores = 0.02, CpuUsageCores = 1.9 }),
        (Outcomes.NotThrottledDigFurther, Preempted with { PreemptedByHost = 800 }),
        (Outcomes.NotThrottled, Calm),
    ];

    private static CpuEvidence Calm => new()
    {
        CgroupPath = "/synthetic", WindowSeconds = 1, HostCpus = 2, HostIdleCpus = 1.2,
        Involuntary = 3, CpuUsageCores = 0.5, OtherTenantsCores = 0.3, RunQueueP99Us = 40, RunQueueWaitNs = 1_000_000,
    };

    private static CpuEvidence Preempted => Calm with { Involuntary = 180, RunQueueWaitNs = 250_000_000 };

    private readonly WebApplication _app;
    private readonly SidecarView _view;
    private readonly long[] _bounds;
    private readonly CancellationTokenSource _stop = new();

    public string Url { get; private set; } = "";

    public IReadOnlyList<ContainerView> Containers => _view.Containers;

    private SyntheticSidecar(WebApplication app, SidecarView view, long[] bounds)
    {
        _app = app;
        _view = view;
        _bounds = bounds;
    }

    /// <summary>
    /// Starts the server with <paramref name="count"/> containers: container i takes the CPU case
    /// i modulo <see cref="CpuCases"/>, with a key figure that grows with i so the ranking is known.
    /// </summary>
    public static async Task<SyntheticSidecar> StartAsync(int count)
    {
        long[] bounds = RunQueueBuckets.BoundsMicroseconds;
        var containers = new List<ContainerView>(count);
        var details = new Dictionary<string, ContainerDetailDocument>(count, StringComparer.Ordinal);
        for (int i = 0; i < count; i++)
        {
            (string outcome, CpuEvidence e) = CpuCases[i % CpuCases.Length];
            double scale = 1 + i / (double)count;
            e = e with
            {
                CgroupPath = $"/synthetic/c-{i:0000}", ThrottledNs = (long)(e.ThrottledNs * scale), RunQueueWaitNs = (long)(e.RunQueueWaitNs * scale),
                RunQueueP50Us = 20 + i % 50, RunQueueP99Us = 200 + 7 * i,
            };
            ResourceDiagnosis cpu = CpuDiagnosis.Diagnose(e);
            if (cpu.Outcome != outcome)
                throw new InvalidOperationException($"synthetic case {outcome} was diagnosed {cpu.Outcome}");
            string id = (1000 + i).ToString(CultureInfo.InvariantCulture);
            var window = new WindowFigures(1, 1, 100 + i, e.RunQueueP50Us, e.RunQueueP99Us, 2 * e.RunQueueP99Us,
                new PreemptionCounts(e.Involuntary / 4, e.Involuntary / 2, e.PreemptedByHost, 0), e.Periods, e.ThrottledPeriods, e.ThrottledNs / 1e9, e.CpuUsageCores);
            var view = new ContainerView(id, e.CgroupPath, $"c-{i:0000}", "cgroup", null, null, $"pod-{i / 3:000}", null, "synthetic", null, null, false,
                DateTimeOffset.UnixEpoch, window, new CumulativeFigures(100 + i, 0.1, e.RunQueueP50Us, e.RunQueueP99Us, window.Preempted, e.Periods,
                    e.ThrottledPeriods, e.ThrottledNs / 1e9, e.CpuUsageCores), cpu.Outcome, null);
            containers.Add(view);
            details[id] = new ContainerDetailDocument("synthetic-node", 1, bounds, view, new long[bounds.Length + 1],
                new Dictionary<string, ResourceDiagnosis> { ["cpu"] = cpu }, null, []);
        }
        var sidecarView = new SidecarView(1, new WindowInfo(1, DateTimeOffset.UtcNow, 1, 0, 2, 0.1, 0.01), containers, details);

        WebApplicationBuilder builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        builder.Logging.ClearProviders();
        WebApplication app = builder.Build();
        var server = new SyntheticSidecar(app, sidecarView, bounds);
        app.MapDashboard();
        app.MapGet("/api/v1/containers", ctx => ctx.Response.WriteAsJsonAsync(new ContainerList("synthetic-node", 1, 1, sidecarView.Window,
            new EngineInfo("ebpf", "tp_btf", "ringbuf", "cpu.stat", 4, true, 1, 0, 0, null, 1, 0, DateTimeOffset.UnixEpoch),
            bounds, containers), ApiJson.Default.ContainerList));
        app.MapGet("/api/v1/summary", ctx => ctx.Response.WriteAsJsonAsync(Wizard.Summary("synthetic-node", sidecarView), ApiJson.Default.SummaryDocument));
        app.MapGet("/api/v1/containers/{id}", ctx => details.TryGetValue(ctx.Request.RouteValues["id"] as string ?? "", out var d)
            ? ctx.Response.WriteAsJsonAsync(d, ApiJson.Default.ContainerDetailDocument) : NotFound(ctx));
        app.MapGet("/api/v1/containers/{id}/wizard", ctx => details.TryGetValue(ctx.Request.RouteValues["id"] as string ?? "", out var d)
            ? ctx.Response.WriteAsJsonAsync(Wizard.Build("synthetic-node", 1, d), ApiJson.Default.WizardDocument) : NotFound(ctx));
        app.MapGet("/api/v1/stream", server.StreamAsync);
        await app.StartAsync();
        server.Url = app.Urls.First().TrimEnd('/') + "/";
        return server;
    }

    private static Task NotFound(HttpContext ctx)
    {
        ctx.Response.StatusCode = StatusCodes.Status404NotFound;
        return Task.CompletedTask;
    }

    /// <summary>hello, then a frame a second with every container's sparse deltas, as the hub writes them.</summary>
    private async Task StreamAsync(HttpContext ctx)
    {
        ctx.Response.ContentType = "text/event-stream";
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(ctx.RequestAborted, _stop.Token);
        await Write(ctx, "hello", JsonSerializer.SerializeToUtf8Bytes(new HelloEvent("synthetic-node", 1, 1, _bounds), ApiJson.Default.HelloEvent));
        var rng = new Random(1202);
        try
        {
            for (long seq = 2; !stop.IsCancellationRequested; seq++)
            {
                var deltas = new List<ContainerDelta>(_view.Containers.Count);
                foreach (ContainerView c in _view.Containers)
                {
                    var runq = new Dictionary<string, long>();
                    int centre = 8 + (int)(c.LastWindow!.RunqP99Us % 10);
                    for (int b = centre - 3; b <= centre + 3; b++)
                        runq[b.ToString(CultureInfo.InvariantCulture)] = 1 + rng.Next(40);
                    WindowFigures w = c.LastWindow;
                    deltas.Add(new ContainerDelta(c.Id, c.Cgroup, c.Name, null, c.Pod, c.Namespace, false, runq, runq.Values.Sum(), 0.01,
                        w.Preempted, w.Periods, w.ThrottledPeriods, w.ThrottledS, w.CpuUsageCores, c.CpuOutcome));
                }
                byte[] frame = JsonSerializer.SerializeToUtf8Bytes(new StreamFrame(seq, DateTimeOffset.UtcNow, 1, 0, 0.01, 0, deltas, []), ApiJson.Default.StreamFrame);
                await Write(ctx, "frame", [.. "{\"dropped_frames\":0,"u8, .. frame.AsSpan(1)]);
                await Task.Delay(1000, stop.Token);
            }
        }
        catch (OperationCanceledException)
        {
            // The page went away or the test ended.
        }
    }

    private static async Task Write(HttpContext ctx, string @event, byte[] json)
    {
        await ctx.Response.Body.WriteAsync(Encoding.ASCII.GetBytes("event: " + @event + "\ndata: "));
        await ctx.Response.Body.WriteAsync(json);
        await ctx.Response.Body.WriteAsync("\n\n"u8.ToArray());
        await ctx.Response.Body.FlushAsync();
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        await _app.StopAsync();
        await _app.DisposeAsync();
        _stop.Dispose();
    }
}

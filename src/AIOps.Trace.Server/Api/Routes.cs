using System.Buffers;
using System.IO.Pipelines;
using System.Text;
using System.Text.Json;
using AIOps.Trace.Server.Engine;
using AIOps.Trace.Server.Streaming;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;

namespace AIOps.Trace.Server.Api;

/// <summary>
/// The routes. Each is a plain <see cref="RequestDelegate"/> (no reflection, no
/// generated binder), writing source-generated JSON; the route table answers 405 to any other method.
/// </summary>
internal static partial class Routes
{
    /// <summary>The sidecar's routes: health, metrics, the engine's containers and stream, and the anomaly analysis.</summary>
    public static void Map(IEndpointRouteBuilder app)
    {
        MapHealth(app);
        app.MapGet("/api/v1/containers", (RequestDelegate)Containers);
        app.MapGet("/api/v1/containers/{id}", (RequestDelegate)Container);
        app.MapGet("/api/v1/containers/{id}/wizard", (RequestDelegate)ContainerWizard);
        app.MapGet("/api/v1/summary", (RequestDelegate)Summary);
        app.MapGet("/api/v1/stream", (RequestDelegate)Stream);
        MapAnalysis(app);
        MapDashboard(app);
    }

    /// <summary>/healthz, /readyz (<see cref="IReadiness"/>) and /metrics (the host's registry): every host has them.</summary>
    public static void MapHealth(IEndpointRouteBuilder app)
    {
        app.MapGet("/healthz", (RequestDelegate)Healthy);
        app.MapGet("/readyz", (RequestDelegate)Ready);
        app.MapGet("/metrics", (RequestDelegate)Metrics);
    }

    /// <summary>The dashboard's routes (static files embedded in the binary), mapped by the dashboard's own file.</summary>
    static partial void MapDashboard(IEndpointRouteBuilder app);

    private static Task Healthy(HttpContext ctx)
    {
        string? why = ctx.RequestServices.GetRequiredService<IReadiness>().Unhealthy;
        return why is null ? Text(ctx, StatusCodes.Status200OK, "ok") : Text(ctx, StatusCodes.Status503ServiceUnavailable, "unhealthy: " + why);
    }

    private static Task Ready(HttpContext ctx)
    {
        string? why = ctx.RequestServices.GetRequiredService<IReadiness>().NotReady;
        return why is null ? Text(ctx, StatusCodes.Status200OK, "ready") : Text(ctx, StatusCodes.Status503ServiceUnavailable, "not ready: " + why);
    }

    private static async Task Metrics(HttpContext ctx)
    {
        ctx.Response.ContentType = "text/plain; version=0.0.4; charset=utf-8";
        await ctx.RequestServices.GetRequiredService<Prometheus.CollectorRegistry>().CollectAndExportAsTextAsync(ctx.Response.Body, ctx.RequestAborted);
    }

    /// <summary>The running engine loop, or null (the caller answers 503) before the first engine started.</summary>
    private static EngineService? Running(HttpContext ctx) => ctx.RequestServices.GetRequiredService<EngineSupervisor>().Running;

    private static Task NotStarted(HttpContext ctx) =>
        Error(ctx, StatusCodes.Status503ServiceUnavailable, "the engine has not started yet: try again in a moment (/readyz says when)");

    private static Task Containers(HttpContext ctx)
    {
        if (Running(ctx) is not { } engine)
            return NotStarted(ctx);
        SidecarOptions options = ctx.RequestServices.GetRequiredService<SidecarOptions>();
        SidecarView view = engine.View;
        var list = new ContainerList(options.Node, view.Seq, options.Interval.TotalSeconds, view.Window, engine.Info(),
            RunQueueBuckets.BoundsMicroseconds, view.Containers);
        return ctx.Response.WriteAsJsonAsync(list, ApiJson.Default.ContainerList, cancellationToken: ctx.RequestAborted);
    }

    private static Task Container(HttpContext ctx)
    {
        string id = ctx.Request.RouteValues["id"] as string ?? "";
        if (Running(ctx) is not { } running)
            return NotStarted(ctx);
        SidecarView view = running.View;
        if (view.Details.TryGetValue(id, out ContainerDetailDocument? detail))
            return ctx.Response.WriteAsJsonAsync(detail, ApiJson.Default.ContainerDetailDocument, cancellationToken: ctx.RequestAborted);
        return Error(ctx, StatusCodes.Status404NotFound, $"no container with id '{id}': list them at /api/v1/containers");
    }

    private static Task ContainerWizard(HttpContext ctx)
    {
        string id = ctx.Request.RouteValues["id"] as string ?? "";
        if (Running(ctx) is not { } running)
            return NotStarted(ctx);
        SidecarView view = running.View;
        string node = ctx.RequestServices.GetRequiredService<SidecarOptions>().Node;
        if (view.Details.TryGetValue(id, out ContainerDetailDocument? detail))
            return ctx.Response.WriteAsJsonAsync(Wizard.Build(node, view.Seq, detail), ApiJson.Default.WizardDocument, cancellationToken: ctx.RequestAborted);
        return Error(ctx, StatusCodes.Status404NotFound, $"no container with id '{id}': list them at /api/v1/containers");
    }

    private static Task Summary(HttpContext ctx)
    {
        if (Running(ctx) is not { } running)
            return NotStarted(ctx);
        SidecarView view = running.View;
        string node = ctx.RequestServices.GetRequiredService<SidecarOptions>().Node;
        return ctx.Response.WriteAsJsonAsync(Wizard.Summary(node, view), ApiJson.Default.SummaryDocument, cancellationToken: ctx.RequestAborted);
    }

    /// <summary>
    /// Server-Sent Events: hello, then every frame the hub offers this client, written straight
    /// into the response's PipeWriter. A slow reader only fills its own bounded buffer.
    /// </summary>
    private static async Task Stream(HttpContext ctx)
    {
        IServiceProvider services = ctx.RequestServices;
        using StreamClient? client = services.GetRequiredService<StreamHub>().Join();
        if (client is null)
        {
            await Error(ctx, StatusCodes.Status503ServiceUnavailable, $"too many stream clients (at most {StreamHub.DefaultMaxClients})");
            return;
        }
        SidecarOptions options = services.GetRequiredService<SidecarOptions>();
        if (Running(ctx) is not { } engine)
        {
            await NotStarted(ctx);
            return;
        }
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(ctx.RequestAborted,
            services.GetRequiredService<IHostApplicationLifetime>().ApplicationStopping);

        ctx.Response.ContentType = "text/event-stream";
        ctx.Response.Headers["X-Accel-Buffering"] = "no";
        ctx.Features.Get<IHttpResponseBodyFeature>()?.DisableBuffering();
        PipeWriter w = ctx.Response.BodyWriter;
        try
        {
            // Frames continue from hello's seq + 1: the view is published before its frame, so a
            // frame already queued for the seq hello names is skipped (its deltas are in that view).
            long helloSeq = engine.View.Seq;
            Ascii(w, "event: hello\ndata: ");
            using (var json = new Utf8JsonWriter((IBufferWriter<byte>)w))
                JsonSerializer.Serialize(json, new HelloEvent(options.Node, helloSeq, options.Interval.TotalSeconds, RunQueueBuckets.BoundsMicroseconds), ApiJson.Default.HelloEvent);
            Ascii(w, "\n\n");
            if ((await w.FlushAsync(stop.Token)).IsCompleted)
                return;
            await foreach (StreamItem item in client.Frames.ReadAllAsync(stop.Token))
            {
                if (item.Seq <= helloSeq)
                    continue;
                byte[] frame = item.Json;
                // The frame was serialized once for every client; this client's drop count is
                // spliced in as its first property.
                Ascii(w, "event: frame\ndata: {\"dropped_frames\":" + client.TakeDropped().ToString(System.Globalization.CultureInfo.InvariantCulture) + ",");
                w.Write(frame.AsSpan(1));
                Ascii(w, "\n\n");
                FlushResult flushed = await w.FlushAsync(stop.Token);
                if (flushed.IsCompleted || flushed.IsCanceled)
                    break;
            }
        }
        catch (OperationCanceledException)
        {
            // The client went away or the server is stopping.
        }
    }

    private static void Ascii(PipeWriter w, string s)
    {
        Span<byte> span = w.GetSpan(s.Length);
        int n = Encoding.ASCII.GetBytes(s, span);
        w.Advance(n);
    }

    internal static Task Error(HttpContext ctx, int status, string message)
    {
        ctx.Response.StatusCode = status;
        return ctx.Response.WriteAsJsonAsync(new ApiError(message), ApiJson.Default.ApiError);
    }

    private static Task Text(HttpContext ctx, int status, string text)
    {
        ctx.Response.StatusCode = status;
        ctx.Response.ContentType = "text/plain; charset=utf-8";
        return ctx.Response.WriteAsync(text + "\n");
    }
}

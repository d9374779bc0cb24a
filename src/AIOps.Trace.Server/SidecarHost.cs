using System.Net.Sockets;
using System.Threading.RateLimiting;
using AIOps.Trace.Analysis;
using AIOps.Trace.Analysis.Collection;
using AIOps.Trace.Analysis.Verification;
using AIOps.Trace.Server.Anomalies;
using AIOps.Trace.Server.Api;
using AIOps.Trace.Server.Dashboard;
using AIOps.Trace.Server.Engine;
using AIOps.Trace.Server.Hosting;
using AIOps.Trace.Server.Metrics;
using AIOps.Trace.Server.Security;
using AIOps.Trace.Server.Streaming;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.RateLimiting;
using Microsoft.AspNetCore.Server.Kestrel.Transport.Sockets;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Prometheus;

namespace AIOps.Trace.Server;

/// <summary>
/// `aiops-trace serve`: Kestrel with the engine as a hosted service. Runs until SIGTERM or
/// Ctrl-C, then stops the host (stream clients are released, the engine loop ends); the caller
/// disposes the engine, which detaches the programs.
/// </summary>
public static class SidecarHost
{
    /// <summary>Requests per second per client address, and the burst allowed above it.</summary>
    public const int RequestsPerSecond = 100, RequestBurst = 200;

    /// <summary>Kernel send buffer per connection (SO_SNDBUF; Linux doubles it).</summary>
    public const int SendBufferBytes = 64 * 1024;

    /// <summary>Serves until the process is asked to stop. <paramref name="started"/> receives the URL once listening.</summary>
    /// <param name="pipeline">The anomaly pipeline each window is analysed with; null runs one with the default grouping and no store.</param>
    /// <param name="store">The verdict database behind <paramref name="pipeline"/>, for the API to name (and its problem at start, if any).</param>
    /// <param name="stop">Stops the server as SIGTERM does (for hosts that embed it).</param>
    /// <param name="restart">Starts a new engine when <paramref name="engine"/> (or a later one) failed; null makes a failure fatal.</param>
    /// <param name="policy">Backoff and limit of the restarts (<see cref="SupervisorPolicy.Default"/> when null).</param>
    /// <exception cref="EngineFailedException">The engine failed too often in a row: the server stopped.</exception>
    public static async Task RunAsync(TraceEngine engine, SidecarOptions options, Action<string> started,
        AnalysisPipeline? pipeline = null, VerdictStore? store = null, CancellationToken stop = default,
        Func<TraceEngine>? restart = null, SupervisorPolicy? policy = null)
    {
        using AnalysisPipeline? own = pipeline is null ? new AnalysisPipeline() : null;
        WebApplicationBuilder builder = CreateBuilder(options);
        builder.Services.AddSingleton(engine);
        builder.Services.AddSingleton(new AnomalyService(pipeline ?? own!, store, options.Node, options.Token is not null));
        SidecarServices.AddEngine(builder.Services, engine,
            _ => restart ?? (() => throw new InvalidOperationException("this host cannot start another engine")),
            _ => policy ?? SupervisorPolicy.Default, stopHostOnFatal: true);
        await using WebApplication app = builder.Build();
        Guard(app, options);
        Routes.Map(app);
        app.MapDashboard();
        await ServeAsync(app, options, started, stop);
        if (app.Services.GetRequiredService<EngineSupervisor>().Fatal is { } fatal)
            throw new EngineFailedException(fatal);
    }

    /// <summary>
    /// Serves the anomaly analysis of containers another source reports (cluster mode: `aiops-trace
    /// analyze --listen`): /healthz, /readyz, /metrics (the analysed containers' vector, attribute,
    /// limit and anomaly series, labelled by container key and node), the verdict and domain routes
    /// and the dashboard. Every <see cref="SidecarOptions.Interval"/> it pulls a round from
    /// <paramref name="source"/>; a <see cref="ContainerSourceException"/> is reported on stderr and
    /// in /readyz and the next round tries again. <see cref="SidecarOptions.Node"/> is the name the
    /// documents carry.
    /// </summary>
    /// <param name="store">The verdict database behind <paramref name="pipeline"/>, for the API to name (and its problem at start, if any).</param>
    /// <param name="stop">Stops the server as SIGTERM does.</param>
    public static async Task RunAnalysisAsync(AnalysisPipeline pipeline, IContainerSource source, SidecarOptions options,
        Action<string> started, VerdictStore? store = null, CancellationToken stop = default)
    {
        WebApplicationBuilder builder = CreateBuilder(options);
        CollectorRegistry registry = Prometheus.Metrics.NewCustomRegistry();
        var metrics = new AnalysisMetrics(Prometheus.Metrics.WithCustomRegistry(registry), ["container", "node"]);
        builder.Services.AddSingleton(registry);
        builder.Services.AddSingleton(new AnomalyService(pipeline, store, options.Node, options.Token is not null));
        builder.Services.AddSingleton(sp => new AnalysisLoop(sp.GetRequiredService<AnomalyService>(), source, options, metrics));
        builder.Services.AddSingleton<IReadiness>(sp => sp.GetRequiredService<AnalysisLoop>());
        builder.Services.AddHostedService(sp => sp.GetRequiredService<AnalysisLoop>());
        await using WebApplication app = builder.Build();
        Guard(app, options);
        Routes.MapHealth(app);
        Routes.MapAnalysis(app);
        app.MapDashboard();
        await ServeAsync(app, options, started, stop);
    }

    /// <summary>Kestrel with the sidecar's limits, the options and the rate limiter; the caller adds its services.</summary>
    private static WebApplicationBuilder CreateBuilder(SidecarOptions options)
    {
        if (options.Refusal() is { } refusal)
            throw new ArgumentException(refusal, nameof(options));

        // The content root is the executable's directory, not the working directory, and no
        // configuration file is watched: a watcher on a content root of "/" (a container's working
        // directory) registers inotify watches on every directory below it, the host's whole file
        // system under /host and every /proc/<pid>/task included, and serve never got to listen.
        WebApplicationBuilder builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions
        {
            Args = ["--hostBuilder:reloadConfigOnChange=false"],
            ApplicationName = "aiops-trace",
            ContentRootPath = AppContext.BaseDirectory,
        });
        builder.Logging.ClearProviders();
        builder.Logging.AddProvider(new OneLineLoggerProvider());
        builder.Logging.SetMinimumLevel(LogLevel.Warning);
        options.Logging?.Invoke(builder.Logging);
        var perClient = new ConnectionLimits(options.ConnectionsPerClient);
        builder.WebHost.ConfigureKestrel(k =>
        {
            k.Listen(options.Listen, listen =>
            {
                // Before TLS: a client over its share costs no handshake.
                listen.Use(perClient.Wrap);
                if (options.Certificate is { } certificate)
                    listen.UseHttps(certificate);
            });
            k.AddServerHeader = false;
            k.Limits.MaxRequestBodySize = SecurityHeaders.MaxRequestBodyBytes;
            k.Limits.MaxRequestLineSize = 8 * 1024;
            k.Limits.MaxRequestHeadersTotalSize = 16 * 1024;
            k.Limits.MaxRequestHeaderCount = 64;
            // Shared by all clients; each address holds at most ConnectionsPerClient of them, and
            // idle ones are closed: a connection that sends no request in 30 s, or no full header in 10 s.
            k.Limits.MaxConcurrentConnections = 4096;
            k.Limits.KeepAliveTimeout = TimeSpan.FromSeconds(30);
            k.Limits.RequestHeadersTimeout = TimeSpan.FromSeconds(10);
            k.Limits.MaxResponseBufferSize = 64 * 1024;
        });
        // Accepted sockets inherit the listener's send buffer: a fixed one stops the kernel from
        // growing a stalled client's buffer to megabytes, so a client that does not read fills
        // its bounded buffers (and loses frames) in seconds instead of holding memory.
        builder.WebHost.UseSockets(s => s.CreateBoundListenSocket = endpoint =>
        {
            Socket socket = SocketTransportOptions.CreateDefaultBoundListenSocket(endpoint);
            socket.SendBufferSize = SendBufferBytes;
            return socket;
        });
        builder.Services.Configure<HostOptions>(o => o.ShutdownTimeout = TimeSpan.FromSeconds(5));
        builder.Services.AddSingleton(options);
        builder.Services.AddSingleton(perClient);
        builder.Services.AddRateLimiter(o =>
        {
            o.RejectionStatusCode = StatusCodes.Status429TooManyRequests;
            o.GlobalLimiter = PartitionedRateLimiter.Create<HttpContext, string>(ctx =>
                RateLimitPartition.GetTokenBucketLimiter(ctx.Connection.RemoteIpAddress?.ToString() ?? "", _ => new TokenBucketRateLimiterOptions
                {
                    TokenLimit = RequestBurst,
                    TokensPerPeriod = RequestsPerSecond,
                    ReplenishmentPeriod = TimeSpan.FromSeconds(1),
                    QueueLimit = 0,
                }));
        });
        return builder;
    }

    /// <summary>Security headers, the rate limiter and the bearer token in front of every route but /healthz and the dashboard's files.</summary>
    private static void Guard(WebApplication app, SidecarOptions options)
    {
        app.Use(SecurityHeaders.Apply);
        app.Use(new HostAllowList(options).Apply);
        app.UseRateLimiter();
        if (options.Token is not { } token)
            return;
        var bearer = new BearerToken(token);
        app.Use((ctx, next) =>
        {
            // The dashboard's files hold no data: the page loads, then asks for the token the API needs.
            if (ctx.Request.Path.Equals("/healthz", StringComparison.Ordinal) || DashboardFiles.IsDashboardPath(ctx.Request.Path)
                || bearer.Accepts(ctx.Request.Headers.Authorization))
                return next(ctx);
            ctx.Response.Headers.WWWAuthenticate = "Bearer";
            return Routes.Error(ctx, StatusCodes.Status401Unauthorized, "missing or wrong bearer token (Authorization: Bearer <token>)");
        });
    }

    private static async Task ServeAsync(WebApplication app, SidecarOptions options, Action<string> started, CancellationToken stop)
    {
        await app.StartAsync(stop);
        string url = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()?.Addresses.FirstOrDefault()
                     ?? "http://" + SidecarOptions.Format(options.Listen);
        started(url.TrimEnd('/') + "/");
        await app.WaitForShutdownAsync(stop);
    }
}

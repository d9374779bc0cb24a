using System.Net.Sockets;
using System.Threading.RateLimiting;
using AIOps.Trace.Server.Api;
using AIOps.Trace.Server.Dashboard;
using AIOps.Trace.Server.Engine;
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
    public static async Task RunAsync(TraceEngine engine, SidecarOptions options, Action<string> started)
    {
        if (options.Refusal() is { } refusal)
            throw new ArgumentException(refusal, nameof(options));

        WebApplicationBuilder builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions { Args = [], ApplicationName = "aiops-trace" });
        builder.Logging.SetMinimumLevel(LogLevel.Warning);
        builder.WebHost.ConfigureKestrel(k =>
        {
            k.Listen(options.Listen);
            k.AddServerHeader = false;
            k.Limits.MaxRequestBodySize = SecurityHeaders.MaxRequestBodyBytes;
            k.Limits.MaxRequestLineSize = 8 * 1024;
            k.Limits.MaxRequestHeadersTotalSize = 16 * 1024;
            k.Limits.MaxRequestHeaderCount = 64;
            k.Limits.MaxConcurrentConnections = 512;
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
        builder.Services.AddSingleton(engine);
        builder.Services.AddSingleton(options);
        builder.Services.AddSingleton(new SidecarMetrics(options.Node));
        builder.Services.AddSingleton<StreamHub>(sp => new StreamHub(sp.GetRequiredService<SidecarMetrics>()));
        builder.Services.AddSingleton<EngineService>();
        builder.Services.AddHostedService(sp => sp.GetRequiredService<EngineService>());
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

        await using WebApplication app = builder.Build();
        app.Use(SecurityHeaders.Apply);
        app.UseRateLimiter();
        if (options.Token is { } token)
        {
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
        Routes.Map(app);
        app.MapDashboard();

        await app.StartAsync();
        string url = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()?.Addresses.FirstOrDefault()
                     ?? "http://" + SidecarOptions.Format(options.Listen);
        started(url.TrimEnd('/') + "/");
        await app.WaitForShutdownAsync();
    }
}

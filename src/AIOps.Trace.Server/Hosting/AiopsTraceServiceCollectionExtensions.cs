using System.Net;
using AIOps.Trace;
using AIOps.Trace.Analysis;
using AIOps.Trace.Server;
using AIOps.Trace.Server.Anomalies;
using AIOps.Trace.Server.Hosting;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Options;

namespace Microsoft.Extensions.DependencyInjection;

/// <summary>The engine in an app's own host: <c>builder.Services.AddAiopsTrace(o => ...)</c>, then <c>app.MapAiopsTrace()</c>.</summary>
public static class AiopsTraceServiceCollectionExtensions
{
    /// <summary>
    /// Registers the engine as a hosted service (it loads the programs when the host starts, cuts a
    /// window every <see cref="AiopsTraceOptions.Interval"/>, restarts after a failure), the options
    /// and their validation at start, the Meter <c>AIOps.Trace</c>, the Prometheus registry, the
    /// anomaly analysis, and a health check named <see cref="AiopsTraceHealthCheck.Name"/>. Logs go
    /// to the host's logging under the categories <c>AIOps.Trace.Server.Engine.*</c>. When the
    /// engine gives up, the app keeps running and the health check says why.
    /// </summary>
    public static IServiceCollection AddAiopsTrace(this IServiceCollection services, Action<AiopsTraceOptions>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(services);
        OptionsBuilder<AiopsTraceOptions> options = services.AddOptions<AiopsTraceOptions>();
        if (configure is not null)
            options.Configure(configure);
        options.ValidateOnStart();
        services.AddSingleton<IValidateOptions<AiopsTraceOptions>, AiopsTraceOptionsValidator>();

        // The routes read the sidecar's options: the same node, interval and series budget.
        services.AddSingleton(sp =>
        {
            AiopsTraceOptions o = Of(sp);
            return new SidecarOptions(new IPEndPoint(IPAddress.Loopback, 0), o.Interval, null, o.Node, o.Engine.HostRoot) { RunQueueDetail = o.RunQueueDetail, CollectBetweenWindows = o.CollectBetweenWindows };
        });
        services.AddSingleton(sp => new AnalysisPipeline(new PipelineOptions { Domains = Of(sp).Domains }));
        // No verdict store and no labels: labels change what the detector learns, and this host's auth is the app's.
        services.AddSingleton(sp => new AnomalyService(sp.GetRequiredService<AnalysisPipeline>(), null, Of(sp).Node, acceptsLabels: false));
        SidecarServices.AddEngine(services, first: null, restart: sp => () => TraceEngine.Start(Of(sp).Engine), policy: sp => Of(sp).Restarts,
            stopHostOnFatal: false);
        services.AddHealthChecks().Add(new HealthCheckRegistration(AiopsTraceHealthCheck.Name,
            sp => new AiopsTraceHealthCheck(sp.GetRequiredService<IReadiness>()), failureStatus: null, tags: [AiopsTraceHealthCheck.Name]));
        return services;
    }

    private static AiopsTraceOptions Of(IServiceProvider sp) => sp.GetRequiredService<IOptions<AiopsTraceOptions>>().Value;
}

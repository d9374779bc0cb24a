using AIOps.Trace.Server.Anomalies;
using AIOps.Trace.Server.Engine;
using AIOps.Trace.Server.Metrics;
using AIOps.Trace.Server.Streaming;
using AIOps.Trace.Telemetry;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace AIOps.Trace.Server.Hosting;

/// <summary>
/// The engine side of a sidecar as services, registered once for both hosts: `serve`'s own server
/// (<see cref="SidecarHost"/>) and an app that calls <c>AddAiopsTrace</c>. Expects
/// <see cref="SidecarOptions"/> and <see cref="AnomalyService"/> to be registered by the caller.
/// </summary>
internal static class SidecarServices
{
    /// <param name="first">An engine the caller started and disposes; null: the supervisor starts (and disposes) its own.</param>
    /// <param name="restart">How a new engine is started, from the host's services.</param>
    /// <param name="policy">Backoff and limit of restarts, from the host's services.</param>
    /// <param name="stopHostOnFatal">Whether the host stops when the engine gives up.</param>
    public static void AddEngine(IServiceCollection services, TraceEngine? first, Func<IServiceProvider, Func<TraceEngine>> restart,
        Func<IServiceProvider, SupervisorPolicy> policy, bool stopHostOnFatal)
    {
        services.AddLogging();
        services.AddMetrics();
        services.AddSingleton(sp =>
        {
            SidecarOptions options = sp.GetRequiredService<SidecarOptions>();
            return new SidecarMetrics(options.Node, options.RunQueueDetail);
        });
        services.AddSingleton(sp => sp.GetRequiredService<SidecarMetrics>().Registry);
        services.AddSingleton(sp => new EngineMeter(sp.GetRequiredService<System.Diagnostics.Metrics.IMeterFactory>()));
        services.AddSingleton(sp => new StreamHub(sp.GetRequiredService<SidecarMetrics>()));
        services.AddSingleton(sp => new EngineSupervisor(sp, first, restart(sp), policy(sp), sp.GetRequiredService<SidecarMetrics>(),
            sp.GetRequiredService<IHostApplicationLifetime>(), sp.GetRequiredService<ILogger<EngineSupervisor>>(), stopHostOnFatal));
        services.AddSingleton<IReadiness>(sp => sp.GetRequiredService<EngineSupervisor>());
        services.AddHostedService(sp => sp.GetRequiredService<EngineSupervisor>());
    }
}

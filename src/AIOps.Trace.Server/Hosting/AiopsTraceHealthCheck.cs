using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace AIOps.Trace.Server.Hosting;

/// <summary>
/// The engine's health for the host's health checks (<c>MapHealthChecks</c>): unhealthy while the
/// engine is down or gave up, degraded until it has attached and cut a window, healthy after.
/// The description says why, in the words /healthz and /readyz use.
/// </summary>
public sealed class AiopsTraceHealthCheck(IReadiness readiness) : IHealthCheck
{
    /// <summary>The name the check is registered under.</summary>
    public const string Name = "aiops-trace";

    public Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default) =>
        Task.FromResult(readiness.Unhealthy is { } down ? HealthCheckResult.Unhealthy(down)
            : readiness.NotReady is { } notReady ? HealthCheckResult.Degraded(notReady)
            : HealthCheckResult.Healthy("ready"));
}

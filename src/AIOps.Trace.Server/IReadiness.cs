namespace AIOps.Trace.Server;

/// <summary>What /readyz asks: the engine on a sidecar, the analysis loop on an analysis-only host.</summary>
public interface IReadiness
{
    /// <summary>Why the host is not ready, or null when it is.</summary>
    string? NotReady { get; }

    /// <summary>Why the host is not alive (/healthz answers 503), or null when it is.</summary>
    string? Unhealthy => null;
}

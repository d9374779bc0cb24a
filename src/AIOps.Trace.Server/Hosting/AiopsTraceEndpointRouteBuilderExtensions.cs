using AIOps.Trace.Server.Api;
using AIOps.Trace.Server.Dashboard;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;

namespace Microsoft.AspNetCore.Builder;

/// <summary>The sidecar's endpoints in an app's own ASP.NET Core pipeline.</summary>
public static class AiopsTraceEndpointRouteBuilderExtensions
{
    /// <summary>
    /// Maps what `aiops-trace serve` serves, from the services <c>AddAiopsTrace</c> registered:
    /// /healthz, /readyz, /metrics (Prometheus), /api/v1/containers[/{id}[/wizard]], /api/v1/summary,
    /// /api/v1/stream (Server-Sent Events), /api/v1/verdicts, /api/v1/domains and the dashboard (/ and
    /// /dashboard/*). Authentication, TLS and rate limits are the app's: the returned group takes
    /// its conventions, e.g. <c>.RequireAuthorization()</c>.
    /// </summary>
    public static RouteGroupBuilder MapAiopsTrace(this IEndpointRouteBuilder endpoints)
    {
        ArgumentNullException.ThrowIfNull(endpoints);
        RouteGroupBuilder group = endpoints.MapGroup("");
        Routes.Map(group);
        group.MapDashboard();
        return group;
    }
}

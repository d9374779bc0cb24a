using Microsoft.AspNetCore.Http;

namespace AIOps.Trace.Server.Security;

/// <summary>
/// The Host header a request may carry. A loopback server without a token is reachable from a
/// browser on the node through DNS rebinding (a page whose name resolves to 127.0.0.1): such a
/// request carries the attacker's name as Host, so a loopback server answers only to loopback
/// names unless told otherwise (--allowed-hosts). A server on another address needs a token and
/// takes any Host unless a list is given. /healthz answers whatever the Host (probes use the pod's IP).
/// </summary>
internal sealed class HostAllowList
{
    private static readonly string[] LoopbackNames = ["localhost", "127.0.0.1", "::1", "[::1]"];
    private readonly HashSet<string>? _allowed;

    public HostAllowList(SidecarOptions options)
    {
        IReadOnlyList<string>? names = options.AllowedHosts
            ?? (System.Net.IPAddress.IsLoopback(options.Listen.Address) ? LoopbackNames : null);
        _allowed = names is null || names.Contains("*") ? null : new HashSet<string>(names, StringComparer.OrdinalIgnoreCase);
    }

    public Task Apply(HttpContext ctx, RequestDelegate next)
    {
        if (_allowed is null || ctx.Request.Path.Equals("/healthz", StringComparison.Ordinal))
            return next(ctx);
        string host = ctx.Request.Host.Host;
        if (_allowed.Contains(host))
            return next(ctx);
        return Api.Routes.Error(ctx, StatusCodes.Status421MisdirectedRequest,
            $"Host '{host}' is not served here: expected one of {string.Join(", ", _allowed.Order(StringComparer.Ordinal))} (serve --allowed-hosts)");
    }
}

using Microsoft.AspNetCore.Http;

namespace AIOps.Trace.Server.Security;

/// <summary>Headers every response carries: no sniffing, no framing, the dashboard may load only its own files.</summary>
internal static class SecurityHeaders
{
    public const string ContentSecurityPolicy = "default-src 'self'; base-uri 'none'; frame-ancestors 'none'; form-action 'none'";

    public static Task Apply(HttpContext ctx, RequestDelegate next)
    {
        IHeaderDictionary h = ctx.Response.Headers;
        h.XContentTypeOptions = "nosniff";
        h.ContentSecurityPolicy = ContentSecurityPolicy;
        h.XFrameOptions = "DENY";
        h["Referrer-Policy"] = "no-referrer";
        h.CacheControl = "no-store";
        return next(ctx);
    }
}

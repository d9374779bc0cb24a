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
        // Kestrel's body limit bites only when a body is read (POST /api/v1/verdicts): a
        // declared body over the limit is refused at once rather than waited for.
        if (ctx.Request.ContentLength > MaxRequestBodyBytes)
            return Api.Routes.Error(ctx, StatusCodes.Status413PayloadTooLarge, $"request body over {MaxRequestBodyBytes} bytes: the largest body a route takes (a label)");
        return next(ctx);
    }

    /// <summary>Largest request body Kestrel accepts: a label is a few hundred bytes.</summary>
    public const int MaxRequestBodyBytes = 1024;
}

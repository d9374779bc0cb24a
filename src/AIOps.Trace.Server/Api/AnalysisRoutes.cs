using System.Text.Json;
using AIOps.Trace.Analysis.Verification;
using AIOps.Trace.Server.Anomalies;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;

namespace AIOps.Trace.Server.Api;

/// <summary>
/// The anomaly analysis' routes: the last round's verdicts and domains, and operators' labels.
/// POST is the one route that changes state: it is refused outright without a bearer token (the
/// token check in front of every route then guards it), reads a body of at most
/// <see cref="Security.SecurityHeaders.MaxRequestBodyBytes"/> and answers 400 naming the field at fault.
/// </summary>
internal static partial class Routes
{
    private const string LabelShape = "expected {\"container\": \"<key or id>\", \"abnormal\": true|false, \"kind\": \"<kind, with abnormal only>\"}";

    /// <summary>GET and POST /api/v1/verdicts, GET /api/v1/domains.</summary>
    public static void MapAnalysis(IEndpointRouteBuilder app)
    {
        app.MapGet("/api/v1/verdicts", (RequestDelegate)Verdicts);
        app.MapPost("/api/v1/verdicts", (RequestDelegate)LabelAsync);
        app.MapGet("/api/v1/domains", (RequestDelegate)Domains);
    }

    private static Task Verdicts(HttpContext ctx) =>
        ctx.Response.WriteAsJsonAsync(ctx.RequestServices.GetRequiredService<AnomalyService>().View.Verdicts, ApiJson.Default.VerdictsDocument,
            cancellationToken: ctx.RequestAborted);

    private static Task Domains(HttpContext ctx) =>
        ctx.Response.WriteAsJsonAsync(ctx.RequestServices.GetRequiredService<AnomalyService>().View.Domains, ApiJson.Default.DomainsDocument,
            cancellationToken: ctx.RequestAborted);

    private static async Task LabelAsync(HttpContext ctx)
    {
        AnomalyService anomalies = ctx.RequestServices.GetRequiredService<AnomalyService>();
        if (!anomalies.AcceptsLabels)
        {
            await Error(ctx, StatusCodes.Status403Forbidden,
                "labels change what the detector learns: this server takes them only behind a bearer token (start it with --token-file FILE)");
            return;
        }
        if (!ctx.Request.HasJsonContentType())
        {
            await Error(ctx, StatusCodes.Status415UnsupportedMediaType, "Content-Type: expected application/json; " + LabelShape);
            return;
        }
        LabelRequest? request;
        try
        {
            request = await JsonSerializer.DeserializeAsync(ctx.Request.Body, ApiJson.Default.LabelRequest, ctx.RequestAborted);
        }
        catch (JsonException e)
        {
            string field = e.Path is { Length: > 2 } p && p.StartsWith("$.", StringComparison.Ordinal) ? p[2..] : "body";
            await Error(ctx, StatusCodes.Status400BadRequest, $"{field}: not a label ({FirstSentence(e.Message)}); {LabelShape}");
            return;
        }
        catch (BadHttpRequestException e) when (e.StatusCode == StatusCodes.Status413PayloadTooLarge)
        {
            await Error(ctx, StatusCodes.Status413PayloadTooLarge, $"request body over {Security.SecurityHeaders.MaxRequestBodyBytes} bytes");
            return;
        }
        if (request is null)
        {
            await Error(ctx, StatusCodes.Status400BadRequest, "body: null is not a label; " + LabelShape);
            return;
        }
        StoredVerdictView stored;
        try
        {
            stored = anomalies.Label(request, DateTimeOffset.UtcNow);
        }
        catch (LabelRejectedException e)
        {
            await Error(ctx, StatusCodes.Status400BadRequest, e.Message);
            return;
        }
        catch (VerdictStoreException e)
        {
            // 507: the disk is full; 503: the store is read-only (both fixed on the node, not by the client).
            await Error(ctx, e.Full ? StatusCodes.Status507InsufficientStorage : e.ReadOnly ? StatusCodes.Status503ServiceUnavailable
                : StatusCodes.Status500InternalServerError, e.Message);
            return;
        }
        ctx.Response.StatusCode = StatusCodes.Status201Created;
        await ctx.Response.WriteAsJsonAsync(stored, ApiJson.Default.StoredVerdictView, cancellationToken: ctx.RequestAborted);
    }

    private static string FirstSentence(string message)
    {
        int end = message.IndexOf(". ", StringComparison.Ordinal);
        return (end > 0 ? message[..end] : message).TrimEnd('.');
    }
}

using System.Collections.Frozen;
using System.Reflection;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;

namespace AIOps.Trace.Server.Dashboard;

/// <summary>
/// The dashboard's static files (wwwroot/: index.html, app.js, app.css, favicon.svg), embedded in
/// the assembly as manifest resources so the NativeAOT binary carries them: no file on disk, no
/// CDN. Served at <c>/</c> and <c>/dashboard/{file}</c>. They hold no data (the page fetches the
/// API with the bearer token the user types), so they are the routes that need no token.
/// </summary>
public static class DashboardFiles
{
    private const string ResourcePrefix = "aiops-dashboard/";

    private static readonly FrozenDictionary<string, (byte[] Body, string ContentType)> Files = Load();

    /// <summary>File names served under /dashboard/.</summary>
    public static IEnumerable<string> Names => Files.Keys;

    /// <summary>True for the page and its files: the paths that are served without a token.</summary>
    public static bool IsDashboardPath(PathString path) =>
        path == "/" || (path.StartsWithSegments("/dashboard", out PathString rest) && rest.HasValue && Files.ContainsKey(rest.Value![1..]));

    /// <summary>Maps GET / (index.html) and GET /dashboard/{file}.</summary>
    public static IEndpointRouteBuilder MapDashboard(this IEndpointRouteBuilder app)
    {
        // RequestDelegate overloads: no delegate inference, so nothing for NativeAOT to generate.
        app.MapGet("/", context => Send(context, "index.html"));
        app.MapGet("/dashboard/{file}", context => Send(context, context.Request.RouteValues["file"] as string ?? ""));
        return app;
    }

    private static Task Send(HttpContext context, string name)
    {
        if (!Files.TryGetValue(name, out var f))
        {
            context.Response.StatusCode = StatusCodes.Status404NotFound;
            return Task.CompletedTask;
        }
        context.Response.ContentType = f.ContentType;
        context.Response.ContentLength = f.Body.Length;
        return context.Response.Body.WriteAsync(f.Body).AsTask();
    }

    private static FrozenDictionary<string, (byte[], string)> Load()
    {
        Assembly assembly = typeof(DashboardFiles).Assembly;
        var files = new Dictionary<string, (byte[], string)>(StringComparer.Ordinal);
        foreach (string resource in assembly.GetManifestResourceNames())
        {
            if (!resource.StartsWith(ResourcePrefix, StringComparison.Ordinal))
                continue;
            using Stream s = assembly.GetManifestResourceStream(resource)!;
            using var copy = new MemoryStream();
            s.CopyTo(copy);
            string name = resource[ResourcePrefix.Length..];
            files[name] = (copy.ToArray(), ContentType(name));
        }
        if (!files.ContainsKey("index.html"))
            throw new InvalidOperationException("the dashboard's index.html is not embedded in " + assembly.GetName().Name);
        return files.ToFrozenDictionary(StringComparer.Ordinal);
    }

    private static string ContentType(string name) => Path.GetExtension(name) switch
    {
        ".html" => "text/html; charset=utf-8",
        ".js" => "text/javascript; charset=utf-8",
        ".css" => "text/css; charset=utf-8",
        ".svg" => "image/svg+xml",
        _ => "application/octet-stream",
    };
}

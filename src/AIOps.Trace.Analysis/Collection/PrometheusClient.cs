using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using System.Text.Json;

namespace AIOps.Trace.Analysis.Collection;

/// <summary>One sample of an instant vector: the series' labels and its value (NaN and infinities kept).</summary>
public sealed record PrometheusSample(IReadOnlyDictionary<string, string> Labels, double Value)
{
    /// <summary>The value of label <paramref name="name"/>, or null when the series has none (Prometheus drops empty labels).</summary>
    public string? Label(string name) => Labels.TryGetValue(name, out string? v) && v.Length > 0 ? v : null;
}

/// <summary>
/// Instant queries against a Prometheus server's HTTP API (<c>GET /api/v1/query</c>). Every way
/// the answer can fail (no connection, an HTTP error, Prometheus' own "error" status, a body that
/// is not its JSON, a result that is not an instant vector) ends as one
/// <see cref="ContainerSourceException"/> whose message names the server and what was wrong.
/// </summary>
public sealed class PrometheusClient : IDisposable
{
    private readonly HttpClient _http;

    /// <param name="url">The server's base URL (a path prefix such as http://host/prometheus is kept).</param>
    /// <param name="bearerToken">Sent as "Authorization: Bearer ..." when the server sits behind an authenticating proxy.</param>
    /// <param name="timeout">How long one query may take.</param>
    /// <param name="handler">The HTTP handler (tests); the default opens real connections.</param>
    public PrometheusClient(Uri url, string? bearerToken = null, TimeSpan? timeout = null, HttpMessageHandler? handler = null)
    {
        if (!url.IsAbsoluteUri || url.Scheme is not ("http" or "https"))
            throw new ArgumentException($"'{url}' is not an http(s) URL", nameof(url));
        Url = url;
        var baseAddress = new Uri(url.AbsoluteUri.EndsWith('/') ? url.AbsoluteUri : url.AbsoluteUri + "/");
        _http = handler is null ? new HttpClient() : new HttpClient(handler);
        _http.BaseAddress = baseAddress;
        _http.Timeout = timeout ?? TimeSpan.FromSeconds(30);
        if (bearerToken is not null)
            _http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", bearerToken);
    }

    /// <summary>The server, as the user named it.</summary>
    public Uri Url { get; }

    /// <summary>Runs the instant query <paramref name="promql"/> now and returns its samples.</summary>
    /// <exception cref="ContainerSourceException">The server could not be asked, or did not answer with an instant vector.</exception>
    public async Task<IReadOnlyList<PrometheusSample>> QueryAsync(string promql, CancellationToken cancel)
    {
        string body;
        HttpStatusCode status;
        try
        {
            using HttpResponseMessage r = await _http.GetAsync("api/v1/query?query=" + Uri.EscapeDataString(promql), cancel).ConfigureAwait(false);
            status = r.StatusCode;
            body = await r.Content.ReadAsStringAsync(cancel).ConfigureAwait(false);
        }
        catch (HttpRequestException e)
        {
            throw Fail($"cannot be reached ({Innermost(e)})", e);
        }
        catch (TaskCanceledException e) when (!cancel.IsCancellationRequested)
        {
            throw Fail($"did not answer within {_http.Timeout.TotalSeconds:0.#}s", e);
        }

        PrometheusResponse? response;
        try
        {
            response = JsonSerializer.Deserialize(body, PrometheusJsonContext.Default.PrometheusResponse);
        }
        catch (JsonException e)
        {
            // A proxy's HTML error page or a wrong URL: say what came back, not only the parse error.
            throw Fail((int)status is >= 200 and < 300
                ? $"answered with something other than Prometheus JSON ({e.Message}): {Excerpt(body)}"
                : $"answered HTTP {(int)status} {status}: {Excerpt(body)}", e);
        }
        if (response is null)
            throw Fail($"answered HTTP {(int)status} with an empty document");
        if (response.Status == "error")
            throw Fail($"refused the query {promql}: {response.ErrorType}: {response.Error}");
        if ((int)status is < 200 or >= 300)
            throw Fail($"answered HTTP {(int)status} {status}: {Excerpt(body)}");
        if (response.Status != "success" || response.Data?.Result is not { } result)
            throw Fail($"answered without a result (status '{response.Status}'): {Excerpt(body)}");
        if (response.Data.ResultType != "vector")
            throw Fail($"answered {promql} with a {response.Data.ResultType}, not an instant vector");

        var samples = new List<PrometheusSample>(result.Count);
        foreach (PrometheusSeries s in result)
        {
            if (s.Value is not [_, { ValueKind: JsonValueKind.String } v] || !TryParseValue(v.GetString()!, out double value))
                throw Fail($"answered a sample that is not [time, \"value\"]: {Excerpt(body)}");
            samples.Add(new PrometheusSample(s.Metric ?? new Dictionary<string, string>(), value));
        }
        return samples;
    }

    /// <summary>Prometheus writes sample values as Go formats floats: "0.25", "1e+06", "NaN", "+Inf", "-Inf".</summary>
    internal static bool TryParseValue(string text, out double value)
    {
        switch (text)
        {
            case "NaN":
                value = double.NaN;
                return true;
            case "+Inf":
                value = double.PositiveInfinity;
                return true;
            case "-Inf":
                value = double.NegativeInfinity;
                return true;
            default:
                return double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out value);
        }
    }

    private ContainerSourceException Fail(string what, Exception? inner = null) => new($"prometheus {Url}: {what}", inner);

    private static string Innermost(Exception e)
    {
        while (e.InnerException is not null)
            e = e.InnerException;
        return e.Message;
    }

    /// <summary>The start of a body, on one line, for a message.</summary>
    private static string Excerpt(string body)
    {
        string one = string.Join(' ', body.Split((char[])['\r', '\n', '\t'], StringSplitOptions.RemoveEmptyEntries)).Trim();
        return one.Length == 0 ? "(empty body)" : one.Length <= 160 ? one : one[..160] + "...";
    }

    public void Dispose() => _http.Dispose();
}

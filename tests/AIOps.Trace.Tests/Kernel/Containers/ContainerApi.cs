using System.Net.Http.Headers;
using System.Text.Json;

namespace AIOps.Trace.Tests.Kernel.Containers;

/// <summary>A containerised `serve`'s HTTP API, asked with the pod's bearer token.</summary>
internal sealed class ContainerApi : IDisposable
{
    private readonly HttpClient _http;

    public ContainerApi(string address, int port, string token)
    {
        _http = new HttpClient { BaseAddress = new Uri($"http://{address}:{port}/"), Timeout = TimeSpan.FromSeconds(5) };
        _http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", token);
    }

    /// <summary>The status of GET <paramref name="path"/>, or null when nothing answers yet.</summary>
    public int? Status(string path)
    {
        try
        {
            using HttpResponseMessage r = _http.GetAsync(path).GetAwaiter().GetResult();
            return (int)r.StatusCode;
        }
        catch (Exception e) when (e is HttpRequestException or TaskCanceledException)
        {
            return null;
        }
    }

    /// <summary>GET /api/v1/containers.</summary>
    public JsonDocument Containers()
    {
        string body = _http.GetStringAsync("api/v1/containers").GetAwaiter().GetResult();
        return JsonDocument.Parse(body);
    }

    /// <summary>The entry of the container whose cgroup is <paramref name="cgroup"/>, if listed.</summary>
    public static JsonElement? Find(JsonDocument list, string cgroup)
    {
        foreach (JsonElement c in list.RootElement.GetProperty("containers").EnumerateArray())
            if (c.GetProperty("cgroup").GetString() == cgroup)
                return c;
        return null;
    }

    public static long Seq(JsonDocument list) => list.RootElement.GetProperty("seq").GetInt64();

    public void Dispose() => _http.Dispose();
}

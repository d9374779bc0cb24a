using System.Text.Json;

namespace AIOps.Trace.Tests.Kernel.Serve;

/// <summary>A reading client of /api/v1/stream: yields each event's name and JSON data.</summary>
public sealed class SseClient : IDisposable
{
    private readonly HttpResponseMessage _response;
    private readonly StreamReader _reader;

    private SseClient(HttpResponseMessage response)
    {
        _response = response;
        _reader = new StreamReader(response.Content.ReadAsStream());
    }

    public static async Task<SseClient> ConnectAsync(HttpClient http)
    {
        HttpResponseMessage r = await http.GetAsync("api/v1/stream", HttpCompletionOption.ResponseHeadersRead);
        r.EnsureSuccessStatusCode();
        Assert.Equal("text/event-stream", r.Content.Headers.ContentType?.MediaType);
        return new SseClient(r);
    }

    /// <summary>The next event, or null at the end of the stream.</summary>
    public async Task<(string Event, JsonDocument Data)?> NextAsync(CancellationToken cancel = default)
    {
        string? name = null, data = null;
        while (await _reader.ReadLineAsync(cancel) is { } line)
        {
            if (line.Length == 0)
            {
                if (name is not null && data is not null)
                    return (name, JsonDocument.Parse(data));
                continue;
            }
            if (line.StartsWith("event: ", StringComparison.Ordinal))
                name = line[7..];
            else if (line.StartsWith("data: ", StringComparison.Ordinal))
                data = line[6..];
        }
        return null;
    }

    public void Dispose()
    {
        _reader.Dispose();
        _response.Dispose();
    }
}

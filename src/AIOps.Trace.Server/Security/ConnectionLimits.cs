using System.Collections.Concurrent;
using System.Net;
using Microsoft.AspNetCore.Connections;

namespace AIOps.Trace.Server.Security;

/// <summary>
/// Open connections per client address. Kestrel's own limit is shared by everyone, so one client
/// holding idle connections could starve the kubelet's probes; here each address gets at most
/// <see cref="PerClient"/> at once and the next is closed before TLS or HTTP start. Counted before
/// any authentication: this is what an unauthenticated client can hold.
/// </summary>
internal sealed class ConnectionLimits(int perClient)
{
    private readonly ConcurrentDictionary<IPAddress, int> _open = new();
    private long _refused;

    public int PerClient { get; } = perClient;

    /// <summary>Connections closed at once because their address already held <see cref="PerClient"/>.</summary>
    public long Refused => Interlocked.Read(ref _refused);

    /// <summary>Kestrel connection middleware (ListenOptions.Use).</summary>
    public ConnectionDelegate Wrap(ConnectionDelegate next) => async connection =>
    {
        IPAddress client = (connection.RemoteEndPoint as IPEndPoint)?.Address ?? IPAddress.None;
        if (client.IsIPv4MappedToIPv6)
            client = client.MapToIPv4();
        if (_open.AddOrUpdate(client, 1, (_, n) => n + 1) > PerClient)
        {
            Release(client);
            Interlocked.Increment(ref _refused);
            connection.Abort(new ConnectionAbortedException($"over {PerClient} connections from {client}"));
            return;
        }
        try
        {
            await next(connection);
        }
        finally
        {
            Release(client);
        }
    };

    private void Release(IPAddress client)
    {
        // Removes the entry when it reaches zero, so addresses seen once do not accumulate.
        while (true)
        {
            int n = _open[client];
            if (n == 1 ? _open.TryRemove(KeyValuePair.Create(client, 1)) : _open.TryUpdate(client, n - 1, n))
                return;
        }
    }
}

using System.Threading.Channels;
using AIOps.Trace.Server.Metrics;

namespace AIOps.Trace.Server.Streaming;

/// <summary>
/// Fans each window's frame out to the stream clients. Publishing never waits: each client has
/// a bounded buffer, and a frame that does not fit is dropped for that client and counted,
/// so a client that stops reading costs the engine nothing but the drop.
/// </summary>
public sealed class StreamHub(SidecarMetrics metrics, int maxClients = StreamHub.DefaultMaxClients)
{
    /// <summary>Frames a client may fall behind before it loses them.</summary>
    public const int ClientBuffer = 8;

    public const int DefaultMaxClients = 256;

    private readonly Lock _gate = new();
    private readonly List<StreamClient> _clients = new();
    private long _dropped;

    public int Clients
    {
        get
        {
            lock (_gate)
                return _clients.Count;
        }
    }

    /// <summary>Frames dropped for slow clients since start.</summary>
    public long DroppedFrames => Interlocked.Read(ref _dropped);

    /// <summary>Registers a client, or returns null when the limit is reached.</summary>
    public StreamClient? Join()
    {
        lock (_gate)
        {
            if (_clients.Count >= maxClients)
                return null;
            var client = new StreamClient(this);
            _clients.Add(client);
            metrics.StreamClients.Set(_clients.Count);
            return client;
        }
    }

    internal void Leave(StreamClient client)
    {
        lock (_gate)
        {
            _clients.Remove(client);
            metrics.StreamClients.Set(_clients.Count);
        }
        client.Complete();
    }

    /// <summary>Offers a serialized frame (compact JSON object) of window <paramref name="seq"/> to every client.</summary>
    public void Publish(long seq, byte[] frameJson)
    {
        StreamClient[] clients;
        lock (_gate)
            clients = _clients.ToArray();
        foreach (StreamClient c in clients)
        {
            if (c.Offer(new StreamItem(seq, frameJson)))
                continue;
            Interlocked.Increment(ref _dropped);
            metrics.StreamDroppedFrames.Inc();
        }
    }
}

/// <summary>One stream connection's bounded frame buffer.</summary>
public sealed class StreamClient : IDisposable
{
    private readonly StreamHub _hub;
    private readonly Channel<StreamItem> _frames = Channel.CreateBounded<StreamItem>(new BoundedChannelOptions(StreamHub.ClientBuffer)
    {
        SingleReader = true,
        SingleWriter = true,
        FullMode = BoundedChannelFullMode.Wait, // TryWrite then fails when full: the frame is dropped, not an older one
    });
    private long _dropped;

    internal StreamClient(StreamHub hub) => _hub = hub;

    public ChannelReader<StreamItem> Frames => _frames.Reader;

    /// <summary>Frames this client lost since it last took the count.</summary>
    public long TakeDropped() => Interlocked.Exchange(ref _dropped, 0);

    internal bool Offer(StreamItem frame)
    {
        if (_frames.Writer.TryWrite(frame))
            return true;
        Interlocked.Increment(ref _dropped);
        return false;
    }

    internal void Complete() => _frames.Writer.TryComplete();

    public void Dispose() => _hub.Leave(this);
}

/// <summary>One frame as serialized once for every client.</summary>
public sealed record StreamItem(long Seq, byte[] Json);

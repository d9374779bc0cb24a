namespace AIOps.Trace.Rings;

/// <summary>
/// A transport the BPF programs write records into: the BPF ring buffer (<see cref="RingBuffer"/>)
/// or a per-CPU perf buffer. One reader thread waits on it and drains it into a struct handler.
/// </summary>
public interface IEventReader : IDisposable
{
    /// <summary>"ringbuf" or "perfbuf".</summary>
    string Transport { get; }

    /// <summary>Waits up to <paramref name="timeoutMs"/> for the kernel to signal data; callers drain after every return.</summary>
    bool Wait(int timeoutMs);

    /// <summary>Hands every available record to <paramref name="handler"/>; returns how many.</summary>
    int Drain<THandler>(ref THandler handler) where THandler : struct, IRecordHandler;

    /// <summary>Records the transport itself reported lost (perf's PERF_RECORD_LOST); the ring buffer's losses are counted by the programs.</summary>
    long LostRecords { get; }

    /// <summary>Records the reader could not read: of an unknown type, or at a position whose size is impossible (then the rest of that ring is skipped, see <see cref="SkippedBytes"/>).</summary>
    long UnreadableRecords { get; }

    /// <summary>Bytes skipped unread after a record of impossible size (no record boundary to resume from).</summary>
    long SkippedBytes { get; }
}

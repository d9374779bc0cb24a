using System.Runtime.CompilerServices;

namespace AIOps.Trace.Rings;

/// <summary>
/// Exclusive, short-lived read access to a mapped BPF ring buffer. Records come out as spans
/// into the mapping; <see cref="Commit"/> publishes the consumer position, after which the
/// kernel may overwrite them, so a span must not outlive the next Commit or Dispose.
/// </summary>
public unsafe ref struct RingLease
{
    // include/uapi/linux/bpf.h: BPF_RINGBUF_BUSY_BIT, BPF_RINGBUF_DISCARD_BIT, BPF_RINGBUF_HDR_SZ.
    internal const uint BusyBit = 1u << 31;
    internal const uint DiscardBit = 1u << 30;
    internal const int HeaderSize = 8;

    private readonly RingBuffer _ring;
    private ulong _consumer;
    private ulong _producer;
    private bool _disposed;

    internal RingLease(RingBuffer ring)
    {
        _ring = ring;
        _consumer = Volatile.Read(ref *ring.ConsumerPos);
        _producer = _consumer;
    }

    /// <summary>Bytes consumed but not yet committed.</summary>
    public readonly ulong Pending => _consumer - Volatile.Read(ref *_ring.ConsumerPos);

    /// <summary>
    /// The next committed record, skipping discarded ones. False when the ring is empty or the
    /// next record is still being written (BUSY): the caller waits and tries again later.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public bool TryRead(out ReadOnlySpan<byte> record)
    {
        while (true)
        {
            if (_consumer == _producer)
            {
                // Acquire: the producer position is published after the record headers.
                _producer = Volatile.Read(ref *_ring.ProducerPos);
                if (_consumer == _producer)
                {
                    record = default;
                    return false;
                }
            }

            byte* header = _ring.Data + (_consumer & _ring.Mask);
            uint len = Volatile.Read(ref *(uint*)header);
            if ((len & BusyBit) != 0)
            {
                record = default;
                return false;
            }

            uint size = len & ~(BusyBit | DiscardBit);
            _consumer += (size + HeaderSize + 7u) & ~7ul;
            if ((len & DiscardBit) != 0)
                continue;

            // The data area is mapped twice in a row, so a record that wraps is contiguous.
            record = new ReadOnlySpan<byte>(header + HeaderSize, (int)size);
            return true;
        }
    }

    /// <summary>Gives the space of every record read so far back to the kernel.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public readonly void Commit() => Volatile.Write(ref *_ring.ConsumerPos, _consumer);

    /// <summary>Commits and releases the lease.</summary>
    public void Dispose()
    {
        if (_disposed)
            return;
        _disposed = true;
        Commit();
        _ring.Release();
    }
}

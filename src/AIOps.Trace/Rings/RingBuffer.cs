using System.Runtime.CompilerServices;
using AIOps.Trace.Interop;

namespace AIOps.Trace.Rings;

/// <summary>
/// A BPF ring buffer (BPF_MAP_TYPE_RINGBUF) mapped into this process and read directly from
/// C#: no copy and no native call per record. One consumer at a time; see <see cref="Lease"/>.
/// </summary>
internal sealed unsafe class RingBuffer : IEventReader
{
    private const int CommitEvery = 256;

    private Interop.Interop.RingMapping _mapping;
    private readonly SafeOwnedFdHandle _epoll;
    private int _leased;
    private bool _disposed;

    /// <summary>Maps the ring behind <paramref name="mapFd"/> (the fd stays owned by the caller).</summary>
    public RingBuffer(int mapFd)
    {
        Ensure.Success(Interop.Interop.RingBufferMap(mapFd, out _mapping), "map ring buffer");
        int ep = Interop.Interop.EpollOpen(mapFd);
        if (ep < 0)
        {
            Interop.Interop.RingBufferUnmap(ref _mapping);
            Ensure.Throw(ep, "watch ring buffer with epoll");
        }
        _epoll = new SafeOwnedFdHandle(ep);
    }

    /// <summary>For tests and benchmarks: a ring laid out like the kernel's over caller-owned memory.</summary>
    internal RingBuffer(byte* consumerPage, byte* producerPage, byte* data, ulong dataSize)
    {
        if (dataSize == 0 || (dataSize & (dataSize - 1)) != 0)
            throw new ArgumentException("ring data size must be a power of two", nameof(dataSize));
        _mapping = new Interop.Interop.RingMapping { Consumer = consumerPage, Producer = producerPage, Data = data, DataSize = dataSize };
        _epoll = new SafeOwnedFdHandle();
        _mapping.PageSize = 0; // not ours to unmap
    }

    /// <inheritdoc/>
    public string Transport => "ringbuf";

    /// <inheritdoc/>
    public long LostRecords => 0;

    /// <inheritdoc/>
    /// <remarks>The kernel writes every ring buffer header itself: there is nothing to misread.</remarks>
    public long UnreadableRecords => 0;

    /// <inheritdoc/>
    public long SkippedBytes => 0;

    /// <summary>Size of the data area in bytes.</summary>
    public ulong Capacity => _mapping.DataSize;

    internal ulong* ConsumerPos => (ulong*)_mapping.Consumer;
    internal ulong* ProducerPos => (ulong*)_mapping.Producer;
    internal byte* Data => _mapping.Data;
    internal ulong Mask => _mapping.DataSize - 1;

    /// <summary>Bytes written by the kernel and not yet consumed.</summary>
    public ulong Backlog => Volatile.Read(ref *ProducerPos) - Volatile.Read(ref *ConsumerPos);

    /// <summary>Takes the ring for reading. Throws when another lease is open.</summary>
    public RingLease Lease()
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        if (Interlocked.CompareExchange(ref _leased, 1, 0) != 0)
            ThrowHelper.ThrowConcurrentLease();
        return new RingLease(this);
    }

    internal void Release() => Volatile.Write(ref _leased, 0);

    /// <summary>
    /// Hands every available record to <paramref name="handler"/>, committing as it goes so the
    /// kernel regains space during a long drain. Returns the number of records.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public int Drain<THandler>(ref THandler handler) where THandler : struct, IRecordHandler
    {
        int count = 0;
        RingLease lease = Lease();
        try
        {
            while (lease.TryRead(out ReadOnlySpan<byte> record))
            {
                handler.OnRecord(record);
                if (++count % CommitEvery == 0)
                    lease.Commit();
            }
        }
        finally
        {
            lease.Dispose();
        }
        return count;
    }

    /// <summary>
    /// The safe, copying counterpart of <see cref="Drain{THandler}(ref THandler)"/> for code that
    /// wants to keep records: the next record as a new array, or null when none is ready.
    /// Allocates per record; the engine's own reader never uses it.
    /// </summary>
    public byte[]? ReadCopy()
    {
        RingLease lease = Lease();
        try
        {
            return lease.TryRead(out ReadOnlySpan<byte> record) ? record.ToArray() : null;
        }
        finally
        {
            lease.Dispose();
        }
    }

    /// <summary>
    /// Waits until the kernel signals data or <paramref name="timeoutMs"/> passes. The programs
    /// send most records without a wake-up, so callers drain after every return.
    /// </summary>
    public bool Wait(int timeoutMs)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        if (_epoll.IsInvalid)
        {
            Thread.Sleep(timeoutMs);
            return Backlog > 0;
        }
        return Ensure.Success(Interop.Interop.EpollWait(_epoll.Fd, timeoutMs), "wait for ring buffer") > 0;
    }

    public void Dispose()
    {
        if (_disposed)
            return;
        _disposed = true;
        _epoll.Dispose();
        if (_mapping.PageSize != 0)
            Interop.Interop.RingBufferUnmap(ref _mapping);
    }
}

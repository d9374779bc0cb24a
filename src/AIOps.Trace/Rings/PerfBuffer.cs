using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using AIOps.Trace.Interop;

namespace AIOps.Trace.Rings;

/// <summary>
/// Perf buffers (BPF_MAP_TYPE_PERF_EVENT_ARRAY), the transport of kernels without the BPF ring
/// buffer (before 5.8): one perf ring per CPU, mapped into this process and read directly from
/// C#. Zero-copy except for a record that wraps the end of its ring, which is copied once into a
/// preallocated scratch buffer. One consumer at a time.
/// </summary>
public sealed unsafe class PerfBuffer : IEventReader
{
    // include/uapi/linux/perf_event.h: struct perf_event_mmap_page (offsets asserted in native/aiops_perf.c).
    internal const int DataHeadOffset = 1024, DataTailOffset = 1032, DataOffsetOffset = 1040, DataSizeOffset = 1048;
    // enum perf_event_type.
    internal const uint RecordLost = 2, RecordSample = 9;
    // struct perf_event_header { u32 type; u16 misc; u16 size; }.
    internal const int HeaderSize = 8;
    private const int SizeOffset = 6;
    private const int CommitEvery = 256;

    private readonly Interop.Interop.PerfCpu[] _cpus;
    private readonly CpuRing[] _rings;
    private readonly SafeOwnedFdHandle _epoll;
    private readonly bool _owned;
    // perf_event_header.size is a u16: no record is longer.
    private readonly byte[] _scratch = new byte[ushort.MaxValue + 1];
    private long _lost;
    private long _unknown;
    private long _skippedBytes;
    private int _draining;
    private bool _disposed;

    private struct CpuRing
    {
        public byte* Meta;
        public byte* Data;
        public ulong Size;
    }

    /// <summary>
    /// Opens a BPF output perf event on every online CPU with <paramref name="bytesPerCpu"/> of
    /// ring each (a power-of-two number of pages), stores them in the PERF_EVENT_ARRAY behind
    /// <paramref name="mapFd"/> (the fd stays owned by the caller) and maps them. The consumer is
    /// woken when <paramref name="watermarkBytes"/> wait in one CPU's ring.
    /// </summary>
    public PerfBuffer(int mapFd, uint bytesPerCpu, uint watermarkBytes)
    {
        uint page = (uint)Environment.SystemPageSize;
        uint pages = bytesPerCpu / page;
        if (pages == 0 || (pages & (pages - 1)) != 0 || pages * page != bytesPerCpu)
            throw new ArgumentException($"bytesPerCpu must be a power-of-two number of {page}-byte pages, got {bytesPerCpu}", nameof(bytesPerCpu));
        int possible = Bpf.KernelInfo.PossibleCpus;
        var cpus = new Interop.Interop.PerfCpu[possible];
        uint count;
        int epoll;
        fixed (Interop.Interop.PerfCpu* p = cpus)
            Ensure.Success(Interop.Interop.PerfBufferOpen(mapFd, pages, watermarkBytes, p, (uint)cpus.Length, out count, out epoll),
                "open perf buffers");
        _cpus = cpus[..(int)count];
        _epoll = new SafeOwnedFdHandle(epoll);
        _owned = true;
        try
        {
            _rings = Rings(_cpus, page);
        }
        catch
        {
            Dispose();
            throw;
        }
    }

    /// <summary>For tests and benchmarks: perf rings laid out like the kernel's over caller-owned memory.</summary>
    internal PerfBuffer(ReadOnlySpan<Interop.Interop.PerfCpu> cpus, int pageSize)
    {
        _cpus = cpus.ToArray();
        _epoll = new SafeOwnedFdHandle();
        _owned = false;
        _rings = Rings(_cpus, (uint)pageSize);
    }

    private static CpuRing[] Rings(Interop.Interop.PerfCpu[] cpus, uint page)
    {
        var rings = new CpuRing[cpus.Length];
        for (int i = 0; i < cpus.Length; i++)
        {
            byte* meta = cpus[i].Base;
            // data_offset/data_size are set by kernels since 4.1; before, data starts at the second page.
            ulong offset = *(ulong*)(meta + DataOffsetOffset), size = *(ulong*)(meta + DataSizeOffset);
            if (size == 0)
                (offset, size) = (page, cpus[i].MmapSize - page);
            if ((size & (size - 1)) != 0)
                throw new ArgumentException($"perf ring of CPU {cpus[i].Cpu} is {size} bytes, not a power of two", nameof(cpus));
            rings[i] = new CpuRing { Meta = meta, Data = meta + offset, Size = size };
        }
        return rings;
    }

    /// <inheritdoc/>
    public string Transport => "perfbuf";

    /// <summary>Records the kernel dropped because a CPU's ring was full (sum of PERF_RECORD_LOST).</summary>
    public long LostRecords => Volatile.Read(ref _lost);

    /// <summary>Records skipped because their type is not a sample or a loss, or their size is impossible.</summary>
    public long UnknownRecords => Volatile.Read(ref _unknown);

    /// <inheritdoc/>
    public long UnreadableRecords => UnknownRecords;

    /// <inheritdoc/>
    public long SkippedBytes => Volatile.Read(ref _skippedBytes);

    /// <summary>Number of CPU rings (online CPUs at open).</summary>
    public int CpuCount => _rings.Length;

    /// <summary>Bytes written by the kernel and not yet consumed, over all CPUs.</summary>
    public ulong Backlog
    {
        get
        {
            ulong total = 0;
            foreach (CpuRing r in _rings)
                total += Volatile.Read(ref *(ulong*)(r.Meta + DataHeadOffset)) - Volatile.Read(ref *(ulong*)(r.Meta + DataTailOffset));
            return total;
        }
    }

    /// <summary>
    /// Hands every sample up to now, CPU by CPU, to <paramref name="handler"/> (the span is our
    /// record as the program sent it, possibly followed by perf's padding to 8 bytes), counting
    /// losses and skipping other record types. Returns the number of samples.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public int Drain<THandler>(ref THandler handler) where THandler : struct, IRecordHandler
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        if (Interlocked.CompareExchange(ref _draining, 1, 0) != 0)
            ThrowHelper.ThrowConcurrentDrain();
        try
        {
            int count = 0;
            for (int i = 0; i < _rings.Length; i++)
                count += DrainCpu(ref _rings[i], ref handler, int.MaxValue);
            return count;
        }
        finally
        {
            Volatile.Write(ref _draining, 0);
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private int DrainCpu<THandler>(ref CpuRing ring, ref THandler handler, int limit) where THandler : struct, IRecordHandler
    {
        ulong* tailAt = (ulong*)(ring.Meta + DataTailOffset);
        // Acquire: the kernel publishes data_head (smp_store_release) after writing the records.
        ulong head = Volatile.Read(ref *(ulong*)(ring.Meta + DataHeadOffset));
        ulong tail = *tailAt; // only we write it
        ulong mask = ring.Size - 1;
        int count = 0, uncommitted = 0;
        while (tail != head && count < limit)
        {
            // Records are 8-byte aligned and the ring a power of two, so a header never wraps.
            ulong offset = tail & mask;
            byte* at = ring.Data + offset;
            uint type = *(uint*)at;
            int size = *(ushort*)(at + SizeOffset);
            if (size < HeaderSize || (ulong)size > head - tail)
            {
                // Not a record boundary: nothing after it can be trusted.
                _unknown++;
                _skippedBytes += (long)(head - tail);
                tail = head;
                break;
            }
            ReadOnlySpan<byte> record = offset + (ulong)size <= ring.Size
                ? new ReadOnlySpan<byte>(at, size)
                : Unwrap(ring, at, offset, size);

            switch (type)
            {
                case RecordSample when size >= HeaderSize + sizeof(uint):
                    uint raw = MemoryMarshal.Read<uint>(record.Slice(HeaderSize));
                    if (raw <= (uint)(size - HeaderSize - sizeof(uint)))
                    {
                        handler.OnRecord(record.Slice(HeaderSize + sizeof(uint), (int)raw));
                        count++;
                    }
                    else
                    {
                        _unknown++;
                    }
                    break;
                case RecordLost when size >= HeaderSize + 2 * sizeof(ulong):
                    // u64 id, u64 lost.
                    _lost += (long)MemoryMarshal.Read<ulong>(record.Slice(HeaderSize + sizeof(ulong)));
                    break;
                default:
                    _unknown++;
                    break;
            }
            tail += (ulong)size;
            // Give space back during a long drain; the span is no longer used.
            if (++uncommitted == CommitEvery)
            {
                Volatile.Write(ref *tailAt, tail);
                uncommitted = 0;
            }
        }
        // Release: the kernel may overwrite what we read only after this store.
        Volatile.Write(ref *tailAt, tail);
        return count;
    }

    /// <summary>
    /// The safe, copying counterpart of <see cref="Drain{THandler}(ref THandler)"/> for code that
    /// wants to keep records: the next sample (of the first CPU that has one) as a new array, or
    /// null when none is ready. Allocates per record; the engine's own reader never uses it.
    /// </summary>
    public byte[]? ReadCopy()
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        if (Interlocked.CompareExchange(ref _draining, 1, 0) != 0)
            ThrowHelper.ThrowConcurrentDrain();
        try
        {
            var copy = new CopyOne();
            for (int i = 0; i < _rings.Length && copy.Record is null; i++)
                DrainCpu(ref _rings[i], ref copy, limit: 1);
            return copy.Record;
        }
        finally
        {
            Volatile.Write(ref _draining, 0);
        }
    }

    private struct CopyOne : IRecordHandler
    {
        public byte[]? Record;

        public void OnRecord(ReadOnlySpan<byte> record) => Record = record.ToArray();
    }

    private ReadOnlySpan<byte> Unwrap(in CpuRing ring, byte* at, ulong offset, int size)
    {
        int first = (int)(ring.Size - offset);
        new ReadOnlySpan<byte>(at, first).CopyTo(_scratch);
        new ReadOnlySpan<byte>(ring.Data, size - first).CopyTo(_scratch.AsSpan(first));
        return new ReadOnlySpan<byte>(_scratch, 0, size);
    }

    /// <summary>
    /// Waits until one CPU's ring passes its watermark or <paramref name="timeoutMs"/> passes.
    /// Most waits end on the timeout, so callers drain after every return.
    /// </summary>
    public bool Wait(int timeoutMs)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        if (_epoll.IsInvalid)
        {
            Thread.Sleep(timeoutMs);
            return Backlog > 0;
        }
        return Ensure.Success(Interop.Interop.EpollWait(_epoll.Fd, timeoutMs), "wait for perf buffers") > 0;
    }

    public void Dispose()
    {
        if (_disposed)
            return;
        _disposed = true;
        _epoll.Dispose();
        if (_owned)
        {
            fixed (Interop.Interop.PerfCpu* p = _cpus)
                Interop.Interop.PerfBufferClose(p, (uint)_cpus.Length);
        }
    }
}

using System.Runtime.InteropServices;
using AIOps.Trace.Rings;

namespace AIOps.Trace.Testing;

/// <summary>
/// Perf rings in native memory laid out as the kernel maps a perf event (kernel/events/ring_buffer.c):
/// per CPU a perf_event_mmap_page followed by a power-of-two data area, records written the way
/// perf_output_sample does (8-byte aligned, raw sample size including the padding), so
/// <see cref="PerfBuffer"/> can be tested and benchmarked without a kernel.
/// </summary>
public sealed unsafe class SyntheticPerfRing : IDisposable
{
    public const int Page = 4096;
    private const uint RecordSample = 9, RecordLost = 2;

    private readonly byte*[] _bases;
    private readonly ulong _size;

    /// <param name="setDataArea">Fill data_offset/data_size as kernels since 4.1 do; else the reader falls back to the second page.</param>
    public SyntheticPerfRing(int cpus, ulong dataSize, bool setDataArea = true)
    {
        _size = dataSize;
        _bases = new byte*[cpus];
        var mapping = new Interop.Interop.PerfCpu[cpus];
        for (int i = 0; i < cpus; i++)
        {
            nuint bytes = (nuint)(Page + dataSize);
            byte* b = (byte*)NativeMemory.AlignedAlloc(bytes, Page);
            NativeMemory.Clear(b, bytes);
            if (setDataArea)
            {
                *(ulong*)(b + PerfBuffer.DataOffsetOffset) = Page;
                *(ulong*)(b + PerfBuffer.DataSizeOffset) = dataSize;
            }
            _bases[i] = b;
            mapping[i] = new Interop.Interop.PerfCpu { Base = b, MmapSize = Page + dataSize, Cpu = i, Fd = -1 };
        }
        Buffer = new PerfBuffer(mapping, Page);
    }

    public PerfBuffer Buffer { get; }

    public ulong Head(int cpu) => *(ulong*)(_bases[cpu] + PerfBuffer.DataHeadOffset);

    public void SetHead(int cpu, ulong value) => *(ulong*)(_bases[cpu] + PerfBuffer.DataHeadOffset) = value;

    public ulong Tail(int cpu) => *(ulong*)(_bases[cpu] + PerfBuffer.DataTailOffset);

    /// <summary>Moves both positions (an empty ring that starts at <paramref name="position"/>).</summary>
    public void Reset(int cpu, ulong position)
    {
        SetHead(cpu, position);
        *(ulong*)(_bases[cpu] + PerfBuffer.DataTailOffset) = position;
    }

    /// <summary>A PERF_RECORD_SAMPLE carrying <paramref name="payload"/> as PERF_SAMPLE_RAW, as bpf_perf_event_output writes it.</summary>
    public void WriteSample(int cpu, ReadOnlySpan<byte> payload)
    {
        int size = (8 + 4 + payload.Length + 7) & ~7;
        Span<byte> body = stackalloc byte[size - 8];
        body.Clear();
        MemoryMarshal.Write(body, (uint)(size - 12)); // the kernel counts the padding in the raw size
        payload.CopyTo(body[4..]);
        WriteRecord(cpu, RecordSample, body);
    }

    /// <summary>A PERF_RECORD_LOST: <paramref name="lost"/> records did not fit.</summary>
    public void WriteLost(int cpu, ulong lost, ulong id = 1)
    {
        Span<byte> body = stackalloc byte[16];
        MemoryMarshal.Write(body, id);
        MemoryMarshal.Write(body[8..], lost);
        WriteRecord(cpu, RecordLost, body);
    }

    /// <summary>Any record: perf_event_header then <paramref name="body"/> (a multiple of 8 bytes), wrapping at the end.</summary>
    public void WriteRecord(int cpu, uint type, ReadOnlySpan<byte> body, ushort? sizeOverride = null)
    {
        byte* data = _bases[cpu] + Page;
        ulong head = Head(cpu);
        Span<byte> record = stackalloc byte[8 + body.Length];
        MemoryMarshal.Write(record, type);
        MemoryMarshal.Write(record[4..], (ushort)0);
        MemoryMarshal.Write(record[6..], sizeOverride ?? (ushort)record.Length);
        body.CopyTo(record[8..]);
        for (int i = 0; i < record.Length; i++)
            data[(head + (ulong)i) & (_size - 1)] = record[i];
        SetHead(cpu, head + (ulong)record.Length);
    }

    public void Dispose()
    {
        Buffer.Dispose();
        foreach (byte* b in _bases)
            NativeMemory.AlignedFree(b);
    }
}

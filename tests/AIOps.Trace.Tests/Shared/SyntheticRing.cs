using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using AIOps.Trace.Bpf;
using AIOps.Trace.Rings;

namespace AIOps.Trace.Testing;

/// <summary>
/// A BPF ring buffer laid out in native memory the way kernel/bpf/ringbuf.c lays it out
/// (consumer page, producer page, data), with the data area present twice in a row as the
/// kernel maps it, so the reader can be tested and benchmarked without a kernel.
/// Shared by the unit tests and the benchmarks.
/// </summary>
internal sealed unsafe class SyntheticRing : IDisposable
{
    private const int Page = 4096;
    private readonly byte* _consumer;
    private readonly byte* _producer;
    private readonly byte* _data;
    private readonly ulong _size;

    public SyntheticRing(ulong dataSize)
    {
        _size = dataSize;
        _consumer = (byte*)NativeMemory.AlignedAlloc(Page, Page);
        _producer = (byte*)NativeMemory.AlignedAlloc(Page, Page);
        _data = (byte*)NativeMemory.AlignedAlloc((nuint)(2 * dataSize), Page);
        NativeMemory.Clear(_consumer, Page);
        NativeMemory.Clear(_producer, Page);
        NativeMemory.Clear(_data, (nuint)(2 * dataSize));
        Ring = new RingBuffer(_consumer, _producer, _data, dataSize);
    }

    public RingBuffer Ring { get; }

    public ulong ProducerPosition
    {
        get => *(ulong*)_producer;
        set => *(ulong*)_producer = value;
    }

    public ulong ConsumerPosition
    {
        get => *(ulong*)_consumer;
        set => *(ulong*)_consumer = value;
    }

    /// <summary>Appends one record at the producer position, as bpf_ringbuf_output would, mirrored into the second copy.</summary>
    public void Write(ReadOnlySpan<byte> payload, bool busy = false, bool discard = false)
    {
        ulong pos = ProducerPosition;
        uint header = (uint)payload.Length | (busy ? 1u << 31 : 0) | (discard ? 1u << 30 : 0);
        Span<byte> record = stackalloc byte[8 + payload.Length];
        MemoryMarshal.Write(record, in header);
        payload.CopyTo(record[8..]);
        for (int i = 0; i < record.Length; i++)
        {
            ulong off = (pos + (ulong)i) & (_size - 1);
            _data[off] = record[i];
            _data[off + _size] = record[i];
        }
        ProducerPosition = pos + (((ulong)payload.Length + 8 + 7) & ~7ul);
    }

    /// <summary>Clears the BUSY bit of the record at <paramref name="position"/> (the producer committed it).</summary>
    public void Commit(ulong position)
    {
        ulong off = position & (_size - 1);
        *(uint*)(_data + off) &= ~(1u << 31);
        *(uint*)(_data + off + _size) &= ~(1u << 31);
    }

    /// <summary>A batch record of <paramref name="samples"/>, as aiops_sched.bpf.c sends it.</summary>
    public static byte[] Batch(ReadOnlySpan<Sample> samples, uint cpu = 0)
    {
        var header = new BatchHeader { Kind = RecordKind.Batch, Count = (uint)samples.Length, Cpu = cpu, FirstNs = 1 };
        byte[] bytes = new byte[Unsafe.SizeOf<BatchHeader>() + samples.Length * Unsafe.SizeOf<Sample>()];
        MemoryMarshal.Write(bytes, in header);
        MemoryMarshal.AsBytes(samples).CopyTo(bytes.AsSpan(Unsafe.SizeOf<BatchHeader>()));
        return bytes;
    }

    public void Dispose()
    {
        Ring.Dispose();
        NativeMemory.AlignedFree(_consumer);
        NativeMemory.AlignedFree(_producer);
        NativeMemory.AlignedFree(_data);
    }
}

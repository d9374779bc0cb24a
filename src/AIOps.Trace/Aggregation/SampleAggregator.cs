using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using AIOps.Trace.Bpf;
using AIOps.Trace.Rings;

namespace AIOps.Trace.Aggregation;

/// <summary>
/// Folds ring records (sample batches and throttle records) into a <see cref="ContainerTable"/>.
/// A struct, so the ring's drain loop is specialised for it. Malformed records are counted, not thrown.
/// </summary>
internal struct SampleAggregator : IRecordHandler
{
    private static readonly int HeaderSize = Unsafe.SizeOf<BatchHeader>();
    private static readonly int SampleSize = Unsafe.SizeOf<Sample>();

    private readonly ContainerTable _table;

    public SampleAggregator(ContainerTable table) => _table = table;

    /// <summary>Samples folded in.</summary>
    public long Samples;

    /// <summary>Records of an unknown kind or with an impossible size (a kernel/user version mismatch).</summary>
    public long MalformedRecords;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void OnRecord(ReadOnlySpan<byte> record)
    {
        if (record.Length < sizeof(uint))
        {
            MalformedRecords++;
            return;
        }
        switch ((RecordKind)MemoryMarshal.Read<uint>(record))
        {
            case RecordKind.Batch:
                OnBatch(record);
                break;
            case RecordKind.Throttle when record.Length >= Unsafe.SizeOf<ThrottleRecord>():
                ThrottleRecord t = MemoryMarshal.Read<ThrottleRecord>(record);
                ContainerAccumulator acc = _table.Get(t.CgroupId);
                acc.ThrottleEvents++;
                acc.ThrottledNs += t.ThrottledNs;
                break;
            default:
                MalformedRecords++;
                break;
        }
    }

    private void OnBatch(ReadOnlySpan<byte> record)
    {
        if (record.Length < HeaderSize)
        {
            MalformedRecords++;
            return;
        }
        BatchHeader header = MemoryMarshal.Read<BatchHeader>(record);
        int count = (int)header.Count;
        if (count > BatchHeader.MaxSamples || record.Length < HeaderSize + count * SampleSize)
        {
            MalformedRecords++;
            return;
        }
        ReadOnlySpan<Sample> samples = MemoryMarshal.Cast<byte, Sample>(record.Slice(HeaderSize, count * SampleSize));
        foreach (ref readonly Sample s in samples)
        {
            ContainerAccumulator acc = _table.Get(s.CgroupId);
            switch (s.Kind)
            {
                case SampleKind.RunQueue:
                    acc.RunQueue.Record(s.Value);
                    break;
                case SampleKind.PreemptedBySameCgroup:
                    acc.PreemptedBySame++;
                    break;
                case SampleKind.PreemptedByOtherCgroup:
                    acc.PreemptedByOther++;
                    acc.Preemptors.Record(s.Value);
                    break;
                case SampleKind.PreemptedByHost:
                    acc.PreemptedByHost++;
                    break;
                default:
                    MalformedRecords++;
                    continue;
            }
        }
        Samples += count;
    }
}

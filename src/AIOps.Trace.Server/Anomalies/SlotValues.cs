using System.Collections;
using System.Diagnostics.CodeAnalysis;
using MetricSlots = AIOps.Trace.Analysis.Collection.Metrics;

namespace AIOps.Trace.Server.Anomalies;

/// <summary>
/// A metric vector read by slot name, absent or non-finite values as null: a view over the
/// vector's own array, not a copy (one small object per verdict instead of a dictionary each window).
/// The array must not change afterwards; vectors are made afresh each window.
/// </summary>
internal sealed class SlotValues(double[] values) : IReadOnlyDictionary<string, double?>
{
    public int Count => MetricSlots.Count;

    public IEnumerable<string> Keys => MetricSlots.Names;

    public IEnumerable<double?> Values
    {
        get
        {
            for (int i = 0; i < MetricSlots.Count; i++)
                yield return At(i);
        }
    }

    public double? this[string key] => TryGetValue(key, out double? v) ? v : throw new KeyNotFoundException($"no metric slot named '{key}'");

    public bool ContainsKey(string key) => IndexOf(key) >= 0;

    public bool TryGetValue(string key, [MaybeNullWhen(false)] out double? value)
    {
        int i = IndexOf(key);
        value = i >= 0 ? At(i) : null;
        return i >= 0;
    }

    public IEnumerator<KeyValuePair<string, double?>> GetEnumerator()
    {
        for (int i = 0; i < MetricSlots.Count; i++)
            yield return KeyValuePair.Create(MetricSlots.Names[i], At(i));
    }

    IEnumerator IEnumerable.GetEnumerator() => GetEnumerator();

    private double? At(int i) => i < values.Length ? AnomalyService.Finite(values[i]) : null;

    private static int IndexOf(string key)
    {
        for (int i = 0; i < MetricSlots.Count; i++)
            if (string.Equals(MetricSlots.Names[i], key, StringComparison.Ordinal))
                return i;
        return -1;
    }
}

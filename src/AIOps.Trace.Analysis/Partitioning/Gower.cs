using AIOps.Trace.Analysis.Collection;

namespace AIOps.Trace.Analysis.Partitioning;

/// <summary>
/// Containers' attributes as a table of mixed features: categorical ones (runtime, image, owner,
/// QoS class, node, each label key) and numeric ones (CPU quota, shares, cpuset size, memory limit).
/// A missing value (null, NaN) is left out of the comparison, as Gower (1971) prescribes. The node
/// is left out unless asked for: replicas of one component spread over nodes and belong together.
/// A numeric feature's range is at least half its largest magnitude, so a few percent of jitter in
/// a uniform fleet is not stretched into the whole [0, 1] scale and mistaken for structure.
/// The limits a fault or an operator's remedy changes on one replica (CPU quota, cpuset, memory
/// limit) are left out unless asked for: a replica capped to 4% of a CPU is still a replica, and
/// moving it to a domain of its own would hide the very fault its peers should show. CPU shares
/// (a pod's request) stay: they tell deployments apart and no fault of one replica changes them.
/// </summary>
public sealed class AttributeTable
{
    private readonly string?[][] _categorical; // [row][feature]
    private readonly double[][] _numeric;      // [row][feature]
    private readonly double[] _ranges;

    /// <summary>Feature names, categorical first, in the order of <see cref="Describe"/>.</summary>
    public IReadOnlyList<string> CategoricalNames { get; }
    public IReadOnlyList<string> NumericNames { get; }
    public IReadOnlyList<ContainerAttributes> Rows { get; }

    public int Count => Rows.Count;

    /// <param name="includeNode">Compare the node too (a domain per node and component).</param>
    /// <param name="includeMutableLimits">Compare CPU quota, cpuset size and memory limit too.</param>
    public AttributeTable(IReadOnlyList<ContainerAttributes> rows, bool includeNode = false, bool includeMutableLimits = false)
    {
        Rows = rows;
        string[] labelKeys = rows.SelectMany(r => r.Labels.Keys).Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal).ToArray();
        CategoricalNames = ["runtime", "image", "owner", "qos", "node", .. labelKeys.Select(k => "label:" + k)];
        NumericNames = includeMutableLimits ? ["cpu_quota_cores", "cpu_shares", "cpuset_size", "memory_limit_bytes"] : ["cpu_shares"];
        _categorical = new string?[rows.Count][];
        _numeric = new double[rows.Count][];
        for (int i = 0; i < rows.Count; i++)
        {
            ContainerAttributes r = rows[i];
            var cat = new string?[CategoricalNames.Count];
            cat[0] = r.Runtime; cat[1] = r.Image; cat[2] = r.Owner; cat[3] = r.QosClass; cat[4] = includeNode ? r.Node : null;
            for (int k = 0; k < labelKeys.Length; k++)
                cat[5 + k] = r.Labels.TryGetValue(labelKeys[k], out string? v) ? v : null;
            _categorical[i] = cat;
            _numeric[i] = includeMutableLimits ? [r.CpuQuotaCores, r.CpuShares, r.CpusetSize, r.MemoryLimitBytes] : [r.CpuShares];
        }
        _ranges = new double[NumericNames.Count];
        for (int f = 0; f < _ranges.Length; f++)
        {
            double lo = double.PositiveInfinity, hi = double.NegativeInfinity;
            foreach (double[] row in _numeric)
                if (!double.IsNaN(row[f])) { lo = Math.Min(lo, row[f]); hi = Math.Max(hi, row[f]); }
            _ranges[f] = hi > lo ? Math.Max(hi - lo, 0.5 * Math.Max(Math.Abs(hi), Math.Abs(lo))) : 0;
        }
    }

    /// <summary>
    /// Gower distance in [0, 1]: the mean over the features both rows have of 0/1 (categorical,
    /// equal or not) and |a - b| / range (numeric). Rows that share no known feature are 1 apart.
    /// </summary>
    public double Distance(int a, int b)
    {
        double sum = 0;
        int n = 0;
        string?[] ca = _categorical[a], cb = _categorical[b];
        for (int f = 0; f < ca.Length; f++)
        {
            if (ca[f] is null || cb[f] is null) continue;
            sum += string.Equals(ca[f], cb[f], StringComparison.Ordinal) ? 0 : 1;
            n++;
        }
        double[] na = _numeric[a], nb = _numeric[b];
        for (int f = 0; f < na.Length; f++)
        {
            if (double.IsNaN(na[f]) || double.IsNaN(nb[f])) continue;
            sum += _ranges[f] > 0 ? Math.Abs(na[f] - nb[f]) / _ranges[f] : 0;
            n++;
        }
        return n == 0 ? 1 : sum / n;
    }

    /// <summary>The full symmetric distance matrix (N x N doubles: use <see cref="KMedoids.Clara"/> for large N).</summary>
    public double[,] DistanceMatrix()
    {
        int n = Count;
        var d = new double[n, n];
        for (int i = 0; i < n; i++)
            for (int j = i + 1; j < n; j++)
                d[i, j] = d[j, i] = Distance(i, j);
        return d;
    }

    /// <summary>Which attributes of <paramref name="row"/> equal the medoid's, and which differ ("name=value").</summary>
    public (IReadOnlyList<string> Matched, IReadOnlyList<string> Differ) Describe(int row, int medoid)
    {
        var matched = new List<string>();
        var differ = new List<string>();
        for (int f = 0; f < CategoricalNames.Count; f++)
        {
            string? a = _categorical[row][f], m = _categorical[medoid][f];
            if (a is null || m is null) continue;
            (a == m ? matched : differ).Add($"{CategoricalNames[f]}={a}");
        }
        for (int f = 0; f < NumericNames.Count; f++)
        {
            double a = _numeric[row][f], m = _numeric[medoid][f];
            if (double.IsNaN(a) || double.IsNaN(m)) continue;
            bool close = _ranges[f] == 0 || Math.Abs(a - m) / _ranges[f] <= 0.1;
            (close ? matched : differ).Add($"{NumericNames[f]}={a:G4}");
        }
        return (matched, differ);
    }
}

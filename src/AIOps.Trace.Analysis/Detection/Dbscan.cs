namespace AIOps.Trace.Analysis.Detection;

/// <summary>
/// DBSCAN (Ester et al. 1996) over rows of robust z-scores, used the way fleet outlier detectors
/// use it: a container outside the largest cluster behaves unlike most of its peers.
/// </summary>
public static class Dbscan
{
    /// <summary>Cluster of each row (-1 noise).</summary>
    public static int[] Cluster(double[][] rows, double eps, int minPoints)
    {
        int n = rows.Length;
        var label = new int[n];
        Array.Fill(label, -2); // unvisited
        int cluster = 0;
        for (int i = 0; i < n; i++)
        {
            if (label[i] != -2) continue;
            List<int> seeds = Neighbours(rows, i, eps);
            if (seeds.Count < minPoints) { label[i] = -1; continue; }
            label[i] = cluster;
            var queue = new Queue<int>(seeds);
            while (queue.Count > 0)
            {
                int j = queue.Dequeue();
                if (label[j] == -1) label[j] = cluster; // border point
                if (label[j] != -2) continue;
                label[j] = cluster;
                List<int> more = Neighbours(rows, j, eps);
                if (more.Count >= minPoints)
                    foreach (int m in more) queue.Enqueue(m);
            }
            cluster++;
        }
        return label;
    }

    /// <summary>
    /// Rows up to which <see cref="InLargestCluster"/> is exact. DBSCAN compares every row with
    /// every other: a domain of a node's 5,000 containers would cost 25 million distances a window.
    /// </summary>
    public const int ExactRows = 256;

    /// <summary>
    /// Whether each row lies in the largest cluster, with eps twice the median distance to the
    /// minPoints-th nearest neighbour (at least half a robust standard deviation), so eps follows
    /// the domain's own spread. Above <see cref="ExactRows"/> rows the clusters are found on an even
    /// sample of that many rows (a uniform sample keeps the clusters' shares), and every other row
    /// is in the largest when it lies within that sample's eps of a sampled row that is: work
    /// linear in the rows.
    /// </summary>
    public static bool[] InLargestCluster(double[][] rows, int minPoints)
    {
        int n = rows.Length;
        if (n <= ExactRows)
            return Exact(rows, minPoints).InLargest;
        var sample = new double[ExactRows][];
        var sampledAt = new int[n];
        Array.Fill(sampledAt, -1);
        for (int k = 0; k < ExactRows; k++)
        {
            int i = (int)((long)k * n / ExactRows);
            sample[k] = rows[i];
            sampledAt[i] = k;
        }
        (bool[] inSample, double eps) = Exact(sample, minPoints);
        var result = new bool[n];
        for (int i = 0; i < n; i++)
        {
            if (sampledAt[i] >= 0)
            {
                result[i] = inSample[sampledAt[i]];
                continue;
            }
            for (int k = 0; k < ExactRows && !result[i]; k++)
                result[i] = inSample[k] && Distance(rows[i], sample[k]) <= eps;
        }
        return result;
    }

    /// <summary>Every row against every other: the reference the sampled answer is tested against.</summary>
    internal static (bool[] InLargest, double Eps) Exact(double[][] rows, int minPoints)
    {
        int n = rows.Length;
        var kth = new double[n];
        var dist = new double[n];
        for (int i = 0; i < n; i++)
        {
            for (int j = 0; j < n; j++) dist[j] = Distance(rows[i], rows[j]);
            Array.Sort(dist);
            kth[i] = dist[Math.Min(minPoints - 1, n - 1)]; // dist[0] is the row itself
        }
        Array.Sort(kth);
        double eps = Math.Max(2 * kth[n / 2], 0.5);
        int[] labels = Cluster(rows, eps, minPoints);
        int largest = labels.Where(l => l >= 0).GroupBy(l => l).OrderByDescending(g => g.Count()).Select(g => g.Key).DefaultIfEmpty(-1).First();
        return (labels.Select(l => l >= 0 && l == largest).ToArray(), eps);
    }

    private static List<int> Neighbours(double[][] rows, int i, double eps)
    {
        var list = new List<int>();
        for (int j = 0; j < rows.Length; j++)
            if (Distance(rows[i], rows[j]) <= eps) list.Add(j);
        return list;
    }

    /// <summary>Distances computed on this thread (for tests that pin the work per domain).</summary>
    [ThreadStatic]
    internal static long DistancesComputed;

    internal static double Distance(double[] a, double[] b)
    {
        DistancesComputed++;
        double s = 0;
        for (int f = 0; f < a.Length; f++) s += (a[f] - b[f]) * (a[f] - b[f]);
        return Math.Sqrt(s);
    }
}

namespace AIOps.Trace.Analysis.Partitioning;

/// <summary>A clustering into k groups around medoids (rows that are members themselves).</summary>
/// <param name="Medoids">Row index of each cluster's medoid.</param>
/// <param name="Assignment">For each row, the index into <paramref name="Medoids"/> of its cluster.</param>
/// <param name="Cost">Sum of the distances of every row to its medoid.</param>
/// <param name="Silhouette">Mean silhouette width (Rousseeuw 1987) in [-1, 1]; NaN for k = 1.</param>
public sealed record Clustering(int[] Medoids, int[] Assignment, double Cost, double Silhouette)
{
    public int K => Medoids.Length;
}

/// <summary>
/// k-medoids over any distance: PAM (Kaufman and Rousseeuw: greedy BUILD, then SWAP until no swap
/// lowers the cost) for up to <see cref="PamLimit"/> rows, CLARA (PAM on samples, every row
/// assigned to the nearest sampled medoid, the cheapest sample kept) above that; k chosen by the
/// mean silhouette.
/// </summary>
public static class KMedoids
{
    /// <summary>Rows up to which PAM runs on the full distance matrix.</summary>
    public const int PamLimit = 250;

    /// <summary>Mean silhouette below which the rows are taken as one group: no structure worth splitting.</summary>
    public const double MinSilhouette = 0.25;

    /// <summary>
    /// Clusters <paramref name="n"/> rows, trying k = 2..<paramref name="maxK"/> and keeping the best
    /// mean silhouette among the clusterings whose medoids are all at least
    /// <paramref name="minSeparation"/> apart (the silhouette is blind to scale: it splits jitter as
    /// readily as real groups); one group when none qualifies or the silhouette is weak.
    /// </summary>
    /// <param name="distance">Symmetric distance between rows i and j.</param>
    /// <param name="seed">Seed of CLARA's sampling (the result is deterministic for a seed).</param>
    public static Clustering ChooseK(int n, Func<int, int, double> distance, int maxK = 10, int seed = 1, double minSeparation = 0.1)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(n, 1);
        Clustering one = Fit(n, distance, 1, seed);
        Clustering? best = null;
        for (int k = 2; k <= Math.Min(maxK, n - 1); k++)
        {
            Clustering c = Fit(n, distance, k, seed);
            bool separated = true;
            for (int a = 0; a < k && separated; a++)
                for (int b = a + 1; b < k && separated; b++)
                    separated = distance(c.Medoids[a], c.Medoids[b]) >= minSeparation;
            if (separated && (best is null || c.Silhouette > best.Silhouette))
                best = c;
        }
        return best is not null && best.Silhouette >= MinSilhouette ? best : one;
    }

    /// <summary>k-medoids for a given k: PAM up to <see cref="PamLimit"/> rows, else CLARA.</summary>
    public static Clustering Fit(int n, Func<int, int, double> distance, int k, int seed = 1)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(k, 1);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(k, n);
        if (n <= PamLimit)
        {
            int[] rows = Enumerable.Range(0, n).ToArray();
            double[,] d = Matrix(rows, distance);
            int[] local = Pam(d, k);
            return Finish(n, distance, local, rows, silhouetteRows: rows, silhouetteMatrix: d);
        }
        return Clara(n, distance, k, seed);
    }

    /// <summary>CLARA: PAM on 5 samples of 40 + 2k rows each, keeping the medoids with the lowest cost over all rows.</summary>
    public static Clustering Clara(int n, Func<int, int, double> distance, int k, int seed = 1, int samples = 5)
    {
        var random = new Random(seed);
        int size = Math.Min(n, 40 + 2 * k);
        Clustering? best = null;
        int[]? bestSample = null;
        for (int s = 0; s < samples; s++)
        {
            int[] sample = SampleRows(random, n, size, best?.Medoids);
            int[] local = Pam(Matrix(sample, distance), k);
            int[] medoids = local.Select(i => sample[i]).ToArray();
            (int[] assignment, double cost) = Assign(n, distance, medoids);
            if (best is null || cost < best.Cost)
            {
                best = new Clustering(medoids, assignment, cost, double.NaN);
                bestSample = sample;
            }
        }
        // The silhouette of every row needs N^2 distances: measure it on the best sample instead.
        double[,] ds = Matrix(bestSample!, distance);
        int[] sampleAssignment = bestSample!.Select(r => best!.Assignment[r]).ToArray();
        return best! with { Silhouette = best!.K == 1 ? double.NaN : SilhouetteOf(ds, sampleAssignment, best.K) };
    }

    private static Clustering Finish(int n, Func<int, int, double> distance, int[] localMedoids, int[] rows, int[] silhouetteRows, double[,] silhouetteMatrix)
    {
        int[] medoids = localMedoids.Select(i => rows[i]).ToArray();
        (int[] assignment, double cost) = Assign(n, distance, medoids);
        double silhouette = medoids.Length == 1 ? double.NaN
            : SilhouetteOf(silhouetteMatrix, silhouetteRows.Select(r => assignment[r]).ToArray(), medoids.Length);
        return new Clustering(medoids, assignment, cost, silhouette);
    }

    /// <summary>PAM on a distance matrix: returns the medoids' row indices.</summary>
    internal static int[] Pam(double[,] d, int k)
    {
        int n = d.GetLength(0);
        var medoids = new List<int>(k);
        var nearest = new double[n];
        Array.Fill(nearest, double.PositiveInfinity);
        // BUILD: each step adds the row that lowers the total distance to the nearest medoid most.
        while (medoids.Count < k)
        {
            int pick = -1;
            double pickCost = double.PositiveInfinity;
            for (int c = 0; c < n; c++)
            {
                if (medoids.Contains(c)) continue;
                double cost = 0;
                for (int j = 0; j < n; j++)
                    cost += Math.Min(nearest[j], d[c, j]);
                if (cost < pickCost) { pickCost = cost; pick = c; }
            }
            medoids.Add(pick);
            for (int j = 0; j < n; j++)
                nearest[j] = Math.Min(nearest[j], d[pick, j]);
        }
        // SWAP: take the best (medoid, non-medoid) exchange while it lowers the cost.
        int[] m = medoids.ToArray();
        double current = CostOf(d, m);
        for (int iteration = 0; iteration < 100; iteration++)
        {
            double bestCost = current;
            int bestSlot = -1, bestRow = -1;
            for (int slot = 0; slot < k; slot++)
            {
                int keep = m[slot];
                for (int o = 0; o < n; o++)
                {
                    if (Array.IndexOf(m, o) >= 0) continue;
                    m[slot] = o;
                    double cost = CostOf(d, m);
                    if (cost < bestCost - 1e-12) { bestCost = cost; bestSlot = slot; bestRow = o; }
                }
                m[slot] = keep;
            }
            if (bestSlot < 0) break;
            m[bestSlot] = bestRow;
            current = bestCost;
        }
        return m;
    }

    private static double CostOf(double[,] d, int[] medoids)
    {
        double cost = 0;
        int n = d.GetLength(0);
        for (int j = 0; j < n; j++)
        {
            double best = double.PositiveInfinity;
            foreach (int m in medoids)
                best = Math.Min(best, d[m, j]);
            cost += best;
        }
        return cost;
    }

    private static (int[] Assignment, double Cost) Assign(int n, Func<int, int, double> distance, int[] medoids)
    {
        var assignment = new int[n];
        double cost = 0;
        for (int i = 0; i < n; i++)
        {
            double best = double.PositiveInfinity;
            for (int c = 0; c < medoids.Length; c++)
            {
                double dist = i == medoids[c] ? 0 : distance(i, medoids[c]);
                if (dist < best) { best = dist; assignment[i] = c; }
            }
            cost += best;
        }
        return (assignment, cost);
    }

    /// <summary>Mean silhouette width; a row alone in its cluster counts 0.</summary>
    internal static double SilhouetteOf(double[,] d, int[] assignment, int k)
    {
        int n = assignment.Length;
        var sizes = new int[k];
        foreach (int a in assignment) sizes[a]++;
        double total = 0;
        var sums = new double[k];
        for (int i = 0; i < n; i++)
        {
            Array.Clear(sums);
            for (int j = 0; j < n; j++)
                if (j != i) sums[assignment[j]] += d[i, j];
            int own = assignment[i];
            if (sizes[own] <= 1) continue;
            double a = sums[own] / (sizes[own] - 1);
            double b = double.PositiveInfinity;
            for (int c = 0; c < k; c++)
                if (c != own && sizes[c] > 0) b = Math.Min(b, sums[c] / sizes[c]);
            double s = Math.Max(a, b) > 0 ? (b - a) / Math.Max(a, b) : 0;
            total += double.IsFinite(s) ? s : 0;
        }
        return total / n;
    }

    private static double[,] Matrix(int[] rows, Func<int, int, double> distance)
    {
        var d = new double[rows.Length, rows.Length];
        for (int i = 0; i < rows.Length; i++)
            for (int j = i + 1; j < rows.Length; j++)
                d[i, j] = d[j, i] = distance(rows[i], rows[j]);
        return d;
    }

    /// <summary>A random sample of rows that always holds the best medoids so far (CLARA's refinement).</summary>
    private static int[] SampleRows(Random random, int n, int size, int[]? keep)
    {
        var chosen = new HashSet<int>(keep ?? []);
        while (chosen.Count < size)
            chosen.Add(random.Next(n));
        return chosen.Order().ToArray();
    }
}

using MathNet.Numerics.Distributions;
using MathNet.Numerics.LinearAlgebra;

namespace AIOps.Trace.Analysis.Detection;

/// <summary>
/// Robust squared Mahalanobis distances by the Minimum Covariance Determinant (Rousseeuw and Van
/// Driessen's FastMCD: concentration steps from several starts, keeping the h-subset of lowest
/// covariance determinant, then a consistency factor and one reweighting step). Below
/// <see cref="RowsPerMetric"/> rows per metric the MCD's distances of normal rows have tails far
/// heavier than chi-square (it fits h of n rows with p(p+3)/2 parameters); the distances then use
/// the (robust, already scaled) diagonal: the sum of squared robust z-scores.
/// </summary>
public static class RobustCovariance
{
    /// <summary>Small ridge added to the covariance so near-collinear metrics keep it invertible.</summary>
    private const double Ridge = 1e-3;

    /// <summary>Rows per metric needed for the full MCD covariance.</summary>
    public const int RowsPerMetric = 5;

    /// <summary>Squared robust distances of each row, and whether the full MCD covariance was used.</summary>
    /// <param name="z">Rows of robust z-scores (centred on the median, unit scale).</param>
    public static (double[] Distances, bool Mcd) SquaredDistances(double[][] z, int seed = 1)
    {
        int n = z.Length, p = n == 0 ? 0 : z[0].Length;
        var d2 = new double[n];
        if (p == 0)
            return (d2, false);
        if (n < RowsPerMetric * p)
        {
            for (int i = 0; i < n; i++)
                for (int f = 0; f < p; f++) d2[i] += z[i][f] * z[i][f];
            return (d2, false);
        }

        int h = (n + p + 1) / 2;
        var random = new Random(seed);
        (Vector<double> Mean, Matrix<double> Cov, double LogDet)? best = null;
        var starts = new List<int[]>();
        // Start from the h rows closest to the coordinate-wise median, then from random (p + 1)-subsets.
        starts.Add(Enumerable.Range(0, n).OrderBy(i => z[i].Sum(v => v * v)).Take(h).ToArray());
        for (int s = 0; s < 10; s++)
            starts.Add(Enumerable.Range(0, n).OrderBy(_ => random.Next()).Take(p + 1).ToArray());
        foreach (int[] start in starts)
        {
            int[] subset = start;
            (Vector<double> mean, Matrix<double> cov, double logDet) = Estimate(z, subset, p);
            for (int step = 0; step < 20; step++)
            {
                double[] dist = Distances(z, mean, cov);
                int[] next = Enumerable.Range(0, n).OrderBy(i => dist[i]).Take(h).ToArray();
                (Vector<double> m2, Matrix<double> c2, double l2) = Estimate(z, next, p);
                bool converged = l2 >= logDet - 1e-10;
                (mean, cov, logDet, subset) = (m2, c2, l2, next);
                if (converged) break;
            }
            if (best is null || logDet < best.Value.LogDet)
                best = (mean, cov, logDet);
        }

        double[] raw = Distances(z, best!.Value.Mean, best.Value.Cov);
        // Consistency: at the normal model the median squared distance is the chi-square median.
        double median = raw.Order().ElementAt(n / 2);
        double factor = median > 0 ? median / ChiSquared.InvCDF(p, 0.5) : 1;
        // Reweighting: the rows within the 97.5% chi-square quantile give the final mean and covariance.
        double keep = ChiSquared.InvCDF(p, 0.975);
        int[] inliers = Enumerable.Range(0, n).Where(i => raw[i] / factor <= keep).ToArray();
        if (inliers.Length > p + 1)
        {
            (Vector<double> mean, Matrix<double> cov, _) = Estimate(z, inliers, p);
            raw = Distances(z, mean, cov);
            median = raw.Order().ElementAt(n / 2);
            factor = median > 0 ? median / ChiSquared.InvCDF(p, 0.5) : 1;
        }
        for (int i = 0; i < n; i++)
            d2[i] = raw[i] / factor;
        return (d2, true);
    }

    private static (Vector<double> Mean, Matrix<double> Cov, double LogDet) Estimate(double[][] z, int[] rows, int p)
    {
        Vector<double> mean = Vector<double>.Build.Dense(p);
        foreach (int i in rows)
            for (int f = 0; f < p; f++) mean[f] += z[i][f];
        mean /= rows.Length;
        Matrix<double> cov = Matrix<double>.Build.Dense(p, p);
        foreach (int i in rows)
            for (int a = 0; a < p; a++)
            {
                double da = z[i][a] - mean[a];
                for (int b = a; b < p; b++) cov[a, b] += da * (z[i][b] - mean[b]);
            }
        for (int a = 0; a < p; a++)
        {
            for (int b = a; b < p; b++) cov[b, a] = cov[a, b] /= Math.Max(rows.Length - 1, 1);
            cov[a, a] += Ridge;
        }
        double logDet = cov.Cholesky().DeterminantLn;
        return (mean, cov, logDet);
    }

    private static double[] Distances(double[][] z, Vector<double> mean, Matrix<double> cov)
    {
        var chol = cov.Cholesky();
        var d = new double[z.Length];
        for (int i = 0; i < z.Length; i++)
        {
            Vector<double> diff = Vector<double>.Build.DenseOfArray(z[i]) - mean;
            d[i] = diff.DotProduct(chol.Solve(diff));
        }
        return d;
    }
}

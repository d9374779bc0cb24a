using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Text;

namespace AIOps.Trace.Analysis.Detection.Svm;

/// <summary>Training settings of an SVM. The kernel is RBF.</summary>
public sealed record SvmOptions
{
    /// <summary>RBF width; NaN (default) takes libsvm's usual 1 / number of features.</summary>
    public double Gamma { get; init; } = double.NaN;

    /// <summary>C-SVC's cost of a margin violation.</summary>
    public double C { get; init; } = 1;

    /// <summary>One-class SVM's upper bound on the share of training rows taken as outliers.</summary>
    public double Nu { get; init; } = 0.05;

    /// <summary>Per-class multipliers of C (class-weighted C-SVC); null weighs every class 1.</summary>
    public IReadOnlyDictionary<int, double>? ClassWeights { get; init; }

    /// <summary>Solver's stopping tolerance.</summary>
    public double Epsilon { get; init; } = 1e-3;

    /// <summary>Kernel cache in MB.</summary>
    public double CacheMegabytes { get; init; } = 16;
}

/// <summary>
/// A trained libsvm model (C-SVC or one-class, RBF kernel), over dense feature rows.
/// libsvm does the training and prediction; this class only marshals rows to it and owns the result.
/// </summary>
public sealed unsafe class SvmModel : IDisposable
{
    private readonly SvmModelHandle _handle;

    /// <summary>Features per row the model was trained on.</summary>
    public int Features { get; }

    /// <summary>Class labels in libsvm's order (one-class models: [+1]).</summary>
    public IReadOnlyList<int> Labels { get; }

    /// <summary>Number of support vectors.</summary>
    public int SupportVectors { get; }

    public bool IsOneClass { get; }

    static SvmModel()
    {
        // libsvm prints its solver's progress to stdout unless told otherwise; a library must stay quiet.
        if (IsAvailable)
            LibSvm.SetPrintStringFunction(&Quiet);
    }

    [UnmanagedCallersOnly]
    private static void Quiet(byte* message) { }

    /// <summary>Whether libsvm (<c>libsvm.so.3</c>, Debian <c>libsvm3</c>) can be loaded here.</summary>
    public static bool IsAvailable { get; } = NativeLibrary.TryLoad(LibSvm.Library, typeof(SvmModel).Assembly, null, out _);

    private SvmModel(SvmModelHandle handle, int features, bool oneClass)
    {
        _handle = handle;
        Features = features;
        IsOneClass = oneClass;
        int classes = LibSvm.GetNrClass(handle);
        if (oneClass)
        {
            Labels = [1];
        }
        else
        {
            var labels = new int[classes];
            fixed (int* p = labels) LibSvm.GetLabels(handle, p);
            Labels = labels;
        }
        SupportVectors = LibSvm.GetNrSv(handle);
    }

    /// <summary>Trains a C-SVC on labelled rows (two labels: binary; more: one-vs-one multiclass).</summary>
    public static SvmModel TrainClassifier(IReadOnlyList<double[]> rows, IReadOnlyList<int> labels, SvmOptions? options = null)
    {
        if (rows.Count != labels.Count)
            throw new ArgumentException($"{rows.Count} rows but {labels.Count} labels", nameof(labels));
        if (labels.Distinct().Count() < 2)
            throw new ArgumentException("a classifier needs at least two classes", nameof(labels));
        return Train(rows, labels.Select(l => (double)l).ToArray(), options ?? new SvmOptions(), LibSvm.CSvc);
    }

    /// <summary>Trains a one-class SVM on rows taken as normal.</summary>
    public static SvmModel TrainOneClass(IReadOnlyList<double[]> rows, SvmOptions? options = null) =>
        Train(rows, new double[rows.Count], options ?? new SvmOptions(), LibSvm.OneClass);

    private static SvmModel Train(IReadOnlyList<double[]> rows, double[] y, SvmOptions o, int svmType)
    {
        if (!IsAvailable)
            throw new DllNotFoundException($"libsvm ({LibSvm.Library}) is not installed: apt-get install libsvm3");
        if (rows.Count == 0)
            throw new ArgumentException("no training rows", nameof(rows));
        int features = rows[0].Length;
        if (rows.Any(r => r.Length != features))
            throw new ArgumentException($"every row needs {features} features", nameof(rows));
        if (rows.Any(r => r.Any(v => !double.IsFinite(v))))
            throw new ArgumentException("training rows hold NaN or infinite values: impute them first", nameof(rows));

        int stride = features + 1;
        var nodes = (LibSvm.SvmNode*)NativeMemory.Alloc((nuint)(rows.Count * stride), (nuint)sizeof(LibSvm.SvmNode));
        var x = (LibSvm.SvmNode**)NativeMemory.Alloc((nuint)rows.Count, (nuint)sizeof(nint));
        int[] weightLabels = o.ClassWeights?.Keys.ToArray() ?? [];
        double[] weights = o.ClassWeights?.Values.ToArray() ?? [];
        var handle = new SvmModelHandle();
        try
        {
            for (int i = 0; i < rows.Count; i++)
            {
                LibSvm.SvmNode* row = nodes + i * stride;
                for (int f = 0; f < features; f++)
                    row[f] = new LibSvm.SvmNode { Index = f + 1, Value = rows[i][f] };
                row[features] = new LibSvm.SvmNode { Index = -1 };
                x[i] = row;
            }
            fixed (double* py = y)
            fixed (int* pwl = weightLabels)
            fixed (double* pw = weights)
            {
                var problem = new LibSvm.SvmProblem { L = rows.Count, Y = py, X = x };
                var parameter = new LibSvm.SvmParameter
                {
                    SvmType = svmType, KernelType = LibSvm.KernelRbf, Degree = 3,
                    Gamma = double.IsNaN(o.Gamma) ? 1.0 / Math.Max(features, 1) : o.Gamma,
                    CacheSize = o.CacheMegabytes, Eps = o.Epsilon, C = o.C, Nu = o.Nu,
                    NrWeight = weightLabels.Length, WeightLabel = pwl, Weight = pw, Shrinking = 1,
                };
                byte* error = LibSvm.CheckParameter(&problem, &parameter);
                if (error is not null)
                    throw new ArgumentException("libsvm refused the parameters: " + Marshal.PtrToStringUTF8((IntPtr)error));
                IntPtr model = LibSvm.Train(&problem, &parameter);
                if (model == IntPtr.Zero)
                    throw new InvalidOperationException("svm_train returned no model");
                handle.Adopt(model, nodes);
                nodes = null; // owned by the handle now
            }
            return new SvmModel(handle, features, svmType == LibSvm.OneClass);
        }
        catch
        {
            handle.Dispose();
            throw;
        }
        finally
        {
            NativeMemory.Free(nodes);
            NativeMemory.Free(x);
        }
    }

    /// <summary>The predicted label (one-class: +1 normal, -1 outlier).</summary>
    public double Predict(ReadOnlySpan<double> row) => PredictWithValues(row, out _);

    /// <summary>
    /// The predicted label and the first decision value: for one-class models and binary
    /// classifiers, positive favours <see cref="Labels"/>[0] (one-class: normal), and its size is
    /// the distance from the boundary in the kernel's space.
    /// </summary>
    public double PredictWithValues(ReadOnlySpan<double> row, out double decision)
    {
        ObjectDisposedException.ThrowIf(_handle.IsClosed, this);
        if (row.Length != Features)
            throw new ArgumentException($"expected {Features} features, got {row.Length}", nameof(row));
        int classes = Labels.Count;
        int pairs = Math.Max(1, classes * (classes - 1) / 2);
        Span<LibSvm.SvmNode> nodes = row.Length < 128 ? stackalloc LibSvm.SvmNode[row.Length + 1] : new LibSvm.SvmNode[row.Length + 1];
        for (int f = 0; f < row.Length; f++)
            nodes[f] = new LibSvm.SvmNode { Index = f + 1, Value = double.IsFinite(row[f]) ? row[f] : 0 };
        nodes[row.Length] = new LibSvm.SvmNode { Index = -1 };
        Span<double> values = pairs <= 64 ? stackalloc double[pairs] : new double[pairs];
        double label;
        fixed (LibSvm.SvmNode* pn = nodes)
        fixed (double* pv = values)
            label = LibSvm.PredictValues(_handle, pn, pv); // the marshaller holds a reference on the handle for the call
        decision = values[0];
        return label;
    }

    /// <summary>
    /// The predicted label and the smallest margin by which it won its one-against-one contests
    /// (libsvm orders the pairs (i, j), i &lt; j, over <see cref="Labels"/>; a positive value votes
    /// for i). Below 1 the row lies inside a margin: the model is not sure of it, as happens far
    /// from everything it was trained on, where an RBF kernel's decision fades to its bias.
    /// </summary>
    public double PredictWithMargin(ReadOnlySpan<double> row, out double margin)
    {
        int classes = Labels.Count;
        double label = PredictWithValues(row, out double first);
        if (classes <= 2)
        {
            margin = Math.Abs(first);
            return label;
        }
        Span<double> values = stackalloc double[classes * (classes - 1) / 2];
        Span<LibSvm.SvmNode> nodes = row.Length < 128 ? stackalloc LibSvm.SvmNode[row.Length + 1] : new LibSvm.SvmNode[row.Length + 1];
        for (int f = 0; f < row.Length; f++)
            nodes[f] = new LibSvm.SvmNode { Index = f + 1, Value = double.IsFinite(row[f]) ? row[f] : 0 };
        nodes[row.Length] = new LibSvm.SvmNode { Index = -1 };
        fixed (LibSvm.SvmNode* pn = nodes)
        fixed (double* pv = values)
            LibSvm.PredictValues(_handle, pn, pv);
        int winner = -1;
        for (int i = 0; i < classes; i++)
            if (Labels[i] == (int)label)
                winner = i;
        margin = double.PositiveInfinity;
        int p = 0;
        for (int i = 0; i < classes; i++)
            for (int j = i + 1; j < classes; j++, p++)
                if (i == winner)
                    margin = Math.Min(margin, values[p]);
                else if (j == winner)
                    margin = Math.Min(margin, -values[p]);
        return label;
    }

    public void Dispose() => _handle.Dispose();
}

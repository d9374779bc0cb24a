using System.Runtime.InteropServices;

namespace AIOps.Trace.Analysis.Detection.Svm;

/// <summary>
/// Raw declarations of libsvm 3 (Debian <c>libsvm3</c>, header <c>libsvm/svm.h</c>). Mirrors of its
/// structs are checked against the header by SvmStructLayoutTests.
/// </summary>
internal static unsafe partial class LibSvm
{
    /// <summary>The soname the Debian package installs (<c>/usr/lib/x86_64-linux-gnu/libsvm.so.3</c>).</summary>
    public const string Library = "libsvm.so.3";

    // svm_type and kernel_type values: the enums of svm.h.
    public const int CSvc = 0;
    public const int NuSvc = 1;
    public const int OneClass = 2;
    public const int KernelLinear = 0;
    public const int KernelRbf = 2;

    /// <summary><c>struct svm_node</c>: one feature; index -1 ends a row.</summary>
    [StructLayout(LayoutKind.Sequential)]
    public struct SvmNode
    {
        public int Index;
        public double Value;
    }

    /// <summary><c>struct svm_problem</c>.</summary>
    [StructLayout(LayoutKind.Sequential)]
    public struct SvmProblem
    {
        public int L;
        public double* Y;
        public SvmNode** X;
    }

    /// <summary><c>struct svm_parameter</c>.</summary>
    [StructLayout(LayoutKind.Sequential)]
    public struct SvmParameter
    {
        public int SvmType;
        public int KernelType;
        public int Degree;
        public double Gamma;
        public double Coef0;
        public double CacheSize;
        public double Eps;
        public double C;
        public int NrWeight;
        public int* WeightLabel;
        public double* Weight;
        public double Nu;
        public double P;
        public int Shrinking;
        public int Probability;
    }

    [LibraryImport(Library, EntryPoint = "svm_train")]
    public static partial IntPtr Train(SvmProblem* problem, SvmParameter* parameter);

    [LibraryImport(Library, EntryPoint = "svm_check_parameter")]
    public static partial byte* CheckParameter(SvmProblem* problem, SvmParameter* parameter);

    [LibraryImport(Library, EntryPoint = "svm_predict_values")]
    public static partial double PredictValues(SvmModelHandle model, SvmNode* x, double* decisionValues);

    [LibraryImport(Library, EntryPoint = "svm_get_nr_class")]
    public static partial int GetNrClass(SvmModelHandle model);

    [LibraryImport(Library, EntryPoint = "svm_get_labels")]
    public static partial void GetLabels(SvmModelHandle model, int* labels);

    [LibraryImport(Library, EntryPoint = "svm_get_nr_sv")]
    public static partial int GetNrSv(SvmModelHandle model);

    [LibraryImport(Library, EntryPoint = "svm_free_and_destroy_model")]
    public static partial void FreeAndDestroyModel(IntPtr* model);

    [LibraryImport(Library, EntryPoint = "svm_set_print_string_function")]
    public static partial void SetPrintStringFunction(delegate* unmanaged<byte*, void> print);
}

using System.Runtime.InteropServices;

namespace AIOps.Trace.Analysis.Detection.Svm;

/// <summary>
/// Owns a trained <c>svm_model</c> and the rows it was trained on: a model from <c>svm_train</c>
/// points into the training rows for its support vectors (<c>free_sv</c> = 0), so they are freed
/// only after the model is.
/// </summary>
internal sealed unsafe class SvmModelHandle : SafeHandle
{
    private void* _rows;

    public SvmModelHandle() : base(IntPtr.Zero, ownsHandle: true) { }

    public override bool IsInvalid => handle == IntPtr.Zero;

    /// <summary>Takes ownership of a model and of the native block its support vectors live in.</summary>
    internal void Adopt(IntPtr model, void* rows)
    {
        SetHandle(model);
        _rows = rows;
    }

    protected override bool ReleaseHandle()
    {
        IntPtr model = handle;
        LibSvm.FreeAndDestroyModel(&model);
        NativeMemory.Free(_rows);
        _rows = null;
        return true;
    }
}

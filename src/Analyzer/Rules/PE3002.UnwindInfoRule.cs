using Pelint.Engine;
using Pelint.Pe;
using Pelint.Pe.Exceptions;

namespace Pelint.Rules;

/// <summary>PE3002: every UNWIND_INFO decodes per the x64 format and agrees with its function.</summary>
public sealed class UnwindInfoRule : IRule
{
    public string Id => "PE3002";

    public Applicability GetApplicability(PeImage image) => UnwindFacts.ForX64ExceptionData(image);

    public IEnumerable<Finding> Analyze(RuleContext context)
    {
        var image = context.Image;
        var directory = ExceptionDirectory.Of(image);
        var findings = new List<Finding>();
        var reported = new HashSet<(uint, string)>();
        foreach (var f in directory.Functions)
        {
            context.Cancellation.ThrowIfCancellationRequested();
            if (f.IsIndirect || !directory.IsX64(f) || !image.Map.IsMapped(f.UnwindData, UnwindInfo.HeaderSize))
            {
                continue; // PE3004 and PE3001 speak for these.
            }

            var info = directory.DirectInfo(f)!;
            foreach (var (code, message) in Check(info, f))
            {
                // Unwind info is shared by many functions; one result per info and kind.
                if (reported.Add((info.Rva, code)))
                {
                    var where = new FindingLocation(image.FileOffsetOf(info.Rva), info.CodeArrayEnd, info.Rva, image.Exports.NameOf(f.BeginAddress), f.BeginAddress, "UNWIND_INFO");
                    findings.Add(context.Report("problem", where, $"{UnwindFacts.FunctionKey(image, f)}:{code}", context.FileName,
                        UnwindFacts.Hex(info.Rva), UnwindFacts.Describe(image, f), message));
                }
            }
        }

        return UnwindFacts.Capped(context, findings);
    }

    private static IEnumerable<(string Code, string Message)> Check(UnwindInfo info, RuntimeFunction f)
    {
        foreach (var p in info.Problems)
        {
            yield return (p.Code, p.Message);
        }

        if (info.Version is not (1 or 2))
        {
            yield break;
        }

        if ((info.Rva & 3) != 0)
        {
            yield return ("misaligned", $"it is not 4-byte aligned");
        }

        var previous = int.MaxValue;
        foreach (var code in info.Codes)
        {
            if (code.CodeOffset > info.SizeOfProlog)
            {
                yield return ("offset-past-prolog", $"the {UnwindCode.OpName(code.Op)} code at prolog offset 0x{code.CodeOffset:X} lies past SizeOfProlog 0x{info.SizeOfProlog:X}");
                break;
            }

            if (code.CodeOffset > previous)
            {
                yield return ("offsets-not-descending", $"its codes are not in descending prolog offset order (0x{code.CodeOffset:X} after 0x{previous:X})");
                break;
            }

            previous = code.CodeOffset;
        }

        if (f.EndAddress > f.BeginAddress && info.SizeOfProlog > f.EndAddress - f.BeginAddress)
        {
            yield return ("prolog-longer-than-function", $"SizeOfProlog 0x{info.SizeOfProlog:X} exceeds the function's 0x{f.EndAddress - f.BeginAddress:X} bytes");
        }

        var setsFrame = info.Codes.Any(c => c.Op == UnwindOp.SetFpreg);
        if (setsFrame && info.FrameRegister == 0)
        {
            yield return ("fpreg-without-register", "it has a SET_FPREG code but names no frame register");
        }
        else if (!setsFrame && info.FrameRegister != 0 && !info.IsChained && info.Codes.Count > 0)
        {
            // A chained fragment inherits its parent's frame; so does a fragment with no codes of its own.
            yield return ("register-without-fpreg", $"it names frame register {X64Registers.Name(info.FrameRegister)} but no SET_FPREG code establishes it");
        }
    }
}

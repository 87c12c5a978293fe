using Pelint.Pe;
using Pelint.Pe.Exceptions;

namespace Pelint.Rules;

/// <summary>PE3002: every UNWIND_INFO decodes per the x64 format and agrees with its function.</summary>
[Rule("PE3002")]
public sealed partial class UnwindInfoRule : IRule
{
    public Applicability GetApplicability(PeImage image) => UnwindFacts.ForX64ExceptionData(image);

    public IEnumerable<Finding> Analyze(RuleContext context)
    {
        var image = context.Image;
        var directory = image.ExceptionDirectory;
        var reported = new HashSet<(uint, string)>();
        var problems = new List<(string Code, string Message)>();
        foreach (var f in directory.Functions)
        {
            context.Cancellation.ThrowIfCancellationRequested();
            if (f.IsIndirect || !directory.IsX64(f) || !image.Map.IsMapped(f.UnwindData, UnwindInfo.HeaderSize))
            {
                continue; // PE3004 and PE3001 speak for these.
            }

            var info = directory.UnwindInfoOf(f)!.Value;
            Check(info, f, problems);
            foreach (var (code, message) in problems)
            {
                // Unwind info is shared by many functions; one result per info and kind.
                if (!reported.Add((info.Rva, code)))
                {
                    continue;
                }

                if (context.IsPastCap)
                {
                    yield return Finding.PastCap;
                    continue;
                }

                var where = new FindingLocation(image.FileOffsetOf(info.Rva), info.CodeArrayEnd, info.Rva, image.Exports.NameOf(f.BeginAddress), f.BeginAddress, "UNWIND_INFO");
                yield return Messages.Problem(where, $"{UnwindFacts.FunctionKey(context, f)}:{code}", context.FileName, info.Rva, UnwindFacts.Describe(context, f), message);
            }
        }
    }

    // Fills `problems` (cleared first) rather than yielding: this runs for every entry, and an
    // iterator per entry is an allocation per entry.
    private static void Check(UnwindInfo info, RuntimeFunction f, List<(string Code, string Message)> problems)
    {
        problems.Clear();
        for (var k = 0; k < info.Problems.Length; k++)
        {
            problems.Add((info.Problems[k].Id, info.Problems[k].Message));
        }

        if (info.Version is not (1 or 2))
        {
            return;
        }

        if ((info.Rva & 3) != 0)
        {
            problems.Add(("misaligned", $"it is not 4-byte aligned"));
        }

        var previous = int.MaxValue;
        var setsFrame = false;
        for (var k = 0; k < info.Codes.Length; k++)
        {
            setsFrame |= info.Codes[k].Op == UnwindOp.SetFpreg;
        }

        for (var k = 0; k < info.Codes.Length; k++)
        {
            var code = info.Codes[k];
            if (code.CodeOffset > info.SizeOfProlog)
            {
                problems.Add(("offset-past-prolog", $"the {UnwindCode.OpName(code.Op)} code at prolog offset 0x{code.CodeOffset:X} lies past SizeOfProlog 0x{info.SizeOfProlog:X}"));
                break;
            }

            if (code.CodeOffset > previous)
            {
                problems.Add(("offsets-not-descending", $"its codes are not in descending prolog offset order (0x{code.CodeOffset:X} after 0x{previous:X})"));
                break;
            }

            previous = code.CodeOffset;
        }

        if (f.EndAddress > f.BeginAddress && info.SizeOfProlog > f.EndAddress - f.BeginAddress)
        {
            problems.Add(("prolog-longer-than-function", $"SizeOfProlog 0x{info.SizeOfProlog:X} exceeds the function's 0x{f.EndAddress - f.BeginAddress:X} bytes"));
        }

        if (setsFrame && info.FrameRegister == 0)
        {
            problems.Add(("fpreg-without-register", "it has a SET_FPREG code but names no frame register"));
        }
        else if (!setsFrame && info.FrameRegister != 0 && !info.IsChained && info.Codes.Length > 0)
        {
            // A chained fragment inherits its parent's frame; so does a fragment with no codes of its own.
            problems.Add(("register-without-fpreg", $"it names frame register {X64Registers.Name(info.FrameRegister)} but no SET_FPREG code establishes it"));
        }
    }
}
